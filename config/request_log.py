"""One structured log line per request, and an id that ties a request's lines together.

The line holds the method, the path, the names of the query's parameters (never their values: a
query may carry a cédula, ``?cedula=V-12345678``, or a person's name), the status, the time to
the response's first byte, the user's id (never the email) and the view. A path that carries a
secret (a password-reset key) is logged as its route pattern instead. The request id is made
here, set as the X-Request-ID response header and stamped on every record logged while the
request is served (config/logging.py).
"""

import logging
import re
import time
import uuid
from urllib.parse import unquote_plus

from django.core.signals import request_finished
from django.dispatch import receiver
from django.utils.functional import SimpleLazyObject, empty

from .logging import request_id_var

logger = logging.getLogger("comunas.requests")

# URL arguments that are secrets: the path is replaced by the URL's route pattern.
SECRET_KWARGS = frozenset({"key", "uidb36", "token"})
# Probes that would fill the log every few seconds: logged at DEBUG unless they fail.
QUIET_PATHS = frozenset({"/healthz"})
MAX_PATH = 300
MAX_QUERY_NAMES = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RequestLogMiddleware:
    """First in MIDDLEWARE, so it times the whole stack and sees the status the client gets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.request_id = uuid.uuid4().hex
        # Kept until the response is closed: Django logs a 4xx or 5xx ("Not Found: ...") after
        # the middleware has returned.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        response.headers["X-Request-ID"] = request_id
        request_log(request, response.status_code, duration_ms)
        return response


@receiver(request_finished, dispatch_uid="config.request_log.forget_request_id")
def _forget_request_id(**kwargs):
    request_id_var.set(None)


def request_log(request, status: int, duration_ms: float) -> None:
    path, query = log_path(request), query_names(request.META.get("QUERY_STRING", ""))
    match = getattr(request, "resolver_match", None)
    level = logging.INFO
    if status >= 500:
        level = logging.WARNING
    elif request.path in QUIET_PATHS:
        level = logging.DEBUG
    shown = f"{path}?{query}" if query else path
    method = _printable(request.method or "")[:16]
    logger.log(
        level,
        "%s %s %s %.1f ms",
        method,
        shown,
        status,
        duration_ms,
        extra={
            "event": "request",
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "duration_ms": round(duration_ms, 1),
            "user_id": user_id(request),
            "view": match.view_name if match else None,
        },
    )


def log_path(request) -> str:
    """The path, or its route pattern when the URL carries a secret; control characters escaped
    so one request is one line in the plain format too."""
    match = getattr(request, "resolver_match", None)
    if match is not None and SECRET_KWARGS & set(match.kwargs):
        path = "/" + str(match.route)
    else:
        path = request.path
    return _printable(path)[:MAX_PATH]


def query_names(query_string: str) -> str:
    """The query's parameter names, in order and once each, joined by "&": never the values."""
    names = []
    for part in query_string.split("&"):
        name = _printable(unquote_plus(part.split("=", 1)[0]))[:40]
        if name and name not in names:
            names.append(name)
        if len(names) == MAX_QUERY_NAMES:
            break
    return "&".join(names)


def user_id(request) -> int | None:
    """The signed-in user's id, if the request already looked the user up: looking them up here
    would cost the session's and the user's queries on requests that never needed them."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not user.is_authenticated:
        return None
    return user.pk


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)
