"""Shared reads of the vote: a round in voting, receipts and the urn's key shares; and the
public results of published rounds, each in a fixed number of queries.

A results page costs one query when its figures are in the cache: the round itself, whose row
also says which version of the results is current (when the count finished and the round's last
phase transition). The figures are cached under that version, so a recount or a new publication
makes new keys and the old ones are never read again (they expire on their own).
"""

import datetime
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count as Tally
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from communes.models import Commune, Municipality, State
from consultations.models import Consultation, Exclusion, PhaseTransition, Project
from consultations.selectors import participating_communes, published_rounds
from replica import public_read, public_stream
from urncrypto import BallotContext

from .commissioners import DecryptionStatus, decryption_status
from .models import (
    BookConflict,
    CommuneResult,
    Count,
    ProjectResult,
    SealedBallot,
    SheetEvent,
    TallyEntry,
    TallySheet,
    Urn,
    VotingBookEntry,
    VotingTable,
)

# Cached figures outlive no publication (their key changes); this only bounds dead keys' lifetime.
CACHE_SECONDS = 7 * 24 * 3600

STATE = "commune__parish__municipality__state"
MUNICIPALITY = "commune__parish__municipality"
PARISH = "commune__parish"
# Everyone in the voting book: online, and marked at a table (blank and null ballots included).
VOTERS = F("voting_book") + F("table_marks")


def _published() -> QuerySet[Consultation]:
    """Published rounds with what names the current version of their results."""
    transitions = PhaseTransition.objects.filter(consultation=OuterRef("pk"))
    return (
        published_rounds()
        .select_related("urn", "count")
        .annotate(last_transition=Subquery(transitions.order_by("-pk").values("pk")[:1]))
    )


@public_read
def results_rounds() -> list[dict]:
    """Every published round, newest first, with its national totals (two queries)."""
    rounds = list(_published().order_by("-year", "-quarter", "-pk"))
    totals = {
        row["consultation"]: row
        for row in CommuneResult.objects.filter(consultation__in=[c.pk for c in rounds])
        .values("consultation")
        .annotate(
            communes=Tally("pk"), eligible=Sum("eligible"), voters=Sum(VOTERS), votes=Sum("votes")
        )
        .order_by()
    }
    empty = {"communes": 0, "eligible": 0, "voters": 0, "votes": 0}
    return [{**_with_turnout(dict(totals.get(c.pk, empty))), "consultation": c} for c in rounds]


@public_read
def results_round_get(*, pk: int) -> Consultation:
    """A published round, with its urn, its count and its results' version; 404 otherwise."""
    return get_object_or_404(_published(), pk=pk)


def results_version(consultation: Consultation) -> str:
    count = getattr(consultation, "count", None)
    finished = count.finished_at.isoformat() if count and count.finished_at else "-"
    revision = count.revision if count else 0
    return f"{finished}.{revision}/{consultation.last_transition}"


# What a cache key may be made of: the name carries a code typed into the address.
_KEY_SAFE = re.compile(r"[A-Za-z0-9:_.-]{1,80}")


def _cached(consultation: Consultation, name: str, build):
    # Any text can be asked for: a code that is not plain is not made a key, and a place that
    # does not exist (empty figures) is not kept, so nobody fills the cache with made-up codes.
    if not _KEY_SAFE.fullmatch(name):
        return build()
    key = f"results:{consultation.pk}:{name}:{results_version(consultation)}"
    figures = cache.get(key)
    if figures is None:
        figures = build()
        if figures:
            cache.set(key, figures, CACHE_SECONDS)
    return figures


def _with_turnout(row: dict) -> dict:
    """Turnout is the people who voted (online and at tables) over the eligible residents."""
    if "voters" not in row:
        row["voters"] = (row.get("voting_book") or 0) + (row.get("table_marks") or 0)
    eligible, voters = row.get("eligible") or 0, row["voters"] or 0
    row["turnout"] = round(100 * voters / eligible, 2) if eligible else None
    return row


