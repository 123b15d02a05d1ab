"""Django's Redis cache, keeping one client per connection pool.

Django's client builds a new ``redis.Redis`` object (and its table of ~170 response callbacks)
for every cache call; on the vote's path (the session, the round's key shares, the limiters of
other pages) that cost 0.35 ms of CPU a request (bench/votes.py, profiled). A client is safe to
share: it takes a connection from the pool for each command.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient


class ResilientRedisCache(ReusingRedisCache):
    """The Redis cache, failing soft when Redis is away: a read misses, a write is skipped.

    Everything cached here can be rebuilt from the database (sessions are written through to it,
    results are recomputed), so with Redis stopped the site keeps working, slower. ``add`` says
    "added": allauth's rate limiter spins on it as a lock, and a limiter that cannot count lets
    people through rather than locking everyone out. Each failure is logged, once a minute.
    """

    def _soft(self, operation, default, *args, **kwargs):
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except RedisError as error:
            now = time.monotonic()
            if now - self._last_warning > 60:
                self._last_warning = now
                logger.warning("Redis unavailable, cache %s skipped: %s", operation, error)
            return default

    _last_warning = 0.0

    def get(self, key, default=None, version=None):
        return self._soft("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._soft("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._soft("has_key", False, key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("set", None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("set_many", [], data, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("add", True, key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        # A counter that cannot count reads as nothing counted (accounts/signin_limits.py).
        return self._soft("incr", None, key, delta, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._soft("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._soft("delete_many", None, keys, version)
