# The two commands of the README:
#   make run   the app with demo data at http://127.0.0.1:8000 (PORT=...), served as in deployment
#              (gunicorn, whitenoise, DEBUG off), with a Celery worker and beat, on SQLite and a
#              filesystem broker (no PostgreSQL or Redis needed)
#   make test  the whole suite against PostgreSQL and Redis, plus ruff, the import layers and the
#              migrations check
# and, for people changing the code, make dev: the same with runserver, DEBUG and autoreload.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/comunas
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DEBUG=0 \
	SECRET_KEY=test-only-secret-key ALLOWED_HOSTS=127.0.0.1,localhost,testserver \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 STATIC_ROOT=var/static-test \
	URN_SINGLE_KEY_ALLOWED=1 URN_POOL_SIZE=0
PORT ?= 8000
# make run: production settings on plain HTTP at 127.0.0.1, with a secret key of its own kept in
# var/ (so sessions survive a restart). ALLOWED_HOSTS and SECRET_KEY can be given.
SECRET_KEY_FILE := var/secret-key
RUN_ENV = DEBUG=0 SECRET_KEY="$${SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}" \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-127.0.0.1,localhost}" SECURE_SSL_REDIRECT=0 \
	SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 LOG_FORMAT=plain PORT=$(PORT)

.PHONY: help install run dev test lint system-deps messages bench-import bench-count \
	bench-urncrypto lock reliability backup restore bench-votes bench-embedded bench-day

help:
	@echo "make run     start the app with demo data at http://127.0.0.1:8000 (SQLite, no services)"
	@echo "make test    run ruff, the import layers, the migrations check and the whole test suite"
	@echo "make dev     the same as make run with runserver, DEBUG and autoreload, to change the code"

# Installs the exact versions (and hashes) of requirements.lock; pyproject.toml keeps the ranges.
$(VENV)/.installed: requirements.lock
	@python=$$(scripts/find-python) || exit 1; \
	  if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$python"; $$python -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $@

install: $(VENV)/.installed

$(SECRET_KEY_FILE):
	@mkdir -p $(dir $@)
	@umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Static files are collected first: whitenoise serves them from there, as in deployment.
run: install $(SECRET_KEY_FILE)
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(VENV)/bin/honcho --procfile Procfile.run start --port $(PORT)

dev: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(VENV)/bin/honcho --procfile Procfile.dev start --port $(PORT)

# The browser tests drive Debian's Chromium and the catalogue check needs gettext: install them
# when missing, as root, or say how.
system-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "Installing$$missing with apt-get"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else echo "Missing system packages:$$missing (as root: apt-get install$$missing)"; exit 1; fi; \
	  fi

# ruff, then the import-linter contracts of pyproject.toml (the apps import only downward).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# The replica alias points at the test database (a mirror): tests/test_replica.py reads it.
test: install system-deps
	@$(TEST_ENV) $(PY) scripts/check_services.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(TEST_ENV) DATABASE_REPLICA_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

# Rebuild the Spanish catalogue after changing user-facing strings, then translate what is new.
messages: install
	DEBUG=1 $(PY) manage.py makemessages --locale es --ignore '.venv/*' --ignore 'var/*' --no-obsolete
	DEBUG=1 $(PY) manage.py compilemessages --locale es --ignore '.venv/*'

# After changing a dependency in pyproject.toml: pin the new set, then `make install`.
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.12 \
	  --quiet -o requirements.lock

bench-import: install
	$(TEST_ENV) $(PY) bench/import_residents.py

# What the urn's cryptography (urncrypto: ballots with proofs, sums, partial decryptions) costs on
# this machine, projected to a national round.
bench-urncrypto: install
	$(PY) bench/urncrypto.py $(BENCH_ARGS)

# The national count (6.5 million ballots); the built database is kept for reruns (BENCH_ARGS:
# e.g. --votes 100000 --communes 200 for a quick run, --rebuild to build it anew).
bench-count: install
	$(TEST_ENV) $(PY) bench/count.py $(BENCH_ARGS)

# Online votes through gunicorn against PostgreSQL (scratch database comunas_bench_votes);
# BENCH_ARGS=--embedded runs bench-embedded instead.
bench-votes: install
	$(TEST_ENV) $(PY) bench/votes.py $(BENCH_ARGS)

# A crowd at one door of `make run`'s stack, started by `make run` in a fresh clone of HEAD:
# sign-ins and confirmations at once, then 30 s at 100 votes a second (bench/embedded.py).
bench-embedded: install
	$(PY) bench/embedded.py $(BENCH_ARGS)

# A mixed voting day through gunicorn against PostgreSQL (scratch database comunas_bench_day).
bench-day: install
	$(TEST_ENV) $(PY) bench/day.py $(BENCH_ARGS)

# The faults of a voting day, for real (database restart under votes, Redis gone, a worker killed
# mid-count, backup and restore), each on a PostgreSQL cluster and a Redis of its own.
reliability: install
	$(PY) reliability/run.py $(RELIABILITY_ARGS)

# Back a database up to one file (DATABASE_URL=... make backup [BACKUP=file]), and restore a file
# into a database, created when missing (DATABASE_URL=... make restore BACKUP=file). The server's
# key shares of rounds without commissioners are not in the database (URN_KEY_DIR): back that
# folder up too, kept apart.
BACKUP_STAMP := $(shell date +%Y%m%d-%H%M%S)
BACKUP ?= var/backups/comunas-$(BACKUP_STAMP).dump
backup:
	@test -n "$(DATABASE_URL)" || { echo "Set DATABASE_URL to the database to back up."; exit 1; }
	@mkdir -p $(dir $(BACKUP))
	pg_dump --format=custom --no-owner --no-privileges --file="$(BACKUP)" "$(DATABASE_URL)"
	@echo "Backed up to $(BACKUP)"

restore: install
	@test -n "$(DATABASE_URL)" || { echo "Set DATABASE_URL to the database to restore into."; exit 1; }
	@test -f "$(BACKUP)" || { echo "Set BACKUP to the file to restore (make backup wrote it)."; exit 1; }
	$(PY) scripts/database_ensure.py "$(DATABASE_URL)"
	pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error \
	  --dbname="$(DATABASE_URL)" "$(BACKUP)"
	@echo "Restored $(BACKUP)"
