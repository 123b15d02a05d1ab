"""Oversize requests are refused early (config/limits.py): by their Content-Length, before a byte
of the body is read, with 413 and a clear message, a page for browsers and JSON for clients that
asked for JSON. Bodies within the limits go through to the forms, whose own checks answer (a
file over 10 MB gets its message from the upload check). Too many fields or files in one form,
and addresses with a NUL byte, are refused with 400, never a 500."""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from ..builders import make_user
from . import fuzz

MB = 1024 * 1024


class UnreadBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def post_claiming(client, url, length, *, content_type, **headers):
    return client.generic(
        "POST",
        url,
        headers=headers,
        CONTENT_LENGTH=str(length),
        CONTENT_TYPE=content_type,
        **{"wsgi.input": UnreadBody()},
    )


@pytest.fixture
def signed_in(db):
    client = Client()
    client.force_login(make_user("lucia@example.org"))
    return client


def test_a_multipart_body_over_the_limit_is_refused_before_it_is_read(signed_in):
    url = reverse("communes:my-participation")
    before = fuzz.fingerprint()
    response = post_claiming(
        signed_in,
        url,
        settings.UPLOAD_MAX_REQUEST_BYTES + 1,
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'data-refused="too_large"' in page
    assert "<h1>" in page and 'lang="es"' in page
    assert fuzz.fingerprint() == before
    # At the limit exactly, the body is read (and this one fails the test when it is).
    with pytest.raises(AssertionError, match="the body was read"):
        post_claiming(
            signed_in,
            url,
            settings.UPLOAD_MAX_REQUEST_BYTES,
            content_type="multipart/form-data; boundary=x",
        )


def test_a_client_that_asks_for_json_gets_the_refusal_as_json(signed_in):
    response = post_claiming(
        signed_in,
        reverse("voting:table-mark", args=[1]),
        20 * 1024 * MB,
        content_type="multipart/form-data; boundary=x",
        accept="application/json",
    )
    assert response.status_code == 413
    body = json.loads(response.content)
    assert body["outcome"] == "refused" and body["code"] == "too_large"
    assert body["max_bytes"] == settings.UPLOAD_MAX_REQUEST_BYTES
    assert body["message"]


def test_a_plain_form_or_json_body_over_the_fields_limit_is_refused_before_it_is_read(signed_in):
    for content_type in ("application/x-www-form-urlencoded", "application/json", ""):
        response = post_claiming(
            signed_in,
            reverse("communes:my-participation"),
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1,
            content_type=content_type,
        )
        assert response.status_code == 413, content_type


def test_the_anonymous_are_refused_the_same_way(db):
    response = post_claiming(
        Client(),
        reverse("account_login"),
        settings.UPLOAD_MAX_REQUEST_BYTES * 10,
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413


def test_a_length_that_is_not_a_number_is_no_body_at_all(signed_in):
    """As Django reads it: nothing is read, so nothing can be too large."""
    for length in ("abc", "-5", ""):
        response = signed_in.generic(
            "POST",
            reverse("accounts:voting-notice"),
            b"",
            "application/x-www-form-urlencoded",
            CONTENT_LENGTH=length,
        )
        assert response.status_code == 302, length


def test_a_multipart_body_within_the_limit_reaches_the_form(signed_in):
    """Eleven megabytes in one file: under the request's limit (five photos' worth), so the page
    answers, not the limit (the upload check refuses such a file itself: test_uploads.py)."""
    eleven = fuzz.Upload("acta.pdf", b"%PDF-" + b"0" * (11 * MB), "application/pdf")
    data = {"cedula": "V-12345678", "birth_date": "1990-01-01", "acta": eleven}
    response = fuzz.send(signed_in, "post", reverse("communes:my-participation"), data)
    assert response.status_code == 200


def test_too_many_fields_or_files_in_one_form_is_a_bad_request(signed_in):
    url = reverse("communes:my-participation")
    fields = {f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    assert signed_in.post(url, fields).status_code == 400
    assert signed_in.get(reverse("communes:directory"), fields).status_code == 400
    photos = {
        "photos": [
            fuzz.Upload(f"{n}.png", b"\x89PNG", "image/png")
            for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
        ]
    }
    assert fuzz.send(signed_in, "post", url, photos).status_code == 400


@pytest.mark.parametrize(
    "address",
    [
        "/comunas/COM%00/",
        "/comunas/?q=%00",
        "/comunas/?%00=1",
        "/resultados/1/estados/%00/",
    ],
)
def test_an_address_with_a_null_byte_is_a_bad_request(client, db, address):
    response = client.get(address)
    assert response.status_code == 400
    assert 'data-refused="null_character"' in response.content.decode()
    response = client.get(address, headers={"accept": "application/json"})
    assert json.loads(response.content)["code"] == "null_character"


class CountedBody:
    """A body of `size` bytes that counts what is read of it."""

    def __init__(self, size):
        self.left, self.read_bytes = size, 0

    def read(self, size=-1):
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        self.read_bytes += size
        return b"a" * size


def test_a_body_the_app_left_unread_is_drained_before_the_answer_goes_out():
    """gunicorn drops the connection on more than 64 KiB left unread, and the client still
    sending gets a reset instead of the answer (config/limits.py)."""
    from config.limits import body_drain

    body = CountedBody(3 * MB)
    body_drain({"CONTENT_LENGTH": str(3 * MB), "wsgi.input": body})
    assert body.read_bytes == 3 * MB
    # Beyond the largest form's size, the server is left to close the connection.
    huge = settings.UPLOAD_MAX_REQUEST_BYTES + 1
    body = CountedBody(huge)
    body_drain({"CONTENT_LENGTH": str(huge), "wsgi.input": body})
    assert body.read_bytes == 0
    # No length, or one that is not a number: no body to drain.
    for length in ("", "abc", "-1"):
        body = CountedBody(10)
        body_drain({"CONTENT_LENGTH": length, "wsgi.input": body})
        assert body.read_bytes == 0


def test_the_served_application_drains_what_its_views_did_not_read(db):
    import io

    from config.wsgi import application

    statuses = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/cuentas/login/",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(MB),
        "wsgi.input": io.BytesIO(b"login=" + b"a" * (MB - 6)),
    }
    response = application(environ, lambda status, headers: statuses.append(status))
    response.close()
    assert statuses == ["403 Forbidden"]  # no CSRF cookie: refused before reading the form
    assert environ["wsgi.input"].tell() == MB
