"""Emails about a disbursement: each change of state goes to the people it concerns."""

from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts import permissions
from communes.selectors import active_spokespeople

from .models import Disbursement


def _payers(disbursement: Disbursement) -> set[str]:
    return set(permissions.payers_of(disbursement.allocation).values_list("email", flat=True))


def _commune(disbursement: Disbursement) -> set[str]:
    spokespeople = active_spokespeople().filter(
        commune=disbursement.project.commune, unit="finance", resident__user__isnull=False
    )
    emails = set(spokespeople.values_list("resident__user__email", flat=True))
    emails.add(disbursement.requested_by.email)
    return emails


def disbursement_notify(*, disbursement_id: int, status: str, approvals: int) -> int:
    """One email per person concerned; a retry of the same notice sends nothing twice."""
    key = f"disbursement-notice:{disbursement_id}:{status}:{approvals}"
    if not cache.add(key, True, timeout=30 * 86400):
        return 0
    disbursement = Disbursement.objects.select_related(
        "allocation__source", "project__commune__parish__municipality", "requested_by"
    ).get(pk=disbursement_id)
    if status == Disbursement.Status.REQUESTED:
        # Waiting for (more) approval: the payers; the commune hears when it is decided.
        to = _payers(disbursement) - {disbursement.requested_by.email}
    else:
        to = _commune(disbursement) | _payers(disbursement)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Disbursement of %(amount)s USD for “%(project)s”: %(status)s") % {
            "amount": disbursement.amount_usd,
            "project": disbursement.project.title,
            "status": Disbursement.Status(status).label,
        }
        body = render_to_string(
            "funding/email/disbursement.txt",
            {"disbursement": disbursement, "status": Disbursement.Status(status).label},
        )
    messages = [mail.EmailMessage(f"[Comunas] {subject}", body, to=[email]) for email in sorted(to)]
    return mail.mailers.default.send_messages(messages) or 0
