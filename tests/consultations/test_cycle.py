"""The automatic cycle: the tick, the next-round job, the emails, a real worker and beat."""

import datetime
import os
import subprocess
import sys
import threading
import time

import pytest
import time_machine
from django.core import mail
from django.db import connection

from consultations import services
from consultations.models import Consultation, PhaseTransition
from cycle import services as cycle
from cycle.tasks import rounds_advance_due_task

from ..builders import NOW, approve_projects, hours, make_round, make_user

Phase = Consultation.Phase


def phase_of(consultation):
    consultation.refresh_from_db()
    return consultation.phase


def test_the_tick_moves_a_round_when_its_date_comes(scheduled):
    with time_machine.travel(hours(0.99), tick=False):
        assert rounds_advance_due_task() == []
    assert phase_of(scheduled) == Phase.SCHEDULED
    with time_machine.travel(hours(1), tick=False):
        assert rounds_advance_due_task() == [(scheduled.pk, "scheduled", "assemblies")]
    assert phase_of(scheduled) == Phase.ASSEMBLIES
    transition = scheduled.transitions.get(to_phase="assemblies")
    assert transition.by is None and transition.at == hours(1)


def test_a_late_tick_catches_up_in_order_like_on_time_ticks(scheduled, commune_a):
    approve_projects(scheduled, commune_a, 2)
    with time_machine.travel(hours(50), tick=False):
        moved = rounds_advance_due_task()
    assert [step[2] for step in moved] == ["assemblies", "validation", "voting"]
    assert phase_of(scheduled) == Phase.VOTING


def test_a_second_tick_changes_nothing(scheduled):
    cycle.rounds_advance_due(now=hours(30))
    state = list(PhaseTransition.objects.values_list("to_phase", "at"))
    assert cycle.rounds_advance_due(now=hours(30)) == []
    assert list(PhaseTransition.objects.values_list("to_phase", "at")) == state


def test_a_round_without_ballots_waits_for_a_person(scheduled, caplog):
    cycle.rounds_advance_due(now=hours(50))
    assert phase_of(scheduled) == Phase.VALIDATION
    assert "nada que votar" in caplog.text


def test_draft_and_cancelled_rounds_are_never_moved(draft, adam):
    cycle.rounds_advance_due(now=hours(500))
    assert phase_of(draft) == Phase.DRAFT


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_the_same_instant_make_one_transition(adam):
    scheduled = cycle.round_schedule(consultation=make_round(), by=adam, now=NOW)
    barrier = threading.Barrier(4)
    results = []

    def tick():
        try:
            barrier.wait()
            results.append(cycle.rounds_advance_due(now=hours(30)))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Between them the ticks made each transition exactly once (whichever tick made it).
    assert sum(len(result) for result in results) == 2
    assert list(scheduled.transitions.values_list("to_phase", flat=True)) == [
        "scheduled",
        "assemblies",
        "validation",
    ]


def test_the_next_round_job_creates_one_draft_from_the_last_rules(scheduled, settings):
    Consultation.objects.filter(pk=scheduled.pk).update(max_age=35, amount_usd=12000)
    with time_machine.travel(NOW, tick=False):
        created = cycle.round_propose_next()
        assert cycle.round_propose_next() is None
    assert (created.year, created.quarter, created.phase) == (2027, 2, Phase.DRAFT)
    assert created.name == "Consulta Popular 2027-II"
    assert created.max_age == 35 and created.amount_usd == 12000
    assert created.created_from_id == scheduled.pk
    days, hour = settings.CONSULTATION_CALENDAR["voting_opens_at"]
    voting = created.voting_opens_at.astimezone(datetime.timezone(datetime.timedelta(hours=-4)))
    assert voting.date() == datetime.date(2027, 4, 1) + datetime.timedelta(days=days)
    assert voting.hour == hour
    assert Consultation.objects.count() == 2


