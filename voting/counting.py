"""The count: open the urn, add up the choices, rank each commune's projects, mark the winners.

Entering "counting" starts it (on commit) and the minute tick retries it until it is done, so a
killed worker or a key that arrives late only delays it. It is deterministic: run twice, it
writes the same results. Only totals are stored; the opened ballots live in memory for the
length of a loop iteration.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count as Tally
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg.conninfo import make_conninfo

import audit
from consultations.models import Consultation, Project
from consultations.services import participating_communes, residents_of_age

from . import urn as sealing
from .models import CommuneResult, Count, ProjectResult, SealedBallot, VotingBookEntry
from .services import voting_day


@dataclass
class OpenedUrn:
    choices: Counter  # (commune id, project id) → ballots
    urn: Counter  # commune id → sealed ballots
    unopened: Counter  # commune id → ballots that did not open with the key


def _conninfo() -> str:
    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
    }
    return make_conninfo(**{k: v for k, v in params.items() if v})


def _page_ranges(parts: int) -> list[tuple[int, int | None]]:
    """The urn table's pages cut into ``parts`` ranges: (first page, first page of the next)."""
    pages = _urn_pages()
    cuts = [pages * part // parts for part in range(parts)]
    return [(cut, cuts[i + 1] if i + 1 < parts else None) for i, cut in enumerate(cuts)]


def _open_in_workers(consultation_id, public_key, private_key, parts: int, meanwhile=None):
    job = {
        "conninfo": _conninfo(),
        "consultation": consultation_id,
        "public_key": public_key.hex(),
        "private_key": private_key.hex(),
    }
    ranges = _page_ranges(parts)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "voting.urn_worker"],
            cwd=settings.BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _part in range(parts)
    ]
    for (first_page, last_page), worker in zip(ranges, workers, strict=True):
        part = {**job, "first_page": first_page, "last_page": last_page}
        worker.stdin.write(json.dumps(part) + "\n")
        worker.stdin.close()
    # The parent's own reads overlap the workers' opening instead of following it.
    alongside = meanwhile() if meanwhile is not None else None
    opened = OpenedUrn(Counter(), Counter(), Counter())
    for worker in workers:
        with worker.stdout:
            output = worker.stdout.read()
        if worker.wait() != 0:
            raise RuntimeError(f"an urn worker failed with exit code {worker.returncode}")
        result = json.loads(output)
        for commune_id, project_id, n in result["choices"]:
            opened.choices[commune_id, project_id] += n
        opened.urn.update(dict(result["urn"]))
        opened.unopened.update(dict(result["unopened"]))
    return opened, alongside


def _open_here(consultation_id, public_key, private_key) -> OpenedUrn:
    unseal = sealing.Opener(public_key, private_key)
    opened = OpenedUrn(Counter(), Counter(), Counter())
    ballots = SealedBallot.objects.filter(consultation_id=consultation_id)
    for commune_id, sealed in ballots.values_list("commune_id", "sealed").iterator(2000):
        opened.urn[commune_id] += 1
        project_id = unseal(bytes(sealed))
        if project_id is None:
            opened.unopened[commune_id] += 1
        else:
            opened.choices[commune_id, project_id] += 1
    return opened


# Below this many pages of urn (some 20,000 ballots), worker processes cost more than they save.
PARALLEL_FROM_PAGES = 300


def _urn_pages() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s) / current_setting('block_size')::int",
            [SealedBallot._meta.db_table],
        )
        return cursor.fetchone()[0]


def urn_open_all(consultation: Consultation, private_key: bytes, meanwhile):
    """Open every ballot of the round; run ``meanwhile`` alongside. (opened urn, its result)"""
    public_key = bytes(consultation.urn.public_key)
    parts = max(1, settings.URN_COUNT_WORKERS)
    if connection.vendor == "postgresql" and parts > 1 and _urn_pages() >= PARALLEL_FROM_PAGES:
        return _open_in_workers(consultation.pk, public_key, private_key, parts, meanwhile)
    return _open_here(consultation.pk, public_key, private_key), meanwhile()


