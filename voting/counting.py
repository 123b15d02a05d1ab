"""The count: decrypt each commune's summed ballots, add the tables, rank, mark the winners.

The cycle starts it when a round enters "counting" (on commit) and its minute tick retries it
until it is done, so a killed worker or commissioners who decrypt late only delay it. First the
urn is rewritten (``voting.closing``: the commune sums written, the link to the voting book
removed); then, once k commissioners (the server's own share for a 1-of-1 round) have given
their checked partial decryptions of every commune's sum, the totals come from those: no ballot
is ever opened, and the round's key is never rebuilt.

The online part is cut into ranges of communes (``count_plan``), each done whole by one job on
any worker (``count_chunk``) and kept apart (``CountChunk``); once every range is done, one
reduce (``count_reduce``) adds the tables and writes the results, once. It is deterministic: run
twice, or with a range done twice, it writes the same results.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count as Tally
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from consultations.models import Consultation, Project
from consultations.services import participating_communes, residents_of_age, years_before
from urncrypto import (
    DiscreteLog,
    PartialDecryption,
    UrnCryptoError,
    totals_decrypt,
)

from . import commissioners
from . import urn as sealing
from .eligibility import voting_day
from .models import (
    CommuneResult,
    CommuneSum,
    Count,
    CountChunk,
    ProjectResult,
    SealedBallot,
    TallySheet,
    VotingBookEntry,
)
from .models import PartialDecryption as StoredPartial

logger = logging.getLogger(__name__)


@dataclass
class OpenedUrn:
    """The online part of the count, per commune: what the decrypted sums say."""

    choices: Counter  # (commune id, project id) → online votes
    urn: Counter  # commune id → ballots in the urn
    unopened: Counter  # commune id → ballots whose commune's sum did not decrypt


# The online part, in ranges of communes ----------------------------------------------------
#
# A national round decrypts 36,500 totals (about 0.3 ms each) and, for a round without
# commissioners, makes the server's 5,340 partial decryptions (2 to 3 ms each): the work is cut by
# commune id into ranges (``CountChunk``), each one job that any worker takes and writes whole in
# one transaction. The reduce (``count_reduce``) waits until every range is done.

LAST_COMMUNE = 2**63 - 1


def count_ready(consultation: Consultation) -> str:
    """ "" when the round's sums can be decrypted, or why not yet: the server's key share (a
    round without commissioners) or k commissioners' partial decryptions of every sum."""
    urn = consultation.urn
    if not urn.shares_needed:
        if not sealing.server_share_path(consultation.pk).exists():
            return _(
                "The server's key share of this round is not in the key folder on this server."
            )
        return ""
    status = commissioners.decryption_status(consultation.pk, urn.shares_needed)
    if status.ready:
        return ""
    return _(
        "%(complete)d of the %(needed)d commissioners needed have decrypted every commune's sum."
    ) % {"complete": status.complete, "needed": status.needed}


def count_plan(*, consultation_id: int, now=None, size: int | None = None) -> list[CountChunk]:
    """The round's ranges of communes, made once (from the sums written when voting closed,
    ``size`` communes each: ``settings.COUNT_CHUNK_COMMUNES``); the same rows however many times
    or workers ask. The first range starts at 0 and the last ends at the largest id, so a commune
    with ballots and no sum is counted too (and found short)."""
    now = now or timezone.now()
    size = size or settings.COUNT_CHUNK_COMMUNES
    with transaction.atomic():
        _count_lock(consultation_id, wait=True)
        chunks = list(
            CountChunk.objects.filter(consultation_id=consultation_id).order_by("first_commune")
        )
        if chunks:
            return chunks
        ids = list(
            CommuneSum.objects.filter(consultation_id=consultation_id)
            .order_by("commune_id")
            .values_list("commune_id", flat=True)
        )
        firsts = [0, *ids[size::size]]
        lasts = [*(first - 1 for first in firsts[1:]), LAST_COMMUNE]
        return CountChunk.objects.bulk_create(
            CountChunk(
                consultation_id=consultation_id,
                first_commune=first,
                last_commune=last,
                created_at=now,
            )
            for first, last in zip(firsts, lasts, strict=True)
        )


