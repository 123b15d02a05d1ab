"""Every write about money: allocations and pledges, disbursement requests, approvals and
transfers, receipts, progress, closing reports, oversight flags and reversals.

Each goes through the ledger and the audit trail, and each check that money must pass (disbursed
never above allocated, spent never above disbursed, counting requests still pending) is made with
the rows it depends on locked, so requests that race each other cannot pass it together.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
import outbox
from accounts import permissions
from communes.services import commune_file_store
from consultations.models import Consultation, Project
from consultations.services import refuse
from voting.models import ProjectResult

from .models import (
    CENT,
    Allocation,
    ClosingReport,
    Disbursement,
    DisbursementApproval,
    Flag,
    FundingSource,
    LedgerEntry,
    ProgressUpdate,
    ProjectStatus,
    SpendingReceipt,
    counts_as,
)
from .tasks import disbursement_notify_task

ZERO = Decimal("0.00")
MAX_PHOTOS = 5


def money(value, label: str) -> Decimal:
    """A positive amount in USD with at most two decimals, or a ValidationError saying why not."""
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        refuse(_("%(label)s: write an amount such as 1500.00.") % {"label": label}, "amount")
    if not amount.is_finite() or amount <= 0:
        refuse(_("%(label)s must be more than zero.") % {"label": label}, "amount")
    # Before the decimals: an amount such as 1e309 cannot even be rounded to cents.
    if amount >= Decimal("1e12"):
        refuse(_("%(label)s is far too large.") % {"label": label}, "amount")
    if amount != amount.quantize(CENT):
        refuse(_("%(label)s has at most two decimals.") % {"label": label}, "amount")
    return amount.quantize(CENT)


def usd(amount: Decimal) -> str:
    return formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


# Balances, from the ledger -------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    allocated: Decimal
    approved: Decimal
    disbursed: Decimal
    spent: Decimal

    @classmethod
    def from_sums(cls, sums: dict[str, Decimal]) -> "Balance":
        """From the net amount per kind a ledger's entries count as (see ``_sums_by``)."""
        return cls(
            allocated=sums.get("allocation", ZERO) + sums.get("pledge", ZERO),
            approved=sums.get("approval", ZERO),
            disbursed=sums.get("transfer", ZERO),
            spent=sums.get("receipt", ZERO),
        )

    @property
    def receipts_missing(self) -> Decimal:
        """How much more must be receipted before the next request: receipts must cover the
        configured share of the money already disbursed to the project."""
        share = Decimal(str(settings.FUNDING_RECEIPTS_SHARE))
        needed = (self.disbursed * share).quantize(CENT, rounding=ROUND_HALF_UP)
        return max(ZERO, needed - self.spent)


def _sums_by(entries, key: str) -> dict[int, dict[str, Decimal]]:
    """Net amount per kind for each value of ``key`` (a project, an allocation), a reversal
    counting against the kind of the entry it reverses: one query."""
    rows = (
        entries.annotate(counts_as=counts_as())
        .values(key, "counts_as")
        .annotate(total=Sum("amount_usd"))
        .order_by()
    )
    sums: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        sums.setdefault(row[key], {})[row["counts_as"]] = row["total"]
    return sums


def project_balances(project_ids) -> dict[int, Balance]:
    """Each project's balance, summed from the ledger in one query."""
    project_ids = list(project_ids)
    sums = _sums_by(LedgerEntry.objects.filter(project_id__in=project_ids), "project_id")
    return {pk: Balance.from_sums(sums.get(pk, {})) for pk in project_ids}


def project_balance(project_id: int) -> Balance:
    return project_balances([project_id])[project_id]


def allocations_available(allocations) -> dict[int, Decimal]:
    """What is left to request on each allocation: what it holds in the ledger, less every
    request not rejected (pending, approved or transferred). Two queries."""
    ids = [allocation.pk for allocation in allocations]
    sums = _sums_by(LedgerEntry.objects.filter(allocation_id__in=ids), "allocation_id")
    committed = dict(
        Disbursement.objects.filter(allocation_id__in=ids)
        .exclude(status=Disbursement.Status.REJECTED)
        .values("allocation_id")
        .annotate(total=Sum("amount_usd"))
        .order_by()
        .values_list("allocation_id", "total")
    )
    return {
        pk: Balance.from_sums(sums.get(pk, {})).allocated - committed.get(pk, ZERO) for pk in ids
    }


