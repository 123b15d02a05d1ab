"""Recompute every money invariant from the database itself, whatever wrote to it.

The services keep these rules as they write; this module checks they still hold — after a bug, a
hand-made fix in the database or a restored backup — in a fixed handful of aggregate queries,
however many projects there are:

- per project, summed from the ledger (a reversal counting against the kind it reverses):
  disbursed ≤ allocated and spent ≤ disbursed;
- per allocation: exactly one ledger entry of its kind, for its amount; transfers and requests not
  rejected within what it holds;
- documents agree with the ledger: a transferred disbursement has one transfer entry for its
  amount and any other has none; an approved or transferred one has one approval entry for its
  amount (and its approvals, none by its requester) and any other has none; every receipt has one
  receipt entry for its amount;
- every entry is tied to the documents its kind needs, of its own project;
- every reversal is the exact opposite of the entry it reverses, and no entry is reversed twice.

A document whose entry was later reversed (a duplicated receipt, say) agrees with the ledger: the
correction is recorded there, as it should be.
"""

from collections import Counter
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from .models import (
    Allocation,
    Disbursement,
    DisbursementApproval,
    LedgerEntry,
    SpendingReceipt,
    counts_as,
)
from .services import usd

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind
HELD = [Kind.ALLOCATION, Kind.PLEDGE]
ONWARD = [Disbursement.Status.APPROVED, Disbursement.Status.TRANSFERRED]


def funding_breaches() -> list[str]:
    """Every breach of the money's invariants, one line each; empty when all hold."""
    return [
        *_balance_breaches(),
        *_allocation_breaches(),
        *_disbursement_breaches(),
        *_receipt_breaches(),
        *_entry_breaches(),
        *_reversal_breaches(),
    ]


def _project(pk: int, title: str) -> str:
    return _("%(id)d “%(title)s”") % {"id": pk, "title": title}


def _ledger_figures(kinds: list[str], prefix: str) -> dict:
    """Aggregates over a document's ledger entries (its ``ledger`` relation) counting as
    ``kinds``: how many originals, their total, and the net once reversals are counted. All of
    them share one join, so a query adds them up for every document at once."""
    original = Q(ledger__kind__in=kinds)
    counted = original | Q(ledger__reverses__kind__in=kinds)
    return {
        f"{prefix}_count": Count("ledger", filter=original),
        f"{prefix}_gross": Coalesce(Sum("ledger__amount_usd", filter=original), ZERO),
        f"{prefix}_net": Coalesce(Sum("ledger__amount_usd", filter=counted), ZERO),
    }


def _balance_breaches() -> list[str]:
    def net(*kinds):
        return Coalesce(Sum("amount_usd", filter=Q(counts_as__in=kinds)), ZERO)

    rows = (
        LedgerEntry.objects.annotate(counts_as=counts_as())
        .values("project_id", "project__title")
        .annotate(allocated=net(*HELD), disbursed=net(Kind.TRANSFER), spent=net(Kind.RECEIPT))
        .filter(Q(disbursed__gt=F("allocated")) | Q(spent__gt=F("disbursed")))
        .order_by("project_id")
    )
    breaches = []
    for row in rows:
        project = _project(row["project_id"], row["project__title"])
        if row["disbursed"] > row["allocated"]:
            breaches.append(
                _(
                    "Project %(project)s: disbursed %(disbursed)s USD, more than allocated "
                    "%(allocated)s USD."
                )
                % {
                    "project": project,
                    "disbursed": usd(row["disbursed"]),
                    "allocated": usd(row["allocated"]),
                }
            )
        if row["spent"] > row["disbursed"]:
            breaches.append(
                _(
                    "Project %(project)s: spent %(spent)s USD, more than disbursed "
                    "%(disbursed)s USD."
                )
                % {
                    "project": project,
                    "spent": usd(row["spent"]),
                    "disbursed": usd(row["disbursed"]),
                }
            )
    return breaches


