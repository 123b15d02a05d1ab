"""The public money trail: what each funded project was promised, was sent and spent, and how
long each funder took to send the first dollar. Every read runs in a fixed number of queries.

All figures are sums over the ledger (a reversal counting against the kind of the entry it
reverses), like funding.services.project_balance. A receipt is not tied to a funder: a project's
receipts are shared among its funders in proportion to what each of them transferred.

Nobody is named: who did what is said by role (the system, the commune, the funder's staff,
ministry staff), as the permissions that let them do it say.
"""

import datetime
import statistics
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from consultations.models import Consultation, Project
from consultations.selectors import published_rounds
from replica import public_read

from . import services
from .models import (
    CENT,
    Allocation,
    ClosingReport,
    Disbursement,
    Flag,
    LedgerEntry,
    ProgressUpdate,
    SpendingReceipt,
    counts_as,
)

ZERO = Decimal("0.00")
PROMISE_KINDS = (LedgerEntry.Kind.ALLOCATION, LedgerEntry.Kind.PLEDGE)

# Who made a movement, said by role (the permission each one needs): data-by on the pages.
SYSTEM, COMMUNE, SOURCE_STAFF, MINISTRY = "system", "commune", "source", "ministry"
LEDGER_BY = {
    LedgerEntry.Kind.ALLOCATION: SYSTEM,
    LedgerEntry.Kind.PLEDGE: SOURCE_STAFF,
    LedgerEntry.Kind.APPROVAL: SOURCE_STAFF,
    LedgerEntry.Kind.TRANSFER: SOURCE_STAFF,
    LedgerEntry.Kind.RECEIPT: COMMUNE,
    LedgerEntry.Kind.REVERSAL: MINISTRY,
}


# Rounds --------------------------------------------------------------------------------------


@public_read
def money_rounds() -> list[dict]:
    """Published rounds with money promised, newest first, with their totals (two queries)."""
    promised = Allocation.objects.filter(project__consultation=OuterRef("pk"))
    funded_projects = (
        promised.order_by()
        .values("project__consultation")
        .annotate(n=Count("project", distinct=True))
        .values("n")
    )
    rounds = list(
        published_rounds()
        .filter(Exists(promised))
        .annotate(funded_projects=Subquery(funded_projects))
        .order_by("-year", "-quarter", "-pk")
    )
    sums: dict[int, dict] = {}
    for row in (
        LedgerEntry.objects.filter(project__consultation__in=[c.pk for c in rounds])
        .annotate(counts_as=counts_as())
        .values("counts_as", consultation=F("project__consultation"))
        .annotate(total=Sum("amount_usd"))
        .order_by()
    ):
        figures = sums.setdefault(row["consultation"], _empty_money())
        if row["counts_as"] in PROMISE_KINDS:
            figures["promised"] += row["total"]
        elif row["counts_as"] == LedgerEntry.Kind.TRANSFER:
            figures["transferred"] += row["total"]
        elif row["counts_as"] == LedgerEntry.Kind.RECEIPT:
            figures["receipted"] += row["total"]
    return [
        {"consultation": c, **sums.get(c.pk, _empty_money()), "projects": c.funded_projects}
        for c in rounds
    ]


def _empty_money() -> dict:
    return {"promised": ZERO, "transferred": ZERO, "receipted": ZERO, "projects": 0}


@public_read
def money_round_get(*, pk: int) -> Consultation:
    """A published round with the moment it was published; 404 otherwise (one query)."""
    return get_object_or_404(published_rounds(), pk=pk)


# One row per project and funder ------------------------------------------------------------

ROW_FIELDS = [
    "round_id",
    "round",
    "state_code",
    "state",
    "municipality_code",
    "municipality",
    "commune_code",
    "commune",
    "project_id",
    "project",
    "rank",
    "is_winner",
    "source_id",
    "source",
    "source_kind",
    "promised",
    "transferred",
    "receipted",
    "counted_from",
    "first_transfer_on",
    "days_to_first_transfer",
    "waiting_days",
]


def _days(start: datetime.datetime, end: datetime.datetime) -> int:
    """Whole days between two moments, counted in the country's calendar."""
    return (timezone.localdate(end) - timezone.localdate(start)).days


def _share(spent: Decimal, transferred: dict[int, Decimal]) -> dict[int, Decimal]:
    """A project's receipts shared among its funders by what each transferred, to the cent,
    the last funder taking the rounding so the shares add up to the receipts exactly."""
    total = sum(transferred.values(), ZERO)
    if not total or not spent:
        return dict.fromkeys(transferred, ZERO)
    shares, given = {}, ZERO
    order = sorted(transferred)
    for source_id in order[:-1]:
        share = (spent * transferred[source_id] / total).quantize(CENT, rounding=ROUND_HALF_UP)
        shares[source_id] = share
        given += share
    shares[order[-1]] = spent - given
    return shares


