"""Jobs that must not be lost when the broker or the database is away.

``send(task, *args)`` queues a Celery task, or, when the broker cannot take it, keeps it in the
database for the beat to send later. ``RETRY`` is every task's retry policy: a job that meets the
database or the broker down tries again, later and later, until they are back.
"""

from django.db import DatabaseError, OperationalError

RETRY = {
    "autoretry_for": (OperationalError, DatabaseError, ConnectionError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": None,
}


def send(task, *args):
    # Imported when used: the package is imported while Django loads its apps, before the
    # models that ``jobs`` needs may be (this is app loading, not an import cycle).
    from .jobs import send as _send

    return _send(task, *args)
