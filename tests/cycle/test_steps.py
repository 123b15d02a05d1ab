"""Each step of a round's lifecycle through cycle.services: what it does across the apps, and that
a refused step changes nothing anywhere."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase

from audit.models import AuditEntry
from consultations.models import Consultation, Exclusion, PhaseTransition
from cycle import jobs
from cycle import services as cycle
from funding.models import Allocation, LedgerEntry
from outbox.models import PendingJob
from voting import urn
from voting.models import Count, ProjectResult, SealedBallot, Urn

from ..builders import (
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
from ..concurrency import attempt, run_at_once

Phase = Consultation.Phase


def phase_of(consultation) -> str:
    consultation.refresh_from_db()
    return consultation.phase


def queued(monkeypatch) -> list:
    """The cycle's jobs handed to the outbox (name, arguments), kept here instead of sent. (The
    phase machine's emails go through the same outbox; they are left out.)"""
    sent = []

    def keep(task, *args):
        if task.name.startswith("cycle."):
            sent.append((task.name, args))

    monkeypatch.setattr("cycle.services.outbox.send", keep)
    return sent


def test_a_round_goes_through_every_phase_by_the_cycle_alone(
    voted, commune_a, commune_b, eager_tasks
):
    tick_at(CLOSING)  # closes voting; the count it queued runs on commit
    assert phase_of(voted) == Phase.COUNTING
    assert Count.objects.get(consultation=voted).status == Count.Status.DONE
    winners = ProjectResult.objects.filter(consultation=voted, is_winner=True)
    assert sorted(winners.values_list("project__title", flat=True)) == ["Cancha", "Vialidad"]

    tick_at(DEADLINE)  # publishes, then gives the winners their allocations
    assert phase_of(voted) == Phase.PUBLISHED
    assert [t.to_phase for t in voted.transitions.order_by("at", "pk")] == [
        "scheduled",
        "assemblies",
        "validation",
        "voting",
        "counting",
        "published",
    ]
    assert all(t.by is None for t in voted.transitions.exclude(to_phase="scheduled"))
    allocated = Allocation.objects.filter(kind=Allocation.Kind.ALLOCATION)
    assert sorted(allocated.values_list("project__title", flat=True)) == ["Cancha", "Vialidad"]
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ALLOCATION).count() == 2


def test_opening_voting_opens_the_urn_in_the_same_transaction(voting):
    urn_row = Urn.objects.get(consultation=voting)
    assert urn_row.created_at == hours(VOTING)
    assert urn.server_share_path(voting.pk).exists()
    assert voting.rules_frozen_at == hours(VOTING)


def test_when_the_urn_cannot_open_the_round_stays_in_validation(
    scheduled, commune_a, commune_b, monkeypatch
):
    tick_at(VALIDATION)
    ballot(scheduled, commune_a)  # B has no ballot: voting would leave it off
    audited = AuditEntry.objects.count()

    def key_folder_not_writable(**kwargs):
        raise PermissionError("the key folder is read-only")

    monkeypatch.setattr("cycle.services.urn_open", key_folder_not_writable)
    with pytest.raises(PermissionError):
        cycle.round_open_voting(consultation=scheduled, by=None, now=hours(VOTING))
    assert phase_of(scheduled) == Phase.VALIDATION
    assert not PhaseTransition.objects.filter(consultation=scheduled, to_phase="voting").exists()
    assert not Exclusion.objects.filter(consultation=scheduled).exists()
    assert not Urn.objects.exists()
    assert AuditEntry.objects.count() == audited
    scheduled.refresh_from_db()
    assert scheduled.rules_frozen_at is None


def test_closing_voting_queues_the_count_once_committed(voted, monkeypatch):
    sent = queued(monkeypatch)
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        cycle.round_close_voting(consultation=voted, by=None, now=hours(CLOSING))
    assert sent == []  # nothing leaves before the move is committed
    for callback in callbacks:
        callback()
    assert sent == [(jobs.round_count_task.name, (voted.pk,))]
    assert phase_of(voted) == Phase.COUNTING


def test_closing_voting_before_its_time_queues_nothing(voted, monkeypatch):
    sent = queued(monkeypatch)
    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        pytest.raises(ValidationError) as refused,
    ):
        cycle.round_close_voting(consultation=voted, by=None, now=hours(CLOSING - 1))
    assert refused.value.code == "not_due"
    assert sent == []
    assert phase_of(voted) == Phase.VOTING