@public_read
def money_rows(*, consultation: Consultation, now=None) -> list[dict]:
    """One row per project of the round and funder that promised it money, by place and
    project: promised, transferred and receipted, and the days from the result to the
    funder's first transfer (or the days waited so far). Two queries.

    Days are counted from the round's publication for the round's own allocation, and from the
    pledge for money pledged later: a funder is not late before it promised."""
    now = now or timezone.now()
    published_at = consultation.published_at
    ledger = (
        LedgerEntry.objects.filter(project__consultation=consultation)
        .annotate(counts_as=counts_as())
        .values("project_id", "source_id", "counts_as")
        .annotate(
            total=Sum("amount_usd"),
            first_transfer=Min(
                "at", filter=Q(kind=LedgerEntry.Kind.TRANSFER, reversed_by__isnull=True)
            ),
            first_promise=Min("at", filter=Q(kind__in=PROMISE_KINDS, reversed_by__isnull=True)),
            source_name=F("source__name"),
            source_kind=F("source__kind"),
        )
        .order_by()
    )
    pairs: dict[int, dict[int, dict]] = {}
    spent: dict[int, Decimal] = {}
    for row in ledger:
        project_id, source_id, kind = row["project_id"], row["source_id"], row["counts_as"]
        if source_id is None:  # receipts draw on the project's money, whoever sent it
            spent[project_id] = spent.get(project_id, ZERO) + row["total"]
            continue
        pair = pairs.setdefault(project_id, {}).setdefault(
            source_id,
            {
                "source_id": source_id,
                "source": row["source_name"],
                "source_kind": row["source_kind"],
                "promised": ZERO,
                "transferred": ZERO,
                "allocated": False,
                "first_transfer": None,
                "first_promise": None,
            },
        )
        if kind in PROMISE_KINDS:
            pair["promised"] += row["total"]
            if kind == LedgerEntry.Kind.ALLOCATION and row["first_promise"] is not None:
                pair["allocated"] = True
            pair["first_promise"] = _earliest(pair["first_promise"], row["first_promise"])
        elif kind == LedgerEntry.Kind.TRANSFER:
            pair["transferred"] += row["total"]
            pair["first_transfer"] = _earliest(pair["first_transfer"], row["first_transfer"])
    places = {
        row["pk"]: row
        for row in Project.objects.filter(consultation=consultation, pk__in=list(pairs)).values(
            "pk",
            "title",
            rank=F("result__rank"),
            is_winner=F("result__is_winner"),
            commune_code=F("commune__code"),
            commune_name=F("commune__name"),
            municipality_code=F("commune__parish__municipality__code"),
            municipality_name=F("commune__parish__municipality__name"),
            state_code=F("commune__parish__municipality__state__code"),
            state_name=F("commune__parish__municipality__state__name"),
        )
    }
    rows = []
    for project_id, sources in pairs.items():
        place = places[project_id]
        shares = _share(
            spent.get(project_id, ZERO), {pk: pair["transferred"] for pk, pair in sources.items()}
        )
        for source_id, pair in sources.items():
            if not pair["promised"] and not pair["transferred"]:
                continue  # a promise reversed in full, and nothing sent on it
            start = published_at if pair["allocated"] else pair["first_promise"] or published_at
            first = pair["first_transfer"]
            rows.append(
                {
                    "round_id": consultation.pk,
                    "round": consultation.name,
                    "state_code": place["state_code"],
                    "state": place["state_name"],
                    "municipality_code": place["municipality_code"],
                    "municipality": place["municipality_name"],
                    "commune_code": place["commune_code"],
                    "commune": place["commune_name"],
                    "project_id": project_id,
                    "project": place["title"],
                    "rank": place["rank"],
                    "is_winner": bool(place["is_winner"]),
                    "source_id": source_id,
                    "source": pair["source"],
                    "source_kind": pair["source_kind"],
                    "promised": pair["promised"],
                    "transferred": pair["transferred"],
                    "receipted": shares[source_id],
                    "counted_from": timezone.localdate(start) if start else None,
                    "first_transfer_on": timezone.localdate(first) if first else None,
                    "days_to_first_transfer": _days(start, first) if first and start else None,
                    "waiting_days": max(0, _days(start, now)) if not first and start else None,
                }
            )
    rows.sort(
        key=lambda r: (
            r["state_code"],
            r["municipality_code"],
            r["commune_code"],
            r["rank"] or 0,
            r["project_id"],
            r["source_kind"],
            r["source_id"],
        )
    )
    return rows


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


