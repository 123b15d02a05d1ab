from celery import shared_task

from consultations.tasks import RETRY

from . import counting


@shared_task(**RETRY)
def consultation_count_task(consultation_id: int):
    """Count a round (safe to run twice or at once: a second run waits its turn or does nothing)."""
    count = counting.consultation_count(consultation_id=consultation_id)
    return count.status if count else "already running"
