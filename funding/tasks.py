"""The money's emails: each disbursement's news. (Allocating a published round's winners is the
cycle app's job.)"""

from celery import shared_task

from outbox import RETRY

from . import notifications


@shared_task(**RETRY)
def disbursement_notify_task(disbursement_id: int, status: str, approvals: int):
    return notifications.disbursement_notify(
        disbursement_id=disbursement_id, status=status, approvals=approvals
    )