@dataclass(frozen=True)
class Candidate:
    project_id: int
    votes: int
    priority: int | None
    lot: str


def rank(candidates: list[Candidate], *, tie_break: str) -> list[tuple[Candidate, bool]]:
    """Most votes first; ties broken by the round's rule. Returns (candidate, tie_broken)."""
    if tie_break == Consultation.TieBreak.PRIORITY_THEN_LOT:
        # A project that answers no named problem comes after those that do.
        def key(c):
            return (-c.votes, c.priority if c.priority is not None else 10_000, c.lot)
    else:

        def key(c):
            return (-c.votes, c.lot)

    ordered = sorted(candidates, key=key)
    votes = Counter(c.votes for c in ordered)
    return [(c, votes[c.votes] > 1) for c in ordered]


def eligible_by_commune(consultation: Consultation) -> dict[int, int]:
    """Residents on the census of each commune within the round's ages on voting day."""
    residents = residents_of_age(
        on=voting_day(consultation), min_age=consultation.min_age, max_age=consultation.max_age
    )
    rows = residents.values("council__commune_id").annotate(n=Tally("pk"))
    return {row["council__commune_id"]: row["n"] for row in rows}


def _take_count_lock(consultation_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [7001, consultation_id])
        return cursor.fetchone()[0]


def consultation_awaits_count(consultation_id: int) -> bool:
    return Consultation.objects.filter(
        pk=consultation_id, phase=Consultation.Phase.COUNTING
    ).exists()


def consultation_count(*, consultation_id: int, now=None) -> Count | None:
    """Count a round in "counting". Returns None when another count of it is running."""
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        if not _take_count_lock(consultation_id):
            return None
        consultation = Consultation.objects.select_related("urn").get(pk=consultation_id)
        if consultation.phase != Consultation.Phase.COUNTING:
            raise ValidationError(
                _("Only a round in the counting phase can be counted."), code="wrong_phase"
            )
        private_key, missing = _private_key(consultation)
        if private_key is None:
            count, _created = Count.objects.update_or_create(
                consultation=consultation,
                defaults={"status": Count.Status.WAITING_FOR_KEY, "problems": [missing]},
            )
            return count
        opened, known = urn_open_all(
            consultation, private_key, meanwhile=lambda: _known_totals(consultation)
        )
        count = _store_results(
            consultation, opened, known, now=now, seconds=time.monotonic() - started
        )
    if consultation.urn.shares_needed:
        sealing.shares_forget(consultation.pk, consultation.urn.shares_total)
    return count


def _private_key(consultation) -> tuple[bytes | None, str]:
    """The urn's private key, from its file or from enough commissioners' shares; else why not."""
    urn = consultation.urn
    if not urn.shares_needed:
        key = sealing.private_key_load(consultation.pk)
        if key is None:
            return None, _("The urn's private key is not in the key folder on this server.")
        return key, ""
    shares = sealing.shares_kept(consultation.pk, urn.shares_total)
    if len(shares) < urn.shares_needed:
        return None, _(
            "%(entered)d of the %(needed)d commissioners' shares needed have been entered."
        ) % {"entered": len(shares), "needed": urn.shares_needed}
    key = sealing.shares_combine(shares)
    if sealing.public_key_of(key) != bytes(urn.public_key):
        sealing.shares_forget(consultation.pk, urn.shares_total)
        return None, _(
            "The shares entered do not rebuild the urn's key (one belongs to another round or "
            "was altered): they were discarded; enter them again."
        )
    return key, ""


@dataclass
class KnownTotals:
    """What the count needs besides the urn: read while the urn is being opened."""

    book: dict[int, int]  # commune id → voting-book entries
    eligible: dict[int, int]  # commune id → residents of age
    on_ballot: dict[int, list[tuple[int, int | None]]]  # commune id → (project, priority)


