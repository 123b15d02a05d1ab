"""The money's jobs: allocate published rounds' winners, and email each disbursement's news."""

from celery import shared_task

from consultations.tasks import RETRY

from . import notifications, services
from .selectors import rounds_awaiting_allocations


@shared_task(**RETRY)
def allocations_due_task():
    """Every minute: allocate the winners of published rounds that lack their allocation (a new
    publication, or a commune whose last tally sheet was decided after it). Safe to run twice."""
    return {
        consultation_id: services.allocations_for_round(consultation_id=consultation_id)
        for consultation_id in rounds_awaiting_allocations()
    }


@shared_task(**RETRY)
def disbursement_notify_task(disbursement_id: int, status: str, approvals: int):
    return notifications.disbursement_notify(
        disbursement_id=disbursement_id, status=status, approvals=approvals
    )
