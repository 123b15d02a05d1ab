from celery import shared_task

from . import jobs


@shared_task
def pending_jobs_flush_task():
    """Every minute: send the jobs the broker could not take when they were made."""
    return jobs.flush()
