"""Benchmark: a mixed voting day through gunicorn against PostgreSQL, on this machine.

Residents open their ballot, confirm and vote; the public reads a published round's results
(national, state and commune pages, the CSV), the money trail and the commune directory;
finance spokespeople work in their projects' money pages and post progress updates and
disbursement requests; ministry staff read the payers' queue and approve requests. All of it at
once, for a bounded time, with requests arriving at --rate a second whatever the server answers
(open loop: each latency counts from the request's arrival, so a server falling behind shows).

Target (issue: load): at the default rate, zero errors, zero lost writes, p99 under 500 ms for
every kind of request, and the server keeping up (at least 95 % of the offered rate answered a
second). Exit 1 when it is missed. The default rate, 100 requests a second, is what this mix
can take with headroom on 2 cores shared by the app, PostgreSQL, Redis and this client: the mix
costs about 9.5 ms of app CPU, 2 ms of database CPU and 1 ms of this client's a request, so 100
a second keeps the 2 cores about 60 % busy; 250 a second would need about 3 cores for the app
and the database alone (run it with --rate 250 on a bigger machine).

After the run, each kind's requests are sent once more, one at a time (--cost-samples of each),
to measure what each kind costs in app and database CPU: the figures the README's scaling
section divides into the expected load. CPU time, unlike latency, holds on a shared machine.

It builds a scratch database (DATABASE_URL's server, database `comunas_bench_day`, dropped and
migrated first) with the pieces of bench/votes.py: communes with two councils each, a round in
voting open all day with its urn and ballots, verified residents already signed in. Beside it, a
past round taken through the real services: voting opened, a few thousand of the same residents
voted (voting.services), closed, counted (the urn opened with its key), published, and its
winners funded, each step through cycle.services as the beat takes it. Finance
spokespeople of some communes and national ministry staff are signed in the same way; the
staff have TOTP set up (what accounts.middleware.StaffSecurityMiddleware asks before any staff
page opens) and their sessions hold allauth's record of a password-and-TOTP sign-in. The
spokespeople have requests waiting for the staff to approve.

Every write is checked in the database once gunicorn has stopped: each receipt acknowledged to a
voter is in the urn (and the voting book and the urn have as many rows), each progress update,
request and approval answered with a redirect is stored. `lost_writes` counts those missing.
The money invariants (funding.checks) and the audit trail's chain are checked too.

    make bench-day              # or: DATABASE_URL=... python bench/day.py [--rate 250 ...]

Celery tasks queued by the writes (the request and approval emails) go to their own Redis
database (--broker-db, emptied at the end), so no other worker picks them up; the cache and the
sessions use REDIS_URL under the key prefix `bench-day`.

Prints its figures; the last line is one JSON object.
"""

import argparse
import asyncio
import datetime
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import votes  # bench/votes.py: the scratch database, sessions, gunicorn, the client, the CPU

TARGET = {"rate": 100.0, "p99_ms": 500, "kept_up": 0.95}
# Kinds of request and their shares of the day's traffic (per thousand). Residents dominate a
# voting day: ballot, confirmation, vote (some open the ballot and leave). The public reads
# results and money; spokespeople and staff work as on any day.
MIX = {
    "ballot": 220,  # GET /consultas/<id>/votar/
    "confirm": 200,  # POST /consultas/<id>/votar/ (the choice shown back)
    "vote": 200,  # POST /consultas/<id>/votar/confirmar/ (the write: book row and sealed ballot)
    "results_round": 40,  # GET /resultados/<id>/ (national)
    "results_state": 30,  # GET /resultados/<id>/estados/<code>/
    "results_commune": 60,  # GET /resultados/<id>/comunas/<code>/
    "results_csv": 20,  # GET /resultados/<id>/proyectos.csv
    "money_round": 30,  # GET /dinero/<id>/
    "money_project": 50,  # GET /dinero/proyectos/<id>/
    "directory": 60,  # GET /comunas/?q=...
    "workspace": 30,  # GET /mis-comunas/dinero/proyectos/<id>/ (finance spokesperson)
    "commune_money": 20,  # GET /mis-comunas/<code>/dinero/ (finance spokesperson)
    "payments": 20,  # GET /pagos/ (ministry staff)
    "progress_post": 6,  # POST .../avances/ (finance spokesperson, the real form)
    "request_post": 6,  # POST .../solicitar/ (finance spokesperson, the real form)
    "approve_post": 8,  # POST /pagos/<id>/aprobar/ (ministry staff)
}
WRITES = ("vote", "progress_post", "request_post", "approve_post")