def allocation_available(allocation: Allocation) -> Decimal:
    return allocations_available([allocation])[allocation.pk]


def _ledger(**fields) -> LedgerEntry:
    return LedgerEntry.objects.create(**fields)


# Sources and allocations ---------------------------------------------------------------------


def source_for(kind: str, project: Project) -> FundingSource:
    """The source of that kind for the project's place (made on first use)."""
    municipality = project.commune.parish.municipality
    if kind == FundingSource.Kind.NATIONAL:
        lookup, name = {"kind": kind}, _("National fund for communes")
    elif kind == FundingSource.Kind.STATE:
        lookup = {"kind": kind, "state": municipality.state}
        name = _("Government of %(state)s") % {"state": municipality.state.name}
    elif kind == FundingSource.Kind.MUNICIPAL:
        lookup = {"kind": kind, "municipality": municipality}
        name = _("Mayor's office of %(municipality)s") % {"municipality": municipality.name}
    else:
        raise ValueError(kind)
    defaults = {"name": name}
    if kind == FundingSource.Kind.MUNICIPAL:
        defaults["state"] = municipality.state
    try:
        with transaction.atomic():
            source, _created = FundingSource.objects.get_or_create(**lookup, defaults=defaults)
    except IntegrityError:  # made by a job running at the same moment
        source = FundingSource.objects.get(**lookup)
    return source


def _allocated_amount(consultation: Consultation, project: Project) -> Decimal:
    """A winner's allocation: the round's amount, or, under the rule "within the commune's
    budget" (which chose it by its cost), the project's cost."""
    greedy = consultation.counting_rule == Consultation.CountingRule.GREEDY_BUDGET
    if greedy and project.estimated_cost_usd is not None:
        return project.estimated_cost_usd
    return consultation.amount_usd


def allocations_for_round(*, consultation_id: int, now=None) -> int:
    """Give each winning project of a published round its allocation, from the funder the
    round's rule names for its rank. Safe to run again: it creates only what is missing."""
    now = now or timezone.now()
    consultation = Consultation.objects.get(pk=consultation_id)
    if consultation.phase != Consultation.Phase.PUBLISHED:
        return 0
    winners = ProjectResult.objects.filter(
        consultation=consultation, is_winner=True
    ).select_related("project__commune__parish__municipality__state")
    already = set(
        Allocation.objects.filter(
            project__consultation=consultation, kind=Allocation.Kind.ALLOCATION
        ).values_list("project_id", flat=True)
    )
    rule = consultation.funder_by_rank
    created, rank, commune_id = 0, 0, None
    for result in winners.order_by("commune_id", "rank"):
        # The winner's place among its commune's winners by the counting rule names its funder;
        # a project won by an award by participation is funded by the national fund.
        if result.commune_id != commune_id:
            rank, commune_id = 0, result.commune_id
        rank += not result.award
        if result.project_id in already:
            continue
        if result.award:
            kind = FundingSource.Kind.NATIONAL
            reason = _("%(award)s, %(round)s") % {
                "award": result.get_award_display(),
                "round": consultation.name,
            }
        else:
            kind = rule[rank - 1] if rank <= len(rule) else FundingSource.Kind.NATIONAL
            reason = _("Rank %(rank)d of %(round)s") % {"rank": rank, "round": consultation.name}
        source = source_for(kind, result.project)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    allocation = Allocation.objects.create(
                        project=result.project,
                        source=source,
                        kind=Allocation.Kind.ALLOCATION,
                        amount_usd=_allocated_amount(consultation, result.project),
                        created_at=now,
                    )
            except IntegrityError:
                continue  # allocated by an earlier run
            _ledger(
                project=result.project,
                source=source,
                kind=LedgerEntry.Kind.ALLOCATION,
                amount_usd=allocation.amount_usd,
                allocation=allocation,
                at=now,
                reason=reason,
            )
            audit.record(
                actor=None,
                action="allocation.create",
                obj=allocation,
                after={
                    "project": result.project_id,
                    "source": source.pk,
                    "amount": allocation.amount_usd,
                },
            )
            created += 1
    return created


