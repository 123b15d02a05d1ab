"""The jobs the round's steps queue: the count when voting closes (or when the last key share is
entered) and the allocations when results are published. Thin: they take an id and run one step
of ``work``; safe to run twice.

They sit apart from ``tasks.py`` (the beat's jobs, which call ``services``) because ``services``
queues these: a module the services import must not import the services back.
"""

from celery import shared_task

from outbox import RETRY

from . import work


@shared_task(**RETRY)
def round_count_task(consultation_id: int):
    count = work.round_count(consultation_id=consultation_id)
    return count.status if count is not None else None


@shared_task(**RETRY)
def round_allocate_task(consultation_id: int):
    return work.round_allocate(consultation_id=consultation_id)