@dataclass
class Request:
    path: str
    person: dict | None = None  # signed in as them (their session and CSRF cookies)
    form: bytes | None = None  # None: a GET; else the POST's form-encoded fields
    check: Callable[[int, dict, bytes], str | None] | None = None  # None: expects a 200


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=TARGET["rate"], help="requests a second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--warm-up", type=float, default=3.0, help="seconds of the mix first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--gunicorn-args", default="", help="more gunicorn options, quoted")
    parser.add_argument("--communes", type=int, default=300)
    parser.add_argument("--voters", type=int, default=20_000, help="signed-in residents")
    parser.add_argument(
        "--past-voters", type=int, default=4000, help="votes cast in the published round"
    )
    parser.add_argument("--spokespeople", type=int, default=40, help="finance, one per commune")
    parser.add_argument("--staff", type=int, default=8, help="national ministry staff")
    parser.add_argument(
        "--cost-samples",
        type=int,
        default=50,
        help="requests of each kind sent one at a time after the run, for its CPU cost (0: none)",
    )
    parser.add_argument("--broker-db", type=int, default=14, help="Redis database of the tasks")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    return parser.parse_args()


# The scratch database ------------------------------------------------------------------------


def past_round(communes, users, residents, council_commune, args, rng, now):
    """A round voted, counted, published and funded through the services, a month ago."""
    from consultations.models import Consultation
    from cycle import services as cycle
    from voting.services import vote_cast

    day = datetime.timedelta(days=1)
    opens, closes = now - 30 * day, now - 29 * day
    past = Consultation.objects.create(
        name="Consulta pasada de prueba de carga",
        year=2098,
        quarter=4,
        phase=Consultation.Phase.VALIDATION,
        assemblies_open_at=now - 60 * day,
        validation_opens_at=now - 45 * day,
        voting_opens_at=opens,
        voting_closes_at=closes,
        tally_deadline_at=closes + day,
        voting_hours_start=datetime.time(0, 0),
        voting_hours_end=datetime.time(23, 59, 59, 999_999),
        funder_by_rank=["national"],
        single_key_reason="Banco de pruebas: base de datos descartable, sin votantes reales.",
    )
    ballot = votes.ballots_make(past, communes, per_commune=3)
    cycle.round_open_voting(consultation=past, by=None, now=opens)
    past = Consultation.objects.select_related("urn").get(pk=past.pk)
    favour = {project: rng.uniform(0.5, 3.0) for ids in ballot.values() for project in ids}
    span = int((closes - opens).total_seconds())
    for user, resident in zip(users[: args.past_voters], residents, strict=False):
        projects = ballot[council_commune[resident.council_id]]
        choice = rng.choices(projects, [favour[project] for project in projects])[0]
        at = opens + datetime.timedelta(seconds=rng.randrange(span))
        vote_cast(consultation=past, user=user, project_id=choice, now=at)
    cycle.round_close_voting(consultation=past, by=None, now=closes)
    count = cycle.round_count(consultation_id=past.pk, now=closes + datetime.timedelta(hours=1))
    if count is None or count.status != count.Status.DONE:
        raise SystemExit(f"the past round's count did not finish: {count and count.problems}")
    cycle.round_publish(consultation=past, by=None, now=past.tally_deadline_at)
    cycle.round_allocate(consultation_id=past.pk, now=past.tally_deadline_at + day)
    return past


def staff_sign_in_records(user) -> dict:
    """What allauth keeps in the session of someone who signed in with a password and TOTP."""
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.models import Authenticator

    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    at = time.time()
    return {
        AUTHENTICATION_METHODS_SESSION_KEY: [
            {"method": "password", "at": at - 20, "email": user.email},
            {"method": "mfa", "at": at, "id": totp.pk, "type": "totp"},
        ],
        "account_authentication_methods_user": str(user.pk),
    }


