"""Emails about a round's phases: to the spokespeople of the communes taking part, and, when
voting opens, to the residents who asked to be told."""

from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from communes.selectors import active_spokespeople

from .models import Consultation, Project
from .selectors import participating_communes


def _recipients(consultation: Consultation, phase: str) -> list[str]:
    communes = participating_communes(consultation)
    spokespeople = active_spokespeople().filter(commune__in=communes, resident__user__isnull=False)
    emails = set(spokespeople.values_list("resident__user__email", flat=True))
    if phase == Consultation.Phase.VOTING:
        emails |= set(
            User.objects.filter(
                notify_voting_opens=True,
                is_active=True,
                resident__verification="verified",
                resident__council__commune__in=communes,
            ).values_list("email", flat=True)
        )
    return sorted(emails)


def phase_changed_notify(*, consultation_id: int, phase: str) -> int:
    """Send one email per person; a retry of the same notice sends nothing twice."""
    if not cache.add(f"consultation-notice:{consultation_id}:{phase}", True, timeout=30 * 86400):
        return 0
    consultation = Consultation.objects.get(pk=consultation_id)
    with translation.override(settings.LANGUAGE_CODE):
        context = {"consultation": consultation, "phase": Consultation.Phase(phase).label}
        subject = _("%(round)s: %(phase)s") % {
            "round": consultation.name,
            "phase": context["phase"],
        }
        body = render_to_string("consultations/email/phase_changed.txt", context)
    messages = [
        mail.EmailMessage(f"[Comunas] {subject}", body, to=[email])
        for email in _recipients(consultation, phase)
    ]
    return mail.mailers.default.send_messages(messages) or 0


def project_decision_notify(*, project_id: int) -> int:
    """Tell the commune's spokespeople what was decided about a proposal, and why."""
    project = Project.objects.select_related("consultation", "commune").get(pk=project_id)
    if not cache.add(f"project-decision:{project_id}:{project.version}", True, timeout=30 * 86400):
        return 0
    emails = sorted(
        set(
            active_spokespeople()
            .filter(commune=project.commune, resident__user__isnull=False)
            .values_list("resident__user__email", flat=True)
        )
    )
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Proposal “%(title)s”: %(status)s") % {
            "title": project.title,
            "status": project.get_status_display(),
        }
        body = render_to_string("consultations/email/project_decided.txt", {"project": project})
    messages = [mail.EmailMessage(f"[Comunas] {subject}", body, to=[email]) for email in emails]
    return mail.mailers.default.send_messages(messages) or 0