def _totals(rows: list[dict]) -> dict:
    return _with_turnout(
        {
            "communes": sum(row["communes"] for row in rows),
            "eligible": sum(row["eligible"] for row in rows),
            "voters": sum(row["voters"] for row in rows),
            "votes": sum(row["votes"] for row in rows),
        }
    )


def _turnout_by(results, code: str, name: str) -> list[dict]:
    rows = (
        results.values(code=F(code), name=F(name))
        .annotate(
            communes=Tally("pk"), eligible=Sum("eligible"), voters=Sum(VOTERS), votes=Sum("votes")
        )
        .order_by("name", "code")
    )
    return [_with_turnout(dict(row)) for row in rows]


@public_read
def results_national(*, consultation: Consultation) -> dict:
    """Turnout by state and winners by category (two queries, cached)."""

    def build():
        results = CommuneResult.objects.filter(consultation=consultation)
        states = _turnout_by(results, f"{STATE}__code", f"{STATE}__name")
        categories = list(
            ProjectResult.objects.filter(consultation=consultation, is_winner=True)
            .values(category=F("project__category"))
            .annotate(winners=Tally("pk"), votes=Sum("votes"))
            .order_by("-winners", "category")
        )
        return {"states": states, "totals": _totals(states), "categories": categories}

    return _cached(consultation, "national", build)


def results_states_all(*, consultation: Consultation) -> list[dict]:
    """Every state by name, with its turnout in the round (the national figures); a state with
    no commune on the vote has none (turnout None). One query more than the national figures,
    cached like them: what the tile map and its table show."""

    def build():
        figures = {
            row["code"]: row for row in results_national(consultation=consultation)["states"]
        }
        empty = {"communes": 0, "eligible": 0, "voters": 0, "votes": 0, "turnout": None}
        return [
            {**empty, **figures.get(state["code"], {}), **state}
            for state in State.objects.order_by("name", "code").values("code", "name")
        ]

    return _cached(consultation, "states-all", build)


def _winners(consultation: Consultation, **territory) -> list[dict]:
    return list(
        ProjectResult.objects.filter(consultation=consultation, is_winner=True, **territory)
        .values(
            "votes",
            "rank",
            "tie_broken",
            "award",
            commune_code=F("commune__code"),
            commune_name=F("commune__name"),
            title=F("project__title"),
            category=F("project__category"),
        )
        .order_by("commune__name", "commune__code", "rank")
    )


@public_read
def results_awards(*, consultation: Consultation) -> list[dict]:
    """The communes given an award by participation, by state then name (one query, cached)."""

    def build():
        return [
            _with_turnout(dict(row))
            for row in CommuneResult.objects.filter(consultation=consultation)
            .filter(Q(state_award=True) | Q(youth_award=True))
            .values(
                "eligible",
                "voters_15_35",
                "state_award",
                "youth_award",
                voters=VOTERS,
                code=F("commune__code"),
                name=F("commune__name"),
                state_name=F(f"{STATE}__name"),
            )
            .order_by(f"{STATE}__name", "commune__name", "commune__code")
        ]

    if not (consultation.award_state_most_voters or consultation.award_youth_communes):
        return []
    return _cached(consultation, "awards", build)


@public_read
def results_state(*, consultation: Consultation, code: str) -> dict:
    """A state's municipalities with their turnout, and the state's winners (three queries)."""

    def build():
        state = State.objects.filter(code=code).values("code", "name").first()
        if state is None:
            return {}
        results = CommuneResult.objects.filter(
            consultation=consultation, **{f"{STATE}__code": code}
        )
        municipalities = _turnout_by(results, f"{MUNICIPALITY}__code", f"{MUNICIPALITY}__name")
        return {
            "state": state,
            "municipalities": municipalities,
            "totals": _totals(municipalities),
            "winners": _winners(consultation, **{f"{STATE}__code": code}),
        }

    return _found(_cached(consultation, f"state:{code}", build))


