"""`make run` serves as a deployment does (issue 18): its Procfile's web process is gunicorn with
threads, static files come from whitenoise after collectstatic, PORT chooses the port and
/favicon.ico answers; and every request gets an answer it can read, a body the app refused
without reading (no CSRF cookie, over the size limits) and NUL bytes in every sign-in field
included, on a connection that stays usable.

The web process runs as `make run` starts it: the command of Procfile.run, in a fresh folder with
the embedded settings (SQLite, no Redis), migrated and with its static files collected first.
"""

import http.client
import os
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
PASSWORD = "una-clave-de-prueba-larga"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def web_command() -> list[str]:
    """The web line of Procfile.run, with this interpreter's virtualenv."""
    line = next(
        line for line in (ROOT / "Procfile.run").read_text().splitlines() if line.startswith("web:")
    )
    command = shlex.split(line.removeprefix("web:"))
    command[0] = str(Path(sys.executable).parent / Path(command[0]).name)
    return command


# A resident who can sign in, made in the served database.
RESIDENT = f"""
from allauth.account.models import EmailAddress
from accounts.models import User
user = User.objects.create_user(email="vecina@example.org", password="{PASSWORD}")
EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "URN_KEY_DIR"}
    }
    env.update(
        VAR_DIR=str(var_dir),
        STATIC_ROOT=str(var_dir / "static"),
        MEDIA_ROOT=str(var_dir / "media"),
        LOG_LEVEL="CRITICAL",
        PORT=str(port),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    env.pop("WEB_CONCURRENCY", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (
        ["migrate", "--noinput"],
        ["collectstatic", "--noinput", "--verbosity", "0"],
        ["shell", "--command", RESIDENT],
    ):
        subprocess.run([*manage, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    log = (var_dir / "web.log").open("wb")
    process = subprocess.Popen(
        web_command(), cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail((var_dir / "web.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
    yield port
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


@pytest.fixture
def connection(served):
    """One keep-alive connection to the web process, as a browser keeps one."""
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    yield connection
    connection.close()


def get(connection, path, headers=None):
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response, response.read()


def post(connection, path, body: bytes, headers=None):
    connection.request(
        "POST",
        path,
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )
    response = connection.getresponse()
    return response, response.read()


def test_the_web_process_is_gunicorn_with_threads_on_the_chosen_port(connection):
    assert "gunicorn" in web_command()[0]
    response, page = get(connection, "/")
    assert response.status == 200
    assert response.getheader("Server", "").startswith("gunicorn")
    assert b'lang="es"' in page


def test_static_files_are_served_by_whitenoise_from_the_collected_files(connection):
    _response, page = get(connection, "/")
    stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]+\.css)"', page)
    assert stylesheet, "the page links the collected (hashed) stylesheet"
    response, css = get(connection, stylesheet.group(1).decode())
    assert response.status == 200
    assert "immutable" in response.getheader("Cache-Control", "")
    assert b"--accent" in css


def test_the_favicon_answers_at_the_address_browsers_ask(connection):
    response, icon = get(connection, "/favicon.ico")
    assert response.status == 200
    assert response.getheader("Content-Type") == "image/x-icon"
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    _response, page = get(connection, "/")
    assert re.search(rb'<link rel="icon" href="/static/favicon\.[0-9a-f]+\.ico"', page)


def test_a_megabyte_refused_unread_is_answered_and_the_connection_stays_usable(connection):
    """No CSRF cookie: the sign-in is refused before its body is read; the answer arrives, and
    the next request on the same connection too (gunicorn alone would drop both)."""
    response, page = post(connection, "/cuentas/login/", b"login=" + b"a" * MB)
    assert response.status == 403
    assert b"<h1>" in page
    response, _icon = get(connection, "/favicon.ico")
    assert response.status == 200


@pytest.mark.parametrize("megabytes", [3, 20])
def test_a_body_over_the_limit_gets_its_413_page(connection, megabytes):
    response, page = post(
        connection, "/cuentas/login/", b"login=" + b"a" * (megabytes * MB), {"Accept": "text/html"}
    )
    assert response.status == 413
    assert b'data-refused="too_large"' in page
    response, _icon = get(connection, "/favicon.ico")
    assert response.status == 200


def test_null_bytes_in_every_field_of_the_sign_in_form_get_a_readable_answer(connection):
    response, page = get(connection, "/cuentas/login/")
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    headers = {"Cookie": f"csrftoken={cookie}"}
    hostile = {"login": "ana\x00@example.org", "password": "clave\x00", "remember": "\x00"}
    # With a token that holds a NUL too: the CSRF check refuses it.
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token + "\x00", **hostile}).encode()
    response, page = post(connection, "/cuentas/login/", body, headers)
    assert response.status == 403 and b"<h1>" in page
    # With a good token: the form answers with its errors, in Spanish, and nobody is signed in.
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **hostile}).encode()
    response, page = post(connection, "/cuentas/login/", body, headers)
    assert response.status == 200
    assert "sessionid" not in (response.getheader("Set-Cookie") or "")
    assert "Los caracteres nulos no están permitidos.".encode() in page
    # And a hundred thousand of them, unread behind a missing cookie.
    response, _page = post(connection, "/cuentas/login/", b"login=" + b"%00" * 100_000)
    assert response.status == 403
    response, _icon = get(connection, "/favicon.ico")
    assert response.status == 200


def gunicorn_settings(monkeypatch, **env) -> dict:
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "WEB_THREADS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))


def test_gunicorn_listens_on_port_8000_of_this_machine_unless_told(monkeypatch):
    assert gunicorn_settings(monkeypatch)["bind"] == "127.0.0.1:8000"
    assert gunicorn_settings(monkeypatch, PORT="8123")["bind"] == "127.0.0.1:8123"
    assert gunicorn_settings(monkeypatch, HOST="0.0.0.0")["bind"] == "0.0.0.0:8000"  # noqa: S104


def test_gunicorn_runs_two_processes_of_four_threads_unless_told(monkeypatch):
    embedded = gunicorn_settings(monkeypatch)
    assert (embedded["worker_class"], embedded["workers"], embedded["threads"]) == (
        "gthread",
        2,
        4,
    )
    chosen = gunicorn_settings(monkeypatch, WEB_CONCURRENCY="3", WEB_THREADS="2")
    assert (chosen["workers"], chosen["threads"]) == (3, 2)
    assert embedded["backlog"] >= 1024 and embedded["accesslog"] is None
    assert embedded["control_socket_disable"] is True


def sign_in(connection, password: str) -> tuple[int, str]:
    """The sign-in form, as a browser fills it: (status, page)."""
    response, page = get(connection, "/cuentas/login/")
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = {"csrfmiddlewaretoken": token, "login": "vecina@example.org", "password": password}
    response, page = post(
        connection,
        "/cuentas/login/",
        urllib.parse.urlencode(form).encode(),
        {"Cookie": f"csrftoken={cookie}"},
    )
    return response.status, page.decode()


def test_an_account_locks_after_ten_wrong_passwords_whichever_process_answers(served):
    """gunicorn runs two processes: the sign-in limits count in one cache, the database's."""
    for attempt in range(10):
        connection = http.client.HTTPConnection("127.0.0.1", served, timeout=60)
        status, page = sign_in(connection, f"equivocada-{attempt}")
        connection.close()
        assert status == 200 and "no son correctas" in page
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=60)
    status, page = sign_in(connection, PASSWORD)
    connection.close()
    assert status == 200 and "Demasiados intentos fallidos" in page