def chunk_totals(consultation: Consultation, first: int, last: int) -> dict | None:
    """The online totals of the communes with ids first…last: {commune id: {"urn", "votes",
    "unopened"}}; None when a round without commissioners has no key share on this server."""
    in_range = {"commune_id__gte": first, "commune_id__lte": last}
    urn = Counter(
        dict(
            SealedBallot.objects.filter(consultation_id=consultation.pk, **in_range)
            .values_list("commune_id")
            .annotate(n=Tally("receipt"))
            .values_list("commune_id", "n")
            .order_by()
        )
    )
    sums = {
        row.commune_id: commissioners.summed_of(row, consultation.pk)
        for row in CommuneSum.objects.filter(consultation_id=consultation.pk, **in_range)
    }
    needed = consultation.urn.shares_needed
    partials: dict[int, list[PartialDecryption]] = {}
    if needed:
        for commune_id, data in (
            StoredPartial.objects.filter(consultation_id=consultation.pk, **in_range)
            .order_by("commune_id", "index")
            .values_list("commune_id", "data")
        ):
            partials.setdefault(commune_id, []).append(PartialDecryption.from_json(data))
    else:
        made = commissioners.server_partials(consultation.pk, sums)
        if made is None:
            return None
        for partial in made:
            partials[partial.commune_id] = [partial]
    dlog = DiscreteLog()
    totals = {}
    for commune_id in sorted(set(urn) | set(sums)):
        entry = {"urn": urn[commune_id], "votes": {}, "unopened": False}
        summed = sums.get(commune_id)
        if summed is not None:
            try:
                votes = totals_decrypt(
                    summed=summed,
                    partials=partials.get(commune_id, []),
                    threshold=needed or 1,
                    dlog=dlog,
                    bound=max(summed.ballots, urn[commune_id]),
                )
            except UrnCryptoError:
                entry["unopened"] = True
            else:
                entry["votes"] = {str(project): n for project, n in votes.items()}
        totals[str(commune_id)] = entry
    return totals


def count_chunk(*, consultation_id: int, first_commune: int, now=None) -> bool:
    """Do one range of the count, whole or not at all (one transaction); a range done already,
    or being done by another worker, is left alone. True when every range of the round is done
    after this one (the caller then runs the reduce; two callers may both see it: the reduce
    writes once)."""
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        chunk = (
            CountChunk.objects.select_for_update(skip_locked=True)
            .filter(consultation_id=consultation_id, first_commune=first_commune)
            .first()
        )
        if chunk is None or chunk.done_at is not None:
            return False
        consultation = Consultation.objects.select_related("urn").get(pk=consultation_id)
        totals = chunk_totals(consultation, chunk.first_commune, chunk.last_commune)
        if totals is None:
            logger.warning("round %s: the server's key share is not here", consultation_id)
            return False
        chunk.totals = totals
        chunk.done_at = now
        chunk.seconds = round(time.monotonic() - started, 3)
        chunk.save(update_fields=["totals", "done_at", "seconds"])
    return not CountChunk.objects.filter(consultation_id=consultation_id, done_at=None).exists()


def chunks_pending(consultation_id: int) -> list[int]:
    """The first commune of each range not done yet."""
    return list(
        CountChunk.objects.filter(consultation_id=consultation_id, done_at=None)
        .order_by("first_commune")
        .values_list("first_commune", flat=True)
    )


def opened_of(chunks: list[CountChunk]) -> OpenedUrn:
    opened = OpenedUrn(Counter(), Counter(), Counter())
    for chunk in chunks:
        for commune, entry in chunk.totals.items():
            commune_id = int(commune)
            opened.urn[commune_id] = entry["urn"]
            if entry["unopened"]:
                opened.unopened[commune_id] = entry["urn"]
            for project, n in entry["votes"].items():
                opened.choices[commune_id, int(project)] = n
    return opened


@dataclass(frozen=True)
class Candidate:
    project_id: int
    votes: int
    priority: int | None
    lot: str
    cost: Decimal | None = None


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