def test_the_next_round_after_the_fourth_quarter_is_the_first_of_the_next_year(db):
    # 20:00 on 31 December 2026 in Caracas is already 2027 in UTC: the local day counts.
    new_years_eve = datetime.datetime(2027, 1, 1, 0, 0, tzinfo=datetime.UTC)
    created = cycle.round_propose_next(now=new_years_eve)
    assert (created.year, created.quarter, created.name) == (2027, 1, "Consulta Popular 2027-I")


@pytest.mark.parametrize(
    ("day", "shift", "expected"),
    [
        (datetime.date(2027, 1, 1), 0, (2027, 1)),
        (datetime.date(2027, 3, 31), 0, (2027, 1)),
        (datetime.date(2027, 4, 1), 0, (2027, 2)),
        (datetime.date(2027, 12, 31), 0, (2027, 4)),
        (datetime.date(2027, 12, 31), 1, (2028, 1)),
        (datetime.date(2027, 2, 14), -1, (2026, 4)),
        (datetime.date(2027, 8, 1), 6, (2029, 1)),
        (datetime.date(2027, 8, 1), -11, (2024, 4)),
    ],
)
def test_quarter_of_counts_quarters_across_years(day, shift, expected):
    assert services.quarter_of(day, shift=shift) == expected


@pytest.mark.django_db(transaction=True)
def test_the_next_round_job_run_twice_at_once_creates_one_round():
    barrier = threading.Barrier(3)

    def propose():
        try:
            barrier.wait()
            cycle.round_propose_next(now=NOW)
        finally:
            connection.close()

    threads = [threading.Thread(target=propose) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Consultation.objects.count() == 1


def test_spokespeople_of_communes_taking_part_are_emailed_on_commit(
    scheduled, alice, bob, commune_b, adam, django_capture_on_commit_callbacks, eager_tasks
):
    services.commune_exclude(consultation=scheduled, commune=commune_b, by=adam, reason="Prueba")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cycle.round_open_assemblies(consultation=scheduled, by=None, now=hours(1))
    assert [message.to for message in mail.outbox] == [["alice@example.org"]]
    assert "Asambleas" in mail.outbox[0].subject


def test_residents_who_opted_in_hear_when_voting_opens(
    scheduled, alice, council_a, commune_a, django_capture_on_commit_callbacks, eager_tasks
):
    from ..builders import make_resident

    eager = make_user("eager@example.org", notify_voting_opens=True)
    make_resident(council_a, "V-4040404", "Votante Entusiasta", user=eager)
    quiet = make_user("quiet@example.org")
    make_resident(council_a, "V-5050505", "Votante Callado", user=quiet)
    approve_projects(scheduled, commune_a, 2)
    cycle.rounds_advance_due(now=hours(30))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cycle.rounds_advance_due(now=hours(48))
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["alice@example.org", "eager@example.org"]


def test_a_retried_notice_is_not_sent_twice(scheduled, alice):
    from consultations.notifications import phase_changed_notify

    assert phase_changed_notify(consultation_id=scheduled.pk, phase="assemblies") == 1
    assert phase_changed_notify(consultation_id=scheduled.pk, phase="assemblies") == 0


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_and_beat_open_a_round_on_their_own(adam, settings, tmp_path):
    """Celery beat (a real process) ticks every second through Redis; a real worker runs it."""
    from celery.contrib.testing.worker import start_worker
    from django.utils import timezone

    from config.celery import app

    now = timezone.now()
    round_ = make_round(
        assemblies_open_at=now + datetime.timedelta(seconds=3),
        validation_opens_at=now + datetime.timedelta(days=20),
        voting_opens_at=now + datetime.timedelta(days=40),
        voting_closes_at=now + datetime.timedelta(days=40, hours=10),
        tally_deadline_at=now + datetime.timedelta(days=43),
    )
    cycle.round_schedule(consultation=round_, by=adam, now=now)
    app.control.purge()
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
        env={**os.environ, "CYCLE_TICK_SECONDS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            for _ in range(300):
                if phase_of(round_) == Phase.ASSEMBLIES:
                    break
                time.sleep(0.1)
    finally:
        beat.terminate()
        beat.wait(timeout=10)
    assert phase_of(round_) == Phase.ASSEMBLIES
    assert round_.transitions.get(to_phase="assemblies").by is None
