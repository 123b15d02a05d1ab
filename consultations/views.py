"""A commune's part in a round (assemblies, problems, proposals), the ministry's validation queue
and a round's public page. (The cycle admin's pages, which move rounds, are the cycle app's.)"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import permissions
from communes.selectors import commune_get_public

from . import selectors, services
from .forms_proposals import (
    AssemblyForm,
    DecisionForm,
    NewProjectForm,
    ProblemForm,
    ProjectForm,
    QueueFilterForm,
)
from .models import Assembly, Consultation, Problem, Project


def _error_messages(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


# Assemblies and proposals -------------------------------------------------------------------


def _round_of_commune(code: str, pk: int):
    return commune_get_public(code=code), selectors.consultation_get(pk=pk)


def _require_writer(request, commune):
    if not permissions.can(request.user, "consultations.write_for_commune", commune):
        raise Http404  # another commune's workspace does not exist for them


def commune_round(request, code, pk, *, assembly_form=None, project_form=None, status=200):
    """A commune's part in a round: public for everyone; its spokespeople also write here."""
    commune, consultation = _round_of_commune(code, pk)
    if consultation.phase in (Consultation.Phase.DRAFT, Consultation.Phase.CANCELLED):
        raise Http404
    may_write = permissions.can(request.user, "consultations.write_for_commune", commune)
    writing = may_write and consultation.phase == Consultation.Phase.ASSEMBLIES
    context = {
        "commune": commune,
        "consultation": consultation,
        "may_write": may_write,
        "writing": writing,
        "assembly_form": assembly_form or (AssemblyForm(commune=commune) if writing else None),
        "problem_form": ProblemForm(),
        "project_form": project_form or NewProjectForm(),
        **selectors.commune_round(commune=commune, consultation=consultation),
    }
    return render(request, "consultations/commune_round.html", context, status=status)