def winners_of(ranked: list[Candidate], *, rule: str, seats: int, budget: Decimal) -> set[int]:
    """The winning projects of a commune's ranking (most votes first) under the round's rule.

    "Top N": the first ``seats`` projects with votes. "Within the commune's budget": walking the
    ranking, every project with votes whose cost still fits what is left of ``budget`` wins, and
    one that no longer fits (or has no cost) is skipped for the next. A project nobody voted for
    never wins."""
    won: set[int] = set()
    if rule == Consultation.CountingRule.GREEDY_BUDGET:
        left = budget
        for candidate in ranked:
            if candidate.votes > 0 and candidate.cost is not None and candidate.cost <= left:
                won.add(candidate.project_id)
                left -= candidate.cost
        return won
    for candidate in ranked[:seats]:
        if candidate.votes > 0:
            won.add(candidate.project_id)
    return won


def eligible_by_commune(consultation: Consultation) -> dict[int, int]:
    """Residents on the census of each commune within the round's ages on voting day."""
    residents = residents_of_age(
        on=voting_day(consultation), min_age=consultation.min_age, max_age=consultation.max_age
    )
    rows = residents.values("council__commune_id").annotate(n=Tally("pk"))
    return {row["council__commune_id"]: row["n"] for row in rows}


# A round's count and the recount of one of its communes never run at once: each takes this
# advisory lock (transaction-level, keyed by the round) before touching the round's results.
COUNT_LOCK = 7001


def _count_lock(consultation_id: int, *, wait: bool) -> bool:
    """Take the round's count lock: waiting for it, or (``wait=False``) only if it is free.
    True when it is held (always, on the embedded database, which has one writer anyway)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [COUNT_LOCK, consultation_id])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [COUNT_LOCK, consultation_id])
        return cursor.fetchone()[0]


def consultation_awaits_count(consultation_id: int) -> bool:
    return Consultation.objects.filter(
        pk=consultation_id, phase=Consultation.Phase.COUNTING
    ).exists()


def rounds_awaiting_count() -> list[int]:
    """Rounds in counting whose count has not run, or waits for the urn's key."""
    return list(
        Consultation.objects.filter(phase=Consultation.Phase.COUNTING)
        .exclude(count__status__in=[Count.Status.DONE, Count.Status.DISCREPANCY])
        .values_list("pk", flat=True)
    )


FINISHED = (Count.Status.DONE, Count.Status.DISCREPANCY)


def count_waiting(consultation_id: int) -> tuple[bool, Count | None]:
    """Before the ranges: (False, None) when the sums can be decrypted; otherwise (True, the
    round's Count saying what the decryption waits for; None while another count holds the
    round's lock)."""
    consultation = Consultation.objects.select_related("urn").get(pk=consultation_id)
    if consultation.phase != Consultation.Phase.COUNTING:
        raise ValidationError(
            _("Only a round in the counting phase can be counted."), code="wrong_phase"
        )
    missing = count_ready(consultation)
    if not missing:
        return False, None
    with transaction.atomic():
        if not _count_lock(consultation_id, wait=False):
            return True, None
        count, _created = Count.objects.update_or_create(
            consultation=consultation,
            defaults={"status": Count.Status.WAITING_FOR_KEY, "problems": [missing]},
        )
    return True, count


def count_reduce(*, consultation_id: int, now=None, again: bool = True) -> Count | None:
    """The count's last step, once every range is done: the ranges' online totals, the tables and
    the voting book, written as the round's results (one transaction). None when another reduce
    or recount holds the round's lock, or a range is not done. With ``again=False`` (the jobs'
    reduce, which the last range and the tick may both queue) a finished count is left as it is."""
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        if not _count_lock(consultation_id, wait=False):
            return None
        consultation = Consultation.objects.select_related("urn").get(pk=consultation_id)
        if consultation.phase != Consultation.Phase.COUNTING:
            raise ValidationError(
                _("Only a round in the counting phase can be counted."), code="wrong_phase"
            )
        count = Count.objects.filter(consultation=consultation).first()
        if not again and count is not None and count.status in FINISHED:
            return count
        chunks = list(CountChunk.objects.filter(consultation=consultation))
        if not chunks or any(chunk.done_at is None for chunk in chunks):
            return None
        return _store_results(
            consultation,
            opened_of(chunks),
            _known_totals(consultation),
            now=now,
            seconds=time.monotonic() - started + sum(chunk.seconds for chunk in chunks),
        )


