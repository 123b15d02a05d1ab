"""The round's emails: a phase entered, a proposal decided. (The round's lifecycle jobs, the
tick, the count and the allocations, are the cycle app's.)"""

from celery import shared_task

from outbox import RETRY

from . import notifications


@shared_task(**RETRY)
def consultation_phase_notify_task(consultation_id: int, phase: str):
    return notifications.phase_changed_notify(consultation_id=consultation_id, phase=phase)


@shared_task(**RETRY)
def project_decision_notify_task(project_id: int):
    return notifications.project_decision_notify(project_id=project_id)
