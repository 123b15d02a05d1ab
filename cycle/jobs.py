"""The jobs the round's steps queue: the count when voting closes (or when the last key share is
entered) and the allocations when results are published. Thin: they take an id and run one step
of ``work``; safe to run twice.

They sit apart from ``tasks.py`` (the beat's jobs, which call ``services``) because ``services``
queues these: a module the services import must not import the services back.
"""

from celery import shared_task

import outbox
from outbox import RETRY

from . import work


@shared_task(**RETRY)
def round_count_task(consultation_id: int):
    """Start the count, or take it up again (the tick queues this every minute until the count
    is done): the ranges of communes not done yet are queued for any worker, or, for a round of
    one range, counted here; once every range is done, the reduce runs here."""
    plan = work.round_count_plan(consultation_id=consultation_id)
    if plan is None:
        return None
    if plan.count is not None:
        return plan.count.status
    if plan.ranges == 1 and plan.pending:
        work.round_count_chunk(consultation_id=consultation_id, first_commune=plan.pending[0])
    elif plan.pending:
        for first_commune in plan.pending:
            outbox.send(round_count_chunk_task, consultation_id, first_commune)
        return f"{len(plan.pending)} of {plan.ranges} ranges queued"
    count = work.round_count_reduce(consultation_id=consultation_id)
    return count.status if count is not None else None


@shared_task(**RETRY)
def round_count_chunk_task(consultation_id: int, first_commune: int):
    """One range of communes of the count; whoever finishes the last range queues the reduce.
    A worker killed midway leaves nothing of its range: the message comes back (acks late) or
    the tick queues the range again."""
    if work.round_count_chunk(consultation_id=consultation_id, first_commune=first_commune):
        outbox.send(round_count_reduce_task, consultation_id)
        return "last"
    return None


@shared_task(**RETRY)
def round_count_reduce_task(consultation_id: int):
    count = work.round_count_reduce(consultation_id=consultation_id)
    return count.status if count is not None else None


@shared_task(**RETRY)
def urn_fold_task(consultation_id: int):
    """Add the round's queued ballots into its running sums, batch by batch (queued by the
    tick every minute during voting)."""
    return work.urn_fold(consultation_id=consultation_id)


@shared_task(**RETRY)
def round_allocate_task(consultation_id: int):
    return work.round_allocate(consultation_id=consultation_id)
