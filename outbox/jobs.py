import logging

from celery import current_app
from django.db import transaction

from .models import PendingJob

logger = logging.getLogger(__name__)


def send(task, *args) -> bool:
    """Queue ``task(*args)`` now; if the broker is away, keep it for later. True when sent."""
    try:
        task.apply_async(args=args, retry=False)
    except Exception as error:  # whatever the transport raises: the job must survive it
        PendingJob.objects.create(task=task.name, args=list(args), last_error=str(error)[:2000])
        logger.warning("Broker unavailable: %s kept to be sent later (%s)", task.name, error)
        return False
    return True


def flush(limit: int = 500) -> int:
    """Send the kept jobs, oldest first; each is deleted once the broker took it. Two flushes at
    once send each job once (rows are taken with SKIP LOCKED)."""
    sent = 0
    while sent < limit:
        with transaction.atomic():
            job = PendingJob.objects.select_for_update(skip_locked=True).order_by("pk").first()
            if job is None:
                break
            try:
                current_app.send_task(job.task, args=job.args, retry=False)
            except Exception as error:  # still away: try again at the next tick
                PendingJob.objects.filter(pk=job.pk).update(
                    attempts=job.attempts + 1, last_error=str(error)[:2000]
                )
                break
            job.delete()
            sent += 1
    return sent
