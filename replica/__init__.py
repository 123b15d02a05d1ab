"""Public reads from a streaming replica, when there is one (DATABASE_REPLICA_URL).

What a visitor reads about everybody (results, open data, the money trail, the directory) may
come from the replica: the selectors that build those pages are marked ``@public_read`` (or
``@public_stream`` for downloads), and only inside them does the router send reads there.
Everything else reads and writes the primary: a person's own pages, every write, anything inside
a transaction, Celery jobs and commands.

Nobody sees the site older than their own write. A request that may write (any method but GET,
HEAD or OPTIONS) ends by noting the primary's WAL position in a cookie; until the replica has
replayed past that position, that visitor's public reads go to the primary too, and the cookie is
dropped once it has. The check costs one small query on the replica, only for a visitor with the
cookie, only on a page that reads the replica.

A replica that does not answer (stopped, unreachable, a query cancelled by recovery) is not an
error: the read is made again on the primary, and for the next few seconds this process does not
try the replica at all.
"""

import contextlib
import contextvars
import functools
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
COOKIE = "primary_lsn"
# How long a visitor's writes keep their public reads on the primary at most (a replica this far
# behind is an outage, not lag).
COOKIE_SECONDS = 3600
# After a failure, how long this process reads the primary before trying the replica again.
RETRY_AFTER_SECONDS = 5.0
_LSN = re.compile(r"[0-9A-F]{1,8}/[0-9A-F]{1,8}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FAILURES = (OperationalError, InterfaceError)


@dataclass
class _Visit:
    """What this request may read from the replica."""

    safe: bool  # no write in this request
    wrote_at: str | None  # the primary's WAL position after this visitor's last write
    caught_up: bool | None = None  # has the replica replayed past it (None: not asked yet)


_visit: contextvars.ContextVar[_Visit | None] = contextvars.ContextVar("visit", default=None)
# The alias reads go to while a public selector runs (None: the primary).
_reading: contextvars.ContextVar[str | None] = contextvars.ContextVar("reading", default=None)
_down_until = 0.0


def enabled() -> bool:
    """Is there a replica to read? (The test suite turns this off but for the replica's tests.)"""
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """Where a public read made now should go: the replica, or the primary when there is none,
    when it failed a moment ago, inside a transaction, outside a request, in a request that
    writes, or while the replica has not yet replayed this visitor's last write."""
    visit = _visit.get()
    if visit is None or not visit.safe or not enabled():
        return PRIMARY
    if time.monotonic() < _down_until or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    if visit.wrote_at is not None and visit.caught_up is None:
        visit.caught_up = _replayed(visit.wrote_at)
    if visit.wrote_at is not None and not visit.caught_up:
        return PRIMARY
    return REPLICA


def _replayed(position: str) -> bool:
    """Has the replica replayed the primary's WAL up to `position`? (A server that is not
    replaying, a promoted replica, has everything it will ever have.)"""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)", [position]
            )
            return bool(cursor.fetchone()[0])
    except _FAILURES as error:
        _replica_failed(error)
        return False


def _replica_failed(error: Exception) -> None:
    global _down_until
    _down_until = time.monotonic() + RETRY_AFTER_SECONDS
    logger.warning("Replica unavailable (%s): public reads go to the primary", type(error).__name__)
    with contextlib.suppress(*_FAILURES):
        connections[REPLICA].close()


def public_read[**P, T](selector: Callable[P, T]) -> Callable[P, T]:
    """Run a selector of public pages on the replica when read_alias() allows it, and again on
    the primary if the replica fails. The selector must return what it read (lists, dicts,
    objects), not a lazy QuerySet: what is read later goes to the primary."""

    @functools.wraps(selector)
    def read(*args: P.args, **kwargs: P.kwargs) -> T:
        alias = read_alias()
        if alias == PRIMARY:
            return selector(*args, **kwargs)
        token = _reading.set(alias)
        try:
            return selector(*args, **kwargs)
        except _FAILURES as error:
            _replica_failed(error)
        finally:
            _reading.reset(token)
        return selector(*args, **kwargs)

    return read


def public_stream[**P, T](rows: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """The same for a download streamed after the view has returned: where it reads is decided
    when the view calls it; a failure before the first row starts it again on the primary."""

    @functools.wraps(rows)
    def stream(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return _streamed(rows, read_alias(), args, kwargs)

    return stream


def _streamed(rows, alias: str, args, kwargs) -> Iterator:
    if alias == PRIMARY:
        yield from rows(*args, **kwargs)
        return
    iterator, first = rows(*args, **kwargs), True
    while True:
        token = _reading.set(alias)
        try:
            row = next(iterator)
        except StopIteration:
            return
        except _FAILURES as error:
            if not first:
                raise
            _replica_failed(error)
            break
        finally:
            _reading.reset(token)
        first = False
        yield row
    yield from rows(*args, **kwargs)


class PrimaryReplicaRouter:
    """Reads go to the replica only inside a public selector; everything else, and every write,
    to the primary (an object read from the replica is saved to the primary). Only the primary
    is migrated."""

    def db_for_read(self, model, **hints):
        return _reading.get() or PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReadYourWritesMiddleware:
    """Says, for each request, whether its public reads may go to the replica; after a request
    that may have written, notes the primary's WAL position in a cookie (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not enabled():
            return self.get_response(request)
        wrote_at = request.COOKIES.get(COOKIE)
        valid = wrote_at is not None and _LSN.fullmatch(wrote_at) is not None
        visit = _Visit(safe=request.method in SAFE_METHODS, wrote_at=wrote_at if valid else None)
        token = _visit.set(visit)
        try:
            response = self.get_response(request)
        finally:
            _visit.reset(token)
        if not visit.safe:
            position = _primary_position()
            if position is not None:
                response.set_cookie(
                    COOKIE,
                    position,
                    max_age=COOKIE_SECONDS,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        elif wrote_at is not None and (not valid or visit.caught_up):
            response.delete_cookie(COOKIE, samesite="Lax")
        return response


def _primary_position() -> str | None:
    """The primary's current WAL position, or None when it cannot say (the response that
    carried a write is never lost for it)."""
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            return cursor.fetchone()[0]
    except _FAILURES as error:
        logger.warning("Could not read the primary's WAL position (%s)", type(error).__name__)
        return None