def consultation_count(*, consultation_id: int, now=None) -> Count | None:
    """Count a round in "counting" here, every range in this process, then the reduce (what a
    person, the demo and the tests run; the jobs share the ranges among workers instead).
    Counting a finished count again starts from its ranges anew, so it reads the urn as it is.
    Returns None when another count of it is running."""
    waiting, count = count_waiting(consultation_id)
    if waiting:
        return count
    if Count.objects.filter(consultation_id=consultation_id, status__in=FINISHED).exists():
        CountChunk.objects.filter(consultation_id=consultation_id).delete()
    for chunk in count_plan(consultation_id=consultation_id, now=now):
        if chunk.done_at is None:
            count_chunk(consultation_id=consultation_id, first_commune=chunk.first_commune, now=now)
    return count_reduce(consultation_id=consultation_id, now=now)


@dataclass
class TableTotals:
    """The tables' part of the count: marks in the book and the accepted tally sheets."""

    marks: Counter  # commune id → voting-book marks at its tables
    votes: Counter  # (commune id, project id) → votes on accepted sheets
    blank: Counter  # commune id → blank ballots on accepted sheets
    null: Counter  # commune id → null ballots on accepted sheets
    ballots: Counter  # commune id → every ballot on accepted sheets
    # commune id → tables whose sheet is not decided yet (a table with marks and no sheet too)
    pending: Counter


def table_totals(consultation, commune_id: int | None = None) -> TableTotals:
    """Two queries: the tables' marks, and their sheets."""
    marks_by_table = VotingBookEntry.objects.filter(
        consultation=consultation, channel=VotingBookEntry.Channel.TABLE
    )
    sheets = TallySheet.objects.filter(consultation=consultation)
    if commune_id is not None:
        marks_by_table = marks_by_table.filter(commune_id=commune_id)
        sheets = sheets.filter(table__commune_id=commune_id)
    totals = TableTotals(Counter(), Counter(), Counter(), Counter(), Counter(), Counter())
    tables_marked = {}
    for table_id, commune, n in (
        marks_by_table.values_list("table_id", "commune_id")
        .annotate(n=Tally("pk"))
        .values_list("table_id", "commune_id", "n")
        .order_by()
    ):
        totals.marks[commune] += n
        tables_marked[table_id] = commune
    for table_id, commune, status, votes, blank, null in sheets.values_list(
        "table_id", "table__commune_id", "status", "votes", "blank", "null"
    ):
        tables_marked.pop(table_id, None)
        if status == TallySheet.Status.ACCEPTED:
            for project_id, n in votes.items():
                totals.votes[commune, int(project_id)] += n
            totals.blank[commune] += blank
            totals.null[commune] += null
            totals.ballots[commune] += sum(votes.values()) + blank + null
        elif status != TallySheet.Status.ANNULLED:
            totals.pending[commune] += 1
    for commune in tables_marked.values():  # people marked, and no sheet entered yet
        totals.pending[commune] += 1
    return totals


# The age bands the count publishes per commune: (field, youngest age, oldest age or None).
AGE_BANDS = [
    ("voters_under_15", 0, 14),
    ("voters_15_35", 15, 35),
    ("voters_36_59", 36, 59),
    ("voters_60_plus", 60, None),
]


def voters_by_age(consultation, commune_id: int | None = None) -> dict[int, dict[str, int]]:
    """Everyone in the round's voting book (online and at tables) counted per commune and age
    band on voting day, from the census's birth dates (one query). Only these totals leave the
    query: never who voted at which age."""
    day = voting_day(consultation)
    bands = {}
    for field, youngest, oldest in AGE_BANDS:
        born = Q(resident__birth_date__lte=years_before(day, youngest))
        if oldest is not None:
            born &= Q(resident__birth_date__gt=years_before(day, oldest + 1))
        bands[field] = Tally("pk", filter=born)
    entries = VotingBookEntry.objects.filter(consultation=consultation)
    if commune_id is not None:
        entries = entries.filter(commune_id=commune_id)
    rows = entries.values("commune_id").annotate(**bands).order_by()
    return {row.pop("commune_id"): row for row in rows}