@login_required
@require_POST
def assembly_create(request, code, pk):
    commune, consultation = _round_of_commune(code, pk)
    _require_writer(request, commune)
    form = AssemblyForm(request.POST, request.FILES, commune=commune)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.assembly_record(
                consultation=consultation,
                commune=commune,
                by=request.user,
                held_on=data["held_on"],
                place=data["place"],
                councils=data["councils"],
                call=data["call"],
                attendance=data["attendance"],
                attendee_cedulas=data["attendee_cedulas"],
                minutes=data["minutes"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Assembly recorded."))
            return redirect("consultations:commune-round", code=code, pk=pk)
    return commune_round(request, code, pk, assembly_form=form, status=422)


def _problems_response(request, assembly):
    assembly.refresh_from_db()
    commune, consultation = assembly.commune, assembly.consultation
    if request.htmx:
        return render(
            request,
            "consultations/commune_round.html#problems",
            {
                "assembly": assembly,
                "writing": True,
                "commune": commune,
                "consultation": consultation,
            },
        )
    return redirect("consultations:commune-round", code=commune.code, pk=consultation.pk)


@login_required
@require_POST
def problem_add(request, pk):
    assembly = get_object_or_404(Assembly.objects.select_related("commune", "consultation"), pk=pk)
    _require_writer(request, assembly.commune)
    form = ProblemForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Write the problem."))
        services.problem_add(assembly=assembly, title=form.cleaned_data["title"], by=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    return _problems_response(request, assembly)


@login_required
@require_POST
def problem_move(request, pk):
    problem = get_object_or_404(
        Problem.objects.select_related("assembly__commune", "assembly__consultation"), pk=pk
    )
    _require_writer(request, problem.assembly.commune)
    try:
        services.problem_move(
            problem=problem, direction=request.POST.get("direction", ""), by=request.user
        )
    except ValidationError as error:
        _error_messages(request, error)
    return _problems_response(request, problem.assembly)


@login_required
@require_POST
def project_create(request, code, pk):
    commune, consultation = _round_of_commune(code, pk)
    _require_writer(request, commune)
    form = NewProjectForm(request.POST)
    if form.is_valid():
        try:
            project = services.project_create(
                consultation=consultation,
                commune=commune,
                by=request.user,
                title=form.cleaned_data["title"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("consultations:project-edit", pk=project.pk)
    return commune_round(request, code, pk, project_form=form, status=422)


def _project_for(request, pk):
    project = get_object_or_404(
        Project.objects.select_related("consultation", "commune__parish__municipality", "problem"),
        pk=pk,
    )
    _require_writer(request, project.commune)
    return project


@login_required
def project_edit(request, pk):
    """The proposal form. With htmx every change is saved as it is made (autosave); the submit
    button posts the whole form, so what is submitted is exactly what the page shows."""
    project = _project_for(request, pk)
    form = ProjectForm(request.POST or None, instance=project)
    saved = False
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                # Submitting saves the form and submits it, both or neither: a refused submission
                # (422) leaves the proposal as it was; the page keeps what was typed.
                with transaction.atomic():
                    project = services.project_update(
                        project=project,
                        by=request.user,
                        version=form.cleaned_data["version"],
                        changes=form.changes(),
                    )
                    # htmx adds the last clicked button to an autosave it sends at that moment;
                    # only the form's own post (the button's) submits.
                    if request.POST.get("action") == "submit" and not request.htmx:
                        project = services.project_submit(project=project, by=request.user)
                saved = True
            except ValidationError as error:
                form.add_error(None, error)
                status = 409 if getattr(error, "code", "") == "conflict" else 422
            else:
                form = ProjectForm(instance=project)
        else:
            status = 422
        if not request.htmx and status == 200:
            if project.status == Project.Status.SUBMITTED:
                messages.success(
                    request, _("Proposal submitted: it is locked while the ministry validates it.")
                )
            else:
                messages.success(request, _("Proposal saved."))
            return redirect("consultations:project-edit", pk=project.pk)
    template = "consultations/project_edit.html"
    if request.htmx:
        template += "#state"
    project.refresh_from_db()
    return render(
        request, template, {"project": project, "form": form, "saved": saved}, status=status
    )


@login_required
@require_POST
def project_withdraw(request, pk):
    project = _project_for(request, pk)
    try:
        services.project_withdraw(project=project, by=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    else:
        messages.success(request, _("The proposal is a draft again."))
    return redirect("consultations:project-edit", pk=pk)


@login_required
@require_POST
def project_photo_add(request, pk):
    project = _project_for(request, pk)
    upload = request.FILES.get("photo")
    try:
        if upload is None:
            raise ValidationError(_("Choose a photo to upload."))
        services.project_photo_add(project=project, uploaded=upload, by=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    else:
        messages.success(request, _("Photo added."))
    return redirect("consultations:project-edit", pk=pk)


@login_required
def validation_queue(request):
    permissions.require(request.user, "consultations.see_validation_queue")
    filters = QueueFilterForm(request.GET or None)
    filters.is_valid()
    projects = selectors.validation_queue(
        user=request.user, filters=getattr(filters, "cleaned_data", {})
    )
    page = Paginator(projects, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "consultations/validation_queue.html",
        {"page": page, "filters": filters, "form": DecisionForm(), "query": query.urlencode()},
    )


@login_required
@require_POST
def project_decide(request, pk):
    project = get_object_or_404(
        Project.objects.select_related(
            "consultation", "commune__parish__municipality__state", "problem__assembly__minutes"
        ),
        pk=pk,
    )
    if not permissions.can(request.user, "consultations.decide_projects", project):
        raise Http404
    form = DecisionForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            project = services.project_decide(
                project=project,
                by=request.user,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            status = 422
    else:
        status = 422
    if request.htmx:
        return render(
            request,
            "consultations/validation_queue.html#row",
            {"project": project, "form": form},
            status=status,
        )
    for error in form.non_field_errors():
        messages.error(request, error)
    if status == 200:
        messages.success(
            request, _("Decision recorded: %(status)s.") % {"status": project.get_status_display()}
        )
    return redirect("consultations:validation-queue")


def round_public(request, pk):
    """A round's public page: assemblies held and proposals by state and by category."""
    consultation = selectors.consultation_get(pk=pk)
    if consultation.phase in (Consultation.Phase.DRAFT, Consultation.Phase.CANCELLED):
        raise Http404
    return render(
        request,
        "consultations/round_public.html",
        {"consultation": consultation, **selectors.round_statistics(consultation=consultation)},
    )