def _known_totals(consultation) -> KnownTotals:
    book = dict(
        VotingBookEntry.objects.filter(consultation=consultation)
        .values_list("commune")
        .annotate(n=Tally("pk"))
        .values_list("commune", "n")
    )
    on_ballot: dict[int, list[tuple[int, int | None]]] = {}
    for project_id, commune_id, priority in Project.objects.filter(
        consultation=consultation,
        status=Project.Status.APPROVED,
        commune__in=participating_communes(consultation),
    ).values_list("pk", "commune_id", "problem__priority"):
        on_ballot.setdefault(commune_id, []).append((project_id, priority))
    return KnownTotals(book, eligible_by_commune(consultation), on_ballot)


def _store_results(consultation, opened: OpenedUrn, known: KnownTotals, *, now, seconds) -> Count:
    book, eligible, on_ballot = known.book, known.eligible, known.on_ballot

    seed = consultation.urn.lot_seed
    minimum = consultation.min_turnout_percent
    commune_results, project_results, problems = [], [], []
    for commune_id in sorted(set(on_ballot) | set(book) | set(opened.urn)):
        projects = on_ballot.get(commune_id, [])
        valid = {project_id for project_id, _p in projects}
        counted = sum(opened.choices[commune_id, project_id] for project_id in valid)
        votes = counted
        result = CommuneResult(
            consultation=consultation,
            commune_id=commune_id,
            eligible=eligible.get(commune_id, 0),
            voting_book=book.get(commune_id, 0),
            urn=opened.urn.get(commune_id, 0),
            counted=counted,
            votes=votes,
        )
        if not result.totals_agree:
            problems.append(
                _(
                    "Commune %(id)d: %(book)d in the voting book, %(urn)d in the urn, "
                    "%(counted)d counted."
                )
                % {
                    "id": commune_id,
                    "book": result.voting_book,
                    "urn": result.urn,
                    "counted": counted,
                }
                + (
                    " "
                    + _("%(n)d sealed ballot(s) did not open with the round's key.")
                    % {"n": opened.unopened[commune_id]}
                    if opened.unopened[commune_id]
                    else ""
                )
            )
        turnout = result.turnout_percent
        if minimum is not None and (turnout is None or turnout < float(minimum)):
            result.void_reason = _("Turnout below the round's minimum of %(min)s%%.") % {
                "min": minimum
            }
        commune_results.append(result)
        candidates = [
            Candidate(
                project_id=project_id,
                votes=opened.choices[commune_id, project_id],
                priority=priority,
                lot=sealing.lot_key(seed, project_id),
            )
            for project_id, priority in projects
        ]
        winners_left = 0 if result.void_reason else consultation.winners_per_commune
        for position, (candidate, tie_broken) in enumerate(
            rank(candidates, tie_break=consultation.tie_break), start=1
        ):
            wins = winners_left > 0 and candidate.votes > 0
            winners_left -= wins
            project_results.append(
                ProjectResult(
                    project_id=candidate.project_id,
                    consultation=consultation,
                    commune_id=commune_id,
                    online_votes=candidate.votes,
                    votes=candidate.votes,
                    rank=position,
                    is_winner=wins,
                    priority=candidate.priority,
                    lot=candidate.lot,
                    tie_broken=tie_broken,
                )
            )

    ProjectResult.objects.filter(consultation=consultation).delete()
    CommuneResult.objects.filter(consultation=consultation).delete()
    CommuneResult.objects.bulk_create(commune_results, batch_size=2000)
    ProjectResult.objects.bulk_create(project_results, batch_size=2000)
    if connection.vendor == "postgresql":
        # Fresh statistics: the results pages and exports read these tables straight away, and
        # with the planner's stale estimates the national export took 4 s instead of 0.5 s.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE voting_projectresult, voting_communeresult")
    ballots = sum(opened.urn.values())
    count, _created = Count.objects.update_or_create(
        consultation=consultation,
        defaults={
            "status": Count.Status.DISCREPANCY if problems else Count.Status.DONE,
            "ballots": ballots,
            "finished_at": now,
            "seconds": round(seconds, 3),
            "problems": problems,
        },
    )
    audit.record(
        actor=None,
        action="consultation.count",
        obj=consultation,
        after={"status": count.status, "ballots": ballots, "problems": len(problems)},
    )
    return count
