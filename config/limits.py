"""Requests refused before anything reads them.

A body larger than any of our forms takes is refused by its Content-Length alone, before Django
reads a byte of it (the WSGI server hands the body over only as it is read): 413, with a page in
the visitor's language, or JSON for a client that asked for JSON. A multipart form may carry the
files of the largest form (UPLOAD_MAX_REQUEST_BYTES: a progress update's five photos and its
fields); any other body, DATA_UPLOAD_MAX_MEMORY_SIZE. Each file is then checked on its own
(communes/files.py: 10 MB, its kind by content, pictures' pixels). A body without a
Content-Length (chunked) is not read at all by Django under WSGI, so it cannot go round this.

An address with a NUL byte in its path or query is refused too (400): no page has a use for one,
and PostgreSQL cannot even compare text holding it, so it would reach the database as an error.

A body nobody read must still leave the socket before the answer does (``unread_body_drained``,
around the WSGI application): gunicorn discards at most 64 KiB of a body the application left
unread and then closes the connection, so a client still sending the rest of a refused body (a
sign-in without its CSRF cookie, a body over the limits above, a rate-limited form, a POST
redirected to sign in) gets a reset instead of the answer, and a keep-alive connection is dropped
after it. Draining it costs what reading an accepted form would have.
"""

import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.utils.translation import gettext as _


def _megabytes(size: int) -> str:
    return number_format(size / (1024 * 1024), decimal_pos=1)


def _content_length(request) -> int:
    # As Django reads it: a missing or unreadable length is no body at all.
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def body_limit(request) -> int | None:
    """The most bytes this request's body may have (None: no limit)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.lower().startswith("multipart/form-data"):
        return settings.UPLOAD_MAX_REQUEST_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _refused(request, status: int, code: str, title: str, message: str, **extra):
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"outcome": "refused", "code": code, "message": message, **extra}, status=status
        )
    page = render_to_string(
        "request_refused.html", {"title": title, "message": message, "code": code}
    )
    return HttpResponse(page, status=status)


class RequestLimitsMiddleware:
    """Early in MIDDLEWARE: after the language is chosen, before anything reads the body (the
    CSRF check reads the form; so would the view)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def refusal(self, request):
        limit = body_limit(request)
        size = _content_length(request)
        if limit is not None and size > limit:
            return _refused(
                request,
                413,
                "too_large",
                _("Too much to send at once"),
                _(
                    "What you tried to send weighs %(size)s MB; at most %(max)s MB can be sent "
                    "at once, and each file at most %(file)s MB. Send smaller files, or fewer "
                    "at a time."
                )
                % {
                    "size": _megabytes(size),
                    "max": _megabytes(limit),
                    "file": _megabytes(settings.UPLOAD_MAX_BYTES),
                },
                max_bytes=limit,
            )
        if "\x00" in request.path_info or any(
            "\x00" in name or any("\x00" in value for value in values)
            for name, values in request.GET.lists()
        ):
            return _refused(
                request,
                400,
                "null_character",
                _("Address not valid"),
                _("The address holds a character that is not allowed (a null byte)."),
            )
        return None


# How long an unread body may take to arrive and be thrown away, after the answer is ready.
DRAIN_SECONDS = 10.0
DRAIN_CHUNK = 64 * 1024


def body_drain(environ) -> None:
    """Read and discard what is left of this request's body, up to the largest body any form
    accepts (UPLOAD_MAX_REQUEST_BYTES) and for at most DRAIN_SECONDS; a larger body is left
    to the server, which closes the connection on it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length <= 0 or length > settings.UPLOAD_MAX_REQUEST_BYTES:
        return
    stream = environ.get("wsgi.input")
    deadline = time.monotonic() + DRAIN_SECONDS
    try:
        # The server's input ends at the Content-Length: reads past it return nothing.
        while time.monotonic() < deadline and stream.read(DRAIN_CHUNK):
            pass
    except OSError:  # the client went away meanwhile: nothing left to answer
        return


def unread_body_drained(application):
    """The WSGI application, draining whatever its request left unread before answering."""

    def drained(environ, start_response):
        response = application(environ, start_response)
        body_drain(environ)
        return response

    return drained
