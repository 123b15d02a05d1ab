"""A crowd voting at once on the embedded database: run in a process of its own by
test_sqlite_crowd.py, because the suite's own processes are bound to PostgreSQL.

It is started with no DATABASE_URL and no REDIS_URL (so the settings choose the SQLite file under
VAR_DIR, the in-process cache and the filesystem broker, exactly as `make run` does), migrates a
fresh file, builds a round in voting, and then, through Django's test client in one thread per
request, released together:

- burst: every resident sends their confirmation several times at once;
- close: residents keep voting while the worker's tick closes the round, then the count runs.

It prints one JSON object: what each request answered (status, or the exception it raised), and
what the database holds afterwards. The test judges it.

    VAR_DIR=/tmp/x python tests/embedded/crowd.py --residents 40 --copies 3
"""

import argparse
import datetime
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=40, help="residents in the burst")
    parser.add_argument("--copies", type=int, default=3, help="confirmations each sends at once")
    parser.add_argument("--closing", type=int, default=40, help="residents voting as it closes")
    return parser.parse_args()


def setup() -> None:
    if os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
        raise SystemExit("Run with no DATABASE_URL and no REDIS_URL: this is the embedded stack.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    call_command("migrate", verbosity=0)


def live_round(name: str, year: int, communes):
    """A round in voting right now, all day long, with its urn; three projects per commune."""
    from django.utils import timezone

    from consultations.models import Consultation, Project
    from voting.services import urn_open

    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    consultation = Consultation.objects.create(
        name=name,
        year=year,
        quarter=1,
        phase=Consultation.Phase.VOTING,
        funder_by_rank=["national"],
        assemblies_open_at=now - 3 * hour,
        validation_opens_at=now - 2 * hour,
        voting_opens_at=now - hour,
        voting_closes_at=now + 2 * hour,
        tally_deadline_at=now + 3 * hour,
        voting_hours_start=datetime.time(0, 0),
        voting_hours_end=datetime.time(23, 59, 59),
        rules_frozen_at=now - hour,
    )
    ballot = {}
    for commune in communes:
        ballot[commune.pk] = [
            Project.objects.create(
                consultation=consultation,
                commune=commune,
                title=f"Proyecto {number} de {commune.name}",
                status=Project.Status.APPROVED,
            ).pk
            for number in range(3)
        ]
    urn_open(consultation=consultation, now=now)
    return consultation, ballot


def residents(councils, count: int, first: int) -> list:
    """Verified residents with accounts, signed in on a client each: (client, user, commune)."""
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from communes.models import Resident

    verifier, _created = User.objects.get_or_create(email="vocera@crowd.invalid")
    people = []
    for number in range(first, first + count):
        council = councils[number % len(councils)]
        user = User.objects.create_user(email=f"vecino{number}@crowd.invalid", password=None)
        Resident.objects.create(
            cedula=f"V-{25_000_000 + number}",
            full_name=f"Vecino {number}",
            birth_date=datetime.date(1990, 1, 1),
            council=council,
            user=user,
            verification=Resident.Verification.VERIFIED,
            verified_by=verifier,
            verified_at=timezone.now(),
        )
        client = Client()
        client.force_login(user)
        people.append((client, user, council.commune_id))
    return people


def at_once(jobs) -> list:
    """Run the callables in threads released together; each result is a status or an error."""
    from django.db import connection

    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # what a visitor would have got as a 500
            results[index] = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


RECEIPT_MARK = 'data-receipt="'
REFUSAL_MARK = 'data-refusal="'


def confirm(client, url: str, project: int):
    def job():
        response = client.post(url, {"project": project})
        page = response.content.decode()
        if response.status_code != 200:
            # A refusal names its reason (voting/refused.html): 409 already_voted, 403 closed.
            start = page.find(REFUSAL_MARK)
            if start < 0:
                return response.status_code, None
            start += len(REFUSAL_MARK)
            reason = page[start : page.index('"', start)]
            return f"{response.status_code} {reason}", None
        start = page.index(RECEIPT_MARK) + len(RECEIPT_MARK)
        return 200, page[start : page.index('"', start)].replace("-", "")

    return job


def book_and_urn(consultation) -> dict:
    from voting.models import SealedBallot, VotingBookEntry

    book = VotingBookEntry.objects.filter(consultation=consultation)
    return {
        "book": book.count(),
        "book_residents": book.values("resident_id").distinct().count(),
        "urn": SealedBallot.objects.filter(consultation=consultation).count(),
        "receipts": set(
            SealedBallot.objects.filter(consultation=consultation).values_list("receipt", flat=True)
        ),
    }


def burst(args, communes, councils) -> dict:
    """Every resident sends their confirmation `copies` times at once."""
    from django.urls import reverse

    consultation, ballot = live_round("Consulta de la ráfaga", 2031, communes)
    people = residents(councils, args.residents, first=0)
    url = reverse("voting:vote-confirm", args=[consultation.pk])
    jobs, owners = [], []
    for client, user, commune_id in people:
        for _copy in range(args.copies):
            jobs.append(confirm(client, url, ballot[commune_id][0]))
            owners.append(user.pk)
    answers = at_once(jobs)
    per_resident: dict[int, Counter] = {}
    errors, receipts = [], []
    for owner, answer in zip(owners, answers, strict=True):
        if isinstance(answer, str):
            errors.append(answer)
            per_resident.setdefault(owner, Counter())["error"] += 1
            continue
        status, receipt = answer
        per_resident.setdefault(owner, Counter())[status] += 1
        if receipt:
            receipts.append(receipt)
    stored = book_and_urn(consultation)
    return {
        "requests": len(jobs),
        "statuses": dict(
            Counter("error" if isinstance(answer, str) else str(answer[0]) for answer in answers)
        ),
        "errors": errors[:5],
        "error_count": len(errors),
        "residents": len(people),
        "residents_with_one_200": sum(1 for c in per_resident.values() if c[200] == 1),
        "residents_refused_the_rest": sum(
            1 for c in per_resident.values() if c["409 already_voted"] == args.copies - 1
        ),
        "receipts_acknowledged": len(receipts),
        "receipts_found": len(set(receipts) & stored["receipts"]),
        "book": stored["book"],
        "book_residents": stored["book_residents"],
        "urn": stored["urn"],
    }


def closing(args, communes, councils) -> dict:
    """Residents vote while the worker's tick closes the round; then the count runs."""
    from django.urls import reverse

    from cycle.services import round_count, rounds_advance_due
    from voting.models import Count

    consultation, ballot = live_round("Consulta que cierra", 2032, communes)
    people = residents(councils, args.closing, first=10_000)
    url = reverse("voting:vote-confirm", args=[consultation.pk])
    voted, lock, some_voted = [0], threading.Lock(), threading.Event()

    def voter(client, project):
        vote = confirm(client, url, project)

        def job():
            try:
                return vote()
            finally:
                with lock:
                    voted[0] += 1
                    if voted[0] >= len(people) // 3:
                        some_voted.set()

        return job

    jobs = [voter(client, ballot[commune_id][1]) for client, _user, commune_id in people]

    def tick():
        # The worker's minute tick at the round's closing time, once a third of the crowd has
        # been answered and the rest is still voting.
        some_voted.wait(timeout=60)
        moved = rounds_advance_due(now=consultation.voting_closes_at)
        return "moved" if moved else "not moved"

    middle = len(jobs) // 2
    answers = at_once([*jobs[:middle], tick, *jobs[middle:]])
    tick_result = answers.pop(middle)
    errors = [answer for answer in answers if isinstance(answer, str)]
    statuses = Counter(answer[0] for answer in answers if not isinstance(answer, str))
    receipts = [answer[1] for answer in answers if not isinstance(answer, str) and answer[1]]
    consultation.refresh_from_db()
    try:
        count, count_error = round_count(consultation_id=consultation.pk), None
    except Exception as error:  # the round did not close: nothing to count
        count, count_error = None, f"{type(error).__name__}: {error}"
    stored = book_and_urn(consultation)
    return {
        "tick": tick_result,
        "phase_after": consultation.phase,
        "statuses": {str(status): n for status, n in statuses.items()},
        "errors": errors[:5],
        "error_count": len(errors),
        "receipts_acknowledged": len(receipts),
        "receipts_found": len(set(receipts) & stored["receipts"]),
        "book": stored["book"],
        "urn": stored["urn"],
        "count_status": count.status if count else count_error,
        "count_ballots": count.ballots if count else None,
        "count_done": Count.Status.DONE.value,
    }


def main() -> int:
    args = arguments()
    setup()
    from django.conf import settings
    from django.db import connection

    from communes.models import CommunalCouncil, Commune, Parish

    with connection.cursor() as cursor:
        pragmas = {}
        for pragma in ("journal_mode", "synchronous", "busy_timeout"):
            cursor.execute(f"PRAGMA {pragma}")
            pragmas[pragma] = cursor.fetchone()[0]
    parishes = list(Parish.objects.order_by("pk")[:2])
    communes = [
        Commune.objects.create(
            code=f"COM-CROWD-{n}",
            name=f"Comuna del gentío {n}",
            parish=parishes[n],
            registered_on=datetime.date(2020, 5, 1),
        )
        for n in range(2)
    ]
    councils = [
        CommunalCouncil.objects.create(
            commune=commune, code=f"CC-CROWD-{commune.pk}", name="Consejo Comunal", families=200
        )
        for commune in communes
    ]
    result = {
        "engine": settings.DATABASES["default"]["ENGINE"],
        "database": str(settings.DATABASES["default"]["NAME"]),
        "transaction_mode": connection.transaction_mode,
        **pragmas,
        "burst": burst(args, communes, councils),
        "closing": closing(args, communes, councils),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