@public_read
def results_municipality(*, consultation: Consultation, code: str) -> dict:
    """A municipality's communes with their turnout and winners (three queries)."""

    def build():
        municipality = (
            Municipality.objects.filter(code=code)
            .values("code", "name", state_code=F("state__code"), state_name=F("state__name"))
            .first()
        )
        if municipality is None:
            return {}
        communes = [
            _with_turnout(dict(row))
            for row in CommuneResult.objects.filter(
                consultation=consultation, **{f"{MUNICIPALITY}__code": code}
            )
            .values(
                "eligible",
                "votes",
                "void_reason",
                "pending_sheets",
                voters=VOTERS,
                code=F("commune__code"),
                name=F("commune__name"),
                parish_name=F(f"{PARISH}__name"),
            )
            .order_by("commune__name", "commune__code")
        ]
        winners: dict[str, list[dict]] = {}
        for winner in _winners(consultation, **{f"{MUNICIPALITY}__code": code}):
            winners.setdefault(winner["commune_code"], []).append(winner)
        for commune in communes:
            commune["winners"] = winners.get(commune["code"], [])
            commune["communes"] = 1
        return {"municipality": municipality, "communes": communes, "totals": _totals(communes)}

    return _found(_cached(consultation, f"municipality:{code}", build))


@public_read
def results_commune(*, consultation: Consultation, code: str) -> dict:
    """A commune's totals, every project on its ballot ranked, and every voting table of the
    round with its marks, its sheet, its scans and its history (four queries, six with tally
    sheets; cached)."""

    def build():
        commune = (
            Commune.objects.filter(code=code)
            .values(
                "pk",
                "code",
                "name",
                "kind",
                parish_name=F("parish__name"),
                municipality_code=F("parish__municipality__code"),
                municipality_name=F("parish__municipality__name"),
                state_code=F("parish__municipality__state__code"),
                state_name=F("parish__municipality__state__name"),
            )
            .first()
        )
        if commune is None:
            return {}
        result = (
            CommuneResult.objects.filter(consultation=consultation, commune_id=commune["pk"])
            .values(
                "eligible",
                "voting_book",
                "urn",
                "counted",
                "table_marks",
                "sheet_ballots",
                "blank",
                "null",
                "pending_sheets",
                "votes",
                "void_reason",
                "voters_under_15",
                "voters_15_35",
                "voters_36_59",
                "voters_60_plus",
                "state_award",
                "youth_award",
            )
            .first()
        )
        if result is None:
            return {}
        projects = list(
            ProjectResult.objects.filter(consultation=consultation, commune_id=commune["pk"])
            .values(
                "online_votes",
                "table_votes",
                "votes",
                "rank",
                "is_winner",
                "priority",
                "lot",
                "tie_broken",
                "award",
                "project_id",
                title=F("project__title"),
                category=F("project__category"),
            )
            .order_by("rank")
        )
        result["totals_agree"] = result["voting_book"] == result["urn"] == result["counted"]
        return {
            "commune": commune,
            "result": _with_turnout(result),
            "projects": projects,
            "tables": _commune_tables(consultation, commune["pk"], projects),
        }

    return _found(_cached(consultation, f"commune:{code}", build))


# A table with people marked (or a conflict) and no sheet entered.
NO_SHEET = "missing"


def _tables_of_round(consultation: Consultation) -> QuerySet[VotingTable]:
    """The tables that took part in the round: people marked, a conflict, or a sheet; each with
    its marks, its conflicts and the round's sheet (one query)."""
    marks = (
        VotingBookEntry.objects.filter(consultation=consultation, table=OuterRef("pk"))
        .order_by()
        .values("table")
        .annotate(n=Tally("pk"))
        .values("n")
    )
    conflicts = (
        BookConflict.objects.filter(consultation=consultation, table=OuterRef("pk"))
        .order_by()
        .values("table")
        .annotate(n=Tally("pk"))
        .values("n")
    )
    return VotingTable.objects.annotate(
        round_sheet=FilteredRelation(
            "tally_sheets", condition=Q(tally_sheets__consultation=consultation)
        ),
        book_marks=Coalesce(Subquery(marks), 0),
        conflict_count=Coalesce(Subquery(conflicts), 0),
    ).filter(Q(book_marks__gt=0) | Q(conflict_count__gt=0) | Q(round_sheet__isnull=False))


