import logging
import os
import time

from celery import Celery, states
from celery.signals import setup_logging, task_failure, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("comunas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Job logs: one structured line per task run (name, id, state, duration, retries; never its
# arguments), through the same handler, JSON format and personal-data filter as the web's.
job_logger = logging.getLogger("comunas.jobs")
_started: dict[str, float] = {}
_errors: dict[str, str] = {}


@setup_logging.connect
def _logging_from_settings(**kwargs):
    """Workers and beat log through settings.LOGGING (LOG_FORMAT, LOG_LEVEL) instead of Celery's
    own handlers, which would bypass the personal-data filter. `--loglevel` is then unused."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@task_prerun.connect
def _job_started(task_id=None, **kwargs):
    _started[task_id] = time.perf_counter()


@task_failure.connect
def _job_failed(task_id=None, exception=None, **kwargs):
    # The class only: the message may hold data; Celery logs it, filtered, with the traceback.
    _errors[task_id] = type(exception).__name__


@task_postrun.connect
def _job_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    retries = getattr(task.request, "retries", 0) or 0
    job_logger.log(
        logging.INFO if state == states.SUCCESS else logging.WARNING,
        "job %s %s %s ms",
        task.name,
        state,
        duration_ms,
        extra={
            "event": "job",
            "task": task.name,
            "task_id": task_id,
            "state": state,
            "duration_ms": duration_ms,
            "retries": retries,
            "error": _errors.pop(task_id, None),
        },
    )