def _allocation_breaches() -> list[str]:
    committed = (
        Disbursement.objects.filter(allocation=OuterRef("pk"))
        .exclude(status=Disbursement.Status.REJECTED)
        .order_by()
        .values("allocation")
        .annotate(total=Sum("amount_usd"))
        .values("total")
    )
    rows = (
        Allocation.objects.annotate(
            **_ledger_figures(HELD, "held"),
            **_ledger_figures([Kind.TRANSFER], "transfer"),
            same_kind=Count("ledger", filter=Q(ledger__kind=F("kind"))),
            committed=Coalesce(Subquery(committed), ZERO),
        )
        .filter(
            ~Q(held_count=1)
            | ~Q(same_kind=1)
            | ~Q(held_gross=F("amount_usd"))
            | Q(transfer_net__gt=F("held_net"))
            | Q(committed__gt=F("held_net"))
        )
        .values(
            "pk",
            "kind",
            "amount_usd",
            "project_id",
            "project__title",
            "held_count",
            "held_gross",
            "held_net",
            "transfer_net",
            "same_kind",
            "committed",
        )
        .order_by("project_id", "pk")
    )
    breaches = []
    for row in rows:
        figures = {
            "id": row["pk"],
            "kind": Allocation.Kind(row["kind"]).label,
            "project": _project(row["project_id"], row["project__title"]),
            "amount": usd(row["amount_usd"]),
            "count": row["held_count"],
            "gross": usd(row["held_gross"]),
            "held": usd(row["held_net"]),
            "transferred": usd(row["transfer_net"]),
            "committed": usd(row["committed"]),
        }
        if (
            row["held_count"] != 1
            or row["same_kind"] != 1
            or row["held_gross"] != row["amount_usd"]
        ):
            breaches.append(
                _(
                    "Allocation %(id)d (%(kind)s, %(amount)s USD) of project %(project)s: "
                    "ledger entries for it: %(count)d, totalling %(gross)s USD; it needs one "
                    "entry of its kind for its amount."
                )
                % figures
            )
        if row["transfer_net"] > row["held_net"]:
            breaches.append(
                _(
                    "Allocation %(id)d of project %(project)s: %(transferred)s USD transferred, "
                    "more than the %(held)s USD it holds."
                )
                % figures
            )
        if row["committed"] > row["held_net"]:
            breaches.append(
                _(
                    "Allocation %(id)d of project %(project)s: requests not rejected add up to "
                    "%(committed)s USD, more than the %(held)s USD it holds."
                )
                % figures
            )
    return breaches


def _disbursement_breaches() -> list[str]:
    approvals = (
        DisbursementApproval.objects.filter(disbursement=OuterRef("pk"))
        .order_by()
        .values("disbursement")
        .annotate(n=Count("pk"))
        .values("n")
    )
    transferred = Q(status=Disbursement.Status.TRANSFERRED)
    onward = Q(status__in=ONWARD)
    rows = (
        Disbursement.objects.annotate(
            **_ledger_figures([Kind.TRANSFER], "transfer"),
            **_ledger_figures([Kind.APPROVAL], "approval"),
            approvals_given=Coalesce(Subquery(approvals), 0),
            self_approved=Exists(
                DisbursementApproval.objects.filter(
                    disbursement=OuterRef("pk"), by=OuterRef("requested_by")
                )
            ),
        )
        .filter(
            (transferred & ~Q(transfer_count=1))
            | (transferred & ~Q(transfer_gross=F("amount_usd")))
            | (~transferred & ~Q(transfer_net=ZERO))
            | (onward & ~Q(approval_count=1))
            | (onward & ~Q(approval_gross=F("amount_usd")))
            | (~onward & ~Q(approval_net=ZERO))
            | (onward & Q(approvals_given__lt=F("approvals_needed")))
            | Q(self_approved=True)
            | ~Q(project=F("allocation__project"))
        )
        .values(
            "pk",
            "status",
            "amount_usd",
            "approvals_needed",
            "project_id",
            "project__title",
            "allocation__project",
            "transfer_count",
            "transfer_gross",
            "transfer_net",
            "approval_count",
            "approval_gross",
            "approval_net",
            "approvals_given",
            "self_approved",
        )
        .order_by("project_id", "pk")
    )
    breaches = []
    for row in rows:
        figures = {
            "id": row["pk"],
            "project": _project(row["project_id"], row["project__title"]),
            "amount": usd(row["amount_usd"]),
            "status": Disbursement.Status(row["status"]).label,
        }
        is_transferred = row["status"] == Disbursement.Status.TRANSFERRED
        is_onward = row["status"] in ONWARD
        for kind, expected in ((Kind.TRANSFER, is_transferred), (Kind.APPROVAL, is_onward)):
            count, gross, net = (row[f"{kind}_{part}"] for part in ("count", "gross", "net"))
            entries = {**figures, "count": count, "kind": Kind(kind).label}
            if expected and (count != 1 or gross != row["amount_usd"]):
                breaches.append(
                    _(
                        "Disbursement %(id)d of project %(project)s (%(amount)s USD, %(status)s): "
                        "ledger entries “%(kind)s” for it: %(count)d, totalling %(gross)s USD; "
                        "it needs one for its amount."
                    )
                    % {**entries, "gross": usd(gross)}
                )
            elif not expected and net != ZERO:
                breaches.append(
                    _(
                        "Disbursement %(id)d of project %(project)s (%(amount)s USD, %(status)s): "
                        "ledger entries “%(kind)s” for it: %(count)d, net %(net)s USD; it should "
                        "have none."
                    )
                    % {**entries, "net": usd(net)}
                )
        if is_onward and row["approvals_given"] < row["approvals_needed"]:
            breaches.append(
                _(
                    "Disbursement %(id)d of project %(project)s (%(status)s): approvals given: "
                    "%(given)d of %(needed)d needed."
                )
                % {**figures, "given": row["approvals_given"], "needed": row["approvals_needed"]}
            )
        if row["self_approved"]:
            breaches.append(
                _(
                    "Disbursement %(id)d of project %(project)s: approved by the person who "
                    "asked for it."
                )
                % figures
            )
        if row["allocation__project"] != row["project_id"]:
            breaches.append(
                _(
                    "Disbursement %(id)d of project %(project)s draws on an allocation of "
                    "project %(other)d."
                )
                % {**figures, "other": row["allocation__project"]}
            )
    return breaches