def test_the_count_runs_only_for_a_round_in_counting(voted):
    assert cycle.round_count(consultation_id=voted.pk) is None
    assert not Count.objects.exists()


def test_the_count_run_twice_gives_the_same_results(voted):
    cycle.round_close_voting(consultation=voted, by=None, now=hours(CLOSING))
    first = cycle.round_count(consultation_id=voted.pk)
    results = list(
        ProjectResult.objects.order_by("project").values_list("project", "votes", "is_winner")
    )
    second = cycle.round_count(consultation_id=voted.pk)
    assert first.status == second.status == Count.Status.DONE
    assert (
        list(ProjectResult.objects.order_by("project").values_list("project", "votes", "is_winner"))
        == results
    )


def _in_counting(voted):
    cycle.round_close_voting(consultation=voted, by=None, now=hours(CLOSING))
    return voted


def _count_missing(voted):
    return _in_counting(voted)


def _count_waiting_for_the_key(voted):
    _in_counting(voted)
    urn.server_share_path(voted.pk).unlink()
    assert cycle.round_count(consultation_id=voted.pk).status == Count.Status.WAITING_FOR_KEY
    return voted


def _totals_disagree(voted):
    _in_counting(voted)
    cycle.round_count(consultation_id=voted.pk)
    # A ballot slipped into the urn without a voting-book row: the count's totals disagree.
    project = voted.projects.order_by("pk").first()
    SealedBallot.objects.create(
        receipt="A" * 26, consultation=voted, commune=project.commune, sealed=b"\1" * 1216
    )
    assert cycle.round_count(consultation_id=voted.pk).status == Count.Status.DISCREPANCY
    return voted


@pytest.mark.parametrize(
    "arrange",
    [_count_missing, _count_waiting_for_the_key, _totals_disagree],
    ids=lambda f: f.__name__,
)
def test_results_are_not_published_without_a_finished_count_that_agrees(
    voted, adam, monkeypatch, arrange
):
    arrange(voted)
    transitions, audited = PhaseTransition.objects.count(), AuditEntry.objects.count()
    sent = queued(monkeypatch)
    for by, reason in [(None, ""), (adam, "Los resultados ya están")]:
        with (
            TestCase.captureOnCommitCallbacks(execute=True),
            pytest.raises(ValidationError) as refused,
        ):
            cycle.round_publish(consultation=voted, by=by, reason=reason, now=hours(DEADLINE))
        assert refused.value.code == "count_not_done"
    assert phase_of(voted) == Phase.COUNTING
    assert PhaseTransition.objects.count() == transitions
    assert AuditEntry.objects.count() == audited
    assert sent == []
    assert not Allocation.objects.exists()


def test_publishing_checks_the_phase_machine_first(voted, mina):
    with pytest.raises(ValidationError) as refused:
        cycle.round_publish(consultation=voted, by=None, now=hours(DEADLINE))
    assert refused.value.code == "wrong_phase"  # still voting: not a matter of the count
    _in_counting(voted)
    with pytest.raises(PermissionDenied):
        cycle.round_publish(consultation=voted, by=mina, reason="No es suya", now=hours(DEADLINE))
    assert phase_of(voted) == Phase.COUNTING


def test_publishing_a_sound_count_queues_the_allocations(voted, monkeypatch):
    _in_counting(voted)
    cycle.round_count(consultation_id=voted.pk)
    sent = queued(monkeypatch)
    with TestCase.captureOnCommitCallbacks(execute=True):
        cycle.round_publish(consultation=voted, by=None, now=hours(DEADLINE))
    assert phase_of(voted) == Phase.PUBLISHED
    assert sent == [(jobs.round_allocate_task.name, (voted.pk,))]


def _published(voted):
    _in_counting(voted)
    cycle.round_count(consultation_id=voted.pk)
    cycle.round_publish(consultation=voted, by=None, now=hours(DEADLINE))
    return voted