@dataclass
class KnownTotals:
    """What the count needs besides the urn: read while the urn is being opened."""

    book: dict[int, int]  # commune id → online voting-book entries
    eligible: dict[int, int]  # commune id → residents of age
    # commune id → (project, priority, cost)
    on_ballot: dict[int, list[tuple[int, int | None, Decimal | None]]]
    tables: TableTotals
    ages: dict[int, dict[str, int]]  # commune id → voters per age band


def _on_ballot(consultation, commune_id=None) -> dict[int, list[tuple]]:
    projects = Project.objects.filter(
        consultation=consultation,
        status=Project.Status.APPROVED,
        commune__in=participating_communes(consultation),
    )
    if commune_id is not None:
        projects = projects.filter(commune_id=commune_id)
    on_ballot: dict[int, list[tuple]] = {}
    for project_id, commune, priority, cost in projects.values_list(
        "pk", "commune_id", "problem__priority", "estimated_cost_usd"
    ):
        on_ballot.setdefault(commune, []).append((project_id, priority, cost))
    return on_ballot


def _known_totals(consultation) -> KnownTotals:
    book = dict(
        VotingBookEntry.objects.filter(
            consultation=consultation, channel=VotingBookEntry.Channel.ONLINE
        )
        .values_list("commune")
        .annotate(n=Tally("pk"))
        .values_list("commune", "n")
    )
    return KnownTotals(
        book,
        eligible_by_commune(consultation),
        _on_ballot(consultation),
        table_totals(consultation),
        voters_by_age(consultation),
    )


@dataclass
class OnlinePart:
    """A commune's online figures: book entries, sealed ballots, and the choices opened."""

    book: int
    urn: int
    unopened: int
    choices: dict[int, int]  # project id → online votes


def _commune_result(
    consultation,
    commune_id,
    projects,
    online: OnlinePart,
    eligible: int,
    tables: TableTotals,
    ages: dict[str, int],
):
    """(commune result, its projects' results ranked, a problem or "") for one commune."""
    valid = {project_id for project_id, *_rest in projects}
    counted = sum(online.choices.get(project_id, 0) for project_id in valid)
    table_votes = {project_id: tables.votes[commune_id, project_id] for project_id in valid}
    result = CommuneResult(
        consultation=consultation,
        commune_id=commune_id,
        eligible=eligible,
        voting_book=online.book,
        urn=online.urn,
        counted=counted,
        table_marks=tables.marks[commune_id],
        sheet_ballots=tables.ballots[commune_id],
        blank=tables.blank[commune_id],
        null=tables.null[commune_id],
        pending_sheets=tables.pending[commune_id],
        votes=counted + sum(table_votes.values()),
        **{field: ages.get(field, 0) for field, *_band in AGE_BANDS},
    )
    problem = ""
    if not result.totals_agree:
        problem = _(
            "Commune %(id)d: %(book)d in the voting book, %(urn)d in the urn, %(counted)d counted."
        ) % {"id": commune_id, "book": result.voting_book, "urn": result.urn, "counted": counted}
        if online.unopened:
            problem += " " + _("The commune's summed ballots did not decrypt to a number of votes.")
    minimum = consultation.min_turnout_percent
    turnout = result.turnout_percent
    if minimum is not None and (turnout is None or turnout < float(minimum)):
        result.void_reason = _("Turnout below the round's minimum of %(min)s%%.") % {"min": minimum}
    seed = consultation.urn.lot_seed
    candidates = [
        Candidate(
            project_id=project_id,
            votes=online.choices.get(project_id, 0) + table_votes[project_id],
            priority=priority,
            lot=sealing.lot_key(seed, project_id),
            # A project without an estimated cost counts as the most a project may cost.
            cost=cost if cost is not None else consultation.amount_usd,
        )
        for project_id, priority, cost in projects
    ]
    ranked = rank(candidates, tie_break=consultation.tie_break)
    # No winner while a sheet of the commune is undecided: it is shown as pending.
    decided = not result.void_reason and not result.pending_sheets
    won = (
        winners_of(
            [candidate for candidate, _broken in ranked],
            rule=consultation.counting_rule,
            seats=consultation.winners_per_commune,
            budget=consultation.commune_budget(),
        )
        if decided
        else set()
    )
    project_results = []
    for position, (candidate, tie_broken) in enumerate(ranked, start=1):
        wins = candidate.project_id in won
        project_results.append(
            ProjectResult(
                project_id=candidate.project_id,
                consultation=consultation,
                commune_id=commune_id,
                online_votes=online.choices.get(candidate.project_id, 0),
                table_votes=table_votes[candidate.project_id],
                votes=candidate.votes,
                rank=position,
                is_winner=wins,
                priority=candidate.priority,
                lot=candidate.lot,
                tie_broken=tie_broken,
            )
        )
    return result, project_results, problem