TABLE_COLUMNS = {
    "table_id": "pk",
    "centre_code": "centre__code",
    "centre": "centre__name",
    "table_number": "number",
    "table_code": "code",
    "marks": "book_marks",
    "conflicts": "conflict_count",
    "sheet_id": "round_sheet__id",
    "sheet_status": "round_sheet__status",
    "sheet_votes": "round_sheet__votes",
    "sheet_blank": "round_sheet__blank",
    "sheet_null": "round_sheet__null",
    "decided_at": "round_sheet__decided_at",
    "decided_by_id": "round_sheet__decided_by_id",
}


def _sheet_figures(row: dict) -> dict:
    """A table's row from TABLE_COLUMNS with its sheet said plainly: the accepted figures (None
    while there are none), its status ("missing" without a sheet), and who decided it."""
    accepted = row["sheet_status"] == TallySheet.Status.ACCEPTED
    votes, blank, null = row.pop("sheet_votes"), row.pop("sheet_blank"), row.pop("sheet_null")
    row["votes"] = dict(sorted(votes.items(), key=lambda item: int(item[0]))) if accepted else {}
    row["blank"] = blank if accepted else None
    row["null"] = null if accepted else None
    row["ballots"] = sum(votes.values()) + blank + null if accepted else None
    row["sheet_status"] = row["sheet_status"] or NO_SHEET
    decided_by_id = row.pop("decided_by_id")
    if row["decided_at"] is None:
        row["decided_by"] = ""
    else:
        row["decided_by"] = "system" if decided_by_id is None else "staff"
    return row


def _who(event: dict, officers: list[int]) -> dict:
    """Who made a sheet's event, said without naming anyone: the system, the table's first or
    second officer to enter it, or staff."""
    if event["by_id"] is None:
        return {"by": "system", "officer": None}
    if event["kind"] == SheetEvent.Kind.ENTERED:
        if event["by_id"] not in officers:
            officers.append(event["by_id"])
        return {"by": "officer", "officer": officers.index(event["by_id"]) + 1}
    return {"by": "staff", "officer": None}


def _commune_tables(consultation: Consultation, commune_id: int, projects: list[dict]):
    """Every table of a commune in the round, in order of centre and number: one query, and
    two more for the sheets' scans and history when there are sheets."""
    tables = (
        _tables_of_round(consultation)
        .filter(commune_id=commune_id)
        .order_by("centre__code", "number")
        .values_list(*TABLE_COLUMNS.values())
    )
    rows = [dict(zip(TABLE_COLUMNS, values, strict=True)) for values in tables]
    sheets = [row["sheet_id"] for row in rows if row["sheet_id"] is not None]
    scans: dict[int, list[dict]] = {}
    history: dict[int, list[dict]] = {}
    if sheets:  # a commune whose people all voted online costs no more than one query
        for entry in (
            TallyEntry.objects.filter(sheet_id__in=sheets, scan__is_public=True)
            .order_by("entered_at", "pk")
            .values("sheet_id", "scan_id", "entered_at", kind=F("scan__kind"))
        ):
            scans.setdefault(entry["sheet_id"], []).append(entry)
        officers: dict[int, list[int]] = {}
        for event in (
            SheetEvent.objects.filter(sheet_id__in=sheets)
            .order_by("at", "pk")
            .values("sheet_id", "kind", "at", "by_id", "reason")
        ):
            who = _who(event, officers.setdefault(event["sheet_id"], []))
            del event["by_id"]
            history.setdefault(event["sheet_id"], []).append({**event, **who})
    for row in rows:
        _sheet_figures(row)
        row["figures"] = (
            [
                {"title": p["title"], "votes": row["votes"].get(str(p["project_id"]), 0)}
                for p in projects
            ]
            if row["ballots"] is not None
            else []
        )
        row["scans"] = scans.get(row["sheet_id"], [])
        row["history"] = history.get(row["sheet_id"], [])
    return rows


