"""Voting tables: the officer's table page (look up, mark, enter the sheet), staff's review of
tally sheets and conflicts, and the cycle admin's tables, officers and imports.

The mark endpoint answers JSON to the page's offline queue (Accept: application/json) and a
redirect with a message to a plain form post, so the page works without JavaScript too.
"""

import datetime
import io
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count as Tally
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import permissions
from communes.importing import ImportFileError
from consultations.models import Consultation

from . import eligibility, tables
from .models import BookConflict, OfficerAssignment, SheetEvent, TallySheet, VotingTable
from .table_forms import AssignForm, DecisionForm, ImportForm, LookupForm, TallySheetForm
from .table_import import tables_import as import_file

# Officers --------------------------------------------------------------------------------------


@never_cache
@login_required
def officer_home(request):
    """The tables this person runs today; straight to it when there is one."""
    permissions.require(request.user, "voting.see_own_tables")
    assignments = tables.officer_assignments_now(request.user)
    if len(assignments) == 1:
        return redirect("voting:table", pk=assignments[0].pk)
    return render(request, "voting/tables/officer_home.html", {"assignments": assignments})


def _table_context(request, assignment, **extra):
    consultation, table = assignment.consultation, assignment.table
    now = timezone.now()
    closed = now >= consultation.voting_closes_at
    sheet = (
        TallySheet.objects.filter(consultation=consultation, table=table)
        .annotate(entry_count=Tally("entries"))
        .first()
    )
    entered = sheet is not None and sheet.entries.filter(officer=request.user).exists()
    context = {
        "assignment": assignment,
        "consultation": consultation,
        "table": table,
        "now": now,
        "open_problem": eligibility.window_problem(consultation, now, eligibility.TABLE),
        "closed": closed,
        "marks": tables.table_marks(consultation, table),
        "conflicts": BookConflict.objects.filter(consultation=consultation, table=table)
        .select_related("resident")
        .order_by("-received_at")[:20],
        "sheet": sheet,
        "entered": entered,
        "lookup_form": LookupForm(),
        "mark_id": uuid.uuid4(),
        **extra,
    }
    if closed and "sheet_form" not in context and not entered and not (sheet and sheet.is_final):
        context["sheet_form"] = TallySheetForm(
            projects=tables.ballot_projects(consultation, table.commune_id)
        )
    return context


@never_cache
@login_required
def table(request, pk):
    """The officer's table: look a voter up by cédula, then mark them; later, the sheet."""
    assignment = tables.assignment_for(user=request.user, pk=pk)
    extra = {}
    if "cedula" in request.GET:
        form = LookupForm(request.GET)
        extra["lookup_form"] = form
        if form.is_valid():
            try:
                extra["voter"] = tables.table_voter_lookup(
                    assignment=assignment, cedula=form.cleaned_data["cedula"]
                )
                extra["cedula"] = form.cleaned_data["cedula"]
            except ValidationError as error:
                form.add_error("cedula", error)
    return render(request, "voting/tables/table.html", _table_context(request, assignment, **extra))


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _queued_at(value: str) -> datetime.datetime | None:
    """When the officer marked the person while offline (the page's clock), if it says."""
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:  # well formed but no such moment: "2024-02-30T10:00"
        moment = None
    if moment is None:
        raise ValidationError(_("The queued mark's time is not readable."), code="marked_at")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


@never_cache
@login_required
@require_POST
def table_mark(request, pk):
    assignment = tables.assignment_for(user=request.user, pk=pk)
    as_json = _wants_json(request)
    try:
        try:
            mark_id = uuid.UUID(request.POST.get("mark_id", ""))
        except ValueError:
            raise ValidationError(
                _("The mark has no valid id; reload the page."), code="mark_id"
            ) from None
        mark = tables.table_mark(
            assignment=assignment,
            cedula=request.POST.get("cedula", ""),
            by=request.user,
            mark_id=mark_id,
            marked_at=_queued_at(request.POST.get("marked_at", "")),
        )
    except ValidationError as error:
        status = 409 if error.code == "already_voted" else 422
        if as_json:
            return JsonResponse(
                {"outcome": "refused", "code": error.code, "message": " ".join(error.messages)},
                status=status,
            )
        for message in error.messages:
            messages.error(request, message)
        return redirect("voting:table", pk=assignment.pk)
    if as_json:
        return JsonResponse(
            {
                "outcome": mark.outcome,
                "message": mark.message,
                "cedula": mark.voter.cedula_masked,
                "name": mark.voter.full_name,
            },
            status=409 if mark.outcome == "conflict" else 200,
        )
    level = messages.ERROR if mark.outcome == "conflict" else messages.SUCCESS
    messages.add_message(
        request, level, f"{mark.voter.cedula_masked} · {mark.voter.full_name}: {mark.message}"
    )
    return redirect("voting:table", pk=assignment.pk)


