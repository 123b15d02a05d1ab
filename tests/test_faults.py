"""In-process checks of the fault handling the reliability runs (make reliability) exercise for
real: the database away answers 503 "try again"; Redis away is a cache miss, not an error; a job
the broker cannot take waits in the database and is sent once it can."""

import pytest
from django.core.cache import caches
from django.db import OperationalError
from django.test import Client, override_settings
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerDown

from outbox import jobs
from outbox.models import PendingJob

from .builders import DEAD_REDIS, make_resident, make_user


def test_a_database_error_is_a_spanish_503_with_retry_after(db, monkeypatch):
    def unavailable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("communes.views.selectors.directory_page", unavailable, raising=False)
    monkeypatch.setattr("django.contrib.auth.get_user", unavailable)
    client = Client(raise_request_exception=False)
    response = client.get(reverse("communes:directory"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    html = response.content.decode()
    assert "Inténtalo de nuevo" in html or "inténtalo de nuevo" in html
    assert "Traceback" not in html and "OperationalError" not in html
    as_json = client.get(reverse("communes:directory"), headers={"Accept": "application/json"})
    assert as_json.status_code == 503 and as_json.json()["outcome"] == "unavailable"


def test_other_errors_still_get_the_500_page(db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("django.contrib.auth.get_user", broken)
    response = Client(raise_request_exception=False).get(reverse("communes:directory"))
    assert response.status_code == 500


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_away_the_cache_misses_and_sessions_fall_back_to_the_database(
    db, council_a, settings
):
    cache = caches["default"]
    assert cache.get("x") is None and cache.get("x", "default") == "default"
    cache.set("x", 1)  # skipped, not raised
    assert cache.get_many(["x", "y"]) == {}
    assert cache.add("lock", True) is True  # allauth's limiter spins on add as a lock
    cache.delete("x")
    user = make_user("vecina@example.org")
    make_resident(council_a, "V-17171717", "Vecina", user=user)
    client = Client()
    client.force_login(user)  # the session is written through to the database
    response = client.get(reverse("communes:my-participation"))
    assert response.status_code == 200


def test_a_job_the_broker_cannot_take_waits_in_the_database_and_is_sent_later(db, monkeypatch):
    from cycle.jobs import round_count_task

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(round_count_task, "apply_async", broker_down)
    assert jobs.send(round_count_task, 42) is False
    pending = PendingJob.objects.get()
    assert (pending.task, pending.args) == ("cycle.jobs.round_count_task", [42])

    sent = []
    monkeypatch.setattr("outbox.jobs.current_app.send_task", broker_down)
    assert jobs.flush() == 0
    assert PendingJob.objects.get().attempts == 2  # still kept
    monkeypatch.setattr(
        "outbox.jobs.current_app.send_task",
        lambda name, args, retry: sent.append((name, args)),
    )
    assert jobs.flush() == 1
    assert sent == [("cycle.jobs.round_count_task", [42])]
    assert not PendingJob.objects.exists()
    assert jobs.flush() == 0  # sent once


@pytest.mark.django_db(transaction=True)
def test_two_flushes_at_once_send_each_job_once(monkeypatch):
    import threading

    from .concurrency import run_at_once

    for n in range(20):
        PendingJob.objects.create(task="cycle.jobs.round_count_task", args=[n])
    sent, lock = [], threading.Lock()

    def record(name, args, retry):
        with lock:
            sent.append(args[0])

    monkeypatch.setattr("outbox.jobs.current_app.send_task", record)
    results = run_at_once([jobs.flush, jobs.flush, jobs.flush])
    assert sum(results) == 20
    assert sorted(sent) == list(range(20))
    assert not PendingJob.objects.exists()