# The tracker -------------------------------------------------------------------------------


def _add_money(into: dict, row: dict) -> None:
    for field in ("promised", "transferred", "receipted"):
        into[field] += row[field]


def _by_funder(rows: list[dict]) -> list[dict]:
    """Per funder: the money, and its delays. Latest first: the longest delay, counting a
    project still waiting as waiting until today."""
    funders: dict[int, dict] = {}
    for row in rows:
        funder = funders.setdefault(
            row["source_id"],
            {
                "source_id": row["source_id"],
                "name": row["source"],
                "kind": row["source_kind"],
                **_empty_money(),
                "delays": [],
                "waits": [],
            },
        )
        _add_money(funder, row)
        funder["projects"] += 1
        if row["days_to_first_transfer"] is not None:
            funder["delays"].append(row["days_to_first_transfer"])
        elif row["waiting_days"] is not None:
            funder["waits"].append(row["waiting_days"])
    result = []
    for funder in funders.values():
        delays, waits = funder.pop("delays"), funder.pop("waits")
        funder["transfers"] = len(delays)
        funder["median_days"] = statistics.median(delays) if delays else None
        funder["average_days"] = round(sum(delays) / len(delays), 1) if delays else None
        funder["slowest_days"] = max(delays) if delays else None
        funder["waiting"] = len(waits)
        funder["longest_wait"] = max(waits) if waits else None
        funder["lateness"] = max([*delays, *waits], default=0)
        result.append(funder)
    result.sort(key=lambda f: (-f["lateness"], -f["waiting"], f["name"]))
    return result


def _by_state(rows: list[dict]) -> list[dict]:
    states: dict[str, dict] = {}
    projects: dict[str, set] = {}
    for row in rows:
        state = states.setdefault(
            row["state_code"],
            {"code": row["state_code"], "name": row["state"], **_empty_money(), "waiting": 0},
        )
        _add_money(state, row)
        projects.setdefault(row["state_code"], set()).add(row["project_id"])
        if row["waiting_days"] is not None:
            state["waiting"] += 1
    for code, state in states.items():
        state["projects"] = len(projects[code])
    return sorted(states.values(), key=lambda s: s["code"])


@public_read
def money_tracker(
    *, consultation: Consultation, now=None, state: str = "", source: int | None = None
) -> dict:
    """The round's money by funder and by state, filtered to a state and/or a funder (two
    queries, whatever the round's size)."""
    rows = money_rows(consultation=consultation, now=now)
    states = sorted({(r["state_code"], r["state"]) for r in rows})
    sources = sorted(
        {(r["source_id"], r["source"], r["source_kind"]) for r in rows},
        key=lambda s: (s[2] != "national", s[1]),
    )
    state = state if state in {code for code, _name in states} else ""
    source = source if source in {pk for pk, _n, _k in sources} else None
    chosen = [
        r
        for r in rows
        if (not state or r["state_code"] == state) and (source is None or r["source_id"] == source)
    ]
    totals = _empty_money()
    for row in chosen:
        _add_money(totals, row)
    totals["projects"] = len({row["project_id"] for row in chosen})
    return {
        "rows": chosen,
        "funders": _by_funder(chosen),
        "states": _by_state(chosen),
        "totals": totals,
        "state_options": states,
        "source_options": sources,
        "state": state,
        "source": source,
    }


# A project's page --------------------------------------------------------------------------


