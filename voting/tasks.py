from celery import shared_task

from consultations.tasks import RETRY

from . import counting


@shared_task(**RETRY)
def consultation_count_task(consultation_id: int):
    """Count a round (safe to run twice or at once: a second run waits its turn or does nothing)."""
    if not counting.consultation_awaits_count(consultation_id):
        return "not in counting"  # counted by hand or by an earlier run, then published
    count = counting.consultation_count(consultation_id=consultation_id)
    return count.status if count else "already running"
