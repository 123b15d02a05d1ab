"""The long work of a round, run by jobs and by the tick, never in a request: the running sums
of the urn during voting, the count (in ranges of communes any worker takes, then one reduce) and
the allocations. Each takes a
round's id and is safe to run twice or at once.

They queue nothing, so the jobs that run them (``jobs.py``) import nothing that queues those
jobs: ``services`` → ``jobs`` → ``work``, no circle.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from funding.services import allocations_for_round
from voting import closing, counting, sums
from voting.models import Count


def urn_fold(*, consultation_id: int) -> int:
    """Add the round's queued ballots into its running sums, until none is left; returns how
    many. Safe at once with another fold or with the close of voting."""
    return sums.urn_fold_all(consultation_id=consultation_id)


def round_count(*, consultation_id: int, now=None) -> Count | None:
    """Count a round in counting here, every range of communes in this process: what a person,
    the demo and the tests run (the jobs share the ranges among workers: ``round_count_plan``).

    Returns None when there is nothing to do: the round has left counting (counted, then
    published or cancelled), or another run of the same count holds its lock. Run twice, it
    writes the same results: the count is deterministic and replaces its own rows.
    """
    if not counting.consultation_awaits_count(consultation_id):
        return None
    # The urn's rewrite comes first, whatever happens to the count (done once; a no-op after).
    closing.urn_rewrite(consultation_id=consultation_id, now=now)
    try:
        return counting.consultation_count(consultation_id=consultation_id, now=now)
    except ValidationError as error:
        if error.code == "wrong_phase":  # published or cancelled since the check above
            return None
        raise


@dataclass(frozen=True)
class CountPlan:
    """What the count job found: the Count when it waits for the commissioners (or is finished),
    else the ranges of communes still to do (first commune of each) and how many ranges in all."""

    count: Count | None = None
    pending: tuple[int, ...] = ()
    ranges: int = 0


def round_count_plan(*, consultation_id: int, now=None) -> CountPlan | None:
    """The count job's first step (and the tick's retry): the urn's rewrite, then the round's
    ranges of communes, made once. None when the round is not in counting."""
    if not counting.consultation_awaits_count(consultation_id):
        return None
    closing.urn_rewrite(consultation_id=consultation_id, now=now)
    finished = Count.objects.filter(
        consultation_id=consultation_id, status__in=counting.FINISHED
    ).first()
    if finished is not None:  # a job queued twice: the count is left as it is
        return CountPlan(count=finished)
    try:
        waiting, count = counting.count_waiting(consultation_id)
    except ValidationError as error:
        if error.code == "wrong_phase":
            return None
        raise
    if waiting:
        return CountPlan(count=count)
    ranges = counting.count_plan(consultation_id=consultation_id, now=now)
    return CountPlan(pending=tuple(counting.chunks_pending(consultation_id)), ranges=len(ranges))


def round_count_chunk(*, consultation_id: int, first_commune: int, now=None) -> bool:
    """One range of communes of the count, whole or not at all; True when every range is done."""
    if not counting.consultation_awaits_count(consultation_id):
        return False
    return counting.count_chunk(
        consultation_id=consultation_id, first_commune=first_commune, now=now
    )


def round_count_reduce(*, consultation_id: int, now=None) -> Count | None:
    """The count's last step once every range is done: the results, written once (a finished
    count is left as it is, whoever queued this)."""
    try:
        return counting.count_reduce(consultation_id=consultation_id, now=now, again=False)
    except ValidationError as error:
        if error.code == "wrong_phase":
            return None
        raise


def round_allocate(*, consultation_id: int, now=None) -> int:
    """Give each winning project of a published round its allocation, from the funder the round's
    rule names for its rank; returns how many it created. Safe twice or at once: it creates only
    what is missing, and the database refuses a second allocation of a project.

    Each winner's allocation, its ledger entry and its audit entry are one transaction, not the
    whole round: the audit trail takes a lock for each entry until its transaction ends, and a
    national round's thousands of winners in one transaction would hold every other audited
    write in the country for that long. A run cut short leaves whole allocations; the next run
    (the tick's, every minute) adds the rest.
    """
    return allocations_for_round(consultation_id=consultation_id, now=now)