@public_read
def project_money(*, pk: int) -> dict:
    """Everything public about a funded project's money (a fixed number of queries); 404 for a
    project no funder has promised money to."""
    project = (
        Project.objects.filter(pk=pk)
        .values(
            "pk",
            "title",
            "description",
            "category",
            "place",
            "estimated_cost_usd",
            consultation_name=F("consultation__name"),
            consultation_phase=F("consultation__phase"),
            rank=F("result__rank"),
            votes=F("result__votes"),
            is_winner=F("result__is_winner"),
            commune_code=F("commune__code"),
            commune_name=F("commune__name"),
            municipality_name=F("commune__parish__municipality__name"),
            state_code=F("commune__parish__municipality__state__code"),
            state_name=F("commune__parish__municipality__state__name"),
            round_id=F("consultation_id"),
        )
        .first()
    )
    if project is None:
        raise Http404
    allocations = list(
        Allocation.objects.filter(project_id=pk)
        .order_by("created_at", "pk")
        .values(
            "pk",
            "kind",
            "amount_usd",
            "reason",
            "created_at",
            "created_by_id",
            source_name=F("source__name"),
            source_kind=F("source__kind"),
        )
    )
    if not allocations:
        raise Http404
    for allocation in allocations:
        allocation["by"] = SYSTEM if allocation.pop("created_by_id") is None else SOURCE_STAFF
    balance = services.project_balance(pk)
    disbursements = list(
        Disbursement.objects.filter(project_id=pk)
        .order_by("requested_at", "pk")
        .annotate(approvals_given=Count("approvals"))
        .values(
            "pk",
            "amount_usd",
            "purpose",
            "status",
            "approvals_needed",
            "approvals_given",
            "requested_at",
            "decided_at",
            "rejection_reason",
            "transferred_on",
            "bank_reference",
            "rate_ves_per_usd",
            "amount_ves",
            source_name=F("allocation__source__name"),
            allocation_kind=F("allocation__kind"),
        )
    )
    flags: dict[tuple[str, int], list[dict]] = {}
    for flag in (
        Flag.objects.filter(project_id=pk)
        .order_by("at", "pk")
        .values("pk", "receipt_id", "update_id", "comment", "at", "answer", "answered_at")
    ):
        if flag["receipt_id"] is not None:
            target = ("receipt", flag["receipt_id"])
        else:
            target = ("update", flag["update_id"])
        flags.setdefault(target, []).append(flag)
    receipts = list(
        SpendingReceipt.objects.filter(project_id=pk)
        .order_by("spent_on", "pk")
        .values(
            "pk",
            "supplier",
            "spent_on",
            "amount_usd",
            "category",
            "file_id",
            "uploaded_at",
            file_kind=F("file__kind"),
            file_public=F("file__is_public"),
        )
    )
    for receipt in receipts:
        receipt["flags"] = flags.get(("receipt", receipt["pk"]), [])
    photos: dict[int, list[dict]] = {}
    through = ProgressUpdate.photos.through
    for photo in (
        through.objects.filter(progressupdate__project_id=pk, communefile__is_public=True)
        .order_by("communefile__uploaded_at", "pk")
        .values(update_id=F("progressupdate_id"), file_id=F("communefile_id"))
    ):
        photos.setdefault(photo["update_id"], []).append(photo)
    updates = list(
        ProgressUpdate.objects.filter(project_id=pk)
        .order_by("-at", "-pk")
        .values("pk", "percent", "status", "text", "stalled_reason", "at")
    )
    for update in updates:
        update["photos"] = photos.get(update["pk"], [])
        update["flags"] = flags.get(("update", update["pk"]), [])
    reports = list(
        ClosingReport.objects.filter(project_id=pk)
        .order_by("-submitted_at", "-pk")
        .values(
            "pk",
            "text",
            "assembly_held_on",
            "minutes_id",
            "status",
            "submitted_at",
            "decided_at",
            "note",
            minutes_public=F("minutes__is_public"),
        )
    )
    ledger = list(
        LedgerEntry.objects.filter(project_id=pk)
        .order_by("at", "pk")
        .values(
            "pk",
            "kind",
            "amount_usd",
            "at",
            "reason",
            "disbursement_id",
            "receipt_id",
            "allocation_id",
            source_name=F("source__name"),
            reverses_pk=F("reverses__pk"),
            reverses_kind=F("reverses__kind"),
            reverses_amount=F("reverses__amount_usd"),
            reverses_at=F("reverses__at"),
            reversed_by_pk=F("reversed_by__pk"),
        )
    )
    returned = set()  # disbursements whose transfer was reversed (the bank returned it, say)
    for entry in ledger:
        entry["by"] = LEDGER_BY.get(entry["kind"], SYSTEM)
        if entry["reverses_kind"] == LedgerEntry.Kind.TRANSFER:
            returned.add(entry["disbursement_id"])
    for disbursement in disbursements:
        disbursement["transfer_reversed"] = disbursement["pk"] in returned
    flag_list = [flag for group in flags.values() for flag in group]
    return {
        "project": project,
        "allocations": allocations,
        "balance": balance,
        "disbursements": disbursements,
        "receipts": receipts,
        "updates": updates,
        "status": services.project_status(pk),
        "percent": updates[0]["percent"] if updates else 0,
        "reports": reports,
        "ledger": ledger,
        "flags_open": sum(1 for flag in flag_list if flag["answered_at"] is None),
        "flags_total": len(flag_list),
    }