def _store_results(consultation, opened: OpenedUrn, known: KnownTotals, *, now, seconds) -> Count:
    book, eligible, on_ballot, tables = known.book, known.eligible, known.on_ballot, known.tables
    communes = set(on_ballot) | set(book) | set(opened.urn) | set(tables.marks)
    commune_results, project_results, problems = [], [], []
    for commune_id in sorted(communes):
        online = OnlinePart(
            book=book.get(commune_id, 0),
            urn=opened.urn.get(commune_id, 0),
            unopened=opened.unopened[commune_id],
            choices={
                project_id: opened.choices[commune_id, project_id]
                for project_id, *_rest in on_ballot.get(commune_id, [])
            },
        )
        result, rows, problem = _commune_result(
            consultation,
            commune_id,
            on_ballot.get(commune_id, []),
            online,
            eligible.get(commune_id, 0),
            tables,
            known.ages.get(commune_id, {}),
        )
        commune_results.append(result)
        project_results.extend(rows)
        if problem:
            problems.append(problem)

    ProjectResult.objects.filter(consultation=consultation).delete()
    CommuneResult.objects.filter(consultation=consultation).delete()
    CommuneResult.objects.bulk_create(commune_results, batch_size=2000)
    ProjectResult.objects.bulk_create(project_results, batch_size=2000)
    awards_apply(consultation)
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


def commune_lot(seed: str, commune_code: str) -> str:
    """The lot that breaks a tie between communes for an award: SHA-256 of
    "<seed>:commune:<registry code>" in hex, lowest first."""
    return sealing.lot_key(seed, f"commune:{commune_code}")


def award_winners(communes: list[dict], *, seed: str, state: bool, youth: int):
    """Who gets the round's awards by participation, from published figures only.

    ``communes``: one dict per commune whose result stands (no void reason), with ``code``,
    ``state`` (its state's code), ``voters`` and ``voters_15_35``. Returns (the codes of the
    commune with most voters in each state, the codes of the ``youth`` communes with most voters
    aged 15 to 35); a tie is broken by the communes' lots, and nobody wins with no voters."""

    def lot(commune):
        return commune_lot(seed, commune["code"])

    best_of_state: dict[str, dict] = {}
    if state:
        for commune in communes:
            if commune["voters"] <= 0:
                continue
            best = best_of_state.get(commune["state"])
            if best is None or (-commune["voters"], lot(commune)) < (-best["voters"], lot(best)):
                best_of_state[commune["state"]] = commune
    young = sorted(
        (commune for commune in communes if commune["voters_15_35"] > 0),
        key=lambda commune: (-commune["voters_15_35"], lot(commune)),
    )[:youth]
    return {c["code"] for c in best_of_state.values()}, [c["code"] for c in young]


STATE_CODE = "commune__parish__municipality__state__code"


