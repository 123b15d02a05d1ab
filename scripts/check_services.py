"""Say in one line, before the tests start, when PostgreSQL or Redis cannot be reached."""

import os
import sys

import dj_database_url
import psycopg
import redis
from psycopg import sql

HINT = "start them with: docker compose up -d db redis"


def main() -> int:
    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        server = psycopg.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=3,
            autocommit=True,
        )
    except psycopg.OperationalError:
        print(f"PostgreSQL is not reachable at {db['HOST']}:{db['PORT'] or 5432}; {HINT}")
        return 1
    # The migrations check reads the migration history of the main database: make sure it exists.
    with server:
        exists = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if exists.fetchone() is None:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
    except redis.RedisError:
        print(f"Redis is not reachable at {os.environ['REDIS_URL']}; {HINT}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
