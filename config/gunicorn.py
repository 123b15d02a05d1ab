"""gunicorn's settings, for every way the app is served through it: `make run` (the embedded
database), docker compose and the benchmarks. `gunicorn --config config/gunicorn.py
config.wsgi:application`; the environment chooses:

- HOST (127.0.0.1) and PORT (8000): where it listens;
- WEB_CONCURRENCY: worker processes, 2 by default (measured best on 2 cores: bench/votes.py
  with PostgreSQL, bench/embedded.py on SQLite, whose writers queue for the file's lock);
- WEB_THREADS: threads per worker, 4 by default (gthread: a slow client holds a thread, not a
  process; the password hash and the database release the GIL meanwhile).

Connections wait in a deep accept queue (backlog) rather than being refused when a crowd arrives
at once, and each worker keeps up to worker_connections of them open.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("WEB_THREADS") or 4)
backlog = 2048
worker_connections = 1000
keepalive = 5
# A worker silent this long is restarted (with threads, the worker's own loop must be stuck).
timeout = 60
graceful_timeout = 30
# No access log: gunicorn would log whole query strings (a cédula can be in one); the app logs
# each request itself, redacted (config/request_log.py).
accesslog = None
# No runtime control socket: gunicorn puts it at one path per user ($HOME/.gunicorn), so a second
# instance on the machine (a benchmark beside `make run`) would take over the first one's, and
# nothing here uses it.
control_socket_disable = True
