"""make reliability: the faults of a voting day, for real, and what the app does about them.

1. The database restarts while voters vote through gunicorn: every vote whose receipt reached a
   voter is in the database, the count's three totals agree, every refused request got the
   Spanish 503 "try again" page (no traceback, no 500), and votes go through again on their own.
2. Redis goes away: votes, results, pages and sessions keep working; jobs made meanwhile wait in
   the database; when Redis returns, the beat and a worker send them and catch up the phase
   change that fell due, exactly once.
3. A Celery worker is SIGKILLed in the middle of a count, while it does one range of communes:
   the range leaves nothing behind, the tick queues the ranges not done again, a new worker
   finishes the count, and the results (and the allocations after publication) are those of an
   uninterrupted count.
4. Backup and restore (`make backup`, `make restore`) round-trip a populated database: votes,
   results, the ledger and funding_check are identical.
5. The replica stops (a streaming replica made with pg_basebackup, read by the public pages):
   public pages go on from the primary, never a 500, and votes go on; when it is back, the
   public pages read it again.
6. The replica lags (its replay paused): a spokesperson who wrote, and every voter who voted,
   see their own write at once (their reads go to the primary until the replica has it), while
   an anonymous visitor still sees the replica's older state; once replay resumes, everyone does.
7. PgBouncer in transaction mode in front of the database: the vote benchmark (bench/votes.py,
   with its whole-journey phase: sign-in, ballot, confirmation, vote) runs through it with no
   error and no lost vote.

Each runs against a PostgreSQL cluster and a Redis server of its own (reliability/services.py),
prints what it measured, and the last line is one JSON object; the exit code is 1 when any
check failed.

    make reliability               # or: python reliability/run.py [--only NAME ...]
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from services import PgBouncer, Postgres, Redis, Replica, program  # noqa: E402 (services.py)

SCENARIOS = [
    "database_restart",
    "redis_gone",
    "worker_killed",
    "backup_restore",
    "replica_stopped",
    "replica_lag",
    "pgbouncer_votes",
]
BASE_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "reliability-only-secret-key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "STATIC_ROOT": "var/static-test",
    "CYCLE_TICK_SECONDS": "1",
    "LANGUAGE_CODE": "es",
}
TRY_AGAIN = "nuevo en unos segundos"  # the 503 page, in Spanish


# The scenarios run each in a process of its own (Django is set up once per process, on the
# database the scenario builds).


def celery(*command: str, log_path: Path) -> subprocess.Popen:
    """A Celery process of its own session (so it can be killed with its children)."""
    with open(log_path, "ab") as out:
        return subprocess.Popen(  # noqa: S603 -- our own Celery app, fixed arguments
            [sys.executable, "-m", "celery", "--app", "config", *command],
            cwd=ROOT,
            env=os.environ.copy(),
            start_new_session=True,
            stdout=out,
            stderr=out,
        )


def stop(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(check, seconds: float, step: float = 0.25):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(step)
    return check()


# 1 and 2: voting through gunicorn ------------------------------------------------------------


class Voters:
    """Voters arriving at a fixed rate, each on a connection of their own; every answer kept."""

    def __init__(self, port: int, path: str, voters: list[dict]):
        from votes import Connection  # bench/votes.py's raw HTTP client

        self.Connection, self.port, self.path, self.voters = Connection, port, path, voters
        self.next = 0
        self.answers: list[dict] = []

    async def one(self, voter: dict) -> None:
        started = time.monotonic()
        connection = self.Connection(self.port)
        try:
            status, body = await asyncio.wait_for(connection.post(self.path, voter), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            status, body = None, repr(error).encode()
        finally:
            connection.close()
        receipt = re.search(rb'data-receipt="([A-Z2-7-]+)"', body or b"")
        self.answers.append(
            {
                "at": started,
                "status": status,
                "receipt": receipt.group(1).decode().replace("-", "") if receipt else None,
                "try_again": TRY_AGAIN.encode() in (body or b""),
                "traceback": b"Traceback" in (body or b""),
            }
        )

    async def run(self, rate: float, seconds: float) -> None:
        started, tasks = time.monotonic(), []
        for k in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
            if self.next >= len(self.voters):
                break
            tasks.append(asyncio.create_task(self.one(self.voters[self.next])))
            self.next += 1
        await asyncio.gather(*tasks)


def voting_setup(name: str, pg: Postgres, workdir: Path, voters: int):
    import votes

    url = pg.url(name)
    os.environ["DATABASE_URL"] = pg.url("comunas")
    votes.scratch_database(name)
    key_dir = str(workdir / f"keys-{name}")
    os.environ["URN_KEY_DIR"] = key_dir
    args = types.SimpleNamespace(
        voters=voters,
        communes=40,
        pgbench_seconds=0,
        workers=2,
        threads=4,
        worker_class="gthread",
        gunicorn_args="",
        concurrency=10,
    )
    os.environ["DATABASE_URL"] = url
    built = votes.build(args, key_dir)
    port = votes.free_port()
    server = votes.gunicorn_start(args, port, key_dir, str(workdir / f"gunicorn-{name}.log"))
    return url, built, port, server


def three_totals_agree(consultation_id: int) -> tuple[bool, dict]:
    """Close the round and count it: online book rows, urn rows and counted choices per commune."""
    from django.db import connection

    from consultations.models import Consultation
    from cycle import services as cycle
    from voting.models import CommuneResult, Count

    connection.close()  # the one build() used did not live through the restart
    # Through the cycle, as the tick would at the closing time (the build sets it ahead).
    voting_round = Consultation.objects.get(pk=consultation_id)
    cycle.round_close_voting(consultation=voting_round, by=None, now=voting_round.voting_closes_at)
    count = cycle.round_count(consultation_id=consultation_id)
    results = CommuneResult.objects.filter(consultation_id=consultation_id)
    agree = count.status == Count.Status.DONE and all(r.totals_agree for r in results)
    return agree, {"count_status": count.status, "ballots_counted": count.ballots}


def scenario_database_restart(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    import votes

    url, built, port, server = voting_setup("comunas_rel_restart", pg, workdir, voters=3000)
    path = f"/consultas/{built['consultation']}/votar/confirmar/"
    crowd = Voters(port, path, built["voters"])
    marks = {}

    def restart_later():
        time.sleep(4)
        marks["down"] = time.monotonic()
        pg.restart()
        marks["up"] = time.monotonic()

    restarter = threading.Thread(target=restart_later)
    restarter.start()
    asyncio.run(crowd.run(rate=80, seconds=14))
    restarter.join()
    votes.gunicorn_stop(server)

    answers = crowd.answers
    acknowledged = [a["receipt"] for a in answers if a["status"] == 200 and a["receipt"]]
    refused = [a for a in answers if a["status"] == 503]
    other = [a for a in answers if a["status"] not in (200, 503)]
    after_up = sorted(a["at"] for a in answers if a["status"] == 200 and a["at"] >= marks["up"])
    check = votes.database_check(url, built["consultation"], acknowledged)
    agree, counted = three_totals_agree(built["consultation"])
    figures = {
        "votes_sent": len(answers),
        "votes_acknowledged": len(acknowledged),
        "votes_found": check["found"],
        "refused_503": len(refused),
        "refused_503_in_spanish": sum(a["try_again"] for a in refused),
        "other_answers": len(other),
        "tracebacks": sum(a["traceback"] for a in answers),
        "database_down_s": round(marks["up"] - marks["down"], 2),
        "recovered_after_s": round(after_up[0] - marks["up"], 2) if after_up else None,
        "book_rows": check["book"],
        "urn_rows": check["urn"],
        "three_totals_agree": agree,
        **counted,
    }
    figures["ok"] = (
        figures["votes_found"] == len(acknowledged) > 0
        and figures["refused_503_in_spanish"] == len(refused)
        and not other
        and figures["tracebacks"] == 0
        and figures["recovered_after_s"] is not None
        and figures["recovered_after_s"] < 10
        and agree
    )
    return figures


def scenario_redis_gone(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    import datetime

    import votes

    url, built, port, server = voting_setup("comunas_rel_redis", pg, workdir, voters=1200)
    from django.db import connection
    from django.utils import timezone

    from consultations.models import Consultation, PhaseTransition
    from cycle import services as cycle
    from outbox.models import PendingJob
    from voting.models import Count

    path = f"/consultas/{built['consultation']}/votar/confirmar/"
    crowd = Voters(port, path, built["voters"])
    asyncio.run(crowd.run(rate=40, seconds=3))  # with Redis: sessions come from it

    redis.stop()
    gone = time.monotonic()
    asyncio.run(crowd.run(rate=40, seconds=5))
    # A round whose next phase falls due while Redis is away.
    now = timezone.now()
    day = datetime.timedelta(days=1)
    due = Consultation.objects.create(
        name="Consulta que abre sin Redis",
        year=2098,
        quarter=3,
        phase=Consultation.Phase.SCHEDULED,
        funder_by_rank=["national"],
        assemblies_open_at=now + datetime.timedelta(seconds=2),
        validation_opens_at=now + 10 * day,
        voting_opens_at=now + 20 * day,
        voting_closes_at=now + 20 * day + datetime.timedelta(hours=10),
        tally_deadline_at=now + 23 * day,
    )
    # A job made while Redis is away: closing the round starts its count (on commit).
    connection.close()
    voting_round = Consultation.objects.get(pk=built["consultation"])
    Consultation.objects.filter(pk=voting_round.pk).update(voting_closes_at=now)
    voting_round.refresh_from_db()
    cycle.round_close_voting(consultation=voting_round, by=None, now=now)
    kept = PendingJob.objects.count()
    pages = {}
    for name, page in {
        "results": "/resultados/",
        "directory": "/comunas/",
        "round": f"/consultas/{built['consultation']}/",
        "money": "/dinero/",
    }.items():
        pages[name] = _get_status(port, page)
    time.sleep(2)  # the scheduled round's date passes while Redis is away

    redis.start()
    back = time.monotonic()
    worker = celery(
        "worker", "--pool", "solo", "--loglevel", "WARNING", log_path=workdir / "celery-redis.log"
    )
    beat = celery(
        "beat",
        "--loglevel",
        "WARNING",
        "--schedule",
        str(workdir / "beat-schedule"),
        log_path=workdir / "celery-redis.log",
    )
    try:
        caught_up = wait_for(
            lambda: (
                Consultation.objects.get(pk=due.pk).phase == Consultation.Phase.ASSEMBLIES
                and Count.objects.filter(
                    consultation_id=built["consultation"], status="done"
                ).exists()
                and not PendingJob.objects.exists()
            ),
            seconds=60,
        )
        caught_up_s = round(time.monotonic() - back, 1)
    finally:
        stop(beat)
        stop(worker)
    votes.gunicorn_stop(server)
    while_gone = [a for a in crowd.answers if a["at"] >= gone]
    acknowledged = [a["receipt"] for a in crowd.answers if a["status"] == 200 and a["receipt"]]
    check = votes.database_check(url, built["consultation"], acknowledged)
    transitions = PhaseTransition.objects.filter(consultation=due, to_phase="assemblies").count()
    figures = {
        "votes_while_redis_gone": len(while_gone),
        "of_them_acknowledged": sum(a["status"] == 200 for a in while_gone),
        "votes_acknowledged": len(acknowledged),
        "votes_found": check["found"],
        "pages_while_gone": pages,
        "jobs_kept_while_gone": kept,
        "caught_up": bool(caught_up),
        "caught_up_after_s": caught_up_s,
        "phase_changes_made": transitions,
    }
    figures["ok"] = (
        len(while_gone) > 0
        and figures["of_them_acknowledged"] == len(while_gone)
        and check["found"] == len(acknowledged)
        and all(status == 200 for status in pages.values())
        and kept >= 1
        and figures["caught_up"]
        and transitions == 1
    )
    return figures


def _get_status(port: int, path: str) -> int | None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()


def scenario_worker_killed(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    """A Celery worker killed (SIGKILL) while it does one range of communes of the count: the
    range leaves nothing behind (one transaction), the tick queues it again, a new worker finishes
    the count, and the results are those of an uninterrupted count."""
    import count as count_bench  # bench/count.py
    import psycopg

    name = "comunas_rel_count"
    url = pg.url(name)
    key_dir = workdir / f"keys-{name}"
    os.environ["URN_KEY_DIR"] = str(key_dir)
    os.environ["DATABASE_URL"] = url
    # 1,000 communes in 4 ranges of 250: each range about a second of work for one worker.
    os.environ["COUNT_CHUNK_COMMUNES"] = "250"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import dj_database_url
    import django

    django.setup()
    sizes = {
        "votes": 300_000,
        "communes": 1000,
        "projects": 4000,
        "tables": 200,
        "table_share": 0.2,
    }
    count_bench.build(dj_database_url.parse(url), name, url, sizes)
    marker = count_bench.marker_read(url)
    consultation_id = marker["consultation"]

    from django.db import connection

    from consultations.models import Consultation
    from cycle import services as cycle
    from cycle.jobs import round_count_task
    from cycle.tasks import rounds_advance_due_task
    from funding.models import Allocation
    from voting.models import CountChunk, ProjectResult

    connection.close()
    worker = celery(
        "worker", "--pool", "solo", "--loglevel", "WARNING", log_path=workdir / "celery-count.log"
    )
    round_count_task.delay(consultation_id)

    def ranges() -> tuple[int, int]:
        with psycopg.connect(url) as conn:
            made, done = conn.execute(
                "SELECT count(*), count(done_at) FROM voting_countchunk WHERE consultation_id = %s",
                [consultation_id],
            ).fetchone()
        return made, done

    # The worker rewrites the urn, makes the ranges and queues them, then does them one by one:
    # the moment the first is done it has taken the next, and is killed in the middle of it.
    first_done = wait_for(lambda: ranges()[1] >= 1, seconds=240, step=0.02)
    killed_at = time.monotonic()
    stop(worker, signal.SIGKILL)
    made, done_when_killed = ranges()
    with psycopg.connect(url) as conn:
        # What the ranges not done hold: no totals, and no partial decryption of their communes.
        left_behind = conn.execute(
            "SELECT count(*) FROM voting_countchunk c WHERE c.consultation_id = %(r)s "
            "AND c.done_at IS NULL AND (c.totals <> '{}'::jsonb OR EXISTS (SELECT 1 FROM "
            "voting_partialdecryption p WHERE p.consultation_id = %(r)s AND p.commune_id "
            "BETWEEN c.first_commune AND c.last_commune))",
            {"r": consultation_id},
        ).fetchone()[0]
        counted_when_killed = conn.execute(
            "SELECT count(*) FROM voting_count WHERE consultation_id = %s AND status = 'done'",
            [consultation_id],
        ).fetchone()[0]
    # The tick takes up counts not finished: it queues the ranges not done; a new worker runs them.
    worker = celery(
        "worker", "--pool", "solo", "--loglevel", "WARNING", log_path=workdir / "celery-count.log"
    )
    try:
        rounds_advance_due_task.delay()
        finished = wait_for(
            lambda: (
                CountChunk.objects.filter(consultation_id=consultation_id).exists()
                and count_status(consultation_id) == "done"
            ),
            seconds=240,
            step=0.5,
        )
        recovered_s = round(time.monotonic() - killed_at, 1)
    finally:
        stop(worker)
    check = count_bench.results_check(url, consultation_id)
    after_kill = sorted(
        ProjectResult.objects.filter(consultation_id=consultation_id).values_list(
            "project_id", "online_votes", "table_votes", "votes", "rank", "is_winner"
        )
    )
    # An uninterrupted count of the same round, from scratch, gives the same results.
    cycle.round_count(consultation_id=consultation_id)
    uninterrupted = sorted(
        ProjectResult.objects.filter(consultation_id=consultation_id).values_list(
            "project_id", "online_votes", "table_votes", "votes", "rank", "is_winner"
        )
    )
    consultation = Consultation.objects.get(pk=consultation_id)
    cycle.round_publish(consultation=consultation, by=None, reason="Prueba")
    cycle.round_allocate(consultation_id=consultation_id)
    winners = set(
        ProjectResult.objects.filter(consultation_id=consultation_id, is_winner=True).values_list(
            "project_id", flat=True
        )
    )
    allocated = list(Allocation.objects.values_list("project_id", flat=True))
    figures = {
        "ballots": marker["expected"]["online"],
        "ranges": made,
        "ranges_done_when_killed": done_when_killed,
        "killed_mid_count": bool(first_done) and done_when_killed < made,
        "left_behind_by_the_killed_range": left_behind,
        "counted_when_killed": bool(counted_when_killed),
        "finished_after_kill": bool(finished),
        "recovered_after_s": recovered_s,
        "projects_mismatched": check["projects_mismatched"],
        "communes_disagreeing": check["communes_disagreeing"],
        "same_as_uninterrupted": after_kill == uninterrupted,
        "winners": len(winners),
        "allocations": len(allocated),
    }
    figures["ok"] = (
        figures["killed_mid_count"]
        and left_behind == 0
        and not figures["counted_when_killed"]
        and figures["finished_after_kill"]
        and check["projects_mismatched"] == 0
        and check["communes_disagreeing"] == 0
        and figures["same_as_uninterrupted"]
        and set(allocated) == winners
        and len(allocated) == len(winners) > 0
    )
    return figures


def count_status(consultation_id: int) -> str | None:
    from voting.models import Count

    return (
        Count.objects.filter(consultation_id=consultation_id)
        .values_list("status", flat=True)
        .first()
    )


def _fingerprint(url: str) -> dict:
    """What a restore must give back exactly: votes, results, the ledger, funding_check."""
    import psycopg

    queries = {
        "voting_book": "SELECT consultation_id, channel, count(*) FROM voting_votingbookentry "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        "urn": "SELECT consultation_id, count(*), md5(string_agg(receipt, ',' ORDER BY receipt)) "
        "FROM voting_sealedballot GROUP BY 1 ORDER BY 1",
        "results": "SELECT md5(string_agg(concat_ws(':', project_id, online_votes, table_votes, "
        "votes, rank, is_winner), ',' ORDER BY project_id)) FROM voting_projectresult",
        "ledger": "SELECT kind, count(*), sum(amount_usd)::text FROM funding_ledgerentry "
        "GROUP BY 1 ORDER BY 1",
        "audit": "SELECT count(*), max(seq), (SELECT hash FROM audit_auditentry "
        "ORDER BY seq DESC LIMIT 1) FROM audit_auditentry",
    }
    with psycopg.connect(url) as conn:
        found = {name: conn.execute(query).fetchall() for name, query in queries.items()}
    check = subprocess.run(
        [sys.executable, "manage.py", "funding_check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    found["funding_check"] = [check.returncode, check.stdout.strip()]
    return json.loads(json.dumps(found, default=str))


def scenario_backup_restore(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    import psycopg

    source, target = pg.url("comunas_rel_demo"), pg.url("comunas_rel_restored")
    with psycopg.connect(pg.url("postgres"), autocommit=True) as server:
        server.execute("CREATE DATABASE comunas_rel_demo")
    env = {**os.environ, "DATABASE_URL": source, "URN_KEY_DIR": str(workdir / "keys-demo")}
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run(  # noqa: S603 -- our own manage.py
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    before = _fingerprint(source)
    dump = workdir / "comunas.dump"
    started = time.monotonic()
    subprocess.run(  # noqa: S603 -- the Makefile's own targets
        [
            program("make"),
            "--no-print-directory",
            "backup",
            f"BACKUP={dump}",
            f"DATABASE_URL={source}",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    backup_s = time.monotonic() - started
    started = time.monotonic()
    subprocess.run(  # noqa: S603
        [
            program("make"),
            "--no-print-directory",
            "restore",
            f"BACKUP={dump}",
            f"DATABASE_URL={target}",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    restore_s = time.monotonic() - started
    after = _fingerprint(target)
    figures = {
        "dump_mb": round(dump.stat().st_size / 2**20, 1),
        "backup_s": round(backup_s, 1),
        "restore_s": round(restore_s, 1),
        "votes": sum(row[2] for row in before["voting_book"]),
        "ledger_entries": sum(row[1] for row in before["ledger"]),
        "funding_check": before["funding_check"][0],
        "identical": before == after,
    }
    figures["ok"] = figures["identical"] and figures["votes"] > 0 and figures["funding_check"] == 0
    return figures


# 5 and 6: a streaming replica ----------------------------------------------------------------

PUBLIC_PAGES = ["/comunas/?q=prueba", "/resultados/", "/dinero/"]


def replica_setup(name: str, pg: Postgres, workdir: Path, build):
    """The scratch database `name` built on the primary by `build(key_dir)`, a replica of the
    cluster made with pg_basebackup and started, and gunicorn reading public pages from it."""
    import votes

    os.environ["DATABASE_URL"] = pg.url("comunas")
    url = votes.scratch_database(name)
    key_dir = str(workdir / f"keys-{name}")
    os.environ["URN_KEY_DIR"] = key_dir
    built = build(key_dir)
    replica = Replica(workdir, pg, name=name).init()
    replica.start()
    wait_for(lambda: replica.sql("SELECT pg_is_in_recovery()"), seconds=30)
    os.environ["DATABASE_REPLICA_URL"] = replica.url(name)
    args = types.SimpleNamespace(workers=2, threads=4, worker_class="gthread", gunicorn_args="")
    port = votes.free_port()
    server = votes.gunicorn_start(args, port, key_dir, str(workdir / f"gunicorn-{name}.log"))
    return url, built, port, server, replica


def replica_readers(replica: Replica, name: str) -> int:
    """Connections the app holds open on the replica (conn_max_age keeps them)."""
    return replica.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"  # noqa: S608
        f" AND datname = '{name}' AND pid <> pg_backend_pid()"
    )


def votes_build(voters: int):
    import votes

    def build(key_dir: str) -> dict:
        args = types.SimpleNamespace(voters=voters, communes=40, pgbench_seconds=0)
        return votes.build(args, key_dir)

    return build


class Readers:
    """Anonymous visitors reading public pages at a fixed rate; every answer's status kept."""

    def __init__(self, port: int):
        from votes import Connection

        self.Connection, self.port = Connection, port
        self.answers: list[tuple[float, int | None]] = []

    async def one(self, path: str) -> None:
        started, connection = time.monotonic(), self.Connection(self.port)
        try:
            status, _headers, _body = await asyncio.wait_for(connection.request("GET", path), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            status = None
        finally:
            connection.close()
        self.answers.append((started, status))

    async def run(self, rate: float, seconds: float) -> None:
        started, tasks = time.monotonic(), []
        for k in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
            tasks.append(asyncio.create_task(self.one(PUBLIC_PAGES[k % len(PUBLIC_PAGES)])))
        await asyncio.gather(*tasks)


def scenario_replica_stopped(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    import votes

    name = "comunas_rel_replica_stop"
    url, built, port, server, replica = replica_setup(name, pg, workdir, votes_build(2000))
    try:
        warm = [_get_status(port, page) for page in PUBLIC_PAGES * 2]
        read_replica_before = replica_readers(replica, name)
        vote_path = f"/consultas/{built['consultation']}/votar/confirmar/"
        crowd = Voters(port, vote_path, built["voters"])
        readers = Readers(port)
        marks = {}

        def stop_later():
            time.sleep(3)
            marks["stopped"] = time.monotonic()
            replica.stop()

        stopper = threading.Thread(target=stop_later)
        stopper.start()

        async def day():
            await asyncio.gather(crowd.run(rate=30, seconds=9), readers.run(rate=30, seconds=9))

        asyncio.run(day())
        stopper.join()
        # Back: after the few seconds a failure keeps it aside, the public pages read it again.
        replica.start()
        wait_for(lambda: replica.sql("SELECT pg_is_in_recovery()"), seconds=30)
        # Each server process sets a failed replica aside for a few seconds on its own, and a
        # cached page reads no database: read until one process is back on the replica.
        after, read_replica_after = [], 0
        deadline = time.monotonic() + 60
        while not read_replica_after and time.monotonic() < deadline:
            time.sleep(1)
            after += [_get_status(port, page) for page in PUBLIC_PAGES * 2]
            read_replica_after = replica_readers(replica, name)
    finally:
        votes.gunicorn_stop(server)
        with contextlib.suppress(subprocess.CalledProcessError):
            replica.stop()
    acknowledged = [a["receipt"] for a in crowd.answers if a["status"] == 200 and a["receipt"]]
    check = votes.database_check(url, built["consultation"], acknowledged)
    while_down = [status for at, status in readers.answers if at >= marks["stopped"]]
    figures = {
        "public_reads": len(readers.answers),
        "public_reads_while_replica_down": len(while_down),
        "public_statuses": sorted({str(status) for _at, status in readers.answers}),
        "public_500s": sum(status == 500 for _at, status in readers.answers),
        "app_connections_on_replica_before": read_replica_before,
        "app_connections_on_replica_after_restart": read_replica_after,
        "votes_sent": len(crowd.answers),
        "votes_acknowledged": len(acknowledged),
        "votes_found": check["found"],
        "vote_statuses": sorted({str(a["status"]) for a in crowd.answers}),
    }
    figures["ok"] = (
        all(status == 200 for status in warm + after)
        and len(while_down) > 0
        and all(status == 200 for _at, status in readers.answers)
        and read_replica_before > 0
        and read_replica_after > 0
        and len(acknowledged) == len(crowd.answers) > 0
        and check["found"] == len(acknowledged)
    )
    return figures


def _http(port: int, method: str, path: str, cookies: dict, body: str = "") -> tuple:
    """One request with these cookies (and, for a POST, the CSRF header); returns the status,
    the cookies set (name → value) and the body."""
    import http.client

    headers = {"Host": "127.0.0.1", "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if method == "POST":
        headers["X-CSRFToken"] = cookies["csrftoken"]
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        page = response.read().decode(errors="replace")
        set_cookies = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie, _eq, rest = header.partition("=")
            set_cookies[cookie.strip()] = rest.split(";", 1)[0]
        return response.status, set_cookies, page
    finally:
        connection.close()


def scenario_replica_lag(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    import secrets

    import day as day_bench  # bench/day.py: a published, funded round and signed-in people
    import votes

    def build(key_dir: str) -> dict:
        args = types.SimpleNamespace(
            communes=20,
            voters=400,
            past_voters=200,
            spokespeople=4,
            staff=1,
            rate=1.0,
            duration=1.0,
            warm_up=0.0,
            cost_samples=0,
        )
        return day_bench.build(args, key_dir)

    name = "comunas_rel_replica_lag"
    _url, built, port, server, replica = replica_setup(name, pg, workdir, build)
    speaker = built["speakers"][0]
    public = f"/dinero/proyectos/{speaker['project']}/"
    workspace = f"/mis-comunas/dinero/proyectos/{speaker['project']}/"
    mark = f"Avance visto por quien lo escribe {secrets.token_hex(4)}"
    try:
        anonymous_before = _http(port, "GET", public, {})[0]
        replica.sql("SELECT pg_wal_replay_pause()")
        paused = wait_for(
            lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()") == "paused", 10
        )
        # The spokesperson writes a progress update; the public project page shows it to them.
        mine = {"sessionid": speaker["session"], "csrftoken": speaker["csrf"]}
        form = f"percent=40&status=in_progress&text={mark.replace(' ', '+')}&stalled_reason="
        posted, set_cookies, _page = _http(port, "POST", workspace + "avances/", mine, form)
        mine.update(set_cookies)
        status, _set, page = _http(port, "GET", public, mine)
        writer_sees_it = status == 200 and mark in page
        status, _set, page = _http(port, "GET", public, {})
        anonymous_sees_old = status == 200 and mark not in page
        # Voters vote while replay is paused: each is told at once that they voted.
        voters, told = built["residents"][:20], 0
        vote_cookies = 0
        for voter in voters:
            cookies = {"sessionid": voter["session"], "csrftoken": voter["csrf"]}
            status, set_cookies, _page = _http(
                port,
                "POST",
                f"/consultas/{built['current']}/votar/confirmar/",
                cookies,
                f"project={voter['project']}",
            )
            vote_cookies += "primary_lsn" in set_cookies
            cookies.update(set_cookies)
            status, _set, page = _http(
                port, "GET", f"/consultas/{built['current']}/votar/", cookies
            )
            told += status == 403 and 'data-refusal="already_voted"' in page
            public_status = _http(port, "GET", PUBLIC_PAGES[0], cookies)[0]
            told -= public_status != 200
        replica.sql("SELECT pg_wal_replay_resume()")
        caught_up = wait_for(lambda: mark in _http(port, "GET", public, {})[2], 20)
        status, set_cookies, page = _http(port, "GET", public, mine)
        cookie_dropped = set_cookies.get("primary_lsn") in ('""', "")
    finally:
        votes.gunicorn_stop(server)
        with contextlib.suppress(subprocess.CalledProcessError):
            replica.stop()
    figures = {
        "replay_paused": bool(paused),
        "progress_update_posted": posted,
        "writer_sees_own_update_while_paused": writer_sees_it,
        "anonymous_sees_replica_state_while_paused": anonymous_sees_old,
        "voters": len(voters),
        "voters_told_they_voted_while_paused": told,
        "votes_that_set_the_primary_cookie": vote_cookies,
        "anonymous_sees_update_after_resume": bool(caught_up),
        "writer_cookie_dropped_after_catch_up": cookie_dropped,
    }
    figures["ok"] = (
        anonymous_before == 200
        and figures["replay_paused"]
        and posted == 302
        and writer_sees_it
        and anonymous_sees_old
        and told == len(voters)
        and vote_cookies == len(voters)
        and figures["anonymous_sees_update_after_resume"]
        and cookie_dropped
    )
    return figures


# 7: PgBouncer --------------------------------------------------------------------------------


def scenario_pgbouncer_votes(pg: Postgres, redis: Redis, workdir: Path) -> dict:
    """bench/votes.py, unchanged, with DATABASE_URL pointing at PgBouncer in transaction mode:
    the scratch database is made, migrated and built through it, the votes, sign-ins and pages
    go through it; its own checks count errors, double votes and acknowledged votes missing."""
    bouncer = PgBouncer(workdir, pg)
    bouncer.start()
    env = {
        **os.environ,
        "DATABASE_URL": bouncer.url("comunas_rel_pool"),
        "DATABASE_POOLING": "transaction",
        "REDIS_URL": redis.url,
    }
    env.pop("DATABASE_REPLICA_URL", None)
    started = time.monotonic()
    try:
        run = subprocess.run(  # noqa: S603 -- our own benchmark, fixed arguments
            [
                sys.executable,
                str(ROOT / "bench" / "votes.py"),
                *("--voters", "6000", "--communes", "60", "--rate", "100", "--duration", "10"),
                *("--peak-duration", "5", "--concurrency", "24", "--pgbench-seconds", "2"),
                *("--journey-rate", "10", "--signed-in-rate", "30", "--journey-duration", "5"),
                *("--journey-samples", "10"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        bouncer.stop()
    lines = run.stdout.strip().splitlines()
    try:
        bench = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        print(run.stdout[-3000:], run.stderr[-3000:])
        return {"ok": False, "exit": run.returncode}
    figures = {
        "through": "pgbouncer (transaction mode)",
        "seconds": round(time.monotonic() - started),
        "votes_per_s": bench["votes_per_s"],
        "peak_votes_per_s": bench["peak_votes_per_s"],
        "acknowledged": bench["acknowledged"],
        "found": bench["found"],
        "errors": bench["errors"],
        "double_votes": bench["double_votes"],
        "lost_votes": bench["lost_votes"],
        "journey_errors": bench["journey_errors"],
        "sign_in_journeys_per_s": bench["sign_in_journeys_per_s"],
        "signed_in_journeys_per_s": bench["signed_in_journeys_per_s"],
        "pgbench_tps": bench["pgbench_tps"],
    }
    figures["ok"] = (
        figures["errors"] == 0
        and figures["double_votes"] == 0
        and figures["lost_votes"] == 0
        and figures["journey_errors"] == 0
        and bench["acknowledged"] > 0
        and bench["voting_book_rows"] == bench["urn_rows"]
    )
    return figures


# The orchestrator ----------------------------------------------------------------------------


def child(name: str, pg_port: int, redis_port: int, workdir: str) -> int:
    """One scenario, in a process of its own, on the parent's PostgreSQL and Redis."""
    pg, redis = Postgres(Path(workdir), pg_port), Redis(redis_port)
    os.environ.update(BASE_ENV)
    os.environ["REDIS_URL"] = redis.url
    figures = globals()[f"scenario_{name}"](pg, redis, Path(workdir))
    print(json.dumps({"scenario": name, **figures}, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=SCENARIOS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, *json.loads(args.state))

    workdir = Path(tempfile.mkdtemp(prefix="comunas-reliability-"))
    pg, redis = Postgres(workdir).init(), Redis()
    pg.start()
    redis.start()
    summary = {}
    try:
        for name in args.only:
            print(f"{name}:", flush=True)
            state = json.dumps([pg.port, redis.port, str(workdir)])
            redis.stop()  # a scenario may have stopped and restarted it: start it afresh
            redis.start()
            run = subprocess.run(  # noqa: S603 -- this very script, fixed arguments
                [sys.executable, __file__, "--child", name, "--state", state],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, **BASE_ENV, "REDIS_URL": redis.url},
            )
            lines = run.stdout.strip().splitlines()
            try:
                figures = json.loads(lines[-1])
            except (IndexError, json.JSONDecodeError):
                figures = {"scenario": name, "ok": False, "exit": run.returncode}
            for line in lines[:-1]:
                print(line)
            print(f"  {json.dumps(figures)}", flush=True)
            summary[name] = figures
    finally:
        redis.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    ok = all(figures.get("ok") for figures in summary.values())
    print(json.dumps({"ok": ok, **{k: v.get("ok") for k, v in summary.items()}}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
