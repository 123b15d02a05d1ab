"""Jobs that must not be lost when the broker is away: ``send(task, *args)`` queues a Celery task,
or, when the broker cannot take it, keeps it in the database for the beat to send later."""


def send(task, *args):
    from .jobs import send as _send

    return _send(task, *args)