def _found(figures: dict) -> dict:
    if not figures:
        raise Http404
    return figures


# Open data ---------------------------------------------------------------------------------

PLACE_FIELDS = {
    "state_code": f"{STATE}__code",
    "state": f"{STATE}__name",
    "municipality_code": f"{MUNICIPALITY}__code",
    "municipality": f"{MUNICIPALITY}__name",
    "parish_code": f"{PARISH}__code",
    "parish": f"{PARISH}__name",
    "commune_code": "commune__code",
    "commune": "commune__name",
}
AGE_FIELDS = ["voters_under_15", "voters_15_35", "voters_36_59", "voters_60_plus"]
PROJECT_FIELDS = [
    "round_id",
    "round",
    *PLACE_FIELDS,
    "project_id",
    "project",
    "category",
    "online_votes",
    "table_votes",
    "votes",
    "rank",
    "is_winner",
    "tie_broken",
    "priority",
    "lot",
    "award",
]
COMMUNE_FIELDS = [
    "round_id",
    "round",
    *PLACE_FIELDS,
    "eligible",
    "voting_book",
    "urn",
    "counted",
    "table_marks",
    "sheet_ballots",
    "blank",
    "null",
    "pending_sheets",
    "voters",
    "votes",
    "turnout",
    "void_reason",
    *AGE_FIELDS,
    "state_award",
    "youth_award",
]
TABLE_FIELDS = [
    "round_id",
    "round",
    *PLACE_FIELDS,
    "centre_code",
    "centre",
    "table_number",
    "table_code",
    "marks",
    "sheet_status",
    "ballots",
    "blank",
    "null",
    "votes",
    "conflicts",
    "decided_at",
    "decided_by",
    "scans",
]


def _streamed(queryset, columns: dict[str, str]) -> Iterator[dict]:
    names = list(columns)
    for values in queryset.values_list(*columns.values()).iterator(chunk_size=2000):
        yield dict(zip(names, values, strict=True))


@public_stream
def project_rows(*, consultation: Consultation) -> Iterator[dict]:
    """One row per project on a ballot of the round, by place then rank; streamed."""
    results = ProjectResult.objects.filter(consultation=consultation).order_by(
        f"{STATE}__code", f"{MUNICIPALITY}__code", "commune__code", "rank"
    )
    columns = {
        **PLACE_FIELDS,
        "project_id": "project_id",
        "project": "project__title",
        "category": "project__category",
        **{name: name for name in PROJECT_FIELDS[PROJECT_FIELDS.index("online_votes") :]},
    }
    for row in _streamed(results, columns):
        yield {"round_id": consultation.pk, "round": consultation.name, **row}


@public_stream
def commune_rows(*, consultation: Consultation) -> Iterator[dict]:
    """One row per commune on the vote, with its three totals and turnout; streamed."""
    results = CommuneResult.objects.filter(consultation=consultation).order_by(
        f"{STATE}__code", f"{MUNICIPALITY}__code", "commune__code"
    )
    totals = [
        "eligible",
        "voting_book",
        "urn",
        "counted",
        "table_marks",
        "sheet_ballots",
        "blank",
        "null",
        "pending_sheets",
        "votes",
        "void_reason",
        *AGE_FIELDS,
        "state_award",
        "youth_award",
    ]
    columns = {**PLACE_FIELDS, **{name: name for name in totals}}
    for row in _streamed(results, columns):
        yield {"round_id": consultation.pk, "round": consultation.name, **_with_turnout(row)}


