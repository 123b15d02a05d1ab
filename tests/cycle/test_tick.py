"""The beat's tick: it moves rounds through the same steps a person uses, retries what did not
finish, and a missed tick, a second worker or a crash and rerun leave the same state."""

import pytest
import time_machine
from django.conf import settings
from django.test import TestCase

from audit.models import AuditEntry
from consultations.models import Consultation, PhaseTransition
from cycle import jobs
from cycle import services as cycle
from cycle.tasks import rounds_advance_due_task
from funding import services as funding
from funding.models import Allocation, LedgerEntry
from voting import urn
from voting.models import Count, ProjectResult

from ..builders import (
    ASSEMBLIES,
    CLOSING,
    DEADLINE,
    NOW,
    VALIDATION,
    VOTING,
    ballot,
    hours,
    make_round,
    tick_at,
    votes,
)

Phase = Consultation.Phase


def state_of(consultation) -> dict:
    """Everything the lifecycle wrote about a round, but when it wrote it."""
    consultation.refresh_from_db()
    return {
        "phase": consultation.phase,
        "moves": list(
            PhaseTransition.objects.filter(consultation=consultation)
            .order_by("pk")
            .values_list("from_phase", "to_phase", "by")
        ),
        "count": list(Count.objects.filter(consultation=consultation).values_list("status")),
        "results": sorted(
            ProjectResult.objects.filter(consultation=consultation).values_list(
                "project__title", "votes", "rank", "is_winner"
            )
        ),
        "allocations": sorted(
            Allocation.objects.filter(project__consultation=consultation).values_list(
                "project__title", "amount_usd", "source__kind"
            )
        ),
        "ledger": sorted(
            LedgerEntry.objects.filter(project__consultation=consultation).values_list(
                "project__title", "kind", "amount_usd"
            )
        ),
    }


def test_missed_and_repeated_ticks_after_the_end_change_nothing(voted, eager_tasks):
    on_time = []
    for hour in (CLOSING, DEADLINE):
        on_time += tick_at(hour)
    assert [move[1:] for move in on_time] == [("voting", "counting"), ("counting", "published")]
    expected = state_of(voted)
    for hour in (DEADLINE + 1, DEADLINE + 30, DEADLINE + 500):  # missed and repeated ticks
        assert tick_at(hour) == []
    assert state_of(voted) == expected


def test_a_second_worker_ticking_at_the_same_time_changes_nothing(voted, eager_tasks):
    tick_at(CLOSING)
    tick_at(DEADLINE)
    before, audited = state_of(voted), AuditEntry.objects.count()
    assert tick_at(DEADLINE) == []
    assert state_of(voted) == before
    assert AuditEntry.objects.count() == audited


def test_the_tick_retries_a_count_that_did_not_finish(voted, monkeypatch):
    counts = []
    monkeypatch.setattr(
        jobs.round_count_task, "apply_async", lambda args, **kwargs: counts.append(args)
    )
    tick_at(CLOSING, run_jobs=False)  # the count's job was lost (a worker killed mid-count)
    assert not Count.objects.exists()
    counts.clear()
    tick_at(CLOSING + 0.1, run_jobs=False)
    assert counts == [(voted.pk,)]

    key_file = urn.server_share_path(voted.pk)
    key = key_file.read_bytes()
    key_file.unlink()  # and the server's key share is not on this server yet
    assert cycle.round_count(consultation_id=voted.pk).status == Count.Status.WAITING_FOR_KEY
    counts.clear()
    tick_at(CLOSING + 0.2, run_jobs=False)
    assert counts == [(voted.pk,)]  # still retried

    key_file.write_bytes(key)
    assert cycle.round_count(consultation_id=voted.pk).status == Count.Status.DONE
    counts.clear()
    tick_at(CLOSING + 0.3, run_jobs=False)
    assert counts == []  # a finished count is left alone
    tick_at(DEADLINE, run_jobs=False)
    assert state_of(voted)["phase"] == Phase.PUBLISHED


