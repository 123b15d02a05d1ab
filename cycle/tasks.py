"""The beat's jobs for the round's lifecycle. Thin: each calls one service of ``services``, and
is safe to run late, twice or at once. (The jobs the steps queue, the count and the allocations,
are in ``jobs.py``; imported here so that Celery's autodiscovery, which reads ``tasks``, finds
them in every worker.)"""

from celery import shared_task

from outbox import RETRY

from . import services
from .jobs import (
    round_allocate_task,
    round_count_chunk_task,
    round_count_reduce_task,
    round_count_task,
    urn_fold_task,
)

__all__ = [
    "round_allocate_task",
    "round_count_chunk_task",
    "round_count_reduce_task",
    "round_count_task",
    "round_propose_next_task",
    "rounds_advance_due_task",
    "urn_fold_task",
]


@shared_task(**RETRY)
def rounds_advance_due_task():
    """Every minute: move the rounds whose dates have come, queue the folds of queued ballots
    into the urns' running sums and the counts not finished, and
    allocate published rounds' winners."""
    return services.rounds_advance_due()


@shared_task(**RETRY)
def round_propose_next_task():
    """Every few hours: propose next quarter's round as a draft for the admin; never two."""
    created = services.round_propose_next()
    return created.pk if created else None