@public_stream
def table_rows(*, consultation: Consultation) -> Iterator[dict]:
    """One row per voting table of the round (people marked, a conflict or a sheet), by place,
    centre and number: its marks, its sheet's status and accepted figures, its conflicts, when
    and by what its sheet was decided ("system", or blank: no person is named), and the ids of
    its public scans; streamed after one query for the scans."""
    scans: dict[int, list[str]] = {}
    for table_id, scan_id in (
        TallyEntry.objects.filter(sheet__consultation=consultation, scan__is_public=True)
        .order_by("entered_at", "pk")
        .values_list("sheet__table_id", "scan_id")
        .iterator(chunk_size=5000)
    ):
        scans.setdefault(table_id, []).append(str(scan_id))
    tables = _tables_of_round(consultation).order_by(
        f"{STATE}__code", f"{MUNICIPALITY}__code", "commune__code", "centre__code", "number"
    )
    for row in _streamed(tables, {**PLACE_FIELDS, **TABLE_COLUMNS}):
        _sheet_figures(row)
        if row["decided_by"] != "system":
            row["decided_by"] = ""
        if row["decided_at"] is not None:
            row["decided_at"] = row["decided_at"].isoformat()
        row["scans"] = scans.get(row["table_id"], [])
        yield {"round_id": consultation.pk, "round": consultation.name, **row}


# The vote ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenVote:
    """A round in voting with a ballot for the resident's commune, and whether they voted."""

    consultation: Consultation
    voted_channel: str | None  # "online" or "table" once in the voting book
    online: bool  # whether this round is voted online at all
    all_day: bool  # whether its daily hours span the whole day

    @property
    def voted(self) -> bool:
        return self.voted_channel is not None

    @property
    def voted_online(self) -> bool:
        return self.voted_channel == VotingBookEntry.Channel.ONLINE


def votes_open_to(*, resident) -> list[OpenVote]:
    """The rounds in voting whose ballot includes the resident's commune, soonest to close
    first, each saying whether the resident is already in its voting book: one query.

    ``resident`` comes with its council (``select_related``): its commune decides the ballot.
    Whether the resident may vote at all (verified, of age) is the ballot's to say."""
    commune = resident.council.commune
    if commune.status != Commune.Status.ACTIVE:
        return []
    rounds = (
        Consultation.objects.filter(phase=Consultation.Phase.VOTING)
        .filter(
            Exists(
                Project.objects.filter(
                    consultation=OuterRef("pk"),
                    commune_id=commune.pk,
                    status=Project.Status.APPROVED,
                )
            )
        )
        .exclude(
            Exists(Exclusion.objects.filter(consultation=OuterRef("pk"), commune_id=commune.pk))
        )
        .annotate(
            voted_channel=Subquery(
                VotingBookEntry.objects.filter(
                    consultation=OuterRef("pk"), resident_id=resident.pk
                ).values("channel")[:1]
            )
        )
        .order_by("voting_closes_at", "pk")
    )
    return [
        OpenVote(
            consultation=consultation,
            voted_channel=consultation.voted_channel,
            online=consultation.channels != Consultation.Channels.IN_PERSON,
            all_day=consultation.voting_hours_start <= datetime.time(0, 0)
            and consultation.voting_hours_end >= datetime.time(23, 59),
        )
        for consultation in rounds
    ]


@dataclass(frozen=True)
class ReceiptFound:
    commune_name: str
    commune_code: str
    counted: bool


@public_read
def receipt_find(*, consultation, receipt: str) -> ReceiptFound | None:
    row = (
        SealedBallot.objects.filter(consultation=consultation, receipt=receipt)
        .values("commune__name", "commune__code")
        .first()
    )
    if row is None:
        return None
    counted = Count.objects.filter(consultation=consultation, status=Count.Status.DONE).exists()
    return ReceiptFound(row["commune__name"], row["commune__code"], counted)


