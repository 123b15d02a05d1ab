"""Benchmark: online votes through gunicorn against PostgreSQL, on this machine.

Target (issue: online voting): at least 300 votes/s with p99 under 250 ms, zero errors and zero
double votes, with the app, the database and this client sharing the machine's cores. Met when
the steady phase keeps up with 315 voters a second within that p99 and the peak phase's ceiling
is at least 300 votes/s.

It builds a scratch database (DATABASE_URL's server, database `comunas_bench_votes`, dropped and
migrated first): a round in `voting` with its urn, open all day, some hundreds of communes with a
ballot each, and many verified residents already signed in (their sessions are written straight
into the session table, each with a CSRF token that the client sends as cookie and header, as a
browser does). Then it starts gunicorn on 127.0.0.1 with the production settings (DEBUG off) and
runs simulated voters in two bounded phases. The client is one asyncio process speaking raw
HTTP/1.1, so it takes as little of the shared CPU as it can; each voter connects on their own.

- Steady (the target's figures): voters arrive at --rate a second whatever the server answers, as
  people do on voting day, and each latency counts from the voter's arrival, so a server falling
  behind shows in the p99 (a closed loop would hide it by sending less).
- Peak: --concurrency voters at once, each voting again as soon as answered: the server's
  ceiling in votes/s. Its latency only says how long the queue in front of the workers is
  (concurrency ÷ rate), so it is reported, not judged.

Each voter votes once; some then replay the same POST (it must be refused), and some send their
vote on two connections at the same instant (exactly one must be recorded). Afterwards it checks
the database: voting-book rows beyond one per resident, voters acknowledged more than once, urn
rows against book rows, and that every receipt acknowledged to a client is in the urn. Last, with
gunicorn stopped, pgbench runs the vote's statements on the same database for a bounded time: the
database's own ceiling, for comparison.

    make bench-votes            # or: DATABASE_URL=... python bench/votes.py [--workers N ...]
    make bench-votes BENCH_ARGS=--embedded   # the embedded stack instead: bench/embedded.py

Every simulated voter comes from 127.0.0.1; the vote has no per-address limit (a person votes
once, see voting/views.py), so no setting is relaxed for the run.
Gunicorn's log goes to a temporary file, shown when something failed.

Besides the rates it reports the CPU each request cost the gunicorn workers, the database
backends and this client (from /proc): those stay meaningful when the machine is shared, the
rates do not. On 2 cores, gthread with 2 workers of 4 threads did best (keep-alive saves about
1.5 ms of CPU per request over sync workers; more processes only add switching).

Prints its figures; the last line is one JSON object.
"""

