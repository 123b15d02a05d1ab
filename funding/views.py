"""The pages where people work with money.

The commune's side: its spokespeople see their funded projects; finance spokespeople request
disbursements; finance and executive ones report receipts, progress and the closing report;
social oversight flags what it doubts. The payers' side: the staff of a funding source approve,
reject and record transfers, co-funders pledge, and ministry staff answer flags, decide closing
reports and reverse ledger entries.

Each view parses a form, calls one service and renders: the services hold every rule (and ask
``accounts.permissions``); a refused form comes back with its message and status 422.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import permissions
from communes.models import Commune
from consultations.models import Consultation, Project

from . import services
from .forms import (
    ClosingDecisionForm,
    ClosingReportForm,
    DisbursementRequestForm,
    FlagAnswerForm,
    FlagForm,
    PledgeForm,
    PledgeSearchForm,
    ProgressForm,
    ReceiptForm,
    RejectForm,
    ReverseForm,
    TransferForm,
)
from .models import (
    Allocation,
    ClosingReport,
    Disbursement,
    DisbursementApproval,
    Flag,
    FundingSource,
    LedgerEntry,
    ProjectStatus,
)

INVALID = 422


# The commune's side ------------------------------------------------------------------------


def _require_spokesperson_of(request, commune_id: int) -> None:
    """The money pages of a commune are its spokespeople's; to anyone else they do not exist.
    What each of them may do there, the services ask."""
    if commune_id not in permissions.commune_ids_spoken_for(request.user):
        raise Http404


def _funded_projects(commune_id: int):
    return (
        Project.objects.filter(commune_id=commune_id)
        .filter(Exists(Allocation.objects.filter(project=OuterRef("pk"))))
        .select_related("consultation")
        .order_by("-consultation__year", "-consultation__quarter", "title")
    )


@never_cache
@login_required
def commune_money(request, code):
    """Money of my commune: its funded projects, each with its balance."""
    commune = get_object_or_404(
        Commune.objects.select_related("parish__municipality__state"), code=code
    )
    _require_spokesperson_of(request, commune.pk)
    projects = list(_funded_projects(commune.pk))
    # A commune has a handful of funded projects (one or two a round): one sum each.
    for project in projects:
        project.balance = services.project_balance(project.pk)
        project.current_status = ProjectStatus(services.project_status(project.pk)).label
    return render(request, "funding/commune_money.html", {"commune": commune, "projects": projects})


def _workspace_project(request, pk) -> Project:
    project = get_object_or_404(
        Project.objects.select_related(
            "consultation", "commune__parish__municipality__state"
        ).filter(Exists(Allocation.objects.filter(project=OuterRef("pk")))),
        pk=pk,
    )
    _require_spokesperson_of(request, project.commune_id)
    return project


def _allocations(project):
    return project.allocations.select_related("source").order_by("created_at", "pk")


def _flag_form(target: str, pk: int, data=None) -> FlagForm:
    return FlagForm(data, initial={target: pk}, auto_id=f"flag-{target}-{pk}-%s")


def _workspace(request, project, *, status=200, failed_flag=None, **forms):
    """The project's page for its commune: balance, what can be requested, the documents, and the
    forms the signed-in spokesperson may use (a refused one comes back bound, with its errors)."""
    user = request.user
    may_request = permissions.can(user, "funding.request_disbursement", project)
    may_report = permissions.can(user, "funding.report_spending", project)
    may_flag = permissions.can(user, "funding.flag", project)
    allocations = list(_allocations(project))
    for allocation in allocations:
        allocation.available = services.allocation_available(allocation)
    current_status = services.project_status(project.pk)
    closing_reports = list(project.closing_reports.select_related("minutes"))
    closing_open = any(report.status != ClosingReport.Status.RETURNED for report in closing_reports)
    receipts = list(
        project.receipts.select_related("file").prefetch_related("flags").order_by("-spent_on")
    )
    updates = list(project.progress_updates.prefetch_related("photos", "flags"))
    if may_flag:
        for receipt in receipts:
            receipt.flag_form = _flag_form("receipt", receipt.pk)
        for update in updates:
            update.flag_form = _flag_form("update", update.pk)
        if failed_flag is not None:
            target, pk, form = failed_flag
            for item in receipts if target == "receipt" else updates:
                if item.pk == pk:
                    item.flag_form = form
    context = {
        "project": project,
        "commune": project.commune,
        "balance": services.project_balance(project.pk),
        "allocations": allocations,
        "receipts_missing": services.receipts_missing(project.pk),
        "two_approvals_above": settings.FUNDING_TWO_APPROVALS_ABOVE_USD,
        "current_status": ProjectStatus(current_status).label,
        "disbursements": project.disbursements.select_related("allocation__source")
        .annotate(approval_count=Count("approvals"))
        .order_by("-requested_at", "-pk"),
        "receipts": receipts,
        "updates": updates,
        "closing_reports": closing_reports,
        "may_request": may_request,
        "may_report": may_report,
        "may_flag": may_flag,
        "request_form": forms.get("request_form")
        or (DisbursementRequestForm(allocations=_allocations(project)) if may_request else None),
        "receipt_form": forms.get("receipt_form") or (ReceiptForm() if may_report else None),
        "progress_form": forms.get("progress_form") or (ProgressForm() if may_report else None),
        "closing_form": forms.get("closing_form")
        or (
            ClosingReportForm()
            if may_report and current_status == ProjectStatus.COMPLETED and not closing_open
            else None
        ),
    }
    return render(request, "funding/project_workspace.html", context, status=status)


@never_cache
@login_required
def project_workspace(request, pk):
    project = _workspace_project(request, pk)
    return _workspace(request, project)


def _workspace_url(project, anchor: str = "") -> str:
    url = reverse("funding:project-workspace", args=[project.pk])
    return f"{url}#{anchor}" if anchor else url


@login_required
@require_POST
def disbursement_request(request, pk):
    project = _workspace_project(request, pk)
    permissions.require(request.user, "funding.request_disbursement", project)
    form = DisbursementRequestForm(request.POST, allocations=_allocations(project))
    if form.is_valid():
        data = form.cleaned_data
        try:
            disbursement = services.disbursement_request(
                allocation=data["allocation"],
                amount=data["amount"],
                purpose=data["purpose"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if disbursement.approvals_needed == 2:
                note = _("Request sent: it needs the approval of two people of the funder.")
            else:
                note = _("Request sent: the funder's staff will approve it.")
            messages.success(request, note)
            return redirect(_workspace_url(project, "disbursements"))
    return _workspace(request, project, status=INVALID, request_form=form)


@login_required
@require_POST
def receipt_add(request, pk):
    project = _workspace_project(request, pk)
    permissions.require(request.user, "funding.report_spending", project)
    form = ReceiptForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.receipt_add(
                project=project,
                upload=data["file"],
                supplier=data["supplier"],
                spent_on=data["spent_on"],
                amount=data["amount"],
                category=data["category"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Receipt added: it is published with the project."))
            return redirect(_workspace_url(project, "receipts"))
    return _workspace(request, project, status=INVALID, receipt_form=form)


@login_required
@require_POST
def progress_add(request, pk):
    project = _workspace_project(request, pk)
    permissions.require(request.user, "funding.report_spending", project)
    form = ProgressForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.progress_add(
                project=project,
                percent=data["percent"],
                status=data["status"],
                text=data["text"],
                stalled_reason=data["stalled_reason"],
                photos=data["photos"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Progress update published."))
            return redirect(_workspace_url(project, "progress"))
    return _workspace(request, project, status=INVALID, progress_form=form)


@login_required
@require_POST
def closing_report_submit(request, pk):
    project = _workspace_project(request, pk)
    permissions.require(request.user, "funding.report_spending", project)
    form = ClosingReportForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.closing_report_submit(
                project=project,
                text=data["text"],
                assembly_held_on=data["assembly_held_on"],
                minutes=data["minutes"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Closing report sent: the ministry will review it."))
            return redirect(_workspace_url(project, "closing"))
    return _workspace(request, project, status=INVALID, closing_form=form)


@login_required
@require_POST
def flag_raise(request, pk):
    project = _workspace_project(request, pk)
    permissions.require(request.user, "funding.flag", project)
    target = "receipt" if request.POST.get("receipt") else "update"
    target_pk = _number(request.POST.get(target))
    form = FlagForm(request.POST, auto_id=f"flag-{target}-{target_pk}-%s")
    if form.is_valid():
        data = form.cleaned_data
        if data["receipt"]:
            flagged = {"receipt": get_object_or_404(project.receipts, pk=data["receipt"])}
        else:
            flagged = {"update": get_object_or_404(project.progress_updates, pk=data["update"])}
        try:
            services.flag_raise(by=request.user, comment=data["comment"], **flagged)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Flag raised: ministry staff will answer it."))
            anchor = "receipts" if target == "receipt" else "progress"
            return redirect(_workspace_url(project, anchor))
    return _workspace(request, project, status=INVALID, failed_flag=(target, target_pk, form))


def _number(value) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


# The payers' side -------------------------------------------------------------------------


@never_cache
@login_required
def payments(request):
    """Requests waiting for the payer's approval, approved ones waiting for the transfer, and the
    latest transfers."""
    permissions.require(request.user, "funding.see_payments")
    mine = DisbursementApproval.objects.filter(disbursement=OuterRef("pk"), by=request.user)
    found = (
        Disbursement.objects.filter(permissions.disbursements_payable_q(request.user))
        .select_related(
            "project__commune__parish__municipality__state", "allocation__source", "requested_by"
        )
        .annotate(approval_count=Count("approvals"), approved_by_me=Exists(mine))
    )
    waiting = found.filter(status=Disbursement.Status.REQUESTED).order_by("requested_at", "pk")
    approved = found.filter(status=Disbursement.Status.APPROVED).order_by("decided_at", "pk")
    context = {
        "waiting": Paginator(waiting, 50).get_page(request.GET.get("page")),
        "approved": Paginator(approved, 50).get_page(request.GET.get("approved")),
        "transferred": found.filter(status=Disbursement.Status.TRANSFERRED).order_by(
            "-transfer_recorded_at", "-pk"
        )[:20],
        "may_pledge": permissions.can(request.user, "funding.pledge"),
        "may_oversee": permissions.can(request.user, "funding.oversee"),
    }
    return render(request, "funding/payments.html", context)


def _payable(request, pk) -> Disbursement:
    disbursement = get_object_or_404(
        Disbursement.objects.select_related(
            "project__consultation",
            "project__commune__parish__municipality__state",
            "allocation__source",
            "requested_by",
            "rejected_by",
            "transfer_recorded_by",
        ),
        pk=pk,
    )
    permissions.require(request.user, "funding.pay", disbursement.allocation)
    return disbursement


def _disbursement_page(request, disbursement, *, status=200, **forms):
    approvals = list(disbursement.approvals.select_related("by"))
    approved_by_me = any(approval.by_id == request.user.pk for approval in approvals)
    pending = disbursement.status == Disbursement.Status.REQUESTED
    context = {
        "disbursement": disbursement,
        "project": disbursement.project,
        "approvals": approvals,
        "balance": services.project_balance(disbursement.project_id),
        "receipts_missing": services.receipts_missing(disbursement.project_id),
        "own_request": disbursement.requested_by_id == request.user.pk,
        "may_approve": pending
        and not approved_by_me
        and disbursement.requested_by_id != request.user.pk,
        "approved_by_me": approved_by_me,
        "approve_errors": forms.get("approve_errors", []),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "may_reject": disbursement.status
        in (Disbursement.Status.REQUESTED, Disbursement.Status.APPROVED)
        and disbursement.requested_by_id != request.user.pk,
        "transfer_form": forms.get("transfer_form") or TransferForm(),
        "may_transfer": disbursement.status == Disbursement.Status.APPROVED,
    }
    return render(request, "funding/disbursement.html", context, status=status)


@never_cache
@login_required
def disbursement(request, pk):
    return _disbursement_page(request, _payable(request, pk))


def _to_disbursement(disbursement):
    return redirect("funding:disbursement", pk=disbursement.pk)


@login_required
@require_POST
def disbursement_approve(request, pk):
    disbursement = _payable(request, pk)
    try:
        disbursement = services.disbursement_approve(disbursement=disbursement, by=request.user)
    except ValidationError as error:
        return _disbursement_page(
            request, disbursement, status=INVALID, approve_errors=error.error_list
        )
    if disbursement.status == Disbursement.Status.APPROVED:
        messages.success(request, _("Approved: it is waiting for the transfer."))
    else:
        messages.success(
            request, _("Your approval is recorded: a second person of the funder must approve.")
        )
    return _to_disbursement(disbursement)


@login_required
@require_POST
def disbursement_reject(request, pk):
    disbursement = _payable(request, pk)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.disbursement_reject(
                disbursement=disbursement, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Request rejected; the commune is told why."))
            return _to_disbursement(disbursement)
    return _disbursement_page(request, disbursement, status=INVALID, reject_form=form)


@login_required
@require_POST
def disbursement_transfer(request, pk):
    disbursement = _payable(request, pk)
    form = TransferForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            done = services.disbursement_transfer_record(
                disbursement=disbursement,
                by=request.user,
                transferred_on=data["transferred_on"],
                bank_reference=data["bank_reference"],
                rate_ves_per_usd=data["rate_ves_per_usd"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Transfer recorded: %(ves)s VES at the official rate.")
                % {"ves": services.usd(done.amount_ves)},
            )
            return _to_disbursement(disbursement)
    return _disbursement_page(request, disbursement, status=INVALID, transfer_form=form)


# Co-funders' pledges -----------------------------------------------------------------------


def _any_territory(sources) -> Q:
    scope = Q(pk__in=[])
    for source in sources:
        scope |= source.communes_q()
    return scope


@never_cache
@login_required
def pledge(request):
    """A co-funder finds a ranked project of a published round in its territory (by commune)
    and pledges money to it, with a reason."""
    permissions.require(request.user, "funding.pledge")
    acting_for = (
        FundingSource.objects.filter(staff=request.user)
        .exclude(kind=FundingSource.Kind.NATIONAL)
        .order_by("name")
    )
    sources = list(acting_for)
    ranked = Project.objects.filter(
        consultation__phase=Consultation.Phase.PUBLISHED, result__isnull=False
    ).select_related("consultation", "commune", "result")
    project_id = request.POST.get("project") or request.GET.get("project")
    project = None
    if project_id:
        try:
            project = get_object_or_404(ranked, pk=int(project_id))
        except ValueError:
            raise Http404 from None
    form = PledgeForm(request.POST or None, sources=acting_for)
    status = 200
    if request.method == "POST":
        if project is None:
            raise Http404
        status = INVALID
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.pledge_create(
                    project=project,
                    source=data["source"],
                    amount=data["amount"],
                    reason=data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Pledge recorded and published with the project."))
                return redirect(f"{reverse('funding:pledge')}?project={project.pk}")
    search = PledgeSearchForm(request.GET or None)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    found = None
    if query and sources:
        communes = Commune.objects.filter(_any_territory(sources)).filter(
            Q(code__iexact=query) | Q(name__icontains=query)
        )
        found = Paginator(
            ranked.filter(commune__in=communes).order_by(
                "-consultation__year", "-consultation__quarter", "commune__name", "result__rank"
            ),
            30,
        ).get_page(request.GET.get("page"))
    context = {
        "sources": sources,
        "search": search,
        "query": query,
        "found": found,
        "project": project,
        "pledges": _allocations(project) if project else None,
        "form": form,
    }
    return render(request, "funding/pledge.html", context, status=status)


# Ministry oversight -----------------------------------------------------------------------


@never_cache
@login_required
def oversight(request, *, status=200, failed=None):
    """Open flags, closing reports waiting for a decision, and the latest ledger movements of
    the staff member's states."""
    permissions.require(request.user, "funding.oversee")
    overseen = permissions.projects_overseen_q(request.user)
    flags = list(
        Flag.objects.filter(overseen, answered_at__isnull=True)
        .select_related("project__commune", "receipt__file", "update", "by")
        .order_by("at")[:100]
    )
    reports = list(
        ClosingReport.objects.filter(overseen, status=ClosingReport.Status.SUBMITTED)
        .select_related("project__commune", "minutes")
        .order_by("submitted_at")[:100]
    )
    for flag in flags:
        flag.form = FlagAnswerForm(auto_id=f"flag-{flag.pk}-%s")
    for report in reports:
        report.form = ClosingDecisionForm(auto_id=f"report-{report.pk}-%s")
    if failed is not None:
        kind, pk, form = failed
        for item in flags if kind == "flag" else reports:
            if item.pk == pk:
                item.form = form
    movements = (
        LedgerEntry.objects.filter(overseen)
        .select_related("project__commune", "source", "by")
        .order_by("-at", "-pk")
    )
    context = {
        "flags": flags,
        "reports": reports,
        "movements": Paginator(movements, 30).get_page(request.GET.get("page")),
    }
    return render(request, "funding/oversight.html", context, status=status)