def pledge_create(
    *, project: Project, source: FundingSource, amount, reason: str, by, now=None
) -> Allocation:
    """A co-funder promises extra money to a ranked project of a published round in its
    territory (a cost overrun, a runner-up), with a reason. At most the round's amount each."""
    permissions.require(by, "funding.act_for_source", source)
    now = now or timezone.now()
    amount = money(amount, _("The amount"))
    reason = (reason or "").strip()
    if not reason:
        refuse(_("Say why this money is pledged: it is published."), "reason")
    project = Project.objects.select_related("consultation", "commune__parish__municipality").get(
        pk=project.pk
    )
    if project.consultation.phase != Consultation.Phase.PUBLISHED or not hasattr(project, "result"):
        refuse(_("Only projects on the ballot of a published round can receive pledges."), "round")
    if not source.covers(project.commune):
        refuse(
            _("This project is outside %(source)s's territory.") % {"source": source}, "territory"
        )
    if amount > project.consultation.amount_usd:
        refuse(
            _("A pledge is at most the round's amount per project, %(max)s USD.")
            % {"max": usd(project.consultation.amount_usd)},
            "too_much",
        )
    with transaction.atomic():
        pledge = Allocation.objects.create(
            project=project,
            source=source,
            kind=Allocation.Kind.PLEDGE,
            amount_usd=amount,
            reason=reason,
            created_by=by,
            created_at=now,
        )
        _ledger(
            project=project,
            source=source,
            kind=LedgerEntry.Kind.PLEDGE,
            amount_usd=amount,
            allocation=pledge,
            by=by,
            at=now,
            reason=reason,
        )
        audit.record(
            actor=by,
            action="allocation.pledge",
            obj=pledge,
            after={"project": project.pk, "source": source.pk, "amount": amount, "reason": reason},
        )
    return pledge


# Disbursements -------------------------------------------------------------------------------


def receipts_missing(project_id: int) -> Decimal:
    """How much more the project must receipt before its next request (Balance.receipts_missing)."""
    return project_balance(project_id).receipts_missing


def _notify(disbursement: Disbursement) -> None:
    pk, status = disbursement.pk, disbursement.status
    approvals = disbursement.approvals.count()
    transaction.on_commit(lambda: outbox.send(disbursement_notify_task, pk, status, approvals))


def disbursement_request(*, allocation: Allocation, amount, purpose: str, by, now=None):
    """A finance spokesperson asks for part of an allocation."""
    project = Project.objects.select_related("commune").get(pk=allocation.project_id)
    permissions.require(by, "funding.request_disbursement", project)
    now = now or timezone.now()
    amount = money(amount, _("The amount"))
    purpose = (purpose or "").strip()
    if not purpose:
        refuse(_("Say what the money is for."), "purpose")
    with transaction.atomic():
        # One request at a time per project: the checks below read what earlier ones committed.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        allocation = Allocation.objects.get(pk=allocation.pk)
        missing = receipts_missing(project.pk)
        if missing > 0:
            refuse(
                _(
                    "Receipts must cover %(share)s%% of the money already disbursed before a new "
                    "request: %(missing)s USD of receipts are missing."
                )
                % {
                    "share": formats.number_format(
                        Decimal(str(settings.FUNDING_RECEIPTS_SHARE)) * 100, decimal_pos=0
                    ),
                    "missing": usd(missing),
                },
                "receipts_missing",
            )
        available = allocation_available(allocation)
        if amount > available:
            refuse(
                _(
                    "That is more than the allocation has left: %(available)s USD, counting the "
                    "requests still pending."
                )
                % {"available": usd(max(available, ZERO))},
                "over_allocation",
            )
        needed = 2 if amount > Decimal(str(settings.FUNDING_TWO_APPROVALS_ABOVE_USD)) else 1
        disbursement = Disbursement.objects.create(
            allocation=allocation,
            project=project,
            amount_usd=amount,
            purpose=purpose,
            approvals_needed=needed,
            requested_by=by,
            requested_at=now,
        )
        audit.record(
            actor=by,
            action="disbursement.request",
            obj=disbursement,
            after={"amount": amount, "allocation": allocation.pk, "approvals_needed": needed},
        )
        _notify(disbursement)
    return disbursement


