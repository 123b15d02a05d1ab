"""The round's phase machine: which moves are allowed, and what a round must hold to make them.

``draft → scheduled → assemblies → validation → voting → counting → published``, and
``cancelled`` from any phase before ``published``. Each move is one function that locks the round,
checks only what this app knows (the move is allowed from the phase it is in, its date has come or
a person gave a reason, the rules are sound, the ballots are ready), writes the PhaseTransition
row, audits it and emails the people concerned on commit. An illegal move raises ValidationError
and changes nothing; each phase can be entered once, so a second worker or a rerun cannot move a
round twice.

It knows nothing of urns, counts or money: a round is moved through ``cycle.services``, which
calls these functions and does the rest of each step in the same transaction (opening the urn,
queueing the count, checking it before publishing). The import-linter contract in pyproject.toml
lets no other app import this module.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
import outbox
from accounts import permissions

from .models import NEXT_PHASE, PHASE_STARTS, Consultation, Exclusion, PhaseTransition, Project
from .selectors import participating_communes
from .services import ROMAN, RULE_FIELDS, proposed_dates, quarter_of, rules_problems
from .tasks import consultation_phase_notify_task

Phase = Consultation.Phase
MIN_APPROVED_PROJECTS = 2


def _enter(
    consultation: Consultation, to: str, *, by, reason: str, now: datetime.datetime
) -> Consultation:
    """Record the move, change the phase, audit it and tell the people concerned (on commit)."""
    from_phase = consultation.phase
    try:
        with transaction.atomic():
            PhaseTransition.objects.create(
                consultation=consultation,
                from_phase=from_phase,
                to_phase=to,
                at=now,
                by=by,
                reason=reason,
            )
    except IntegrityError:
        raise ValidationError(
            _("The round has already been in that phase."), code="phase_entered_before"
        ) from None
    consultation.phase = to
    consultation.save(update_fields=["phase", "rules_frozen_at"])
    audit.record(
        actor=by,
        action="consultation.enter_phase",
        obj=consultation,
        before={"phase": from_phase},
        after={"phase": to, "reason": reason},
    )
    transaction.on_commit(lambda: outbox.send(consultation_phase_notify_task, consultation.pk, to))
    return consultation


def phase_due(consultation: Consultation, now: datetime.datetime) -> str | None:
    """The phase the beat should move this round into now, if its date has come."""
    to = NEXT_PHASE.get(consultation.phase)
    starts = to and getattr(consultation, PHASE_STARTS[to])
    if to is None or starts is None or starts > now:
        return None
    return to


def _require_date_reached(consultation, to, *, by, reason, now):
    """The job moves a round only when the phase's date has come; a person may move it earlier,
    with a reason."""
    starts = getattr(consultation, PHASE_STARTS[to])
    if by is None:
        if starts is None or starts > now:
            raise ValidationError(_("The date of this phase has not come yet."), code="not_due")
    else:
        permissions.require(by, "consultations.manage_cycle", consultation)
        if not (reason or "").strip():
            raise ValidationError(_("Say why the round is moved by hand."), code="reason_required")


def _transition(to: str, *, expected_from: str, checks=None):
    @transaction.atomic
    def move(*, consultation: Consultation, by=None, reason: str = "", now=None) -> Consultation:
        now = now or timezone.now()
        locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
        if locked.phase != expected_from:
            raise ValidationError(
                _("The round is in phase “%(phase)s”; it cannot move to “%(to)s” from there.")
                % {"phase": locked.get_phase_display(), "to": Phase(to).label},
                code="wrong_phase",
            )
        _require_date_reached(locked, to, by=by, reason=reason, now=now)
        if checks is not None:
            checks(locked, now=now)
        return _enter(locked, to, by=by, reason=reason, now=now)

    move.__doc__ = f"Move a round from {expected_from} to {to} (cycle.services does the rest)."
    return move


def _ballots_ready(consultation: Consultation, *, now) -> None:
    """Voting opens only for communes with at least two approved projects; the others are left
    off the vote with the reason, and the rules freeze."""
    taking_part = participating_communes(consultation).annotate(
        approved=Count(
            "projects",
            filter=Q(
                projects__consultation=consultation,
                projects__status=Project.Status.APPROVED,
            ),
        )
    )
    ready = [commune.pk for commune in taking_part if commune.approved >= MIN_APPROVED_PROJECTS]
    if not ready:
        raise ValidationError(
            _("No commune has at least two approved projects: there is nothing to vote on."),
            code="no_ballots",
        )
    Exclusion.objects.bulk_create(
        Exclusion(
            consultation=consultation,
            commune=commune,
            kind=Exclusion.Kind.NO_BALLOT,
            reason=_("%(count)d approved project(s) when voting opened; at least two are needed.")
            % {"count": commune.approved},
        )
        for commune in taking_part
        if commune.pk not in ready
    )
    consultation.rules_frozen_at = now


consultation_open_assemblies = _transition(Phase.ASSEMBLIES, expected_from=Phase.SCHEDULED)
consultation_open_validation = _transition(Phase.VALIDATION, expected_from=Phase.ASSEMBLIES)
consultation_open_voting = _transition(
    Phase.VOTING, expected_from=Phase.VALIDATION, checks=_ballots_ready
)
consultation_close_voting = _transition(Phase.COUNTING, expected_from=Phase.VOTING)
consultation_publish = _transition(Phase.PUBLISHED, expected_from=Phase.COUNTING)


@transaction.atomic
def consultation_schedule(*, consultation: Consultation, by, now=None) -> Consultation:
    """A draft becomes scheduled: its rules are sound and every date lies ahead, in order."""
    now = now or timezone.now()
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase != Phase.DRAFT:
        raise ValidationError(_("Only a draft can be scheduled."), code="wrong_phase")
    problems = rules_problems(locked)
    if not problems and locked.assemblies_open_at <= now:
        problems.append(_("The assemblies must open in the future."))
    if problems:
        raise ValidationError(problems, code="not_schedulable")
    return _enter(locked, Phase.SCHEDULED, by=by, reason="", now=now)


@transaction.atomic
def consultation_cancel(*, consultation: Consultation, by, reason: str, now=None) -> Consultation:
    now = now or timezone.now()
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase in (Phase.PUBLISHED, Phase.CANCELLED):
        raise ValidationError(
            _("A published or cancelled round cannot be cancelled."), code="wrong_phase"
        )
    if not (reason or "").strip():
        raise ValidationError(_("Say why the round is cancelled."), code="reason_required")
    return _enter(locked, Phase.CANCELLED, by=by, reason=reason.strip(), now=now)


@transaction.atomic
def consultation_create_next(*, by=None, now=None) -> Consultation | None:
    """Propose next quarter's round as a draft, with the last round's rules and dates from the
    calendar, for the admin to confirm. Returns None when it already exists: running it twice,
    or twice at once, creates one round."""
    now = now or timezone.now()
    if by is not None:
        permissions.require(by, "consultations.manage_cycle")
    today = timezone.localdate(now)
    year, quarter = quarter_of(today, shift=1)
    live = Consultation.objects.exclude(phase=Phase.CANCELLED)
    if live.filter(year=year, quarter=quarter).exists():
        return None
    previous = live.order_by("-year", "-quarter").first()
    if previous is not None:
        rules = {name: getattr(previous, name) for name in RULE_FIELDS}
    else:
        rules = {"funder_by_rank": [Consultation.Funder.NATIONAL]}
    try:
        with transaction.atomic():
            created = Consultation.objects.create(
                name=_("People's Consultation %(year)d-%(quarter)s")
                % {"year": year, "quarter": ROMAN[quarter]},
                year=year,
                quarter=quarter,
                created_from=previous,
                **proposed_dates(year, quarter),
                **rules,
            )
    except IntegrityError:  # another worker proposed it at the same moment
        return None
    audit.record(
        actor=by,
        action="consultation.create",
        obj=created,
        after={"year": year, "quarter": quarter},
    )
    return created
