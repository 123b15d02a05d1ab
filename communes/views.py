from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import permissions

from . import files, selectors, services
from .forms import CensusClaimForm, ClaimDecisionForm, CommuneFilterForm
from .models import CommuneFile, ResidentClaim


def commune_directory(request):
    form = CommuneFilterForm(request.GET or None)
    # A filter that does not validate is dropped from cleaned_data; the valid ones still apply.
    form.is_valid()
    filters = getattr(form, "cleaned_data", {})
    per_page = filters.get("per_page") or settings.DIRECTORY_PAGE_SIZE
    page = selectors.commune_directory_page(
        filters=filters, per_page=per_page, number=request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = "communes/directory.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def commune_detail(request, code):
    commune = selectors.commune_get_public(code=code)
    return render(
        request,
        "communes/commune_detail.html",
        {
            "commune": commune,
            "councils": selectors.commune_councils(commune=commune),
            "spokespeople": selectors.commune_spokespeople(commune=commune),
        },
    )


@login_required
def my_communes(request):
    permissions.require(request.user, "communes.see_spokesperson_dashboard")
    return render(
        request,
        "communes/my_communes.html",
        {"communes": selectors.communes_spoken_for(user=request.user)},
    )


@login_required
def my_participation(request):
    form = CensusClaimForm(request.POST or None)
    if request.method == "POST" and not ratelimit.consume(
        request, action="census_claim", user=request.user
    ):
        form.add_error(
            None,
            _(
                "Too many attempts to claim a record. Wait an hour and try again, or ask a "
                "spokesperson of your commune to look you up."
            ),
        )
    elif request.method == "POST" and form.is_valid():
        try:
            services.resident_claim_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Claim received. A spokesperson of your commune will verify it."),
            )
            return redirect("communes:my-participation")
    context = {"form": form, **selectors.participation_of(user=request.user)}
    return render(request, "communes/my_participation.html", context)


@login_required
def claims_queue(request):
    permissions.require(request.user, "communes.see_claims_queue")
    claims = selectors.claims_decidable_by(user=request.user).filter(
        status=ResidentClaim.Status.PENDING
    )
    page = Paginator(claims, 50).get_page(request.GET.get("page"))
    return render(request, "communes/claims_queue.html", {"page": page})


@login_required
@require_POST
def claim_decide(request, pk):
    claim = selectors.claim_get_for_decision(user=request.user, pk=pk)
    form = ClaimDecisionForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                claim = services.resident_claim_approve(claim=claim, by=request.user)
            else:
                claim = services.resident_claim_reject(
                    claim=claim, by=request.user, reason=form.cleaned_data["reason"]
                )
        except ValidationError as error:
            form.add_error(None, error)
    if request.htmx:
        status = 200 if form.is_valid() and not form.non_field_errors() else 422
        return render(
            request,
            "communes/claims_queue.html#claim",
            {"claim": claim, "form": form},
            status=status,
        )
    if form.errors:
        for error in form.errors.values():
            messages.error(request, " ".join(error))
    else:
        messages.success(
            request, _("Decision recorded for %(name)s.") % {"name": claim.resident.full_name}
        )
    return redirect("communes:claims-queue")


def file_download(request, pk):
    """Serve a stored file to whoever may see it; to anyone else it does not exist."""
    stored = get_object_or_404(
        CommuneFile.objects.select_related("commune__parish__municipality"), pk=pk
    )
    if not permissions.can(request.user, "communes.view_file", stored):
        raise Http404
    response = FileResponse(
        stored.file.open("rb"),
        content_type=files.CONTENT_TYPES[stored.kind],
        filename=stored.original_name,
        as_attachment=stored.kind == files.PDF,
    )
    response["Cache-Control"] = (
        "private, max-age=0" if not stored.is_public else "public, max-age=3600"
    )
    return response


@login_required
def my_data(request):
    """Everything stored about the signed-in person, as one JSON download."""
    response = JsonResponse(
        selectors.personal_data_of(user=request.user),
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )
    response["Content-Disposition"] = 'attachment; filename="mis-datos.json"'
    response["Cache-Control"] = "no-store"
    return response
