"""The cycle admin's pages: the rounds, each round's timeline and readiness, its rules, and moving
it by hand (every move through ``services``, the same steps the beat takes)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import permissions
from consultations import selectors
from consultations import services as consultation_services
from consultations.forms import (
    CommissionerAppointForm,
    ConsultationForm,
    ExclusionForm,
    ReasonForm,
)
from consultations.models import NEXT_PHASE, Consultation
from voting import commissioners
from voting.models import Commissioner
from voting.selectors import decryption_progress

from . import services


def _require_cycle_admin(request):
    permissions.require(request.user, "consultations.manage_cycle")


def _error_messages(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
def round_list(request):
    _require_cycle_admin(request)
    if request.method == "POST":
        created = services.round_propose_next(by=request.user)
        if created is None:
            messages.info(request, _("Next quarter's round already exists."))
            return redirect("cycle:round-list")
        messages.success(
            request, _("Draft created from the last round: check its dates and rules.")
        )
        return redirect("cycle:round-detail", pk=created.pk)
    rounds = selectors.consultations_for_cycle_admin()
    return render(request, "cycle/round_list.html", {"rounds": rounds})


@login_required
def round_detail(request, pk):
    _require_cycle_admin(request)
    consultation = selectors.consultation_get(pk=pk)
    readiness = Paginator(selectors.consultation_readiness(consultation=consultation), 50)
    context = {
        "consultation": consultation,
        "timeline": selectors.consultation_timeline(consultation=consultation),
        "readiness": readiness.get_page(request.GET.get("page")),
        "decryption": decryption_progress(consultation=consultation),
        "exclusions": selectors.consultation_exclusions(consultation=consultation),
        "exclusion_form": ExclusionForm(consultation=consultation),
        "problems": consultation_services.rules_problems(consultation),
        "commissioners": commissioners.seats_of(consultation),
        "commissioners_open": consultation.rules_frozen_at is None
        and consultation.phase not in commissioners.OPEN_OR_OVER,
        "appoint_form": CommissionerAppointForm(),
    }
    return render(request, "cycle/round_detail.html", context)


@login_required
def round_edit(request, pk):
    _require_cycle_admin(request)
    consultation = selectors.consultation_get(pk=pk)
    frozen = consultation_services.FROZEN_ONCE_VOTING if consultation.rules_frozen_at else ()
    form = ConsultationForm(request.POST or None, instance=consultation, frozen_fields=frozen)
    if request.method == "POST" and form.is_valid():
        try:
            consultation_services.consultation_update(
                consultation=consultation, by=request.user, changes=form.changes()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Round saved."))
            return redirect("cycle:round-detail", pk=consultation.pk)
    # The form changed the instance while validating; show the saved round beside it.
    consultation.refresh_from_db()
    return render(request, "cycle/round_edit.html", {"consultation": consultation, "form": form})


@login_required
@require_POST
def round_schedule(request, pk):
    _require_cycle_admin(request)
    consultation = selectors.consultation_get(pk=pk)
    try:
        services.round_schedule(consultation=consultation, by=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    else:
        messages.success(request, _("Round scheduled: it will open on its own on its dates."))
    return redirect("cycle:round-detail", pk=pk)


MANUAL_ACTIONS = {"advance", "cancel"}


@login_required
def round_move(request, pk, action):
    """Advance to the next phase or cancel, after a confirmation page that asks for a reason."""
    _require_cycle_admin(request)
    if action not in MANUAL_ACTIONS:
        raise Http404
    consultation = selectors.consultation_get(pk=pk)
    next_phase = NEXT_PHASE.get(consultation.phase)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            move = services.round_cancel if action == "cancel" else services.round_advance
            move(consultation=consultation, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Done: the round is now in its new phase."))
            return redirect("cycle:round-detail", pk=pk)
    context = {
        "consultation": consultation,
        "form": form,
        "action": action,
        "next_phase": Consultation.Phase(next_phase).label if next_phase else None,
    }
    return render(request, "cycle/round_move.html", context)


@login_required
@require_POST
def round_exclude(request, pk):
    _require_cycle_admin(request)
    consultation = selectors.consultation_get(pk=pk)
    form = ExclusionForm(request.POST, consultation=consultation)
    if form.is_valid():
        try:
            consultation_services.commune_exclude(
                consultation=consultation,
                commune=form.cleaned_data["commune"],
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _error_messages(request, error)
        else:
            messages.success(request, _("Commune excluded from the round."))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("cycle:round-detail", pk=pk)


@login_required
@require_POST
def commissioner_appoint(request, pk):
    _require_cycle_admin(request)
    consultation = selectors.consultation_get(pk=pk)
    form = CommissionerAppointForm(request.POST)
    if form.is_valid():
        try:
            seat = commissioners.commissioner_appoint(
                consultation=consultation,
                email=form.cleaned_data["email"],
                index=form.cleaned_data["index"],
                by=request.user,
            )
        except ValidationError as error:
            _error_messages(request, error)
        else:
            messages.success(
                request,
                _("%(email)s is electoral commissioner number %(index)d of this round.")
                % {"email": seat.user.email, "index": seat.index},
            )
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect(f"{reverse('cycle:round-detail', args=[pk])}#commissioners-heading")


@login_required
@require_POST
def commissioner_remove(request, pk):
    _require_cycle_admin(request)
    seat = get_object_or_404(Commissioner.objects.select_related("consultation", "user"), pk=pk)
    try:
        commissioners.commissioner_remove(commissioner=seat, by=request.user)
    except ValidationError as error:
        _error_messages(request, error)
    else:
        messages.success(request, _("Appointment removed."))
    return redirect(
        f"{reverse('cycle:round-detail', args=[seat.consultation_id])}#commissioners-heading"
    )
