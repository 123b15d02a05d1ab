"""/healthz reports the database, Redis and the broker; request and job logs are JSON lines with
no cédula and no email address in them."""

import io
import json
import logging
import time

import pytest
from celery import shared_task
from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse

from config import health
from config.logging import JsonFormatter, redact

from .builders import DEAD_REDIS, make_user


@pytest.fixture
def log_lines():
    """The lines the configured console handler (with its filters) writes, parsed as JSON."""
    handler = logging.getHandlerByName("console")
    stream, formatter = io.StringIO(), handler.formatter
    # Swapped directly: setStream would flush the old stream, which an earlier test's capture
    # (a worker started in-process reconfigures logging) may have closed.
    previous, handler.stream = handler.stream, stream
    handler.setFormatter(JsonFormatter())

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.text = stream.getvalue
    yield lines
    handler.stream = previous
    handler.setFormatter(formatter)


@shared_task(name="tests.test_health_and_logs.refuse_task")
def refuse_task(cedula):
    raise ValueError(f"no such voter {cedula}")


# /healthz


def test_healthz_reports_every_service_ok(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_healthz_with_redis_away_is_degraded_but_keeps_the_node(client, db):
    with override_settings(CACHES=DEAD_REDIS):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_with_the_broker_unreachable_is_degraded(client, db, monkeypatch):
    from config.celery import app

    monkeypatch.setitem(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] == "OperationalError"


def test_healthz_with_the_database_failing_is_503_down(client, db, monkeypatch):
    def database_away():
        raise OperationalError("could not connect to server: 10.0.0.5")

    monkeypatch.setattr(health, "database_check", database_away)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert "10.0.0.5" not in response.content.decode()  # the page is public: no details


def test_a_hung_check_costs_the_probe_at_most_its_bound(client, db, monkeypatch):
    def redis_hangs():
        time.sleep(0.6)
        return {}

    monkeypatch.setattr(health, "redis_check", redis_hangs)
    monkeypatch.setattr(health, "CHECK_SECONDS", 0.2)
    started = time.perf_counter()
    response = client.get(reverse("healthz"))
    assert time.perf_counter() - started < 0.5
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["redis"]["error"] == "timeout"
    health._running["redis"].result(timeout=2)  # let it end before the next test


def test_the_database_checks_time_limit_ends_with_it(transactional_db, monkeypatch):
    """Behind a pooler in transaction mode the check's server connection is lent to someone
    else next: its one-second limit must end with the check's own transaction (SET LOCAL)."""
    from django.db import connection

    monkeypatch.setattr(connection, "close", lambda: None)  # the server connection lives on
    assert health.database_check() == {}
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def test_healthz_answers_over_plain_http_when_https_is_enforced(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("home")).status_code == 301
    assert client.get(reverse("healthz")).status_code == 200


# Request logs


def test_request_lines_are_json_without_cedulas_or_emails(client, db, log_lines):
    client.get("/comunas/V-12345678/?cedula=V-12345678&correo=ana@example.org")
    client.get(reverse("communes:directory"), {"q": "V-12.345.678", "page": "1"})
    client.get("/mesa/1/", {"cedula": "12345678"})
    lines = log_lines()
    text = log_lines.text()
    assert "12345678" not in text and "12.345.678" not in text
    assert "ana@example.org" not in text and "@example.org" not in text
    requests = [line for line in lines if line.get("event") == "request"]
    assert [line["path"] for line in requests] == ["/comunas/[cedula]/", "/comunas/", "/mesa/1/"]
    assert [line["query"] for line in requests] == ["cedula&correo", "q&page", "cedula"]
    assert [line["status"] for line in requests] == [404, 200, 302]
    for line in requests:
        assert line["method"] == "GET" and line["duration_ms"] >= 0 and line["request_id"]
    # Django's own warning for the 404 was filtered too, and carries the request's id.
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found and not_found[0]["request_id"] == requests[0]["request_id"]


def test_each_response_carries_its_request_id(client, db, log_lines):
    first, second = client.get(reverse("home")), client.get(reverse("home"))
    assert len(first["X-Request-ID"]) == 32 and first["X-Request-ID"] != second["X-Request-ID"]
    logged = [line["request_id"] for line in log_lines() if line.get("event") == "request"]
    assert logged == [first["X-Request-ID"], second["X-Request-ID"]]
    logging.getLogger("after").warning("between requests")
    assert "request_id" not in log_lines()[-1]


def test_request_lines_name_the_user_by_id_never_by_email(client, db, log_lines):
    ana = make_user("ana.perez@example.org")
    client.force_login(ana)
    client.get(reverse("accounts:home-for-user"))
    (line,) = [line for line in log_lines() if line.get("event") == "request"]
    assert line["user_id"] == ana.pk
    assert "ana.perez" not in log_lines.text()


def test_a_secret_in_the_path_is_logged_as_its_route(client, db, log_lines):
    url = reverse(
        "account_reset_password_from_key", kwargs={"uidb36": "4", "key": "s3cret-reset-key"}
    )
    client.get(url)
    (line,) = [line for line in log_lines() if line.get("event") == "request"]
    assert "s3cret-reset-key" not in log_lines.text()
    assert "<key>" in line["path"]


def test_healthz_probes_do_not_fill_the_log(client, db, log_lines):
    client.get(reverse("healthz"))
    assert [line for line in log_lines() if line.get("event") == "request"] == []


# Any record, job logs


def test_any_record_is_filtered_message_arguments_and_traceback(log_lines):
    log = logging.getLogger("some.library")
    log.warning("voter %s wrote from %s", "V-12.345.678", "ana@example.org")
    try:
        raise ValueError("duplicate key (cedula)=(E-8765432)")
    except ValueError:
        log.exception("failed for cédula: 23456789")
    text = log_lines.text()
    for secret in ["12.345.678", "ana@example.org", "8765432", "23456789"]:
        assert secret not in text
    first, second = log_lines()
    assert first["message"] == "voter [cedula] wrote from [email]"
    assert "ValueError" in second["exception"]


def test_redact_leaves_ordinary_numbers_and_words_alone():
    assert redact("GET /mesa/12/ 200 3.5 ms") == "GET /mesa/12/ 200 3.5 ms"
    assert redact("Venezuela 2026, event 1234567") == "Venezuela 2026, event 1234567"
    assert redact("v12345678 e-1.234.567") == "[cedula] [cedula]"


def test_a_task_run_logs_one_job_line(db, eager_tasks, log_lines):
    from accounts.tasks import sessions_clear_expired_task

    result = sessions_clear_expired_task.delay()
    (line,) = [line for line in log_lines() if line.get("event") == "job"]
    assert line["task"] == "accounts.tasks.sessions_clear_expired_task"
    assert line["task_id"] == result.id
    assert line["state"] == "SUCCESS" and line["retries"] == 0 and line["duration_ms"] >= 0


def test_a_failed_task_logs_its_error_class_and_no_cedula(db, eager_tasks, log_lines):
    refuse_task.delay("V-12345678")
    lines = log_lines()
    (line,) = [line for line in lines if line.get("event") == "job"]
    assert line["state"] == "FAILURE" and line["error"] == "ValueError"
    assert line["level"] == "WARNING"
    assert "12345678" not in log_lines.text()