def _locked_disbursement(disbursement) -> Disbursement:
    return (
        Disbursement.objects.select_for_update(of=("self",))
        .select_related("allocation__source", "project__commune__parish__municipality")
        .get(pk=disbursement.pk)
    )


# What a payer is told when accounts.permissions says why they may not decide a request now.
APPROVAL_REFUSALS = {
    permissions.OWN_REQUEST: gettext_lazy("Nobody approves their own request."),
    permissions.NOT_PENDING: gettext_lazy("This request is no longer waiting for approval."),
    permissions.APPROVED_TWICE: gettext_lazy(
        "You have approved it already; a second person of the paying source must."
    ),
}
REJECTION_REFUSALS = {
    permissions.OWN_REQUEST: gettext_lazy("Nobody decides their own request."),
    permissions.NOT_PENDING: gettext_lazy("A transferred or rejected request cannot be rejected."),
}
TRANSFER_REFUSALS = {
    permissions.NOT_APPROVED: gettext_lazy("Only an approved request can be transferred."),
}


def disbursement_approve(*, disbursement: Disbursement, by, now=None) -> Disbursement:
    """Staff of the paying source approve; above the threshold, two different people must."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_disbursement(disbursement)
        permissions.require(by, "funding.pay", locked.allocation)
        problem = permissions.approval_refusal(by, locked)
        if problem is not None:
            refuse(str(APPROVAL_REFUSALS[problem]), problem)
        DisbursementApproval.objects.create(disbursement=locked, by=by, at=now)
        count = locked.approvals.count()
        if count >= locked.approvals_needed:
            locked.status = Disbursement.Status.APPROVED
            locked.decided_at = now
            locked.save(update_fields=["status", "decided_at"])
            _ledger(
                project=locked.project,
                source=locked.allocation.source,
                kind=LedgerEntry.Kind.APPROVAL,
                amount_usd=locked.amount_usd,
                allocation=locked.allocation,
                disbursement=locked,
                by=by,
                at=now,
            )
        audit.record(
            actor=by,
            action="disbursement.approve",
            obj=locked,
            after={"approvals": count, "needed": locked.approvals_needed, "status": locked.status},
        )
        _notify(locked)
    return locked


def disbursement_reject(*, disbursement: Disbursement, by, reason: str, now=None) -> Disbursement:
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        refuse(_("Say why the request is rejected: the commune will read it."), "reason")
    with transaction.atomic():
        locked = _locked_disbursement(disbursement)
        permissions.require(by, "funding.pay", locked.allocation)
        problem = permissions.rejection_refusal(by, locked)
        if problem is not None:
            refuse(str(REJECTION_REFUSALS[problem]), problem)
        if locked.status == Disbursement.Status.APPROVED:
            approval = locked.ledger.get(kind=LedgerEntry.Kind.APPROVAL, reversed_by__isnull=True)
            _reverse(approval, reason=reason, by=by, now=now)
        locked.status = Disbursement.Status.REJECTED
        locked.decided_at = now
        locked.rejected_by = by
        locked.rejection_reason = reason
        locked.save(update_fields=["status", "decided_at", "rejected_by", "rejection_reason"])
        audit.record(actor=by, action="disbursement.reject", obj=locked, after={"reason": reason})
        _notify(locked)
    return locked


def disbursement_transfer_record(
    *,
    disbursement: Disbursement,
    by,
    transferred_on: datetime.date,
    bank_reference: str,
    rate_ves_per_usd,
    now=None,
) -> Disbursement:
    """The money left the source's account: date, bank reference, the official rate of that date
    and the bolívar amount it makes. Only now is it disbursed."""
    now = now or timezone.now()
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        refuse(_("Write the bank's reference of the transfer."), "reference")
    try:
        rate = Decimal(str(rate_ves_per_usd).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        rate = Decimal(0)
    if not rate.is_finite() or rate <= 0 or rate >= Decimal("1e12"):
        refuse(_("Write the official rate in bolívars per dollar, such as 36.5."), "rate")
    if transferred_on > timezone.localdate(now):
        refuse(_("A transfer cannot be dated in the future."), "date")
    with transaction.atomic():
        locked = _locked_disbursement(disbursement)
        permissions.require(by, "funding.pay", locked.allocation)
        problem = permissions.transfer_refusal(by, locked)
        if problem is not None:
            refuse(str(TRANSFER_REFUSALS[problem]), problem)
        if transferred_on < timezone.localdate(locked.requested_at):
            refuse(_("A transfer cannot be dated before its request."), "date")
        locked.status = Disbursement.Status.TRANSFERRED
        locked.transferred_on = transferred_on
        locked.bank_reference = bank_reference[:60]
        locked.rate_ves_per_usd = rate.quantize(Decimal("0.0001"))
        locked.amount_ves = (locked.amount_usd * locked.rate_ves_per_usd).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        if locked.amount_ves >= Decimal("1e18"):  # more than its column holds: not a real rate
            refuse(_("Write the official rate in bolívars per dollar, such as 36.5."), "rate")
        locked.transfer_recorded_by = by
        locked.transfer_recorded_at = now
        locked.save()
        _ledger(
            project=locked.project,
            source=locked.allocation.source,
            kind=LedgerEntry.Kind.TRANSFER,
            amount_usd=locked.amount_usd,
            allocation=locked.allocation,
            disbursement=locked,
            by=by,
            at=now,
            reason=locked.bank_reference,
        )
        audit.record(
            actor=by,
            action="disbursement.transfer",
            obj=locked,
            after={
                "on": transferred_on.isoformat(),
                "reference": locked.bank_reference,
                "rate": locked.rate_ves_per_usd,
                "ves": locked.amount_ves,
            },
        )
        _notify(locked)
    return locked


# What the commune reports -------------------------------------------------------------------


def receipt_add(
    *, project: Project, upload, supplier: str, spent_on, amount, category: str, by, now=None
) -> SpendingReceipt:
    """A receipt (PDF, JPEG or PNG, checked by its content) of money spent; spent never goes
    above disbursed."""
    project = Project.objects.select_related("commune").get(pk=project.pk)
    permissions.require(by, "funding.report_spending", project)
    now = now or timezone.now()
    amount = money(amount, _("The amount"))
    supplier = (supplier or "").strip()
    if not supplier:
        refuse(_("Write the supplier's name."), "supplier")
    if category not in SpendingReceipt.Category.values:
        refuse(_("Choose a category."), "category")
    if spent_on > timezone.localdate(now):
        refuse(_("A receipt cannot be dated in the future."), "date")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        balance = project_balance(project.pk)
        if balance.spent + amount > balance.disbursed:
            refuse(
                _(
                    "Receipts cannot add up to more than the money disbursed: %(left)s USD "
                    "disbursed and not yet receipted."
                )
                % {"left": usd(balance.disbursed - balance.spent)},
                "over_disbursed",
            )
        stored = commune_file_store(commune=project.commune, uploaded=upload, by=by, is_public=True)
        receipt = SpendingReceipt.objects.create(
            project=project,
            file=stored,
            supplier=supplier[:200],
            spent_on=spent_on,
            amount_usd=amount,
            category=category,
            uploaded_by=by,
            uploaded_at=now,
        )
        _ledger(
            project=project,
            kind=LedgerEntry.Kind.RECEIPT,
            amount_usd=amount,
            receipt=receipt,
            by=by,
            at=now,
            reason=receipt.supplier,
        )
        audit.record(
            actor=by,
            action="receipt.add",
            obj=receipt,
            after={"amount": amount, "supplier": receipt.supplier, "file": str(stored.pk)},
        )
    return receipt


def progress_add(
    *,
    project: Project,
    percent,
    status: str,
    text: str,
    by,
    stalled_reason: str = "",
    photos=(),
    now=None,
) -> ProgressUpdate:
    project = Project.objects.select_related("commune").get(pk=project.pk)
    permissions.require(by, "funding.report_spending", project)
    now = now or timezone.now()
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        refuse(_("Write the percent complete as a whole number from 0 to 100."), "percent")
    if not 0 <= percent <= 100:
        refuse(_("Write the percent complete as a whole number from 0 to 100."), "percent")
    if status not in ProjectStatus.values:
        refuse(_("Choose the project's status."), "status")
    text, stalled_reason = (text or "").strip(), (stalled_reason or "").strip()
    if not text:
        refuse(_("Say what was done since the last update."), "text")
    if status == ProjectStatus.STALLED and not stalled_reason:
        refuse(_("Say why the project is stalled."), "stalled_reason")
    if status == ProjectStatus.COMPLETED and percent != 100:
        refuse(_("A completed project is 100% complete."), "percent")
    if len(photos) > MAX_PHOTOS:
        refuse(_("At most %(n)d photos per update.") % {"n": MAX_PHOTOS}, "photos")
    with transaction.atomic():
        update = ProgressUpdate.objects.create(
            project=project,
            percent=percent,
            status=status,
            text=text,
            stalled_reason=stalled_reason if status == ProjectStatus.STALLED else "",
            by=by,
            at=now,
        )
        for photo in photos:
            update.photos.add(
                commune_file_store(
                    commune=project.commune,
                    uploaded=photo,
                    by=by,
                    is_public=True,
                    allowed=("jpeg", "png"),
                )
            )
        audit.record(
            actor=by,
            action="progress.add",
            obj=update,
            after={"percent": percent, "status": status, "photos": len(photos)},
        )
    return update


def progress_status(project=None):
    """A project's status as its latest progress update says it (not started without one), as
    an expression on a query of projects (``project``: the reference to the project's id)."""
    latest = (
        ProgressUpdate.objects.filter(project=project if project is not None else OuterRef("pk"))
        .order_by("-at", "-pk")
        .values("status")[:1]
    )
    return Coalesce(Subquery(latest), Value(ProjectStatus.NOT_STARTED.value))


def project_status(project_id: int) -> str:
    statuses = Project.objects.filter(pk=project_id).values_list(progress_status(), flat=True)
    return statuses.first() or ProjectStatus.NOT_STARTED


def closing_report_submit(
    *, project: Project, text: str, assembly_held_on, minutes, by, now=None
) -> ClosingReport:
    """A completed project's closing report, with the minutes of the assembly that approved it."""
    project = Project.objects.select_related("commune").get(pk=project.pk)
    permissions.require(by, "funding.report_spending", project)
    now = now or timezone.now()
    if project_status(project.pk) != ProjectStatus.COMPLETED:
        refuse(_("The closing report comes once an update says the project is completed."), "open")
    text = (text or "").strip()
    if not text:
        refuse(_("Write the report."), "text")
    if assembly_held_on > timezone.localdate(now):
        refuse(_("The assembly's date cannot be in the future."), "date")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        if project.closing_reports.filter(status__in=["submitted", "accepted"]).exists():
            refuse(_("This project already has a closing report waiting or accepted."), "twice")
        stored = commune_file_store(
            commune=project.commune, uploaded=minutes, by=by, is_public=True
        )
        report = ClosingReport.objects.create(
            project=project,
            text=text,
            assembly_held_on=assembly_held_on,
            minutes=stored,
            submitted_by=by,
            submitted_at=now,
        )
        audit.record(
            actor=by, action="closing_report.submit", obj=report, after={"file": str(stored.pk)}
        )
    return report


def closing_report_decide(*, report: ClosingReport, by, accept: bool, note: str = "", now=None):
    now = now or timezone.now()
    note = (note or "").strip()
    if not accept and not note:
        refuse(_("Say what the report must change."), "note")
    with transaction.atomic():
        report = (
            ClosingReport.objects.select_for_update()
            .select_related("project__commune__parish__municipality")
            .get(pk=report.pk)
        )
        permissions.require(by, "funding.oversee", report.project)
        if report.status != ClosingReport.Status.SUBMITTED:
            refuse(_("This report has already been decided."), "decided")
        report.status = ClosingReport.Status.ACCEPTED if accept else ClosingReport.Status.RETURNED
        report.decided_by, report.decided_at, report.note = by, now, note
        report.save(update_fields=["status", "decided_by", "decided_at", "note"])
        audit.record(
            actor=by,
            action="closing_report.decide",
            obj=report,
            after={"status": report.status, "note": note},
        )
    return report


# Oversight -----------------------------------------------------------------------------------


def flag_raise(*, by, comment: str, receipt=None, update=None, now=None) -> Flag:
    """A social-oversight spokesperson questions a receipt or a progress update."""
    target = receipt or update
    if target is None or (receipt is not None and update is not None):
        raise ValueError("flag exactly one receipt or one update")
    project = Project.objects.select_related("commune").get(pk=target.project_id)
    permissions.require(by, "funding.flag", project)
    now = now or timezone.now()
    comment = (comment or "").strip()
    if not comment:
        refuse(_("Write what should be checked."), "comment")
    with transaction.atomic():
        flag = Flag.objects.create(
            project=project, receipt=receipt, update=update, comment=comment[:5000], by=by, at=now
        )
        audit.record(actor=by, action="flag.raise", obj=flag, after={"comment": flag.comment})
    return flag


def flag_answer(*, flag: Flag, answer: str, by, now=None) -> Flag:
    now = now or timezone.now()
    answer = (answer or "").strip()
    if not answer:
        refuse(_("Write the answer."), "answer")
    with transaction.atomic():
        flag = (
            Flag.objects.select_for_update()
            .select_related("project__commune__parish__municipality")
            .get(pk=flag.pk)
        )
        permissions.require(by, "funding.oversee", flag.project)
        if flag.answered_at is not None:
            refuse(_("This flag has been answered already."), "answered")
        flag.answer, flag.answered_by, flag.answered_at = answer[:5000], by, now
        flag.save(update_fields=["answer", "answered_by", "answered_at"])
        audit.record(actor=by, action="flag.answer", obj=flag, after={"answer": flag.answer})
    return flag


# Corrections ---------------------------------------------------------------------------------


def _reverse(entry: LedgerEntry, *, reason: str, by, now) -> LedgerEntry:
    return _ledger(
        project_id=entry.project_id,
        source_id=entry.source_id,
        kind=LedgerEntry.Kind.REVERSAL,
        amount_usd=-entry.amount_usd,
        reverses=entry,
        allocation_id=entry.allocation_id,
        disbursement_id=entry.disbursement_id,
        receipt_id=entry.receipt_id,
        by=by,
        at=now,
        reason=reason,
    )


def ledger_reverse(*, entry: LedgerEntry, reason: str, by, now=None) -> LedgerEntry:
    """Undo a movement recorded by mistake with a new, opposite entry (never an edit). Refused
    when it would leave spent above disbursed or disbursed above allocated."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        refuse(_("Say why the entry is reversed: it is published."), "reason")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=entry.project_id).first()
        entry = LedgerEntry.objects.select_related("project__commune__parish__municipality").get(
            pk=entry.pk
        )
        permissions.require(by, "funding.oversee", entry.project)
        if entry.kind == LedgerEntry.Kind.REVERSAL:
            refuse(_("A reversal is not reversed; record the movement again instead."), "kind")
        if LedgerEntry.objects.filter(reverses=entry).exists():
            refuse(_("This entry has been reversed already."), "reversed")
        reversal = _reverse(entry, reason=reason, by=by, now=now)
        balance = project_balance(entry.project_id)
        if balance.spent > balance.disbursed or balance.disbursed > balance.allocated:
            refuse(
                _(
                    "Reversing it would leave more spent than disbursed, or more disbursed than "
                    "allocated: reverse the later movements first."
                ),
                "breaks_balance",
            )
        audit.record(
            actor=by,
            action="ledger.reverse",
            obj=reversal,
            after={"reverses": entry.pk, "amount": reversal.amount_usd, "reason": reason},
        )
    return reversal