def awards_apply(consultation) -> None:
    """Mark the awards by participation on a counted round's results, anew (safe to rerun).

    The commune with most voters in each state: every project of its ballot wins. Each of the
    N communes with most voters aged 15 to 35: its best-placed project that had not won, wins (once
    its tally sheets are all decided, as its ranking may change until then). An awarded project
    is a winner like any other, allocated by the funding job; its ``award`` says why."""
    ProjectResult.objects.filter(consultation=consultation).exclude(award="").update(
        is_winner=False, award=""
    )
    CommuneResult.objects.filter(consultation=consultation).filter(
        Q(state_award=True) | Q(youth_award=True)
    ).update(state_award=False, youth_award=False)
    if not consultation.award_state_most_voters and not consultation.award_youth_communes:
        return
    communes = list(
        CommuneResult.objects.filter(consultation=consultation, void_reason="").values(
            "commune_id",
            "pending_sheets",
            "voters_15_35",
            code=F("commune__code"),
            state=F(STATE_CODE),
            voters=F("voting_book") + F("table_marks"),
        )
    )
    by_state, young = award_winners(
        communes,
        seed=consultation.urn.lot_seed,
        state=consultation.award_state_most_voters,
        youth=consultation.award_youth_communes,
    )
    ids = {commune["code"]: commune["commune_id"] for commune in communes}
    results = CommuneResult.objects.filter(consultation=consultation)
    results.filter(commune_id__in=[ids[code] for code in by_state]).update(state_award=True)
    results.filter(commune_id__in=[ids[code] for code in young]).update(youth_award=True)
    projects = ProjectResult.objects.filter(consultation=consultation, is_winner=False)
    projects.filter(commune_id__in=[ids[code] for code in by_state]).update(
        is_winner=True, award=ProjectResult.Award.STATE
    )
    decided = {c["code"] for c in communes if not c["pending_sheets"]}
    firsts: dict[int, int] = {}  # commune id → its best-placed project that had not won
    for pk, commune_id in (
        projects.filter(commune_id__in=[ids[code] for code in young if code in decided])
        .order_by("commune_id", "rank")
        .values_list("pk", "commune_id")
    ):
        firsts.setdefault(commune_id, pk)
    ProjectResult.objects.filter(pk__in=list(firsts.values())).update(
        is_winner=True, award=ProjectResult.Award.YOUTH
    )


def commune_recount(*, consultation_id: int, commune_id: int, now=None) -> CommuneResult | None:
    """Count one commune again after one of its tally sheets was decided, from the online
    figures the count stored (the urn is not opened again) and the sheets as they are now.

    Does nothing before the round's count (which will read the sheets itself); waits for a count
    in progress, so a sheet decided during a count is never left out.
    """
    now = now or timezone.now()
    with transaction.atomic():
        _count_lock(consultation_id, wait=True)
        count = (
            Count.objects.select_for_update()
            .filter(
                consultation_id=consultation_id,
                status__in=[Count.Status.DONE, Count.Status.DISCREPANCY],
            )
            .first()
        )
        if count is None:
            return None
        consultation = Consultation.objects.select_related("urn").get(pk=consultation_id)
        old = CommuneResult.objects.filter(consultation=consultation, commune_id=commune_id).first()
        choices = dict(
            ProjectResult.objects.filter(
                consultation=consultation, commune_id=commune_id
            ).values_list("project_id", "online_votes")
        )
        if old is not None:
            online = OnlinePart(old.voting_book, old.urn, old.urn - old.counted, choices)
            eligible = old.eligible
        else:  # a commune that had no results (nobody in its book at the count)
            online = OnlinePart(0, 0, 0, choices)
            eligible = (
                residents_of_age(
                    on=voting_day(consultation),
                    min_age=consultation.min_age,
                    max_age=consultation.max_age,
                )
                .filter(council__commune_id=commune_id)
                .count()
            )
        result, rows, _problem = _commune_result(
            consultation,
            commune_id,
            _on_ballot(consultation, commune_id).get(commune_id, []),
            online,
            eligible,
            table_totals(consultation, commune_id),
            voters_by_age(consultation, commune_id).get(commune_id, {}),
        )
        ProjectResult.objects.filter(consultation=consultation, commune_id=commune_id).delete()
        CommuneResult.objects.filter(consultation=consultation, commune_id=commune_id).delete()
        result.save()
        ProjectResult.objects.bulk_create(rows)
        # The awards rest on figures a recount does not change (who voted, and their ages),
        # but a youth award's project follows the commune's ranking, which it may change.
        awards_apply(consultation)
        count.revision += 1
        count.save(update_fields=["revision"])
        audit.record(
            actor=None,
            action="consultation.recount_commune",
            obj=consultation,
            after={
                "commune": commune_id,
                "votes": result.votes,
                "pending_sheets": result.pending_sheets,
                "revision": count.revision,
            },
        )
    return result