def test_the_allocations_are_made_once(voted, eager_tasks):
    _published(voted)
    assert cycle.round_allocate(consultation_id=voted.pk, now=hours(DEADLINE + 1)) == 2
    assert cycle.round_allocate(consultation_id=voted.pk, now=hours(DEADLINE + 2)) == 0
    assert jobs.round_allocate_task.delay(voted.pk).get() == 0
    assert Allocation.objects.count() == 2
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ALLOCATION).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_allocation_jobs_at_once_allocate_each_winner_once(
    adam, commune_a, commune_b, council_a, council_b
):
    round_ = cycle.round_schedule(consultation=make_round(), by=adam, now=NOW)
    tick_at(VALIDATION, run_jobs=False)
    projects_a = ballot(round_, commune_a)
    projects_b = ballot(round_, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    tick_at(VOTING, run_jobs=False)
    round_.refresh_from_db()
    votes(round_, council_a, projects_a, [0, 1, 1])
    votes(round_, council_b, projects_b, [2], first=100)
    _published(round_)
    results = run_at_once(
        [lambda: cycle.round_allocate(consultation_id=round_.pk, now=hours(DEADLINE))] * 3
    )
    assert sum(results) == 2
    assert Allocation.objects.count() == 2
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ALLOCATION).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_people_publishing_at_once_publish_once(
    adam, commune_a, commune_b, council_a, council_b
):
    round_ = cycle.round_schedule(consultation=make_round(), by=adam, now=NOW)
    tick_at(VALIDATION, run_jobs=False)
    projects_a = ballot(round_, commune_a)
    ballot(round_, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    tick_at(VOTING, run_jobs=False)
    round_.refresh_from_db()
    votes(round_, council_a, projects_a, [0, 1, 1])
    _in_counting(round_)
    cycle.round_count(consultation_id=round_.pk)
    publish = attempt(
        lambda: cycle.round_publish(consultation=round_, by=adam, reason="Listo", now=NOW)
    )
    results = run_at_once([publish, publish, publish])
    assert sorted(results) == ["ok", "wrong_phase", "wrong_phase"]
    assert PhaseTransition.objects.filter(consultation=round_, to_phase="published").count() == 1


def test_a_cancelled_round_is_never_counted_nor_moved(voted, adam, monkeypatch):
    sent = queued(monkeypatch)
    cycle.round_cancel(consultation=voted, by=adam, reason="Emergencia nacional")
    assert phase_of(voted) == Phase.CANCELLED
    assert tick_at(DEADLINE + 100) == []
    assert cycle.round_count(consultation_id=voted.pk) is None
    assert phase_of(voted) == Phase.CANCELLED
    assert not Count.objects.exists()
    assert sent == []


def test_the_admins_advance_goes_through_the_next_phases_step(voted, adam):
    with pytest.raises(ValidationError) as refused:
        cycle.round_advance(consultation=voted, by=adam, reason=" ")
    assert refused.value.code == "reason_required"
    cycle.round_advance(consultation=voted, by=adam, reason="Cierre anticipado", now=hours(55))
    assert phase_of(voted) == Phase.COUNTING
    with pytest.raises(ValidationError) as refused:
        cycle.round_advance(consultation=voted, by=adam, reason="Publicar ya", now=hours(56))
    assert refused.value.code == "count_not_done"
    cycle.round_count(consultation_id=voted.pk)
    cycle.round_advance(consultation=voted, by=adam, reason="Publicar ya", now=hours(56))
    assert phase_of(voted) == Phase.PUBLISHED
    with pytest.raises(ValidationError) as refused:
        cycle.round_advance(consultation=voted, by=adam, reason="¿Y ahora?")
    assert refused.value.code == "wrong_phase"


def test_the_next_quarters_round_is_proposed_once(scheduled):
    created = cycle.round_propose_next(now=NOW)
    assert (created.year, created.quarter, created.phase) == (2027, 2, Phase.DRAFT)
    assert cycle.round_propose_next(now=NOW) is None
    assert Consultation.objects.count() == 2


def test_a_job_kept_while_the_broker_is_away_is_the_cycles(voted, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker away")

    monkeypatch.setattr(jobs.round_count_task, "apply_async", broker_down)
    with TestCase.captureOnCommitCallbacks(execute=True):
        cycle.round_close_voting(consultation=voted, by=None, now=hours(CLOSING))
    assert list(PendingJob.objects.values_list("task", "args")) == [
        ("cycle.jobs.round_count_task", [voted.pk])
    ]
