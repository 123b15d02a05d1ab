"""The online vote (ballot → confirmation → receipt), the receipt check, the urn's receipts, and
¿Dónde voto? (a cédula's voting place).

The receipt is shown once, in the response to the vote itself, and never stored with the person:
not in the session, not in a message, not in a log. A reload of that page does not re-send the
vote; the person is in the voting book and is told so.
"""

import logging
import traceback

from allauth.core import ratelimit
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from communes.models import Commune
from consultations.models import Consultation

from . import eligibility, selectors, services, urn, where_to_vote
from .forms import WhereToVoteForm
from .open_data import csv_lines

CLOSED = (Consultation.Phase.COUNTING, Consultation.Phase.PUBLISHED)
logger = logging.getLogger(__name__)


def _consultation(pk: int, *, voting=False) -> Consultation:
    if voting:
        consultation = selectors.consultation_in_voting(pk)
    else:
        consultation = Consultation.objects.select_related("urn").filter(pk=pk).first()
    if consultation is None or consultation.phase in (
        Consultation.Phase.DRAFT,
        Consultation.Phase.CANCELLED,
    ):
        raise Http404
    return consultation


def _refused(request, consultation, error: ValidationError, status=403):
    return render(
        request,
        "voting/refused.html",
        {"consultation": consultation, "reasons": error.messages, "code": error.code},
        status=status,
    )


def _chosen(request, projects):
    try:
        chosen = int(request.POST.get("project", ""))
    except ValueError:
        return None
    return next((project for project in projects if project.pk == chosen), None)


@never_cache
@login_required
def ballot(request, pk):
    """GET: the commune's ballot, shuffled. POST: the choice, shown back for confirmation."""
    # The round as the vote reads it (kept a few seconds: voter_check still refuses a closed
    # round, and the vote's own statement checks the live phase).
    consultation = _consultation(pk, voting=True)
    try:
        voter = services.voter_check(consultation=consultation, user=request.user)
    except ValidationError as error:
        return _refused(request, consultation, error)
    projects = services.ballot(consultation=consultation, commune_id=voter.commune_id)
    context = {"consultation": consultation, "voter": voter, "projects": projects}
    if request.method == "POST":
        project = _chosen(request, projects)
        if project is not None:
            return render(request, "voting/confirm.html", {**context, "project": project})
        context["error"] = _("Choose one project of the ballot.")
        return render(request, "voting/ballot.html", context, status=422)
    return render(request, "voting/ballot.html", context)


@never_cache
@login_required
@require_POST
def vote_confirm(request, pk):
    # No rate limit here: a vote is recorded once per person, and a repeat costs one indexed
    # query, less than the limiter's four cache round trips would (the benchmark's figures).
    consultation = _consultation(pk, voting=True)
    try:
        project_id = int(request.POST.get("project", ""))
    except ValueError:
        error = ValidationError(_("That project is not on your commune's ballot."), code="bad")
        return _refused(request, consultation, error, status=400)
    try:
        receipt = services.vote_cast(
            consultation=consultation, user=request.user, project_id=project_id
        )
    except ValidationError as error:
        status = 409 if error.code == "already_voted" else 403
        return _refused(request, consultation, error, status=status)
    receipt = urn.format_receipt(receipt)
    try:
        return render(
            request, "voting/receipt.html", {"consultation": consultation, "receipt": receipt}
        )
    except Exception as error:
        # The vote is in: whatever broke the page (a template, a static file's manifest), the
        # voter still gets their receipt, the only time it is shown.
        _receipt_page_failed(error)
        return _receipt_plain(receipt)


def _receipt_page_failed(error: Exception) -> None:
    """Log where the receipt's page broke, never the receipt: an exception's message may
    carry the page's context, so only its type and its frames are written."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error(
        "Vote recorded; its receipt page failed (%s), sent the plain receipt instead\n%s",
        type(error).__name__,
        frames,
    )


def _receipt_plain(receipt: str) -> HttpResponse:
    """The receipt without the template layer: built from strings alone, so it cannot fail for
    the reasons the page did."""
    return HttpResponse(
        format_html(
            '<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>{}</title></head><body><main><h1>{}</h1><p>{}</p>"
            '<p class="receipt" data-receipt="{}"><code>{}</code></p><p>{}</p>'
            "</main></body></html>",
            get_language() or "es",
            _("Vote recorded"),
            _("Your vote was recorded"),
            _("This is your receipt. Write it down or take a screenshot: it is shown only now."),
            receipt,
            receipt,
            _(
                "This page could not be shown whole, but your vote is in the urn. Do not vote "
                "again: you would be told that you already voted."
            ),
        )
    )


def receipt_check(request, pk):
    """Anyone with a receipt can see that its sealed ballot is in the urn, and was counted."""
    consultation = _consultation(pk)
    context = {"consultation": consultation, "closed": consultation.phase in CLOSED}
    code = request.GET.get("codigo", "").strip()
    if code and context["closed"]:
        context["code"] = code
        if not ratelimit.consume(request, action="receipt_check"):
            context["error"] = _("Too many checks from this connection. Wait a minute.")
            return render(request, "voting/receipt_check.html", context, status=429)
        context["found"] = selectors.receipt_find(
            consultation=consultation, receipt=urn.normalise_receipt(code)
        )
        if context["found"] is None:
            context["error"] = _(
                "No sealed ballot of this round has that receipt. Check that you copied it whole."
            )
    return render(request, "voting/receipt_check.html", context)


def urn_receipts(request, pk, code):
    """Every receipt in a commune's urn, once voting has closed, in receipt order."""
    consultation = _consultation(pk)
    if consultation.phase not in CLOSED:
        raise Http404
    commune = get_object_or_404(Commune, code=code)
    receipts = selectors.urn_receipts(consultation=consultation, commune=commune)
    response = StreamingHttpResponse(
        csv_lines(["receipt"], ({"receipt": receipt} for receipt in receipts)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="urna-{consultation.pk}-{code}.csv"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def where_to_vote_page(request):
    """¿Dónde voto?: a cédula gives its commune, voting centres, tables and ballot in the round
    open for voting or the next one; never a name. Posted, so no cédula is left in an address,
    a log or a browser's history; limited per address, so nobody walks through cédulas."""
    consultation = where_to_vote.where_to_vote_round()
    form = WhereToVoteForm(request.POST if request.method == "POST" else None)
    context = {"consultation": consultation, "form": form}
    status = 200
    if consultation is not None:
        context["hours"] = eligibility.voting_hours(consultation)
    if request.method == "POST" and consultation is not None:
        if not ratelimit.consume(request, action="where_to_vote"):
            context["limited"] = True
            status = 429
        elif form.is_valid():
            cedula = form.cleaned_data["cedula"]
            context["asked"] = cedula
            context["place"] = where_to_vote.voting_place_find(
                consultation=consultation, cedula=cedula
            )
            context["form"] = WhereToVoteForm()  # empty, for the next one
        else:
            status = 422
    return render(request, "voting/where_to_vote.html", context, status=status)