import argparse
import asyncio
import datetime
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import dj_database_url
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "comunas_bench_votes"  # with the default DATABASE_URL (see scratch_name)
TARGET = {"votes_per_s": 300, "p99_ms": 250}
RECEIPT = re.compile(rb'data-receipt="([A-Z2-7-]+)"')
# The production-like environment of the Makefile's TEST_ENV, for a run without make.
DEFAULT_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/comunas",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "STATIC_ROOT": "var/static-test",
}


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument(
        "--rate", type=float, default=315.0, help="voters arriving a second (steady phase)"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of steady voting")
    parser.add_argument(
        "--concurrency", type=int, default=48, help="voters at once in the peak phase"
    )
    parser.add_argument("--peak-duration", type=float, default=20.0, help="seconds of peak")
    parser.add_argument("--voters", type=int, default=30_000, help="signed-in residents")
    parser.add_argument("--communes", type=int, default=300)
    parser.add_argument("--replay-share", type=float, default=0.10)
    parser.add_argument("--race-share", type=float, default=0.05)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument(
        "--pool",
        type=int,
        default=12_000,
        help="precomputed ballots each server process keeps (URN_POOL_SIZE): enough for the "
        "measured votes it will take",
    )
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--gunicorn-args", default="", help="more gunicorn options, quoted")
    parser.add_argument(
        "--journey-rate", type=float, default=50.0, help="residents signing in to vote a second"
    )
    parser.add_argument(
        "--signed-in-rate",
        type=float,
        default=150.0,
        help="residents already signed in going through ballot, confirmation and vote a second",
    )
    parser.add_argument("--journey-duration", type=float, default=20.0, help="seconds of each")
    parser.add_argument(
        "--journey-samples", type=int, default=100, help="journeys sent one at a time, for CPU"
    )
    parser.add_argument(
        "--reuse-connections",
        action="store_true",
        help="one keep-alive connection for many voters (default: each voter, like each phone, "
        "connects on their own)",
    )
    return parser.parse_args()


# The scratch database ------------------------------------------------------------------------


def server_connection(url: str):
    db = dj_database_url.parse(url)
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def scratch_name(suffix: str) -> str:
    """A scratch database named after DATABASE_URL's (comunas → comunas_bench_votes), so runs
    against different databases on one server never drop each other's."""
    for variable, value in DEFAULT_ENV.items():
        os.environ.setdefault(variable, value)
    return f"{dj_database_url.parse(os.environ['DATABASE_URL'])['NAME']}_{suffix}"


def scratch_database(name: str = DB_NAME) -> str:
    """Drop and create database `name` on DATABASE_URL's server; DATABASE_URL then points at it."""
    for variable, value in DEFAULT_ENV.items():
        os.environ.setdefault(variable, value)
    url = os.environ["DATABASE_URL"]
    with server_connection(url) as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    bench_url = url.rsplit("/", 1)[0] + "/" + name
    os.environ["DATABASE_URL"] = bench_url
    return bench_url


def django_setup(key_dir: str) -> None:
    """Django on the scratch database, its urns' private keys written under `key_dir`, and the
    static files collected for the server (a fresh clone has none: with DEBUG off every page
    would fail on the missing manifest)."""
    os.environ["URN_KEY_DIR"] = key_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The server runs from the repository's root: the same folder, wherever this was started.
    os.environ["STATIC_ROOT"] = str(ROOT / os.environ.get("STATIC_ROOT", "var/static-test"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)


def voting_round(year: int, quarter: int, name: str, now):
    """A round in `voting`, open all day from an hour ago for six hours (no urn yet)."""
    from consultations.models import Consultation

    day = datetime.timedelta(days=1)
    return Consultation.objects.create(
        name=name,
        year=year,
        quarter=quarter,
        phase=Consultation.Phase.VOTING,
        assemblies_open_at=now - 40 * day,
        validation_opens_at=now - 20 * day,
        voting_opens_at=now - datetime.timedelta(hours=1),
        voting_closes_at=now + datetime.timedelta(hours=6),
        tally_deadline_at=now + 7 * day,
        voting_hours_start=datetime.time(0, 0),
        voting_hours_end=datetime.time(23, 59, 59, 999_999),
        funder_by_rank=["national"],
        # A scratch round: the server holds its only key share, and says why, as an admin would
        # (production settings refuse a 1-of-1 urn otherwise; make reliability runs with them).
        single_key_reason="Banco de pruebas: base de datos descartable, sin votantes reales.",
    )


def communes_make(count: int, rng: random.Random) -> tuple[list, list]:
    """`count` communes in random parishes, two communal councils each."""
    from communes.models import CommunalCouncil, Commune, Parish

    parishes = list(Parish.objects.all())
    communes = Commune.objects.bulk_create(
        Commune(
            code=f"BV-{n:05d}",
            name=f"Comuna de prueba {n}",
            parish=rng.choice(parishes),
            registered_on=datetime.date(2020, 1, 1),
        )
        for n in range(count)
    )
    councils = CommunalCouncil.objects.bulk_create(
        CommunalCouncil(commune=commune, code=f"BVC-{commune.code}-{k}", name="CC", families=200)
        for commune in communes
        for k in range(2)
    )
    return communes, councils


def ballots_make(consultation, communes: list, per_commune: int = 4) -> dict[int, list[int]]:
    """Approved projects on each commune's ballot: commune id → project ids."""
    from consultations.models import Project

    projects = Project.objects.bulk_create(
        Project(
            consultation=consultation,
            commune=commune,
            title=f"Proyecto {k} de {commune.name}",
            status=Project.Status.APPROVED,
        )
        for commune in communes
        for k in range(per_commune)
    )
    ballot: dict[int, list[int]] = {}
    for project in projects:
        ballot.setdefault(project.commune_id, []).append(project.pk)
    return ballot


def residents_make(councils: list, count: int, *, now, prefix: str = "votante", first: int = 0):
    """`count` verified residents of these councils (in turn), each with an account."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from communes.models import Resident

    password = make_password("bench-voter-password")
    users = User.objects.bulk_create(
        (
            User(email=f"{prefix}{n}@bench.invalid", password=password)
            for n in range(first, first + count)
        ),
        batch_size=5000,
    )
    verifier, _created = User.objects.get_or_create(
        email="vocera@bench.invalid", defaults={"password": password}
    )
    today = timezone.localdate()
    residents = Resident.objects.bulk_create(
        (
            Resident(
                cedula=f"V-{30_000_000 + first + n}",
                full_name=f"Votante {first + n}",
                birth_date=today.replace(year=today.year - 20 - n % 50, day=1),
                council=councils[n % len(councils)],
                user=user,
                verification=Resident.Verification.VERIFIED,
                verified_by=verifier,
                verified_at=now,
            )
            for n, user in enumerate(users)
        ),
        batch_size=5000,
    )
    return users, residents


def sessions_write(people: list, *, now, extra=None) -> list[str]:
    """A signed-in session for each (user, Roles): written straight into the session table (and
    its cache), with the roles the pages keep in it, as after the person's earlier pages. Returns
    the session keys. `extra(user)` may add more to a session (allauth's sign-in records)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.permissions import SESSION_ROLES

    backend = settings.AUTHENTICATION_BACKENDS[0]
    store = SessionStore()
    expires = now + datetime.timedelta(days=14)
    today = timezone.localdate()
    sessions = []
    for user, roles in people:
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            # The roles the pages keep in the session (accounts.permissions).
            SESSION_ROLES: {
                "day": today.isoformat(),
                "epoch": user.session_epoch,
                "roles": roles.as_json(),
            },
            **(extra(user) if extra else {}),
        }
        sessions.append(
            Session(
                session_key=secrets.token_hex(16),
                session_data=store.encode(data),
                expire_date=expires,
            )
        )
    Session.objects.bulk_create(sessions, batch_size=5000)
    if settings.SESSION_ENGINE.endswith("cached_db"):
        # As after the person's earlier pages (the ballot, the confirmation): already cached.
        from django.contrib.sessions.backends.cached_db import KEY_PREFIX
        from django.core.cache import caches

        session_cache = caches[settings.SESSION_CACHE_ALIAS]
        batch = {}
        for session in sessions:
            batch[KEY_PREFIX + session.session_key] = store.decode(session.session_data)
            if len(batch) == 2000:
                session_cache.set_many(batch, settings.SESSION_COOKIE_AGE)
                batch = {}
        session_cache.set_many(batch, settings.SESSION_COOKIE_AGE)
    return [session.session_key for session in sessions]


def build(args, key_dir: str) -> dict:
    """The round, its urn, the communes and their ballots, the voters and their sessions."""
    django_setup(key_dir)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.permissions import Roles
    from voting import services

    call_command("migrate", verbosity=0)
    rng = random.Random(11)
    now = timezone.now()
    consultation = voting_round(2099, 1, "Consulta de prueba de carga", now)
    communes, councils = communes_make(args.communes, rng)
    ballot = ballots_make(consultation, communes)
    # Voting opens once the ballots are made: the urn makes each commune's running sums then.
    services.urn_open(consultation=consultation, now=now)
    users, residents = residents_make(councils, args.voters, now=now)
    council_commune = {council.pk: council.commune_id for council in councils}
    keys = sessions_write(
        [
            (
                user,
                Roles(
                    resident_id=resident.pk,
                    resident_commune_id=council_commune[resident.council_id],
                ),
            )
            for user, resident in zip(users, residents, strict=True)
        ],
        now=now,
    )
    voters = [
        {
            "user": user.pk,
            "resident": resident.pk,
            "session": key,
            "csrf": secrets.token_hex(16),  # 32 characters: a CSRF secret, cookie and header
            "project": rng.choice(ballot[council_commune[resident.council_id]]),
        }
        for user, resident, key in zip(users, residents, keys, strict=True)
    ]
    rng.shuffle(voters)

    # pgbench's own rounds (its inserts must not collide with one another or with the run's).
    expected = 4000 * args.pgbench_seconds
    spare = [
        voting_round(2098 - k // 4, 1 + k % 4, f"Consulta pgbench {k}", now).pk
        for k in range(expected // args.voters + 1)
    ]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return {
        "consultation": consultation.pk,
        "voters": voters,
        "pgbench_rounds": spare,
        "first_user": users[0].pk,
        "first_resident": residents[0].pk,
    }


# The server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(args, port: int, key_dir: str, log_path: str) -> subprocess.Popen:
    env = {**os.environ, "URN_KEY_DIR": key_dir}
    if getattr(args, "pool", None) is not None:  # make reliability's servers keep the default
        env["URN_POOL_SIZE"] = str(args.pool)
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--keep-alive",
        "120",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        *shlex.split(args.gunicorn_args),
    ]
    log = open(log_path, "wb")  # noqa: SIM115 (the server's lifetime, closed with the file)
    process = subprocess.Popen(  # noqa: S603 -- our own gunicorn, fixed arguments
        command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn did not start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.2)
    gunicorn_stop(process)
    raise SystemExit("gunicorn did not answer")


def gunicorn_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes so far (Linux /proc), 0 for those gone."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def pools_wait(workers: list[int], limit: float = 300) -> float:
    """Wait while the server processes fill their pools of precomputed ballots (each process's
    filler thread, started by its first vote, works while no vote comes): until their CPU falls
    quiet, as it does once every pool is full. Returns the seconds waited.

    Each vote then takes a ballot precomputed before the peak (about 0.5 ms of cryptography at
    the vote instead of 4: urncrypto/README.md), as a server does that was idle before a rush;
    a process restarted in the middle of voting day makes its ballots on the spot until its
    pool has filled again."""
    began = time.monotonic()
    quiet = 0
    before = cpu_seconds(workers)
    while time.monotonic() - began < limit and quiet < 2:
        time.sleep(1)
        now = cpu_seconds(workers)
        quiet = quiet + 1 if now - before < 0.05 * len(workers) else 0
        before = now
    return time.monotonic() - began


def workers_of(process: subprocess.Popen) -> list[int]:
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in children.split()]


def database_backends(url: str) -> list[int]:
    """The server processes connected to the url's database (but this query's own)."""
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


# The client: raw HTTP/1.1 with keep-alive ----------------------------------------------------


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None
        self.cookies: dict[str, str] = {}  # every Set-Cookie answered so far: name → value

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def post(self, path: str, voter: dict) -> tuple[int, bytes]:
        """The vote: the voter's choice, as their browser posts it."""
        status, _headers, body = await self.request(
            "POST", path, person=voter, body=b"project=%d" % voter["project"]
        )
        return status, body

    async def request(
        self,
        method: str,
        path: str,
        *,
        person: dict | None = None,
        body: bytes = b"",
        forwarded_for: str | None = None,
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        """One request; `person` (a dict with `session` and `csrf`) signs it in, as their
        browser's cookies and CSRF header do. A POST's body is form-encoded. `forwarded_for`:
        the address a load balancer in front would add. Returns the status, the headers
        (lower-case names) and the body."""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if forwarded_for:
            head += f"X-Forwarded-For: {forwarded_for}\r\n"
        if person is not None:
            head += f"Cookie: sessionid={person['session']}; csrftoken={person['csrf']}\r\n"
            if method == "POST":
                head += f"X-CSRFToken: {person['csrf']}\r\n"
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        if self.writer is None:
            await self.open()
        self.writer.write((head + "\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _sep, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
                if name.strip().lower() == b"set-cookie":
                    cookie, _eq, rest = value.strip().decode().partition("=")
                    self.cookies[cookie] = rest.split(";", 1)[0]
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(part[:-2] for part in parts)
        else:
            body = await self.reader.read()
            self.close()
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, body


class Run:
    def __init__(self, path: str, port: int, voters: list[dict], args):
        self.path, self.port, self.voters, self.args = path, port, voters, args
        self.next = 0
        self.acks: dict[int, list[str]] = {}  # resident → receipts acknowledged to them
        self.errors: dict[str, int] = {}
        self.refusals = 0  # expected ones: replays and the losing half of a race
        self.measure(None)

    def measure(self, latencies: list[float] | None) -> None:
        """Record from now on into `latencies` (None: warm-up, not recorded)."""
        self.latencies = latencies
        self.requests = 0
        self.votes = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    async def send(self, connection: Connection, voter: dict, since: float) -> int | None:
        """POST the vote; its latency counts from `since` (the voter's arrival, open loop)."""
        try:
            status, body = await asyncio.wait_for(connection.post(self.path, voter), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            connection.close()
            self.error(type(exc).__name__)
            return None
        if self.latencies is not None:
            self.latencies.append(time.perf_counter() - since)
            self.requests += 1
        if status == 200:
            match = RECEIPT.search(body)
            if match is None:
                self.error("200 without a receipt")
                return None
            self.acks.setdefault(voter["resident"], []).append(match.group(1).decode())
            self.votes += 1
        return status

    def take(self) -> dict | None:
        if self.next >= len(self.voters):
            return None
        self.next += 1
        return self.voters[self.next - 1]

    async def vote(self, voter: dict, connection: Connection, spare: Connection, since=None):
        """One voter: a vote; some replay it, some send it on two connections at once."""
        share = voter["share"]
        if share < self.args.race_share:
            statuses = await asyncio.gather(
                self.send(connection, voter, since or time.perf_counter()),
                self.send(spare, voter, since or time.perf_counter()),
            )
            if sorted(statuses, key=str) == [200, 409]:  # None: no answer
                self.refusals += 1
            else:
                self.error(f"race gave {sorted(statuses, key=str)}")
        else:
            status = await self.send(connection, voter, since or time.perf_counter())
            if status != 200:
                if status is not None:
                    self.error(f"vote gave {status}")
            elif share < self.args.race_share + self.args.replay_share:
                status = await self.send(connection, voter, time.perf_counter())
                if status == 409:
                    self.refusals += 1
                elif status is not None:
                    self.error(f"replay gave {status}")
        if not self.args.reuse_connections:
            connection.close()
            spare.close()

    async def voter_loop(self, deadline: float | None, limit: int) -> None:
        connection, spare = Connection(self.port), Connection(self.port)
        while (deadline is None or time.perf_counter() < deadline) and self.next < limit:
            await self.vote(self.take(), connection, spare)
        connection.close()
        spare.close()

    async def closed_loop(self, concurrency: int, seconds: float | None, limit: int) -> float:
        """`concurrency` voters, each voting again as soon as answered: the server's ceiling."""
        started = time.perf_counter()
        deadline = started + seconds if seconds else None
        await asyncio.gather(*(self.voter_loop(deadline, limit) for _ in range(concurrency)))
        return time.perf_counter() - started

    async def open_loop(self, rate: float, seconds: float) -> float:
        """Voters arrive at `rate` a second whatever the answers, as people do on voting day;
        each latency counts from the arrival, so a server falling behind shows in the p99."""
        started = time.perf_counter()
        arrivals, tasks = int(rate * seconds), set()
        for k in range(arrivals):
            arrival = started + k / rate
            await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
            voter = self.take()
            if voter is None:
                break
            task = asyncio.create_task(
                self.vote(voter, Connection(self.port), Connection(self.port), since=arrival)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# The whole journey ---------------------------------------------------------------------------
# A resident on voting day: signs in (the sign-in page, then the password, checked with Argon2id
# at OWASP's settings), lands on the ballot, chooses, confirms, votes and reads the receipt; all
# on one connection of their own, as from a phone. Each comes from an address of their own behind
# the load balancer (X-Forwarded-For, TRUSTED_PROXY_HOPS=1), as in production, so the sign-in's
# limit per address applies to each person rather than to the whole benchmark.

JOURNEY_TARGET = {
    "sign_in_journeys_per_s": 50,
    "sign_in_journey_p99_ms": 1000,
    "signed_in_journeys_per_s": 150,
    "three_pages_app_cpu_ms": 8.0,
}
JOURNEY_PASSWORD = "bench-voter-password"  # noqa: S105 -- residents_make's, a scratch database
PROJECT = re.compile(rb'name="project" value="(\d+)"')


def journey_build(args) -> dict:
    """Residents for the journeys, apart from the voters of the other phases: some with a
    verified email address and a password (as after signing up), to sign in; some already
    signed in (their session written as sessions_write does)."""
    from allauth.account.models import EmailAddress
    from django.db import connection
    from django.utils import timezone

    from accounts.permissions import Roles
    from communes.models import CommunalCouncil

    now = timezone.now()
    councils = list(CommunalCouncil.objects.filter(code__startswith="BVC-").order_by("pk"))
    council_commune = {council.pk: council.commune_id for council in councils}
    sign_in = int(args.journey_rate * args.journey_duration) + args.journey_samples + 40
    signed_in = int(args.signed_in_rate * args.journey_duration) + args.journey_samples + 40
    users, residents = residents_make(
        councils, sign_in + signed_in, now=now, prefix="recorrido", first=args.voters
    )
    EmailAddress.objects.bulk_create(
        (
            EmailAddress(user=user, email=user.email, verified=True, primary=True)
            for user in users[:sign_in]
        ),
        batch_size=5000,
    )
    keys = sessions_write(
        [
            (
                user,
                Roles(
                    resident_id=resident.pk,
                    resident_commune_id=council_commune[resident.council_id],
                ),
            )
            for user, resident in zip(users[sign_in:], residents[sign_in:], strict=True)
        ],
        now=now,
    )
    connection.close()
    return {
        "sign_in": [
            {
                "email": user.email,
                "resident": resident.pk,
                "address": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
            }
            for n, (user, resident) in enumerate(zip(users[:sign_in], residents, strict=False))
        ],
        "signed_in": [
            {"session": key, "csrf": secrets.token_hex(16), "resident": resident.pk}
            for key, resident in zip(keys, residents[sign_in:], strict=True)
        ],
    }


class Journeys:
    """Residents going through the whole vote; every step's answer is checked, every receipt
    kept to be looked for in the urn."""

    def __init__(self, port: int, consultation: int, people: dict):
        self.port = port
        self.ballot = f"/consultas/{consultation}/votar/"
        self.vote = f"/consultas/{consultation}/votar/confirmar/"
        self.sign_in_path = "/cuentas/login/"
        self.waiting = {kind: list(reversed(people[kind])) for kind in people}
        self.receipts: list[str] = []
        self.errors: dict[str, int] = {}
        self.choice = random.Random(7)
        self.measure(None)

    def measure(self, latencies: dict[str, list[float]] | None) -> None:
        """Record from now on (None: not recorded); counts completed journeys."""
        self.latencies = latencies
        self.completed = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    async def sign_in(self, connection: Connection, person: dict) -> dict | None:
        """The sign-in page, then the password; returns the signed-in session and CSRF token."""
        address = person["address"]
        status, _headers, _body = await connection.request(
            "GET", f"{self.sign_in_path}?next={self.ballot}", forwarded_for=address
        )
        csrf = connection.cookies.get("csrftoken")
        if status != 200 or not csrf:
            self.error(f"sign-in page gave {status}")
            return None
        form = urlencode(
            {"login": person["email"], "password": JOURNEY_PASSWORD, "next": self.ballot}
        ).encode()
        status, headers, _body = await connection.request(
            "POST",
            self.sign_in_path,
            person={"session": "", "csrf": csrf},
            body=form,
            forwarded_for=address,
        )
        if status != 302 or headers.get(b"location", b"").decode() != self.ballot:
            self.error(f"sign-in gave {status} to {headers.get(b'location', b'nowhere')!r}")
            return None
        # Signing in gives a new session and a new CSRF token, as to a browser.
        return {"session": connection.cookies["sessionid"], "csrf": connection.cookies["csrftoken"]}

    async def three_pages(self, connection: Connection, person: dict) -> bool:
        """The ballot, the confirmation of one project on it, the vote and its receipt."""
        status, _headers, page = await connection.request("GET", self.ballot, person=person)
        projects = PROJECT.findall(page)
        if status != 200 or not projects:
            self.error(f"ballot gave {status}")
            return False
        form = b"project=" + self.choice.choice(projects)
        status, _headers, page = await connection.request(
            "POST", self.ballot, person=person, body=form
        )
        if status != 200 or form[len(b"project=") :] not in page:
            self.error(f"confirmation gave {status}")
            return False
        status, _headers, page = await connection.request(
            "POST", self.vote, person=person, body=form
        )
        receipt = RECEIPT.search(page)
        if status != 200 or receipt is None:
            self.error(f"vote gave {status}")
            return False
        self.receipts.append(receipt.group(1).decode().replace("-", ""))
        return True

    async def one(self, kind: str, arrival: float) -> None:
        """One resident's journey on a connection of their own; its latency counts from their
        arrival (open loop), the sign-in's from the same moment."""
        if not self.waiting[kind]:
            self.error("ran out of residents")
            return
        person = self.waiting[kind].pop()
        connection = Connection(self.port)
        try:
            if kind == "sign_in":
                person = await asyncio.wait_for(self.sign_in(connection, person), 30)
                if person is None:
                    return
                if self.latencies is not None:
                    self.latencies.setdefault("sign_in_step", []).append(
                        time.perf_counter() - arrival
                    )
            if not await asyncio.wait_for(self.three_pages(connection, person), 30):
                return
        except (OSError, asyncio.IncompleteReadError, TimeoutError, KeyError) as exc:
            self.error(type(exc).__name__)
            return
        finally:
            connection.close()
        if self.latencies is not None:
            self.latencies.setdefault(kind, []).append(time.perf_counter() - arrival)
            self.completed += 1

    async def open_loop(self, kind: str, rate: float, seconds: float) -> float:
        """Residents arrive at `rate` a second whatever the answers; returns the seconds until
        the last journey ended."""
        started, tasks = time.perf_counter(), set()
        for k in range(int(rate * seconds)):
            arrival = started + k / rate
            await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
            task = asyncio.create_task(self.one(kind, arrival))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return time.perf_counter() - started

    async def one_at_a_time(self, kind: str, samples: int) -> None:
        for _sample in range(samples):
            await self.one(kind, time.perf_counter())


def journey_costs(journeys: Journeys, workers: list[int], url: str, samples: int) -> dict:
    """App and database CPU of each part, one journey at a time (what sizing divides by): the
    sign-in (its page and the password), and ballot + confirmation + vote together."""
    costs = {}
    for kind in ("signed_in", "sign_in"):
        backends = database_backends(url)
        app, database = cpu_seconds(workers), cpu_seconds(backends)
        asyncio.run(journeys.one_at_a_time(kind, samples))
        costs[kind] = (
            (cpu_seconds(workers) - app) * 1000 / samples,
            (cpu_seconds(backends) - database) * 1000 / samples,
        )
    three_app, three_db = costs["signed_in"]
    return {
        "three_pages_app_cpu_ms": round(three_app, 2),
        "three_pages_db_cpu_ms": round(three_db, 2),
        "sign_in_app_cpu_ms": round(costs["sign_in"][0] - three_app, 2),
        "sign_in_db_cpu_ms": round(costs["sign_in"][1] - three_db, 2),
    }


def journey_phase(args, built: dict, process: subprocess.Popen, port: int, url: str) -> dict:
    """The whole-journey figures: CPU per journey (one at a time), then residents already
    signed in arriving at --signed-in-rate, then residents signing in at --journey-rate."""
    people = journey_build(args)
    journeys = Journeys(port, built["consultation"], people)
    # Warm-up: every worker loads the sign-in page's templates; not measured.
    asyncio.run(journeys.open_loop("sign_in", 10, 1))
    asyncio.run(journeys.open_loop("signed_in", 10, 1))
    workers = workers_of(process)
    costs = journey_costs(journeys, workers, url, args.journey_samples)

    latencies: dict[str, list[float]] = {}
    journeys.measure(latencies)
    seconds = asyncio.run(
        journeys.open_loop("signed_in", args.signed_in_rate, args.journey_duration)
    )
    signed_in_per_s = journeys.completed / seconds
    journeys.measure(latencies)
    app, own = cpu_seconds(workers), time.process_time()
    seconds = asyncio.run(journeys.open_loop("sign_in", args.journey_rate, args.journey_duration))
    sign_in_per_s = journeys.completed / seconds
    sign_in_cpu_share = (cpu_seconds(workers) - app + time.process_time() - own) / seconds

    ms = {kind: [value * 1000 for value in values] for kind, values in latencies.items()}
    figures = {
        "sign_in_journeys_per_s": round(sign_in_per_s, 1),
        "sign_in_journey_p50_ms": round(percentile(ms.get("sign_in", []), 0.50), 1),
        "sign_in_journey_p99_ms": round(percentile(ms.get("sign_in", []), 0.99), 1),
        "sign_in_step_p99_ms": round(percentile(ms.get("sign_in_step", []), 0.99), 1),
        "signed_in_journeys_per_s": round(signed_in_per_s, 1),
        "signed_in_journey_p50_ms": round(percentile(ms.get("signed_in", []), 0.50), 1),
        "signed_in_journey_p99_ms": round(percentile(ms.get("signed_in", []), 0.99), 1),
        **costs,
        "sign_in_phase_app_and_client_cores": round(sign_in_cpu_share, 2),
        "journey_errors": sum(journeys.errors.values()),
        "journey_receipts": journeys.receipts,
    }
    if journeys.errors:
        print("journey errors:", journeys.errors)
    return figures


def journey_target_met(figures: dict) -> bool:
    return (
        figures["sign_in_journeys_per_s"] >= JOURNEY_TARGET["sign_in_journeys_per_s"]
        and figures["sign_in_journey_p99_ms"] < JOURNEY_TARGET["sign_in_journey_p99_ms"]
        and figures["signed_in_journeys_per_s"] >= JOURNEY_TARGET["signed_in_journeys_per_s"]
        and figures["three_pages_app_cpu_ms"] <= JOURNEY_TARGET["three_pages_app_cpu_ms"]
        and figures["journey_errors"] == 0
    )


# pgbench -------------------------------------------------------------------------------------


def pgbench(url: str, built: dict, voters: int, seconds: int) -> float:
    """The vote's statements (the voter check, then the one-statement write) without the app."""
    binary = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if binary is None:
        print("pgbench not found; pgbench_tps is 0")
        return 0.0
    rounds = built["pgbench_rounds"]
    script = f"""
SELECT nextval('bench_votes_pgbench') - 1 AS n \\gset
\\set k :n / {voters}
\\set i :n % {voters}
\\set c {rounds[0]} + :k
\\set u {built["first_user"]} + :i
SELECT r.id AS resident, r.verification, r.birth_date, c.id AS commune, c.name, c.status,
    EXISTS (SELECT 1 FROM consultations_exclusion e
            WHERE e.consultation_id = :c AND e.commune_id = c.id) AS excluded,
    EXISTS (SELECT 1 FROM voting_votingbookentry b
            WHERE b.consultation_id = :c AND b.resident_id = r.id) AS voted,
    EXISTS (SELECT 1 FROM consultations_project p
            WHERE p.id = :u AND p.consultation_id = :c AND p.commune_id = c.id
            AND p.status = 'approved') AS on_ballot
FROM communes_resident r
JOIN communes_communalcouncil cc ON cc.id = r.council_id
JOIN communes_commune c ON c.id = cc.commune_id
WHERE r.user_id = :u \\gset
WITH open_round AS (
    SELECT id FROM consultations_consultation WHERE id = :c AND phase = 'voting' FOR SHARE
), book AS (
    INSERT INTO voting_votingbookentry (consultation_id, resident_id, commune_id, channel, voted_at)
    SELECT id, :resident, :commune, 'online', now() FROM open_round
    ON CONFLICT (consultation_id, resident_id) DO NOTHING
    RETURNING 1
)
INSERT INTO voting_sealedballot (receipt, consultation_id, commune_id, sealed)
SELECT upper(substr(md5('pgbench' || :n), 1, 26)), :c, :commune,
       decode(md5(:n || 'a') || md5(:n || 'b') || md5(:n || 'c') || md5(:n || 'd'), 'hex')
FROM book;
"""  # noqa: S608 -- numbers of our own making, no input
    db = dj_database_url.parse(url)
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS bench_votes_pgbench")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    env = {**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}
    result = subprocess.run(  # noqa: S603 -- pgbench, fixed arguments
        [
            binary,
            "-n",
            "-M",
            # Behind a pooler in transaction mode nothing may be prepared on the server.
            "simple" if os.environ.get("DATABASE_POOLING") else "prepared",
            "-c",
            "8",
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            handle.name,
            "-h",
            db["HOST"],
            "-p",
            str(db["PORT"] or 5432),
            "-U",
            db["USER"],
            db["NAME"],
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    os.unlink(handle.name)
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if result.returncode != 0 or match is None:
        print(result.stdout[-2000:], result.stderr[-2000:])
        return 0.0
    return float(match.group(1))


# The run -------------------------------------------------------------------------------------


def database_check(url: str, consultation: int, receipts: list[str]) -> dict:
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        book, residents = conn.execute(
            "SELECT count(*), count(DISTINCT resident_id) FROM voting_votingbookentry"
            " WHERE consultation_id = %s",
            [consultation],
        ).fetchone()
        (urn,) = conn.execute(
            "SELECT count(*) FROM voting_sealedballot WHERE consultation_id = %s", [consultation]
        ).fetchone()
        (found,) = conn.execute(
            "SELECT count(*) FROM voting_sealedballot WHERE consultation_id = %s"
            " AND receipt = ANY(%s)",
            [consultation, receipts],
        ).fetchone()
    return {"book": book, "book_residents": residents, "urn": urn, "found": found}


def main() -> int:
    if "--embedded" in sys.argv[1:]:
        # The same crowd on `make run`'s stack (SQLite, the filesystem broker): bench/embedded.py.
        import embedded

        return embedded.main([arg for arg in sys.argv[1:] if arg != "--embedded"])
    args = arguments()
    url = scratch_database(scratch_name("bench_votes"))
    key_dir = tempfile.mkdtemp(prefix="bench-votes-keys-")
    process = None
    try:
        began = time.perf_counter()
        built = build(args, key_dir)
        voters = built["voters"]
        chooser = random.Random(5)
        for voter in voters:
            voter["share"] = chooser.random()
        print(
            f"built {len(voters)} signed-in voters in {args.communes} communes "
            f"in {time.perf_counter() - began:.1f} s"
        )
        port = args.port or free_port()
        log_path = os.path.join(key_dir, "gunicorn.log")
        # As behind the load balancer: the journeys' sign-ins come from addresses of their own.
        os.environ["TRUSTED_PROXY_HOPS"] = "1"
        process = gunicorn_start(args, port, key_dir, log_path)
        run = Run(f"/consultas/{built['consultation']}/votar/confirmar/", port, voters, args)
        # Warm-up: every worker loads its templates and opens its connection; not measured.
        asyncio.run(run.closed_loop(args.concurrency, None, limit=min(400, len(voters) // 10)))
        warm_errors = dict(run.errors)
        warm_acks = sum(len(receipts) for receipts in run.acks.values())
        workers, backends = workers_of(process), database_backends(url)
        pool_s = pools_wait(workers)
        print(f"the server processes' ballot pools filled in {pool_s:.0f} s (--pool {args.pool})")

        # Peak: as many votes as the server can take, each voter voting again once answered.
        peak_latencies: list[float] = []
        run.measure(peak_latencies)
        app_cpu, db_cpu, own_cpu = cpu_seconds(workers), cpu_seconds(backends), time.process_time()
        peak_s = asyncio.run(run.closed_loop(args.concurrency, args.peak_duration, len(voters)))
        # Where the CPU went, per request: steadier than the rates when the machine is shared.
        app_cpu = cpu_seconds(workers) - app_cpu
        db_cpu = cpu_seconds(backends) - db_cpu
        own_cpu = time.process_time() - own_cpu
        peak_votes, peak_requests = run.votes, run.requests

        # Steady: voters arriving at --rate whatever the answers; the target's rate and p99.
        latencies: list[float] = []
        run.measure(latencies)
        steady_from = run.next
        steady_s = asyncio.run(run.open_loop(args.rate, args.duration))
        journey = journey_phase(args, built, process, port, url)
        gunicorn_stop(process)
        process = None
        if run.next >= len(voters):
            print("all voters have voted before the time ran out: raise --voters")
        acknowledged = [receipt for receipts in run.acks.values() for receipt in receipts]
        normalised = [receipt.replace("-", "") for receipt in acknowledged]
        normalised += journey.pop("journey_receipts")
        check = database_check(url, built["consultation"], normalised)
        double_votes = (
            (check["book"] - check["book_residents"])
            + sum(len(receipts) - 1 for receipts in run.acks.values() if len(receipts) > 1)
            + abs(check["urn"] - check["book"])
        )
        missing = len(set(normalised)) - check["found"]
        errors = sum(run.errors.values()) + missing
        pgbench_tps = pgbench(url, built, len(voters), args.pgbench_seconds)
        result = {
            "votes_per_s": round(run.votes / steady_s, 1),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "errors": errors,
            "double_votes": double_votes,
            "lost_votes": missing,  # acknowledged to a voter (a receipt), not in the urn
            "pgbench_tps": round(pgbench_tps, 1),
            "offered_voters_per_s": args.rate,
            "voters_arrived": run.next - steady_from,
            "peak_votes_per_s": round(peak_votes / peak_s, 1),
            "peak_p50_ms": round(percentile(peak_latencies, 0.50) * 1000, 1),
            "peak_p99_ms": round(percentile(peak_latencies, 0.99) * 1000, 1),
            "peak_requests_per_s": round(peak_requests / peak_s, 1),
            "peak_concurrency": args.concurrency,
            "app_cpu_ms_per_request": round(app_cpu * 1000 / max(peak_requests, 1), 2),
            "db_cpu_ms_per_request": round(db_cpu * 1000 / max(peak_requests, 1), 2),
            "client_cpu_ms_per_request": round(own_cpu * 1000 / max(peak_requests, 1), 2),
            "peak_cpu_used_share": round(
                (app_cpu + db_cpu + own_cpu) / peak_s / (os.cpu_count() or 1), 2
            ),
            "expected_refusals": run.refusals,
            "acknowledged": len(acknowledged),
            "warm_up_votes": warm_acks,
            "pool_per_process": args.pool,
            "pool_fill_s": round(pool_s, 1),
            "found": check["found"],
            "voting_book_rows": check["book"],
            "urn_rows": check["urn"],
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": args.worker_class,
            "duration_s": round(steady_s, 1),
            "peak_duration_s": round(peak_s, 1),
            "cpus": os.cpu_count(),
            **journey,
        }
        if run.errors or warm_errors or missing:
            print("errors:", run.errors, "warm-up errors:", warm_errors, "missing:", missing)
            lines = Path(log_path).read_text(errors="replace").splitlines()
            print("gunicorn's log, last lines:", *lines[-15:], sep="\n  ")
        met = (
            result["votes_per_s"] >= TARGET["votes_per_s"]
            and result["peak_votes_per_s"] >= TARGET["votes_per_s"]
            and result["p99_ms"] < TARGET["p99_ms"]
            and errors == 0
            and double_votes == 0
        )
        result["votes_target_met"] = met
        result["journey_target_met"] = journey_target_met(journey)
        met = met and result["journey_target_met"]
        result["target_met"] = met
        print(
            f"steady: {args.rate:g} voters/s offered, {result['votes_per_s']} votes/s, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; peak ({args.concurrency} at "
            f"once): {result['peak_votes_per_s']} votes/s, p99 {result['peak_p99_ms']} ms; "
            f"{errors} errors, {double_votes} double votes; pgbench {result['pgbench_tps']} tps"
        )
        print(
            f"journeys: with sign-in {journey['sign_in_journeys_per_s']}/s at p99 "
            f"{journey['sign_in_journey_p99_ms']} ms (target {args.journey_rate:g}/s offered, "
            f">= {JOURNEY_TARGET['sign_in_journeys_per_s']}/s at p99 < "
            f"{JOURNEY_TARGET['sign_in_journey_p99_ms']} ms); already signed in "
            f"{journey['signed_in_journeys_per_s']}/s (>= "
            f"{JOURNEY_TARGET['signed_in_journeys_per_s']}); ballot + confirmation + vote "
            f"{journey['three_pages_app_cpu_ms']} ms of app CPU (<= "
            f"{JOURNEY_TARGET['three_pages_app_cpu_ms']:g}); a sign-in "
            f"{journey['sign_in_app_cpu_ms']} ms; {journey['journey_errors']} errors"
        )
        print(json.dumps(result))
        return 0 if met else 1
    finally:
        if process is not None:
            gunicorn_stop(process)
        shutil.rmtree(key_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