@never_cache
@login_required
@require_POST
def table_sheet(request, pk):
    """An officer's entry of the table's tally sheet, with the scan of the signed sheet."""
    assignment = tables.assignment_for(user=request.user, pk=pk)
    projects = tables.ballot_projects(assignment.consultation, assignment.table.commune_id)
    form = TallySheetForm(request.POST, request.FILES, projects=projects)
    if form.is_valid():
        try:
            sheet = tables.tally_enter(
                assignment=assignment,
                by=request.user,
                votes=form.votes(),
                blank=form.cleaned_data["blank"],
                null=form.cleaned_data["null"],
                scan=form.cleaned_data["scan"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _sheet_message(sheet))
            return redirect("voting:table", pk=assignment.pk)
    context = _table_context(request, assignment, sheet_form=form)
    return render(request, "voting/tables/table.html", context, status=422)


def _sheet_message(sheet: TallySheet) -> str:
    if sheet.status == TallySheet.Status.ACCEPTED:
        return _("Both entries agree with the voting book: the sheet is accepted.")
    if sheet.status == TallySheet.Status.REVIEW:
        return _(
            "The entries do not agree (or do not match the voting book): staff will review it."
        )
    return _("Entry saved. A second officer of the table must enter the same sheet.")


# Staff: tally sheets and conflicts -------------------------------------------------------------


@never_cache
@login_required
def sheet_queue(request):
    """Sheets under review, sheets still waiting after their deadline, and the book's conflicts,
    in the reviewer's states."""
    permissions.require(request.user, "voting.review_tally_sheets")
    scope = permissions.tally_sheets_reviewable_q(request.user)
    now = timezone.now()
    sheets = (
        TallySheet.objects.filter(scope)
        .filter(
            Q(status=TallySheet.Status.REVIEW)
            | Q(status=TallySheet.Status.WAITING, consultation__tally_deadline_at__lt=now)
        )
        .select_related("consultation", "table__centre", "table__commune")
        .annotate(entry_count=Tally("entries"))
        .order_by("consultation_id", "table__code")
    )
    conflicts = (
        BookConflict.objects.filter(scope)
        .select_related("consultation", "table__centre", "table__commune", "resident")
        .order_by("-received_at")
    )
    context = {
        "sheets": Paginator(sheets, 50).get_page(request.GET.get("page")),
        "conflicts": Paginator(conflicts, 50).get_page(request.GET.get("conflicts")),
    }
    return render(request, "voting/tables/sheet_queue.html", context)


@never_cache
@login_required
def sheet_review(request, pk):
    sheet = get_object_or_404(
        TallySheet.objects.select_related(
            "consultation", "table__centre", "table__commune__parish__municipality"
        ),
        pk=pk,
    )
    permissions.require(request.user, "voting.review_tally_sheets", sheet)
    consultation = sheet.consultation
    entries = list(sheet.entries.select_related("scan").order_by("entered_at"))
    projects = tables.ballot_projects(consultation, sheet.table.commune_id)
    form = DecisionForm(request.POST or None, entries=entries, projects=projects)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                tables.tally_decide(
                    sheet=sheet,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    **form.arguments(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Decision recorded."))
                return redirect("voting:sheet-review", pk=sheet.pk)
        status = 422
    marks = tables.table_marks(consultation, sheet.table)
    rows = [
        {
            "title": project.title,
            "values": [entry.votes.get(str(project.pk)) for entry in entries],
            "accepted": sheet.votes.get(str(project.pk)),
        }
        for project in projects
    ]
    for label, attribute in ((_("Blank"), "blank"), (_("Null"), "null")):
        rows.append(
            {
                "title": label,
                "values": [getattr(entry, attribute) for entry in entries],
                "accepted": getattr(sheet, attribute) if sheet.status == "accepted" else None,
            }
        )
    for row in rows:
        row["differs"] = len(set(row["values"])) > 1
    context = {
        "sheet": sheet,
        "consultation": consultation,
        "entries": entries,
        "rows": rows,
        "totals": [entry.ballots for entry in entries],
        "marks": marks,
        "conflicts": BookConflict.objects.filter(consultation=consultation, table=sheet.table)
        .select_related("resident", "existing_table__centre")
        .order_by("received_at"),
        "events": SheetEvent.objects.filter(sheet=sheet).select_related("by"),
        "form": form,
        "may_decide": not sheet.is_final
        and (
            sheet.status == TallySheet.Status.REVIEW
            or (consultation.tally_deadline_at and timezone.now() > consultation.tally_deadline_at)
        ),
    }
    return render(request, "voting/tables/sheet_review.html", context, status=status)


# The cycle admin: tables, officers, imports ----------------------------------------------------


@never_cache
@login_required
def round_tables(request, pk):
    """A round's tables and their officers; assign an officer to a table, or take one off."""
    permissions.require(request.user, "voting.manage_tables")
    consultation = get_object_or_404(Consultation, pk=pk)
    form = AssignForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                tables.officer_assign(
                    consultation=consultation,
                    table=form.cleaned_data["table"],
                    officer=form.cleaned_data["email"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Officer assigned."))
                return redirect("voting:round-tables", pk=consultation.pk)
        status = 422
    query = request.GET.get("q", "").strip()
    found = VotingTable.objects.select_related("centre", "commune").order_by("code")
    if query:
        found = found.filter(
            Q(code__icontains=query)
            | Q(centre__name__icontains=query)
            | Q(commune__name__icontains=query)
            | Q(commune__code__iexact=query)
        )
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    officers: dict[int, list[OfficerAssignment]] = {}
    for assignment in OfficerAssignment.objects.filter(
        consultation=consultation, table__in=[t.pk for t in page.object_list]
    ).select_related("officer"):
        officers.setdefault(assignment.table_id, []).append(assignment)
    for found_table in page.object_list:
        found_table.round_officers = officers.get(found_table.pk, [])
    context = {
        "consultation": consultation,
        "form": form,
        "page": page,
        "query": query,
        "query_string": urlencode({"q": query}) if query else "",
        "import_form": ImportForm(),
    }
    return render(request, "voting/tables/round_tables.html", context, status=status)


@login_required
@require_POST
def officer_unassign(request, pk):
    assignment = get_object_or_404(
        OfficerAssignment.objects.select_related("consultation", "table"), pk=pk
    )
    permissions.require(request.user, "voting.manage_tables")
    try:
        tables.officer_unassign(assignment=assignment, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Officer taken off the table."))
    return redirect("voting:round-tables", pk=assignment.consultation_id)


@login_required
@require_POST
def tables_import(request, pk):
    """Upload voting centres or tables as CSV (the same checks as the import commands)."""
    permissions.require(request.user, "voting.manage_tables")
    consultation = get_object_or_404(Consultation, pk=pk)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("voting:round-tables", pk=consultation.pk)
    try:
        text = io.TextIOWrapper(form.cleaned_data["file"].file, encoding="utf-8-sig")
        report = import_file(
            kind=form.cleaned_data["kind"],
            lines=text,
            by=request.user,
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
    except (ImportFileError, UnicodeDecodeError) as error:
        message = (
            _("The file is not UTF-8 text.") if isinstance(error, UnicodeDecodeError) else error
        )
        messages.error(request, message)
        return redirect("voting:round-tables", pk=consultation.pk)
    for row_error in report.errors[:20]:
        messages.error(
            request,
            _("Line %(line)d: %(message)s")
            % {"line": row_error.line, "message": row_error.message},
        )
    if report.written:
        messages.success(
            request,
            _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            },
        )
    else:
        messages.error(request, _("Nothing was imported: correct the lines above and try again."))
    return redirect("voting:round-tables", pk=consultation.pk)