def test_the_tick_allocates_a_published_round_whose_job_was_lost(voted, eager_tasks):
    tick_at(CLOSING)
    cycle.round_publish(consultation=voted, by=None, now=voted.tally_deadline_at)
    assert not Allocation.objects.exists()  # its allocation job never ran
    tick_at(DEADLINE + 1)
    assert len(state_of(voted)["allocations"]) == 2


def test_allocations_cut_short_are_completed_once_by_the_next_tick(voted, monkeypatch):
    tick_at(CLOSING, run_jobs=False)
    cycle.round_count(consultation_id=voted.pk)
    cycle.round_publish(consultation=voted, by=None, now=voted.tally_deadline_at)
    entries = []
    ledger = funding._ledger

    def crash_on_the_second_winner(**kwargs):
        entries.append(kwargs)
        if len(entries) == 2:
            raise ConnectionError("the worker's connection dropped")
        return ledger(**kwargs)

    monkeypatch.setattr(funding, "_ledger", crash_on_the_second_winner)
    with pytest.raises(ConnectionError):
        cycle.round_allocate(consultation_id=voted.pk)
    assert Allocation.objects.count() == LedgerEntry.objects.count() == 1  # whole, not half
    monkeypatch.setattr(funding, "_ledger", ledger)
    tick_at(DEADLINE + 1, run_jobs=False)
    assert Allocation.objects.count() == LedgerEntry.objects.count() == 2
    tick_at(DEADLINE + 2, run_jobs=False)
    assert Allocation.objects.count() == 2


def test_the_beat_runs_the_cycles_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"cycle.tasks.rounds_advance_due_task", "cycle.tasks.round_propose_next_task"} <= names
    assert names <= set(app.tasks), "a beat entry names a task no worker has"
    assert {jobs.round_count_task.name, jobs.round_allocate_task.name} <= set(app.tasks)


def test_the_tick_task_moves_the_rounds_due_now(voted, eager_tasks):
    with time_machine.travel(hours(CLOSING - 0.01), tick=False):
        assert rounds_advance_due_task() == []
    with (
        time_machine.travel(hours(CLOSING), tick=False),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        moved = rounds_advance_due_task()
    assert moved == [(voted.pk, "voting", "counting")]
    assert Count.objects.get(consultation=voted).status == Count.Status.DONE


def _voted_round(adam, commune_a, commune_b, council_a, council_b, *, later: float, first: int):
    """A round whose dates all come ``later`` hours after the usual ones, voted without a tie."""
    shifted = {
        field: hours(hour + later)
        for field, hour in [
            ("assemblies_open_at", ASSEMBLIES),
            ("validation_opens_at", VALIDATION),
            ("voting_opens_at", VOTING),
            ("voting_closes_at", CLOSING),
            ("tally_deadline_at", DEADLINE),
        ]
    }
    consultation = cycle.round_schedule(
        consultation=make_round(quarter=1 if not later else 2, **shifted), by=adam, now=NOW
    )
    tick_at(VALIDATION + later)
    projects_a = ballot(consultation, commune_a)
    projects_b = ballot(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    tick_at(VOTING + later)
    consultation.refresh_from_db()
    votes(consultation, council_a, projects_a, [0, 1, 1, 2, 1, 0], first=first, at=later)
    votes(consultation, council_b, projects_b, [2, 2, 1], first=first + 50, at=later)
    return consultation


def test_a_round_ticked_late_ends_as_one_ticked_on_time(
    adam, commune_a, commune_b, council_a, council_b, eager_tasks
):
    on_time = _voted_round(adam, commune_a, commune_b, council_a, council_b, later=0, first=0)
    for hour in (CLOSING, DEADLINE):
        tick_at(hour)
    # The second round's dates come a month later; its ticks are missed until long after them.
    late = _voted_round(adam, commune_a, commune_b, council_a, council_b, later=720, first=200)
    tick_at(720 + DEADLINE + 30)  # closes it and counts it
    tick_at(720 + DEADLINE + 31)  # publishes the finished count and allocates
    expected, caught_up = state_of(on_time), state_of(late)
    assert expected["phase"] == Phase.PUBLISHED
    assert caught_up == expected
