"""Benchmark: a crowd at one door of the embedded stack (issue 18), from a fresh clone.

The stack is `make run`'s, started by `make run` itself in a fresh clone of this repository's
HEAD (its own var/: a new SQLite file, the filesystem broker, a secret key; the virtualenv is
this one's): gunicorn as Procfile.run starts it, a Celery worker and the beat beside it, demo
data seeded. A round in voting is then added to its database, with residents: some with a
password, to sign in for real, the others already signed in (sessions written as after their
earlier pages, each with a CSRF token sent as cookie and header, as a browser does).

Every request comes from 127.0.0.1 on a connection of its own (as each phone connects on its
own), from one asyncio process speaking raw HTTP/1.1:

1. the bars of the issue:
   - 60 residents sign in from this one address within a minute (one a second: the sign-in page,
     then the form), then each sends their confirmation 3 times, all at once: every sign-in
     gets in (no 429), every resident one 200 and every other answer 409, no 500, nothing
     dropped;
   - one resident sends their confirmation 50 times at once: one 200, 49 times 409;
2. a burst: 200 residents sending 3 confirmations each, all at once;
3. steady: voters arriving at --rate a second for --duration seconds whatever the answers (open
   loop: each latency counts from the voter's arrival, so a server falling behind shows).

Afterwards, with the stack stopped, it reads the SQLite file: one voting-book row and one sealed
ballot per resident who got a receipt, every receipt shown to a client in the urn.

Target on this 2-core machine: 0 errors (no 5xx, no unexpected status), 0 dropped connections,
every resident exactly one receipt, the bars as above, and p99 < 500 ms at 100 votes/s.

    make bench-embedded            # or: make bench-votes BENCH_ARGS=--embedded

It also reports the CPU the stack and this client used, and what the rest of the machine used
meanwhile (another process taking a core shows there, and in the latencies). Prints its figures;
the last line is one JSON object; exit 1 below target.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import votes  # bench/votes.py: the round, communes, residents, sessions, the client, the CPU

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-crowd-password-2026"  # noqa: S105 -- the bench residents' own
TARGET = {"p99_ms": 500, "rate_share": 0.95}
# What `make run` must not inherit from `make test`'s or a deployment's environment: the embedded
# stack chooses its own.
NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "VAR_DIR",
    "URN_KEY_DIR",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "PORT",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "LOG_FORMAT",
    "DJANGO_SETTINGS_MODULE",
}


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="voters arriving a second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of steady voting")
    parser.add_argument("--burst", type=int, default=200, help="residents in the burst")
    parser.add_argument("--copies", type=int, default=3, help="confirmations each sends at once")
    parser.add_argument("--bar-signins", type=int, default=60, help="residents signing in")
    parser.add_argument(
        "--bar-minute", type=float, default=60.0, help="seconds the sign-ins arrive within"
    )
    parser.add_argument("--bar-one", type=int, default=50, help="one resident's confirmations")
    parser.add_argument("--communes", type=int, default=50)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is shown)")
    return parser.parse_args(argv)


# The stack --------------------------------------------------------------------------------------


def fresh_clone() -> Path:
    """A clone of this repository's HEAD in a new folder, with this virtualenv."""
    git = shutil.which("git") or "git"
    head = subprocess.run(  # noqa: S603 -- git, fixed arguments
        [git, "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    clone = folder / "comunas"
    subprocess.run([git, "clone", "--quiet", str(ROOT), str(clone)], check=True)  # noqa: S603
    subprocess.run([git, "-C", str(clone), "checkout", "--quiet", head], check=True)  # noqa: S603
    (clone / ".venv").symlink_to(ROOT / ".venv")
    return clone


def stack_env(port: int) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    env["PORT"] = str(port)
    return env


def make_run(clone: Path, port: int, log_path: Path) -> subprocess.Popen:
    """`make run` in the clone (its virtualenv is installed already: make is told so)."""
    make = shutil.which("make") or "make"
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 -- make, fixed arguments
        [make, "--no-print-directory", "-o", ".venv/.installed", "run", f"PORT={port}"],
        cwd=clone,
        env=stack_env(port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"make run stopped: see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.5)
    stack_stop(process, clone)
    raise SystemExit(f"make run did not answer on port {port}: see {log_path}")


def processes_in(clone: Path) -> list[int]:
    """Our processes started in the clone (make, honcho, gunicorn, Celery)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == clone:
                pids.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in pids if pid != os.getpid()]


def gunicorn_pids(clone: Path) -> list[int]:
    found = []
    for pid in processes_in(clone):
        try:
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def stack_stop(process: subprocess.Popen, clone: Path) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Anything honcho started in a process group of its own and left behind.
    for pid in processes_in(clone):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue
    time.sleep(1)
    for pid in processes_in(clone):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue


def machine_busy() -> float:
    """Seconds of CPU the whole machine has spent busy (Linux /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# The data, built in the clone's own database while the stack runs -------------------------------


def build(out: Path, args) -> None:
    """Run in the clone, with make run's settings (called as `embedded.py build OUT`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from accounts.permissions import Roles
    from voting import services

    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        raise SystemExit("Not the embedded stack: DATABASE_URL must be unset.")
    rng = random.Random(18)
    now = timezone.now()
    consultation = votes.voting_round(2099, 1, "Consulta de la multitud", now)
    communes, councils = votes.communes_make(args.communes, rng)
    ballot = votes.ballots_make(consultation, communes)
    # Voting opens once the ballots are made: the urn makes each commune's running sums then.
    services.urn_open(consultation=consultation, now=now)
    steady = int(args.rate * args.duration * 1.2) + 50
    total = args.bar_signins + 1 + args.burst + steady
    users, residents = votes.residents_make(councils, total, now=now, prefix="multitud")
    # The ones who sign in for real have a password and a confirmed email address.
    signing_in = users[: args.bar_signins]
    User.objects.filter(pk__in=[user.pk for user in signing_in]).update(
        password=make_password(PASSWORD)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, verified=True, primary=True)
        for user in signing_in
    )
    commune_of = {council.pk: council.commune_id for council in councils}
    people = list(zip(users, residents, strict=True))
    keys = votes.sessions_write(
        [
            (
                user,
                Roles(resident_id=resident.pk, resident_commune_id=commune_of[resident.council_id]),
            )
            for user, resident in people[args.bar_signins :]
        ],
        now=now,
    )
    voters = []
    for index, (user, resident) in enumerate(people):
        voter = {
            "resident": resident.pk,
            "email": user.email,
            "project": rng.choice(ballot[commune_of[resident.council_id]]),
        }
        if index >= args.bar_signins:
            voter["session"] = keys[index - args.bar_signins]
            voter["csrf"] = secrets.token_hex(16)
        voters.append(voter)
    out.write_text(json.dumps({"consultation": consultation.pk, "voters": voters}))


def build_in(clone: Path, port: int, args) -> dict:
    out = clone / "var" / "bench-built.json"
    env = stack_env(port)
    # make run's settings: production ones on plain HTTP, its secret key.
    env.update(
        DEBUG="0",
        SECRET_KEY=(clone / "var" / "secret-key").read_text().strip(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
    )
    command = [sys.executable, str(clone / "bench" / "embedded.py"), "build", str(out)]
    command += [
        f"--rate={args.rate}",
        f"--duration={args.duration}",
        f"--burst={args.burst}",
        f"--bar-signins={args.bar_signins}",
        f"--communes={args.communes}",
    ]
    subprocess.run(command, cwd=clone, env=env, check=True)  # noqa: S603 -- our own script
    return json.loads(out.read_text())


# The client ---------------------------------------------------------------------------------------


class Tally:
    """What came back: statuses, receipts per resident, errors, dropped connections."""

    def __init__(self):
        self.statuses: Counter = Counter()
        self.receipts: dict[int, list[str]] = {}
        self.answers: dict[int, Counter] = {}
        self.dropped: Counter = Counter()
        self.latencies: list[float] = []

    async def confirm(self, port: int, path: str, voter: dict, since: float | None = None):
        connection = votes.Connection(port)
        started = since if since is not None else time.perf_counter()
        try:
            status, body = await asyncio.wait_for(connection.post(path, voter), 60)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            self.dropped[type(error).__name__] += 1
            return None
        finally:
            connection.close()
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] += 1
        self.answers.setdefault(voter["resident"], Counter())[status] += 1
        if status == 200:
            match = votes.RECEIPT.search(body)
            if match is None:
                self.statuses["200 without a receipt"] += 1
            else:
                receipt = match.group(1).decode().replace("-", "")
                self.receipts.setdefault(voter["resident"], []).append(receipt)
        return status

    def summary(self, expected_statuses: set) -> dict:
        unexpected = {
            str(status): count
            for status, count in self.statuses.items()
            if status not in expected_statuses
        }
        return {
            "requests": sum(self.statuses.values()) + sum(self.dropped.values()),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "errors": sum(unexpected.values()),
            "unexpected": unexpected,
            "dropped": sum(self.dropped.values()),
            "dropped_by_kind": dict(self.dropped),
            "residents": len(self.answers),
            "residents_with_one_receipt": sum(
                1 for receipts in self.receipts.values() if len(receipts) == 1
            ),
            "residents_with_two_receipts_or_more": sum(
                1 for receipts in self.receipts.values() if len(receipts) > 1
            ),
        }


async def fetch(port: int, method: str, path: str, *, cookies: dict, form: dict | None = None):
    """One request on a connection of its own, keeping the cookies the answer sets."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = urlencode(form).encode() if form is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        if cookies:
            head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()) + "\r\n"
        if form is not None:
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        writer.write((head + "\r\n").encode() + body)
        answer = await reader.read()
    finally:
        writer.close()
    head, _sep, page = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        if name.strip().lower() == "set-cookie":
            cookie_name, _eq, rest = value.strip().partition("=")
            cookies[cookie_name] = rest.split(";", 1)[0]
    return status, page


TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


async def sign_in_page(port: int, voter: dict, dropped: Counter) -> bool:
    """The sign-in page, then the form: the session and CSRF cookies go into ``voter``."""
    cookies: dict = {}
    try:
        _status, page = await asyncio.wait_for(
            fetch(port, "GET", "/cuentas/login/", cookies=cookies), 60
        )
        token = TOKEN.search(page).group(1).decode()
        voter["cookies"], voter["token"] = cookies, token
    except (OSError, asyncio.IncompleteReadError, TimeoutError, AttributeError) as error:
        dropped[type(error).__name__] += 1
        return False
    return True


async def sign_in_post(port: int, voter: dict, signins: Counter, dropped: Counter) -> None:
    if "cookies" not in voter:
        return  # its sign-in page never came (counted as dropped)
    cookies = voter["cookies"]
    form = {"login": voter["email"], "password": PASSWORD, "csrfmiddlewaretoken": voter["token"]}
    try:
        status, _page = await asyncio.wait_for(
            fetch(port, "POST", "/cuentas/login/", cookies=cookies, form=form), 60
        )
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        dropped[type(error).__name__] += 1
        return
    signins[status] += 1
    if status == 302 and "sessionid" in cookies:
        voter["session"], voter["csrf"] = cookies["sessionid"], cookies["csrftoken"]


async def bars(port: int, path: str, voters: list[dict], args) -> dict:
    """The issue's bars: a crowd signing in from one address within a minute, then confirming
    at once; one resident confirming many times at once."""
    crowd = voters[: args.bar_signins]
    signins, dropped, latencies = Counter(), Counter(), []

    async def arrive(voter, arrival):
        # Each resident arrives in turn within the minute: the sign-in page, then the form.
        await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
        if await sign_in_page(port, voter, dropped):
            await sign_in_post(port, voter, signins, dropped)
        latencies.append(time.perf_counter() - arrival)

    started = time.perf_counter()
    spacing = args.bar_minute / max(len(crowd), 1)
    await asyncio.gather(
        *(arrive(voter, started + index * spacing) for index, voter in enumerate(crowd))
    )
    signin_seconds = time.perf_counter() - started
    signed_in = [voter for voter in crowd if "session" in voter]
    crowd_votes = Tally()
    await asyncio.gather(
        *(
            crowd_votes.confirm(port, path, voter)
            for voter in signed_in
            for _copy in range(args.copies)
        )
    )
    one = voters[args.bar_signins]
    one_votes = Tally()
    await asyncio.gather(*(one_votes.confirm(port, path, one) for _copy in range(args.bar_one)))
    crowd_summary = crowd_votes.summary({200, 409})
    one_summary = one_votes.summary({200, 409})
    met = (
        signins == Counter({302: len(crowd)})
        and not dropped
        and crowd_summary["errors"] == 0
        and crowd_summary["dropped"] == 0
        and crowd_summary["statuses"] == {"200": len(crowd), "409": len(crowd) * (args.copies - 1)}
        and crowd_summary["residents_with_one_receipt"] == len(crowd)
        and one_summary["statuses"] == {"200": 1, "409": args.bar_one - 1}
        and one_summary["dropped"] == 0
    )
    return {
        "signins": {str(status): count for status, count in sorted(signins.items())},
        "signin_dropped": sum(dropped.values()),
        "signin_dropped_by_kind": dict(dropped),
        "signin_p50_ms": round(votes.percentile(latencies, 0.50) * 1000, 1),
        "signin_p99_ms": round(votes.percentile(latencies, 0.99) * 1000, 1),
        "signin_seconds": round(signin_seconds, 1),
        "signed_in": len(signed_in),
        "crowd_confirmations": crowd_summary,
        "one_resident_confirmations": one_summary,
        "met": met,
        "_tallies": [crowd_votes, one_votes],
    }


async def burst(port: int, path: str, voters: list[dict], copies: int) -> Tally:
    tally = Tally()
    await asyncio.gather(
        *(tally.confirm(port, path, voter) for voter in voters for _copy in range(copies))
    )
    return tally


async def steady(port: int, path: str, voters: list[dict], rate: float, seconds: float):
    """Voters arriving at ``rate`` a second whatever the answers; one confirmation each."""
    tally, tasks = Tally(), set()
    started = time.perf_counter()
    for index in range(int(rate * seconds)):
        arrival = started + index / rate
        await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
        task = asyncio.create_task(tally.confirm(port, path, voters[index], since=arrival))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - started


def database_check(database: Path, consultation: int, receipts: list[str]) -> dict:
    with sqlite3.connect(database) as db:
        book, residents = db.execute(
            "SELECT count(*), count(DISTINCT resident_id) FROM voting_votingbookentry"
            " WHERE consultation_id = ?",
            [consultation],
        ).fetchone()
        (urn,) = db.execute(
            "SELECT count(*) FROM voting_sealedballot WHERE consultation_id = ?", [consultation]
        ).fetchone()
        stored = {
            receipt
            for (receipt,) in db.execute(
                "SELECT receipt FROM voting_sealedballot WHERE consultation_id = ?",
                [consultation],
            )
        }
    return {
        "voting_book_rows": book,
        "voting_book_residents": residents,
        "urn_rows": urn,
        "receipts_found": len(set(receipts) & stored),
    }


def run(args) -> int:
    clone = fresh_clone()
    port = args.port or votes.free_port()
    log_path = clone.parent / "make-run.log"
    print(f"fresh clone at {clone}; make run on port {port} (log: {log_path})")
    began = time.perf_counter()
    process = make_run(clone, port, log_path)
    try:
        print(f"make run answered after {time.perf_counter() - began:.1f} s")
        built = build_in(clone, port, args)
        voters = built["voters"]
        path = f"/consultas/{built['consultation']}/votar/confirmar/"
        print(f"built a round in voting with {len(voters)} residents")
        web = gunicorn_pids(clone)
        stack = processes_in(clone)
        app_cpu, all_cpu, own_cpu = (
            votes.cpu_seconds(web),
            votes.cpu_seconds(stack),
            time.process_time(),
        )
        machine = machine_busy()

        bar = asyncio.run(bars(port, path, voters, args))
        print(
            f"bars: {bar['signins']} sign-ins in {bar['signin_seconds']} s (p99 "
            f"{bar['signin_p99_ms']} ms); crowd "
            f"{bar['crowd_confirmations']['statuses']}; one resident "
            f"{bar['one_resident_confirmations']['statuses']}; met: {bar['met']}"
        )
        first = args.bar_signins + 1
        crowd = voters[first : first + args.burst]
        burst_tally = asyncio.run(burst(port, path, crowd, args.copies))
        burst_summary = burst_tally.summary({200, 409})
        print(f"burst: {args.burst} x {args.copies}: {burst_summary['statuses']}")

        steady_voters = voters[first + args.burst :]
        steady_from = (time.perf_counter(), votes.cpu_seconds(web), machine_busy())
        steady_tally, steady_s = asyncio.run(
            steady(port, path, steady_voters, args.rate, args.duration)
        )
        steady_cpu = votes.cpu_seconds(web) - steady_from[1]
        steady_machine = machine_busy() - steady_from[2]
        steady_summary = steady_tally.summary({200})

        app_cpu = votes.cpu_seconds(web) - app_cpu
        all_cpu = votes.cpu_seconds(processes_in(clone)) - all_cpu
        own_cpu = time.process_time() - own_cpu
        machine = machine_busy() - machine
    finally:
        stack_stop(process, clone)

    tallies = [*bar.pop("_tallies"), burst_tally, steady_tally]
    receipts_by_resident: dict[int, list[str]] = {}
    for tally in tallies:
        for resident, receipts in tally.receipts.items():
            receipts_by_resident.setdefault(resident, []).extend(receipts)
    acknowledged = [receipt for receipts in receipts_by_resident.values() for receipt in receipts]
    check = database_check(clone / "var" / "db.sqlite3", built["consultation"], acknowledged)
    residents_sent = set().union(*(tally.answers for tally in tallies))
    one_receipt_each = all(
        len(receipts_by_resident.get(resident, [])) == 1 for resident in residents_sent
    )
    errors = (
        bar["crowd_confirmations"]["errors"]
        + bar["one_resident_confirmations"]["errors"]
        + burst_summary["errors"]
        + steady_summary["errors"]
        + sum(count for status, count in bar["signins"].items() if status != "302")
    )
    dropped = (
        bar["signin_dropped"]
        + bar["crowd_confirmations"]["dropped"]
        + bar["one_resident_confirmations"]["dropped"]
        + burst_summary["dropped"]
        + steady_summary["dropped"]
    )
    steady_votes = steady_tally.statuses[200]
    result = {
        "votes_per_s": round(steady_votes / steady_s, 1),
        "offered_votes_per_s": args.rate,
        "p50_ms": round(votes.percentile(steady_tally.latencies, 0.50) * 1000, 1),
        "p99_ms": round(votes.percentile(steady_tally.latencies, 0.99) * 1000, 1),
        "max_ms": round(max(steady_tally.latencies, default=0) * 1000, 1),
        "errors": errors,
        "dropped": dropped,
        "residents": len(residents_sent),
        "one_receipt_each": one_receipt_each,
        "bars_met": bar["met"],
        "bars": bar,
        "burst": burst_summary,
        "steady": steady_summary,
        **check,
        "app_cpu_ms_per_steady_vote": round(steady_cpu * 1000 / max(steady_votes, 1), 2),
        "steady_machine_cpu_share": round(steady_machine / steady_s / (os.cpu_count() or 1), 2),
        "stack_cpu_s": round(all_cpu, 1),
        "gunicorn_cpu_s": round(app_cpu, 1),
        "client_cpu_s": round(own_cpu, 1),
        # CPU the rest of the machine used meanwhile: other work sharing the cores.
        "others_cpu_s": round(max(0.0, machine - all_cpu - own_cpu), 1),
        "cpus": os.cpu_count(),
        "duration_s": round(steady_s, 1),
    }
    met = (
        errors == 0
        and dropped == 0
        and one_receipt_each
        and bar["met"]
        and check["voting_book_rows"] == check["voting_book_residents"] == check["urn_rows"]
        and check["urn_rows"] == len(residents_sent)
        and check["receipts_found"] == len(acknowledged)
        and result["p99_ms"] < TARGET["p99_ms"]
        and result["votes_per_s"] >= TARGET["rate_share"] * args.rate
    )
    result["target_met"] = met
    print(
        f"steady: {args.rate:g} voters/s offered, {result['votes_per_s']} votes/s, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; {errors} errors, {dropped} "
        f"dropped; {result['residents']} residents, one receipt each: {one_receipt_each}; "
        f"voting book {check['voting_book_rows']}, urn {check['urn_rows']}; "
        f"other work on the machine: {result['others_cpu_s']} s of CPU"
    )
    print(f"target_met: {str(met).lower()}")
    if not met:
        lines = log_path.read_text(errors="replace").splitlines()
        print("make run's log, last lines:", *lines[-20:], sep="\n  ")
    print(json.dumps(result))
    if args.keep:
        print(f"kept: {clone.parent}")
    else:
        shutil.rmtree(clone.parent, ignore_errors=True)
    return 0 if met else 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build"]:
        build(Path(argv[1]), arguments(argv[2:]))
        return 0
    return run(arguments(argv))


if __name__ == "__main__":
    sys.exit(main())