def build(args, key_dir: str) -> dict:
    votes.django_setup(key_dir)
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import StaffRole, User
    from accounts.permissions import Roles
    from communes.models import Commune, Spokesperson
    from funding import services as funding
    from funding.models import Allocation
    from voting import services

    call_command("migrate", verbosity=0)
    rng = random.Random(17)
    now = timezone.now()
    today = timezone.localdate()

    # Today's round, in voting, and its residents (as bench/votes.py builds them).
    current = votes.voting_round(2099, 1, "Consulta de prueba de carga", now)
    communes, councils = votes.communes_make(args.communes, rng)
    ballot = votes.ballots_make(current, communes)
    # Voting opens once the ballots are made: the urn makes each commune's running sums then.
    services.urn_open(consultation=current, now=now)
    users, residents = votes.residents_make(councils, args.voters, now=now)
    council_commune = {council.pk: council.commune_id for council in councils}

    began = time.perf_counter()
    past = past_round(communes, users, residents, council_commune, args, rng, now)
    print(
        f"past round: {args.past_voters} votes cast, counted, published and funded "
        f"in {time.perf_counter() - began:.1f} s"
    )

    # Finance spokespeople of the first communes: new residents of each, with a term today.
    served = communes[: args.spokespeople]
    first_council = {}
    for council in councils:
        first_council.setdefault(council.commune_id, council)
    speakers, speaker_residents = votes.residents_make(
        [first_council[commune.pk] for commune in served],
        len(served),
        now=now,
        prefix="vocera-finanzas",
        first=args.voters,
    )
    Spokesperson.objects.bulk_create(
        Spokesperson(
            resident=resident,
            commune=commune,
            unit=Spokesperson.Unit.FINANCE,
            term_start=today - datetime.timedelta(days=365),
            term_end=today + datetime.timedelta(days=730),
        )
        for resident, commune in zip(speaker_residents, served, strict=True)
    )
    allocation_of = {
        allocation.project.commune_id: allocation
        for allocation in Allocation.objects.filter(project__consultation=past).select_related(
            "project"
        )
    }

    # National ministry staff, with TOTP set up as on the setup page.
    staff_users = User.objects.bulk_create(
        User(email=f"ministerio{n}@bench.invalid", password=speakers[0].password)
        for n in range(args.staff)
    )
    for user in staff_users:
        StaffRole.objects.create(user=user, kind=StaffRole.Kind.MINISTRY_STAFF, state=None)
        TOTP.activate(user, generate_totp_secret())

    # Requests waiting for the staff: enough for every approval the run may post.
    approvals = int(
        args.rate * (args.duration + args.warm_up) * MIX["approve_post"] / 1000 * 1.5
        + args.cost_samples
        + 20
    )
    waiting = []
    for k in range(approvals):
        speaker, commune = speakers[k % len(served)], served[k % len(served)]
        waiting.append(
            funding.disbursement_request(
                allocation=allocation_of[commune.pk],
                amount="100.00",
                purpose=f"Materiales, lote {k}",
                by=speaker,
            ).pk
        )
    rng.shuffle(waiting)

    # Everyone signed in.
    keys = votes.sessions_write(
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
    residents_out = [
        {
            "session": key,
            "csrf": secrets.token_hex(16),
            "resident": resident.pk,
            "project": rng.choice(ballot[council_commune[resident.council_id]]),
        }
        for resident, key in zip(residents, keys, strict=True)
    ]
    rng.shuffle(residents_out)
    speaker_keys = votes.sessions_write(
        [
            (
                user,
                Roles(
                    resident_id=resident.pk,
                    resident_commune_id=commune.pk,
                    spokesperson_units={commune.pk: frozenset({Spokesperson.Unit.FINANCE})},
                ),
            )
            for user, resident, commune in zip(speakers, speaker_residents, served, strict=True)
        ],
        now=now,
    )
    staff_keys = votes.sessions_write(
        [
            (user, Roles(staff_scopes={StaffRole.Kind.MINISTRY_STAFF: frozenset({None})}))
            for user in staff_users
        ],
        now=now,
        extra=staff_sign_in_records,
    )
    states = sorted(
        set(
            Commune.objects.filter(pk__in=[commune.pk for commune in communes]).values_list(
                "parish__municipality__state__code", flat=True
            )
        )
    )
    funded = [allocation.project_id for allocation in allocation_of.values()]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    return {
        "current": current.pk,
        "past": past.pk,
        "residents": residents_out,
        "speakers": [
            {
                "user": user.pk,
                "session": key,
                "csrf": secrets.token_hex(16),
                "code": commune.code,
                "project": allocation_of[commune.pk].project_id,
                "allocation": allocation_of[commune.pk].pk,
            }
            for user, key, commune in zip(speakers, speaker_keys, served, strict=True)
        ],
        "staff": [
            {"user": user.pk, "session": key, "csrf": secrets.token_hex(16)}
            for user, key in zip(staff_users, staff_keys, strict=True)
        ],
        "waiting": waiting,
        "states": states,
        "communes": [commune.code for commune in communes],
        "funded": funded,
    }


# The run -------------------------------------------------------------------------------------


class Day:
    """The requests of the day: each kind builds its request, knows the answer it expects and
    remembers the writes acknowledged, to be looked for in the database afterwards."""

    def __init__(self, port: int, built: dict, rng: random.Random):
        self.port, self.built, self.rng = port, built, rng
        residents = built["residents"]
        half = len(residents) // 2
        self.voters = residents[:half]  # they vote, each once, in turn
        self.browsers = residents[half:]  # they open the ballot and confirm, without voting
        self.next_voter = 0
        self.waiting = list(built["waiting"])
        self.serial = 0
        self.latencies: dict[str, list[float]] | None = None
        self.errors: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self.acks = {"vote": [], "progress_post": [], "request_post": [], "approve_post": []}

    def measure(self, latencies: dict[str, list[float]] | None) -> None:
        """Record latencies from now on (None: warm-up, not recorded; errors always count)."""
        self.latencies = latencies

    def error(self, kind: str, reason: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        key = f"{kind}: {reason}"
        self.reasons[key] = self.reasons.get(key, 0) + 1

    def request(self, kind: str) -> Request | None:
        """One request of this kind, or None when the kind has run out of people (every voter
        has voted, every waiting request is approved)."""
        built, rng = self.built, self.rng
        current, past = built["current"], built["past"]
        if kind == "vote":
            if self.next_voter >= len(self.voters):
                return None
            voter = self.voters[self.next_voter]
            self.next_voter += 1
            form = b"project=%d" % voter["project"]
            path = f"/consultas/{current}/votar/confirmar/"
            return Request(path, voter, form, self.receipt)
        if kind in ("ballot", "confirm"):
            person = rng.choice(self.browsers)
            form = b"project=%d" % person["project"] if kind == "confirm" else None
            return Request(f"/consultas/{current}/votar/", person, form)
        if kind == "results_round":
            return Request(f"/resultados/{past}/")
        if kind == "results_state":
            return Request(f"/resultados/{past}/estados/{rng.choice(built['states'])}/")
        if kind == "results_commune":
            return Request(f"/resultados/{past}/comunas/{rng.choice(built['communes'])}/")
        if kind == "results_csv":
            return Request(f"/resultados/{past}/proyectos.csv")
        if kind == "money_round":
            return Request(f"/dinero/{past}/")
        if kind == "money_project":
            return Request(f"/dinero/proyectos/{rng.choice(built['funded'])}/")
        if kind == "directory":
            return Request(f"/comunas/?q=prueba+{rng.randrange(len(built['communes']))}")
        if kind in ("workspace", "commune_money", "progress_post", "request_post"):
            speaker = rng.choice(built["speakers"])
            workspace = f"/mis-comunas/dinero/proyectos/{speaker['project']}/"
            if kind == "workspace":
                return Request(workspace, speaker)
            if kind == "commune_money":
                return Request(f"/mis-comunas/{speaker['code']}/dinero/", speaker)
            self.serial += 1
            mark = f"bench-day-{self.serial}-{secrets.token_hex(4)}"
            if kind == "progress_post":
                form = f"percent=40&status=in_progress&text={mark}&stalled_reason="
                path = workspace + "avances/"
            else:
                form = f"allocation={speaker['allocation']}&amount=5.00&purpose={mark}"
                path = workspace + "solicitar/"
            return Request(path, speaker, form.encode(), self.saved(kind, mark, workspace))
        staff = rng.choice(built["staff"])
        if kind == "payments":
            return Request("/pagos/", staff)
        if kind == "approve_post":
            if not self.waiting:
                return None
            pk = self.waiting.pop()
            check = self.saved(kind, (pk, staff["user"]), f"/pagos/{pk}/")
            return Request(f"/pagos/{pk}/aprobar/", staff, b"", check)
        raise ValueError(kind)

    def receipt(self, status: int, headers: dict, body: bytes) -> str | None:
        """A vote: its receipt on the page means it was recorded."""
        if status != 200:
            return f"status {status}"
        match = votes.RECEIPT.search(body)
        if match is None:
            return "200 without a receipt"
        self.acks["vote"].append(match.group(1).decode().replace("-", ""))
        return None

    def saved(self, kind: str, mark, then: str):
        """A form's write: a redirect to the page `then` means it was accepted (a refused form
        answers 422; a lapsed session would redirect to the sign-in page)."""

        def check(status: int, headers: dict, body: bytes) -> str | None:
            location = headers.get(b"location", b"").decode()
            if status != 302 or not location.startswith(then):
                return f"status {status} to {location or 'nowhere'}"
            self.acks[kind].append(mark)
            return None

        return check

    async def send(self, kind: str, arrival: float) -> None:
        request = self.request(kind)
        if request is None:
            return
        connection = votes.Connection(self.port)
        try:
            status, headers, body = await asyncio.wait_for(
                connection.request(
                    "GET" if request.form is None else "POST",
                    request.path,
                    person=request.person,
                    body=request.form or b"",
                ),
                30,
            )
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            self.error(kind, type(exc).__name__)
            return
        finally:
            connection.close()
        if self.latencies is not None:
            self.latencies.setdefault(kind, []).append(time.perf_counter() - arrival)
        if request.check is not None:
            problem = request.check(status, headers, body)
        else:
            problem = None if status == 200 else f"status {status}"
        if problem:
            self.error(kind, problem)

    async def one_at_a_time(self, kind: str, samples: int) -> int:
        """`samples` requests of one kind, each sent when the last was answered; returns how
        many were sent."""
        sent = 0
        for _sample in range(samples):
            if self.request_available(kind):
                await self.send(kind, time.perf_counter())
                sent += 1
        return sent

    def request_available(self, kind: str) -> bool:
        if kind == "vote":
            return self.next_voter < len(self.voters)
        if kind == "approve_post":
            return bool(self.waiting)
        return True

    async def open_loop(self, rate: float, seconds: float) -> tuple[float, int]:
        """Requests arrive at `rate` a second whatever the answers; returns the seconds until
        the last was answered and how many arrived."""
        kinds, weights = list(MIX), list(MIX.values())
        started = time.perf_counter()
        arrivals, tasks = int(rate * seconds), set()
        for k in range(arrivals):
            arrival = started + k / rate
            await asyncio.sleep(max(0.0, arrival - time.perf_counter()))
            kind = self.rng.choices(kinds, weights)[0]
            task = asyncio.create_task(self.send(kind, arrival))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return time.perf_counter() - started, arrivals


def writes_check(url: str, built: dict, acks: dict) -> dict:
    """How many acknowledged writes the database holds, kind by kind; and the money's and the
    audit trail's own checks."""
    from audit.trail import verify
    from funding.checks import funding_breaches
    from funding.models import Disbursement, DisbursementApproval, ProgressUpdate

    urn = votes.database_check(url, built["current"], acks["vote"])
    approved = {
        (disbursement, by)
        for disbursement, by in DisbursementApproval.objects.filter(
            disbursement_id__in=[pk for pk, _by in acks["approve_post"]]
        ).values_list("disbursement_id", "by_id")
    }
    found = {
        "vote": urn["found"],
        "progress_post": ProgressUpdate.objects.filter(text__in=acks["progress_post"]).count(),
        "request_post": Disbursement.objects.filter(purpose__in=acks["request_post"]).count(),
        "approve_post": sum(1 for pair in acks["approve_post"] if tuple(pair) in approved),
    }
    return {
        "found": found,
        "book": urn["book"],
        "book_residents": urn["book_residents"],
        "urn": urn["urn"],
        "money_breaches": len(funding_breaches()),
        "audit_problems": len(verify()),
    }


def cpu_snapshot(pids: list[int]) -> dict[int, float]:
    return {pid: votes.cpu_seconds([pid]) for pid in pids}


def cpu_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU used since `before` by these processes (those started since count from zero)."""
    return sum(votes.cpu_seconds([pid]) - before.get(pid, 0.0) for pid in pids)


def costs_measure(day: "Day", url: str, workers: list[int], samples: int) -> dict:
    """Each kind's CPU a request, in the app and in the database, one request at a time: the
    figures to size machines with (they hold on a shared machine; latencies do not)."""
    day.measure(None)
    app, database = {}, {}
    for kind in MIX:
        backends = votes.database_backends(url)
        app_before, db_before = cpu_snapshot(workers), cpu_snapshot(backends)
        sent = asyncio.run(day.one_at_a_time(kind, samples))
        if not sent:
            continue
        backends = sorted(set(backends) | set(votes.database_backends(url)))
        app[kind] = round(cpu_since(app_before, workers) * 1000 / sent, 1)
        database[kind] = round(cpu_since(db_before, backends) * 1000 / sent, 1)
    return {"app": app, "db": database}


def broker_drain(url: str) -> int:
    """The tasks the run queued (nobody consumes them here); emptied. Returns how many."""
    import redis

    client = redis.Redis.from_url(url)
    queued = client.llen("celery")
    client.delete("celery")
    return queued


def cache_clear(url: str, prefix: str) -> int:
    """Remove the run's keys (sessions, cached figures) from the cache; returns the bytes a
    signed-in session takes in Redis (the mean over a sample), for sizing."""
    import redis

    client = redis.Redis.from_url(url)
    sizes, keys = [], []
    for key in client.scan_iter(match=f"{prefix}:*", count=5000):
        if b"sessions" in key and len(sizes) < 200:
            sizes.append(client.memory_usage(key) or 0)
        keys.append(key)
        if len(keys) == 5000:
            client.delete(*keys)
            keys = []
    if keys:
        client.delete(*keys)
    return round(sum(sizes) / len(sizes)) if sizes else 0


def main() -> int:
    args = arguments()
    url = votes.scratch_database(votes.scratch_name("bench_day"))
    redis_url = os.environ["REDIS_URL"]
    broker = urlsplit(redis_url)._replace(path=f"/{args.broker_db}").geturl()
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ.setdefault("CACHE_KEY_PREFIX", "bench-day")
    # The database backends whose CPU is counted live through the run (the default, 60 s, would
    # replace them mid-run; a reconnection a minute costs nothing measurable).
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
    key_dir = tempfile.mkdtemp(prefix="bench-day-keys-")
    process = None
    try:
        began = time.perf_counter()
        built = build(args, key_dir)
        broker_drain(broker)  # the tasks the build queued (count, emails): not the run's
        print(
            f"built {len(built['residents'])} signed-in residents in {args.communes} communes, "
            f"{len(built['speakers'])} finance spokespeople, {len(built['staff'])} ministry staff, "
            f"{len(built['waiting'])} requests waiting, in {time.perf_counter() - began:.1f} s"
        )
        port = args.port or votes.free_port()
        log_path = os.path.join(key_dir, "gunicorn.log")
        process = votes.gunicorn_start(args, port, key_dir, log_path)
        day = Day(port, built, random.Random(23))
        # Warm-up: the same mix, not measured: workers load their templates, open their
        # connections, and the results' figures reach the cache as on any day after publication.
        asyncio.run(day.open_loop(args.rate, args.warm_up))
        workers, backends = votes.workers_of(process), votes.database_backends(url)
        latencies: dict[str, list[float]] = {}
        day.measure(latencies)
        app_cpu, db_cpu = cpu_snapshot(workers), cpu_snapshot(backends)
        own_cpu = time.process_time()
        seconds, arrived = asyncio.run(day.open_loop(args.rate, args.duration))
        app_cpu = cpu_since(app_cpu, workers)
        db_cpu = cpu_since(db_cpu, sorted(set(backends) | set(votes.database_backends(url))))
        own_cpu = time.process_time() - own_cpu
        costs = costs_measure(day, url, workers, args.cost_samples) if args.cost_samples else {}
        votes.gunicorn_stop(process)
        process = None

        check = writes_check(url, built, day.acks)
        acknowledged = {kind: len(marks) for kind, marks in day.acks.items()}
        missing = {kind: acknowledged[kind] - check["found"][kind] for kind in WRITES}
        lost_writes = sum(missing.values())
        if check["urn"] != check["book"] or check["book"] != check["book_residents"]:
            day.error("vote", "voting book and urn disagree")
        if check["money_breaches"]:
            day.error("request_post", f"{check['money_breaches']} money breaches")
        if check["audit_problems"]:
            day.error("audit", f"{check['audit_problems']} audit trail problems")
        queued = broker_drain(broker)
        session_bytes = cache_clear(redis_url, os.environ["CACHE_KEY_PREFIX"])
        errors = sum(day.errors.values())
        answered = sum(len(values) for values in latencies.values())
        p50 = {
            kind: round(votes.percentile(values, 0.50) * 1000, 1)
            for kind, values in latencies.items()
        }
        p99 = {
            kind: round(votes.percentile(values, 0.99) * 1000, 1)
            for kind, values in latencies.items()
        }
        requests_per_s = answered / seconds
        result = {
            "requests_per_s": round(requests_per_s, 1),
            "offered_per_s": args.rate,
            "p99_ms": dict(sorted(p99.items())),
            "p50_ms": dict(sorted(p50.items())),
            "requests": dict(sorted((kind, len(v)) for kind, v in latencies.items())),
            "errors": errors,
            "errors_by_kind": day.errors,
            "lost_writes": lost_writes,
            "lost_by_kind": missing,
            "acknowledged_writes": acknowledged,
            "votes_per_s": round(len(latencies.get("vote", [])) / seconds, 1),
            "app_cpu_ms_per_request": round(app_cpu * 1000 / max(answered, 1), 2),
            "db_cpu_ms_per_request": round(db_cpu * 1000 / max(answered, 1), 2),
            "client_cpu_ms_per_request": round(own_cpu * 1000 / max(answered, 1), 2),
            "cpu_used_share": round(
                (app_cpu + db_cpu + own_cpu) / seconds / (os.cpu_count() or 1), 2
            ),
            "app_cpu_ms_by_kind": costs.get("app", {}),
            "db_cpu_ms_by_kind": costs.get("db", {}),
            "money_breaches": check["money_breaches"],
            "audit_problems": check["audit_problems"],
            "voting_book_rows": check["book"],
            "urn_rows": check["urn"],
            "tasks_queued": queued,
            "redis_bytes_per_session": session_bytes,
            "arrived": arrived,
            "duration_s": round(seconds, 1),
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": args.worker_class,
            "cpus": os.cpu_count(),
        }
        slow = sorted(kind for kind, value in p99.items() if value >= TARGET["p99_ms"])
        met = (
            errors == 0
            and lost_writes == 0
            and not slow
            and set(p99) == set(MIX)
            and requests_per_s >= TARGET["kept_up"] * args.rate
        )
        result["target"] = (
            f"0 errors, 0 lost writes, p99 < {TARGET['p99_ms']} ms for every kind, "
            f">= {TARGET['kept_up']:.0%} of the offered rate answered a second "
            f"(judged at the default {TARGET['rate']:g} requests/s)"
        )
        result["target_met"] = met
        if day.reasons:
            print("errors:", json.dumps(day.reasons, indent=1))
            lines = Path(log_path).read_text(errors="replace").splitlines()
            print("gunicorn's log, last lines:", *lines[-15:], sep="\n  ")
        print(
            f"{args.rate:g} requests/s offered for {args.duration:g} s: "
            f"{result['requests_per_s']} answered a second ({result['votes_per_s']} votes/s); "
            f"{errors} errors, {lost_writes} lost writes; "
            f"slowest p99: {max(p99.items(), key=lambda item: item[1], default=('-', 0))}; "
            f"target {'met' if met else 'MISSED'}"
            + (f" (p99 over {TARGET['p99_ms']} ms: {', '.join(slow)})" if slow else "")
        )
        print(json.dumps(result))
        return 0 if met else 1
    finally:
        if process is not None:
            votes.gunicorn_stop(process)
        shutil.rmtree(key_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