@public_stream
def urn_receipts(*, consultation, commune):
    return (
        SealedBallot.objects.filter(consultation=consultation, commune=commune)
        .order_by("receipt")
        .values_list("receipt", flat=True)
        .iterator(5000)
    )


def ballot_contexts(consultation: Consultation) -> dict[int, BallotContext]:
    """Commune id → its ballot's context (the round, the commune, its projects in id order), for
    every commune taking part (two or more approved projects)."""
    projects: dict[int, list[int]] = {}
    for commune_id, project_id in Project.objects.filter(
        consultation=consultation,
        status=Project.Status.APPROVED,
        commune__in=participating_communes(consultation),
    ).values_list("commune_id", "pk"):
        projects.setdefault(commune_id, []).append(project_id)
    return {
        commune_id: BallotContext.of(consultation.pk, commune_id, ids)
        for commune_id, ids in projects.items()
    }


def decryption_progress(*, consultation) -> DecryptionStatus | None:
    """For a round with commissioners whose urn has been summed: how far their decryption is."""
    urn = Urn.objects.filter(consultation=consultation).first()
    if urn is None or not urn.shares_needed or urn.rewritten_at is None:
        return None
    return decryption_status(consultation.pk, urn.shares_needed)


# pk → (expires at, round). A round in voting is read at most every few seconds per process:
# its dates, rules and urn key are frozen once voting opens, and the vote's own statement checks
# the live phase, so a stale copy can refuse a vote as closed a few seconds late, never accept
# one after closing.
_ROUNDS_IN_VOTING: dict[int, tuple[float, Consultation]] = {}
ROUND_IN_VOTING_SECONDS = 5.0


def consultation_in_voting(pk: int) -> Consultation | None:
    now = time.monotonic()
    kept = _ROUNDS_IN_VOTING.get(pk)
    if kept is not None and kept[0] > now:
        return kept[1]
    consultation = Consultation.objects.select_related("urn").filter(pk=pk).first()
    if consultation is not None and consultation.phase == Consultation.Phase.VOTING:
        _ROUNDS_IN_VOTING[pk] = (now + ROUND_IN_VOTING_SECONDS, consultation)
    return consultation


def forget_rounds_in_voting() -> None:
    _ROUNDS_IN_VOTING.clear()


def pabulib_communes(*, consultation: Consultation, code: str | None = None):
    """(commune, its projects) for each commune on the round's vote, by registry code, for the
    pabulib files (two queries, streamed). A project without an estimated cost is given the
    round's amount per winner, the most a project may cost, as the count does."""
    communes = CommuneResult.objects.filter(consultation=consultation)
    projects = ProjectResult.objects.filter(consultation=consultation)
    if code is not None:
        communes = communes.filter(commune__code=code)
        projects = projects.filter(commune__code=code)
    communes = (
        communes.order_by("commune__code")
        .values(
            "eligible",
            "blank",
            "null",
            "void_reason",
            "pending_sheets",
            "voters_15_35",
            "state_award",
            "youth_award",
            voters=VOTERS,
            code=F("commune__code"),
            name=F("commune__name"),
            state=F(f"{STATE}__name"),
        )
        .iterator(chunk_size=2000)
    )
    projects = (
        projects.order_by("commune__code", "project_id")
        .values(
            "project_id",
            "votes",
            "is_winner",
            "lot",
            "priority",
            "award",
            commune_code=F("commune__code"),
            title=F("project__title"),
            category=F("project__category"),
            estimated_cost=F("project__estimated_cost_usd"),
        )
        .iterator(chunk_size=2000)
    )
    pending = next(projects, None)
    for commune in communes:
        own = []
        while pending is not None and pending["commune_code"] == commune["code"]:
            cost = pending.pop("estimated_cost")
            own.append({**pending, "cost": cost if cost is not None else consultation.amount_usd})
            pending = next(projects, None)
        yield commune, own