def _receipt_breaches() -> list[str]:
    rows = (
        SpendingReceipt.objects.annotate(**_ledger_figures([Kind.RECEIPT], "receipt"))
        .filter(~Q(receipt_count=1) | ~Q(receipt_gross=F("amount_usd")))
        .values(
            "pk", "amount_usd", "project_id", "project__title", "receipt_count", "receipt_gross"
        )
        .order_by("project_id", "pk")
    )
    return [
        _(
            "Receipt %(id)d of project %(project)s (%(amount)s USD): ledger entries for it: "
            "%(count)d, totalling %(gross)s USD; it needs one for its amount."
        )
        % {
            "id": row["pk"],
            "project": _project(row["project_id"], row["project__title"]),
            "amount": usd(row["amount_usd"]),
            "gross": usd(row["receipt_gross"]),
            "count": row["receipt_count"],
        }
        for row in rows
    ]


def _entry_breaches() -> list[str]:
    """Entries (other than reversals) not tied to the documents their kind needs, of their own
    project. Each branch names every column it compares as not null, so no NULL hides a row."""
    positive = Q(amount_usd__gt=0, reverses__isnull=True)
    held = Q(
        kind__in=HELD,
        allocation__isnull=False,
        disbursement__isnull=True,
        receipt__isnull=True,
        allocation__project=F("project"),
    )
    paid = Q(
        kind__in=[Kind.APPROVAL, Kind.TRANSFER],
        allocation__isnull=False,
        disbursement__isnull=False,
        receipt__isnull=True,
        disbursement__allocation=F("allocation"),
        disbursement__project=F("project"),
    )
    spent = Q(
        kind=Kind.RECEIPT,
        allocation__isnull=True,
        disbursement__isnull=True,
        receipt__isnull=False,
        receipt__project=F("project"),
    )
    rows = (
        LedgerEntry.objects.exclude(kind=Kind.REVERSAL)
        .filter(~(positive & (held | paid | spent)))
        .values("pk", "kind", "amount_usd", "project_id", "project__title")
        .order_by("project_id", "pk")
    )
    return [
        _(
            "Ledger entry %(id)d (%(kind)s, %(amount)s USD) of project %(project)s is not tied "
            "to the documents its kind needs."
        )
        % {
            "id": row["pk"],
            "kind": Kind(row["kind"]).label,
            "amount": usd(row["amount_usd"]),
            "project": _project(row["project_id"], row["project__title"]),
        }
        for row in rows
    ]


def _reversal_breaches() -> list[str]:
    """Reversals are few (corrections): their rows are compared with their originals here."""
    fields = ["project_id", "allocation_id", "disbursement_id", "receipt_id"]
    rows = list(
        LedgerEntry.objects.filter(Q(kind=Kind.REVERSAL) | Q(reverses__isnull=False))
        .values(
            "pk",
            "kind",
            "amount_usd",
            "project__title",
            "reverses_id",
            "reverses__kind",
            "reverses__amount_usd",
            *fields,
            *(f"reverses__{field}" for field in fields),
        )
        .order_by("project_id", "pk")
    )
    breaches = []
    times = Counter(row["reverses_id"] for row in rows if row["reverses_id"] is not None)
    for row in rows:
        figures = {
            "id": row["pk"],
            "project": _project(row["project_id"], row["project__title"]),
            "amount": usd(row["amount_usd"]),
            "original": row["reverses_id"] or 0,
        }
        if row["kind"] != Kind.REVERSAL or row["reverses_id"] is None:
            breaches.append(
                _("Ledger entry %(id)d of project %(project)s is a reversal that reverses nothing.")
                % figures
                if row["kind"] == Kind.REVERSAL
                else _(
                    "Ledger entry %(id)d of project %(project)s reverses entry %(original)d "
                    "without being a reversal."
                )
                % figures
            )
            continue
        if row["reverses__kind"] == Kind.REVERSAL:
            breaches.append(
                _("Ledger entry %(id)d of project %(project)s reverses a reversal, %(original)d.")
                % figures
            )
        if row["amount_usd"] >= 0 or row["amount_usd"] != -row["reverses__amount_usd"]:
            breaches.append(
                _(
                    "Ledger entry %(id)d of project %(project)s reverses entry %(original)d of "
                    "%(original_amount)s USD with %(amount)s USD, not its opposite."
                )
                % {**figures, "original_amount": usd(row["reverses__amount_usd"])}
            )
        if any(row[field] != row[f"reverses__{field}"] for field in fields):
            breaches.append(
                _(
                    "Ledger entry %(id)d of project %(project)s reverses entry %(original)d of "
                    "another project or document."
                )
                % figures
            )
    for original, n in sorted(times.items()):
        if n > 1:
            breaches.append(
                _("Ledger entry %(id)d is reversed %(n)d times.") % {"id": original, "n": n}
            )
    return breaches
