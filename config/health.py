"""/healthz: can this node serve? Asked by the load balancer and by people on call.

Each service is checked and reported on its own: the database (a trivial query under a short
statement timeout), the Redis cache (a set and a get) and the Celery broker (a connection).

- 200 "ok": all answered.
- 200 "degraded": the database answered, Redis or the broker did not. The node stays in the
  load balancer's pool on purpose: the app works without them (the cache misses instead of
  failing, config/cache.py; jobs wait in the database's outbox until the broker is back), and
  they are shared by every node, so taking this one out would route nobody anywhere better.
  People on call see which one failed.
- 503 "down": the database did not answer; this node cannot serve a page.

Each check runs in a thread of its own and the probe waits for all of them at most
``CHECK_SECONDS``, so /healthz answers within about a second even when a service hangs rather
than refusing. A check still hanging from an earlier probe is not started again (its result is
awaited instead), so a hung service holds one thread, not one more per probe. Failures show the
error's class only: the page is public, the details go to the log.
"""

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app

logger = logging.getLogger("comunas.health")

CHECK_SECONDS = 1.0
CHECK_NAMES = ("database", "redis", "broker")

_pool = ThreadPoolExecutor(max_workers=len(CHECK_NAMES), thread_name_prefix="healthz")
_running: dict[str, Future] = {}
_running_lock = threading.Lock()


def database_check() -> dict:
    """SELECT 1 on a connection of the check's own thread, closed afterwards: it also proves a
    new connection can be opened (the database may have stopped accepting them)."""
    try:
        # SET LOCAL: the limit ends with the check's transaction. A plain SET would stay on the
        # server connection, which a pooler in transaction mode lends next to someone else.
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL statement_timeout = %s", [int(CHECK_SECONDS * 1000)])
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()
    return {}


def redis_check() -> dict:
    """A set and a get on the cache, when the cache is Redis (not on the embedded default)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return {"detail": "not configured"}
    key, token = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    # RedisCache's own methods, past ResilientRedisCache's, which would turn the error into a miss.
    RedisCache.set(cache, key, token, timeout=10)
    if RedisCache.get(cache, key) != token:
        raise RuntimeError("the cache did not return what was just set")
    return {}


def broker_check() -> dict:
    """A connection to the broker Celery sends tasks to (the filesystem broker always has one)."""
    with app.connection_for_write(connect_timeout=CHECK_SECONDS) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=CHECK_SECONDS)
        transport = broker.transport_cls
    return {"detail": "filesystem"} if transport == "filesystem" else {}


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as error:  # any failure of a service is a failed check
        logger.warning("healthz: %s failed: %r", check.__name__, error)
        result = {"ok": False, "error": type(error).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _start(name: str, check) -> Future:
    with _running_lock:
        future = _running.get(name)
        if future is None or future.done():
            future = _running[name] = _pool.submit(_timed, check)
        return future


def checks_run() -> dict[str, dict]:
    """Every check's result, within CHECK_SECONDS in all."""
    functions = {"database": database_check, "redis": redis_check, "broker": broker_check}
    futures = {name: _start(name, functions[name]) for name in CHECK_NAMES}
    deadline = time.monotonic() + CHECK_SECONDS
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            logger.warning("healthz: %s did not answer within %s s", name, CHECK_SECONDS)
            results[name] = {"ok": False, "error": "timeout", "ms": CHECK_SECONDS * 1000}
    return results


@never_cache
@require_safe
def healthz(request):
    checks = checks_run()
    if not checks["database"]["ok"]:
        status, http_status = "down", 503
    elif all(check["ok"] for check in checks.values()):
        status, http_status = "ok", 200
    else:
        status, http_status = "degraded", 200
    return JsonResponse({"status": status, "checks": checks}, status=http_status)
