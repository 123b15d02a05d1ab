"""Shared reads of the vote: a round in voting, receipts and the urn's key shares; and the
public results of published rounds, each in a fixed number of queries.

A results page costs one query when its figures are in the cache: the round itself, whose row
also says which version of the results is current (when the count finished and the round's last
phase transition). The figures are cached under that version, so a recount or a new publication
makes new keys and the old ones are never read again (they expire on their own).
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count as Tally
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404

from communes.models import Commune, Municipality, State
from consultations.models import Consultation, PhaseTransition

from . import urn as sealing
from .models import CommuneResult, Count, ProjectResult, SealedBallot, Urn

# Cached figures outlive no publication (their key changes); this only bounds dead keys' lifetime.
CACHE_SECONDS = 7 * 24 * 3600

STATE = "commune__parish__municipality__state"
MUNICIPALITY = "commune__parish__municipality"
PARISH = "commune__parish"


def _published() -> QuerySet[Consultation]:
    transitions = PhaseTransition.objects.filter(consultation=OuterRef("pk"))
    return (
        Consultation.objects.filter(phase=Consultation.Phase.PUBLISHED)
        .select_related("urn", "count")
        .annotate(
            published_at=Subquery(
                transitions.filter(to_phase=Consultation.Phase.PUBLISHED).values("at")[:1]
            ),
            last_transition=Subquery(transitions.order_by("-pk").values("pk")[:1]),
        )
    )


def results_rounds() -> list[dict]:
    """Every published round, newest first, with its national totals (two queries)."""
    rounds = list(_published().order_by("-year", "-quarter", "-pk"))
    totals = {
        row["consultation"]: row
        for row in CommuneResult.objects.filter(consultation__in=[c.pk for c in rounds])
        .values("consultation")
        .annotate(communes=Tally("pk"), eligible=Sum("eligible"), votes=Sum("votes"))
        .order_by()
    }
    empty = {"communes": 0, "eligible": 0, "votes": 0}
    return [{**_with_turnout(dict(totals.get(c.pk, empty))), "consultation": c} for c in rounds]


def results_round_get(*, pk: int) -> Consultation:
    """A published round, with its urn, its count and its results' version; 404 otherwise."""
    return get_object_or_404(_published(), pk=pk)


def results_version(consultation: Consultation) -> str:
    count = getattr(consultation, "count", None)
    finished = count.finished_at.isoformat() if count and count.finished_at else "-"
    revision = count.revision if count else 0
    return f"{finished}.{revision}/{consultation.last_transition}"


def _cached(consultation: Consultation, name: str, build):
    key = f"results:{consultation.pk}:{name}:{results_version(consultation)}"
    figures = cache.get(key)
    if figures is None:
        figures = build()
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def _with_turnout(row: dict) -> dict:
    eligible, votes = row.get("eligible") or 0, row.get("votes") or 0
    row["turnout"] = round(100 * votes / eligible, 2) if eligible else None
    return row


def _totals(rows: list[dict]) -> dict:
    return _with_turnout(
        {
            "communes": sum(row["communes"] for row in rows),
            "eligible": sum(row["eligible"] for row in rows),
            "votes": sum(row["votes"] for row in rows),
        }
    )


def _turnout_by(results, code: str, name: str) -> list[dict]:
    rows = (
        results.values(code=F(code), name=F(name))
        .annotate(communes=Tally("pk"), eligible=Sum("eligible"), votes=Sum("votes"))
        .order_by("name", "code")
    )
    return [_with_turnout(dict(row)) for row in rows]


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


def _winners(consultation: Consultation, **territory) -> list[dict]:
    return list(
        ProjectResult.objects.filter(consultation=consultation, is_winner=True, **territory)
        .values(
            "votes",
            "rank",
            "tie_broken",
            commune_code=F("commune__code"),
            commune_name=F("commune__name"),
            title=F("project__title"),
            category=F("project__category"),
        )
        .order_by("commune__name", "commune__code", "rank")
    )


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


def results_commune(*, consultation: Consultation, code: str) -> dict:
    """A commune's totals and every project on its ballot, ranked (three queries)."""

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
            .values("eligible", "voting_book", "urn", "counted", "votes", "void_reason")
            .first()
        )
        if result is None:
            return {}
        projects = list(
            ProjectResult.objects.filter(consultation=consultation, commune_id=commune["pk"])
            .values(
                "online_votes",
                "votes",
                "rank",
                "is_winner",
                "priority",
                "lot",
                "tie_broken",
                "project_id",
                title=F("project__title"),
                category=F("project__category"),
            )
            .order_by("rank")
        )
        result["totals_agree"] = result["voting_book"] == result["urn"] == result["counted"]
        return {"commune": commune, "result": _with_turnout(result), "projects": projects}

    return _found(_cached(consultation, f"commune:{code}", build))


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
PROJECT_FIELDS = [
    "round_id",
    "round",
    *PLACE_FIELDS,
    "project_id",
    "project",
    "category",
    "online_votes",
    "votes",
    "rank",
    "is_winner",
    "tie_broken",
    "priority",
    "lot",
]
COMMUNE_FIELDS = [
    "round_id",
    "round",
    *PLACE_FIELDS,
    "eligible",
    "voting_book",
    "urn",
    "counted",
    "votes",
    "turnout",
    "void_reason",
]


def _streamed(queryset, columns: dict[str, str]) -> Iterator[dict]:
    names = list(columns)
    for values in queryset.values_list(*columns.values()).iterator(chunk_size=2000):
        yield dict(zip(names, values, strict=True))


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


def commune_rows(*, consultation: Consultation) -> Iterator[dict]:
    """One row per commune on the vote, with its three totals and turnout; streamed."""
    results = CommuneResult.objects.filter(consultation=consultation).order_by(
        f"{STATE}__code", f"{MUNICIPALITY}__code", "commune__code"
    )
    totals = ["eligible", "voting_book", "urn", "counted", "votes", "void_reason"]
    columns = {**PLACE_FIELDS, **{name: name for name in totals}}
    for row in _streamed(results, columns):
        yield {"round_id": consultation.pk, "round": consultation.name, **_with_turnout(row)}


# The vote ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptFound:
    commune_name: str
    commune_code: str
    counted: bool


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


def urn_receipts(*, consultation, commune):
    return (
        SealedBallot.objects.filter(consultation=consultation, commune=commune)
        .order_by("receipt")
        .values_list("receipt", flat=True)
        .iterator(5000)
    )


@dataclass(frozen=True)
class KeyShares:
    needed: int
    total: int
    entered: int


def key_shares_status(*, consultation) -> KeyShares | None:
    """For a round whose urn key is split among commissioners: how many shares are in."""
    urn = Urn.objects.filter(consultation=consultation).first()
    if urn is None or not urn.shares_needed:
        return None
    entered = len(sealing.shares_kept(consultation.pk, urn.shares_total))
    return KeyShares(urn.shares_needed, urn.shares_total, entered)


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
