from celery import shared_task
from django.core import management


@shared_task
def sessions_clear_expired_task():
    """Remove expired sessions from the database; harmless to run twice."""
    management.call_command("clearsessions")
