"""Django's Redis cache, keeping one client per connection pool.

Django's client builds a new ``redis.Redis`` object (and its table of ~170 response callbacks)
for every cache call; on the vote's path (the session, the round's key shares, the limiters of
other pages) that cost 0.35 ms of CPU a request (bench/votes.py, profiled). A client is safe to
share: it takes a connection from the pool for each command.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


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
