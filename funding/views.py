"""The pages where people work with money.

The commune's side: its spokespeople see their funded projects; finance spokespeople request
disbursements; finance and executive ones report receipts, progress and the closing report;
social oversight flags what it doubts. The payers' side: the staff of a funding source approve,
reject and record transfers, co-funders pledge, and ministry staff answer flags, decide closing
reports and reverse ledger entries.

Each view parses a form, asks ``accounts.permissions``, reads through ``funding.selectors`` (in a
fixed number of queries) or calls one service, and renders: the services hold every rule (and ask
``accounts.permissions``); a refused form comes back with its message and status 422.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import permissions
from consultations.models import Project

from . import selectors, services
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
from .models import ClosingReport, Disbursement, ProjectStatus

INVALID = 422


# The commune's side ------------------------------------------------------------------------


@never_cache
@login_required
def commune_money(request, code):
    """Money of my commune: its funded projects, each with its balance."""
    commune = selectors.commune_for_money(user=request.user, code=code)
    projects = selectors.commune_funded_projects(commune=commune)
    return render(request, "funding/commune_money.html", {"commune": commune, "projects": projects})


def _workspace_project(request, pk) -> Project:
    return selectors.workspace_project(user=request.user, pk=pk)


def _flag_form(target: str, pk: int, data=None) -> FlagForm:
    return FlagForm(data, initial={target: pk}, auto_id=f"flag-{target}-{pk}-%s")


def _workspace(request, project, *, status=200, failed_flag=None, **forms):
    """The project's page for its commune: balance, what can be requested, the documents, and the
    forms the signed-in spokesperson may use (a refused one comes back bound, with its errors)."""
    user = request.user
    may_request = permissions.can(user, "funding.request_disbursement", project)
    may_report = permissions.can(user, "funding.report_spending", project)
    may_flag = permissions.can(user, "funding.flag", project)
    found = selectors.project_workspace(project=project)
    current_status = found["status"]
    closing_open = any(
        report.status != ClosingReport.Status.RETURNED for report in found["closing_reports"]
    )
    receipts, updates = found["receipts"], found["updates"]
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
        "balance": found["balance"],
        "allocations": found["allocations"],
        "receipts_missing": found["receipts_missing"],
        "two_approvals_above": settings.FUNDING_TWO_APPROVALS_ABOVE_USD,
        "current_status": ProjectStatus(current_status).label,
        "disbursements": found["disbursements"],
        "receipts": receipts,
        "updates": updates,
        "closing_reports": found["closing_reports"],
        "may_request": may_request,
        "may_report": may_report,
        "may_flag": may_flag,
        "request_form": forms.get("request_form")
        or (
            DisbursementRequestForm(allocations=selectors.project_allocations(project))
            if may_request
            else None
        ),
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
    form = DisbursementRequestForm(request.POST, allocations=selectors.project_allocations(project))
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
    queue = selectors.payments_queue(user=request.user)
    context = {
        "waiting": Paginator(queue["waiting"], 50).get_page(request.GET.get("page")),
        "approved": Paginator(queue["approved"], 50).get_page(request.GET.get("approved")),
        "transferred": queue["transferred"][:20],
        "may_pledge": permissions.can(request.user, "funding.pledge"),
        "may_oversee": permissions.can(request.user, "funding.oversee"),
    }
    return render(request, "funding/payments.html", context)


def _payable(request, pk) -> Disbursement:
    return selectors.disbursement_for_payer(user=request.user, pk=pk)


def _disbursement_page(request, disbursement, *, status=200, **forms):
    user = request.user
    found = selectors.disbursement_page(disbursement=disbursement)
    # Why this payer may not approve it (if not): the page says it was their own request, or
    # that they have approved it already.
    approval_refusal = permissions.approval_refusal(user, disbursement)
    context = {
        "disbursement": disbursement,
        "project": disbursement.project,
        "approvals": found["approvals"],
        "balance": found["balance"],
        "receipts_missing": found["receipts_missing"],
        "own_request": approval_refusal == permissions.OWN_REQUEST,
        "may_approve": permissions.can(user, "funding.approve", disbursement),
        "approved_by_me": approval_refusal == permissions.APPROVED_TWICE,
        "approve_errors": forms.get("approve_errors", []),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "may_reject": permissions.can(user, "funding.reject", disbursement),
        "transfer_form": forms.get("transfer_form") or TransferForm(),
        "may_transfer": permissions.can(user, "funding.transfer", disbursement),
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


@never_cache
@login_required
def pledge(request):
    """A co-funder finds a ranked project of a published round in its territory (by commune)
    and pledges money to it, with a reason."""
    permissions.require(request.user, "funding.pledge")
    acting_for = selectors.pledge_sources(user=request.user)
    sources = list(acting_for)
    ranked = selectors.pledgeable_projects()
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
        found = Paginator(selectors.pledge_search(sources=sources, query=query), 30).get_page(
            request.GET.get("page")
        )
    context = {
        "sources": sources,
        "search": search,
        "query": query,
        "found": found,
        "project": project,
        "pledges": selectors.project_allocations(project) if project else None,
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
    found = selectors.oversight(user=request.user)
    flags, reports = found["flags"], found["reports"]
    for flag in flags:
        flag.form = FlagAnswerForm(auto_id=f"flag-{flag.pk}-%s")
    for report in reports:
        report.form = ClosingDecisionForm(auto_id=f"report-{report.pk}-%s")
    if failed is not None:
        kind, pk, form = failed
        for item in flags if kind == "flag" else reports:
            if item.pk == pk:
                item.form = form
    context = {
        "flags": flags,
        "reports": reports,
        "movements": Paginator(found["movements"], 30).get_page(request.GET.get("page")),
    }
    return render(request, "funding/oversight.html", context, status=status)


@login_required
@require_POST
def flag_answer(request, pk):
    flag = selectors.flag_for_oversight(user=request.user, pk=pk)
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
    report = selectors.closing_report_for_oversight(user=request.user, pk=pk)
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


@never_cache
@login_required
def project_ledger(request, pk, *, status=200, failed=None):
    """Every movement of a project's money, each reversible with a reason (a new entry)."""
    project = selectors.project_for_oversight(user=request.user, pk=pk)
    entries = selectors.project_ledger(project=project)
    for entry in entries:
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
    entry = selectors.ledger_entry_for_oversight(user=request.user, pk=pk)
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
