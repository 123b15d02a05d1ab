"""The round's jobs, and its orchestration across apps: what happens after a round enters a phase.

The voting issue adds the count after a round enters "counting", and the funding issue the
allocations after it enters "published", here in ``consultations_advance_due_task``.
"""

from celery import shared_task
from django.db import DatabaseError, OperationalError

from . import notifications, services

RETRY = {
    "autoretry_for": (OperationalError, DatabaseError, ConnectionError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": None,
}


@shared_task(**RETRY)
def consultations_advance_due_task():
    """Every minute: move the rounds whose dates have come (safe to run late or twice)."""
    return services.consultations_advance_due()


@shared_task(**RETRY)
def consultation_propose_next_task():
    """Propose next quarter's round as a draft for the admin; never creates two."""
    created = services.consultation_create_next()
    return created.pk if created else None


@shared_task(**RETRY)
def consultation_phase_notify_task(consultation_id: int, phase: str):
    return notifications.phase_changed_notify(consultation_id=consultation_id, phase=phase)


@shared_task(**RETRY)
def project_decision_notify_task(project_id: int):
    return notifications.project_decision_notify(project_id=project_id)