@login_required
@require_POST
def flag_answer(request, pk):
    flag = get_object_or_404(
        Flag.objects.select_related("project__commune__parish__municipality"), pk=pk
    )
    permissions.require(request.user, "funding.oversee", flag.project)
    form = FlagAnswerForm(request.POST, auto_id=f"flag-{flag.pk}-%s")
    if form.is_valid():
        try:
            services.flag_answer(flag=flag, answer=form.cleaned_data["answer"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Answer published with the flag."))
            return redirect("funding:oversight")
    return oversight(request, status=INVALID, failed=("flag", flag.pk, form))


@login_required
@require_POST
def closing_report_decide(request, pk):
    report = get_object_or_404(
        ClosingReport.objects.select_related("project__commune__parish__municipality"), pk=pk
    )
    permissions.require(request.user, "funding.oversee", report.project)
    form = ClosingDecisionForm(request.POST, auto_id=f"report-{report.pk}-%s")
    if form.is_valid():
        try:
            services.closing_report_decide(
                report=report,
                by=request.user,
                accept=form.cleaned_data["decision"] == ClosingReport.Status.ACCEPTED,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Decision on the closing report recorded."))
            return redirect("funding:oversight")
    return oversight(request, status=INVALID, failed=("report", report.pk, form))


def _overseen_project(request, pk) -> Project:
    project = get_object_or_404(
        Project.objects.select_related("consultation", "commune__parish__municipality__state"),
        pk=pk,
    )
    permissions.require(request.user, "funding.oversee", project)
    return project


@never_cache
@login_required
def project_ledger(request, pk, *, status=200, failed=None):
    """Every movement of a project's money, each reversible with a reason (a new entry)."""
    project = _overseen_project(request, pk)
    entries = list(
        project.ledger.select_related(
            "source", "by", "reverses", "reversed_by", "disbursement"
        ).order_by("at", "pk")
    )
    for entry in entries:
        reversed_already = getattr(entry, "reversed_by", None) is not None
        entry.reversible = entry.kind != LedgerEntry.Kind.REVERSAL and not reversed_already
        if entry.reversible:
            entry.form = ReverseForm(auto_id=f"entry-{entry.pk}-%s")
            if failed is not None and failed[0] == entry.pk:
                entry.form = failed[1]
    context = {
        "project": project,
        "entries": entries,
        "balance": services.project_balance(project.pk),
    }
    return render(request, "funding/project_ledger.html", context, status=status)


@login_required
@require_POST
def ledger_reverse(request, pk):
    entry = get_object_or_404(
        LedgerEntry.objects.select_related("project__commune__parish__municipality"), pk=pk
    )
    permissions.require(request.user, "funding.oversee", entry.project)
    form = ReverseForm(request.POST, auto_id=f"entry-{entry.pk}-%s")
    if form.is_valid():
        try:
            services.ledger_reverse(
                entry=entry, reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Entry reversed with a new, opposite entry."))
            return redirect("funding:project-ledger", pk=entry.project_id)
    return project_ledger(request, entry.project_id, status=INVALID, failed=(entry.pk, form))
