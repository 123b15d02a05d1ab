"""The round's jobs, and its orchestration across apps: what happens after a round enters a phase.

Entering "counting" starts the count (on commit); the tick also restarts any count that has not
finished (a killed worker, a private key that arrived late), so none is left behind.
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
    """Every minute: move the rounds whose dates have come (safe to run late or twice), and
    restart the counts that have not finished."""
    from voting.tasks import consultation_count_task

    moved = services.consultations_advance_due()
    for consultation_id in services.consultations_awaiting_count():
        consultation_count_task.delay(consultation_id)
    return moved


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
