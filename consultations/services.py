"""Every write to a round: the phase machine's transitions, its rules, its exclusions.

Each transition is one function with its preconditions; an illegal one raises ValidationError and
changes nothing. The scheduled tick (``consultations_advance_due``) uses the very same functions.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
import outbox
from accounts import permissions
from communes.models import Commune

from .models import Consultation, Exclusion, PhaseTransition, Project

Phase = Consultation.Phase
logger = logging.getLogger(__name__)

NEXT_PHASE = {
    Phase.SCHEDULED: Phase.ASSEMBLIES,
    Phase.ASSEMBLIES: Phase.VALIDATION,
    Phase.VALIDATION: Phase.VOTING,
    Phase.VOTING: Phase.COUNTING,
    Phase.COUNTING: Phase.PUBLISHED,
}
# The date at which the scheduled job moves a round into each phase.
PHASE_STARTS = {
    Phase.ASSEMBLIES: "assemblies_open_at",
    Phase.VALIDATION: "validation_opens_at",
    Phase.VOTING: "voting_opens_at",
    Phase.COUNTING: "voting_closes_at",
    Phase.PUBLISHED: "tally_deadline_at",
}
DATE_FIELDS = list(PHASE_STARTS.values())
RULE_FIELDS = [
    "min_age",
    "max_age",
    "max_options",
    "winners_per_commune",
    "funder_by_rank",
    "amount_usd",
    "tie_break",
    "channels",
    "voting_hours_start",
    "voting_hours_end",
    "min_turnout_percent",
    "quorum_first_call_percent",
    "quorum_second_call_percent",
    "key_shares_needed",
    "key_shares_total",
]
# What voting depends on: frozen once voting opens.
FROZEN_ONCE_VOTING = [*RULE_FIELDS, "voting_opens_at", "voting_closes_at", "tally_deadline_at"]
MIN_APPROVED_PROJECTS = 2


def _locked(consultation: Consultation) -> Consultation:
    return Consultation.objects.select_for_update().get(pk=consultation.pk)


def refuse(message: str, code: str):
    """Refuse a write: a ValidationError with the message people read and the code tests and
    pages match. The one definition; the apps above (voting, funding) use it too."""
    raise ValidationError(message, code=code)


# The phase machine's name for it (its functions move to the cycle app; issue 13).
_refuse = refuse


def rules_problems(consultation: Consultation) -> list[str]:
    """What is wrong with a round's rules and dates, in the order a person would fix it."""
    problems = []
    missing = [
        str(Consultation._meta.get_field(name).verbose_name)
        for name in DATE_FIELDS
        if getattr(consultation, name) is None
    ]
    if missing:
        problems.append(_("Dates missing: %(fields)s.") % {"fields": ", ".join(missing)})
    else:
        assemblies, validation, opens, closes, deadline = (
            getattr(consultation, name) for name in DATE_FIELDS
        )
        if not (assemblies < validation < opens < closes <= deadline):
            problems.append(
                _(
                    "The dates must follow the phases' order: assemblies, validation, voting "
                    "opens, voting closes, tally-sheet deadline."
                )
            )
    if consultation.max_age is not None and consultation.max_age < consultation.min_age:
        problems.append(_("The maximum age cannot be below the minimum age."))
    if not 1 <= consultation.winners_per_commune < consultation.max_options:
        problems.append(_("There must be fewer winners per commune than options per ballot."))
    funders = consultation.funder_by_rank or []
    if len(funders) != consultation.winners_per_commune or not set(funders) <= set(
        Consultation.Funder.values
    ):
        problems.append(
            _("Name one funder for each winning rank (%(count)d).")
            % {"count": consultation.winners_per_commune}
        )
    needed, total = consultation.key_shares_needed, consultation.key_shares_total
    if (needed, total) != (0, 0) and not 2 <= needed <= total <= 10:
        problems.append(
            _(
                "Either keep the urn's key as a file (0 and 0), or split it among 2 to 10 "
                "commissioners with at least 2 shares needed."
            )
        )
    if consultation.voting_hours_end <= consultation.voting_hours_start:
        problems.append(_("Voting hours must end after they start."))
    return problems


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
        _refuse(_("The round has already been in that phase."), "phase_entered_before")
    consultation.phase = to
    consultation.save(update_fields=["phase", "rules_frozen_at"])
    audit.record(
        actor=by,
        action="consultation.enter_phase",
        obj=consultation,
        before={"phase": from_phase},
        after={"phase": to, "reason": reason},
    )
    from .tasks import consultation_phase_notify_task

    transaction.on_commit(lambda: outbox.send(consultation_phase_notify_task, consultation.pk, to))
    return consultation


def _require_date_reached(consultation, to, *, by, reason, now):
    """The job moves a round only when the phase's date has come; a person may move it earlier,
    with a reason."""
    starts = getattr(consultation, PHASE_STARTS[to])
    if by is None:
        if starts is None or starts > now:
            _refuse(_("The date of this phase has not come yet."), "not_due")
    else:
        permissions.require(by, "consultations.manage_cycle", consultation)
        if not (reason or "").strip():
            _refuse(_("Say why the round is moved by hand."), "reason_required")


def _transition(to: str, *, expected_from: str, checks=None):
    @transaction.atomic
    def move(*, consultation: Consultation, by=None, reason: str = "", now=None) -> Consultation:
        now = now or timezone.now()
        locked = _locked(consultation)
        if locked.phase != expected_from:
            _refuse(
                _("The round is in phase “%(phase)s”; it cannot move to “%(to)s” from there.")
                % {"phase": locked.get_phase_display(), "to": Phase(to).label},
                "wrong_phase",
            )
        _require_date_reached(locked, to, by=by, reason=reason, now=now)
        if checks is not None:
            checks(locked, by=by, now=now)
        return _enter(locked, to, by=by, reason=reason, now=now)

    move.__doc__ = f"Move a round from {expected_from} to {to}."
    return move


def _ballots_ready(consultation: Consultation, *, by, now) -> None:
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
        _refuse(
            _("No commune has at least two approved projects: there is nothing to vote on."),
            "no_ballots",
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


def _voting_opens(consultation: Consultation, *, by, now) -> None:
    """The ballots are ready; the urn gets its key pair and the published lot seed."""
    from voting.services import urn_open

    _ballots_ready(consultation, by=by, now=now)
    urn_open(consultation=consultation, now=now)


def _count_starts(consultation: Consultation, *, by, now) -> None:
    from voting.tasks import consultation_count_task

    transaction.on_commit(lambda: outbox.send(consultation_count_task, consultation.pk))


def _count_done(consultation: Consultation, *, by, now) -> None:
    """Results are published only from a finished count whose three totals agree."""
    from voting.models import Count

    status = Count.objects.filter(consultation=consultation).values_list("status", flat=True)
    if status.first() != Count.Status.DONE:
        _refuse(
            _("The count has not finished, or its totals do not agree: see the count's status."),
            "count_not_done",
        )


consultation_open_voting = _transition(
    Phase.VOTING, expected_from=Phase.VALIDATION, checks=_voting_opens
)
consultation_close_voting = _transition(
    Phase.COUNTING, expected_from=Phase.VOTING, checks=_count_starts
)
consultation_publish = _transition(
    Phase.PUBLISHED, expected_from=Phase.COUNTING, checks=_count_done
)

TRANSITION_FROM = {
    Phase.SCHEDULED: consultation_open_assemblies,
    Phase.ASSEMBLIES: consultation_open_validation,
    Phase.VALIDATION: consultation_open_voting,
    Phase.VOTING: consultation_close_voting,
    Phase.COUNTING: consultation_publish,
}


@transaction.atomic
def consultation_schedule(*, consultation: Consultation, by, now=None) -> Consultation:
    """A draft becomes scheduled: its rules are sound and every date lies ahead, in order."""
    now = now or timezone.now()
    locked = _locked(consultation)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase != Phase.DRAFT:
        _refuse(_("Only a draft can be scheduled."), "wrong_phase")
    problems = rules_problems(locked)
    if not problems and locked.assemblies_open_at <= now:
        problems.append(_("The assemblies must open in the future."))
    if problems:
        raise ValidationError(problems, code="not_schedulable")
    return _enter(locked, Phase.SCHEDULED, by=by, reason="", now=now)


@transaction.atomic
def consultation_cancel(*, consultation: Consultation, by, reason: str, now=None) -> Consultation:
    now = now or timezone.now()
    locked = _locked(consultation)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase in (Phase.PUBLISHED, Phase.CANCELLED):
        _refuse(_("A published or cancelled round cannot be cancelled."), "wrong_phase")
    if not (reason or "").strip():
        _refuse(_("Say why the round is cancelled."), "reason_required")
    return _enter(locked, Phase.CANCELLED, by=by, reason=reason.strip(), now=now)


@transaction.atomic
def consultation_update(*, consultation: Consultation, by, changes: dict) -> Consultation:
    """Change a round's name, rules or dates; what voting depends on is frozen once it opens."""
    locked = _locked(consultation)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase in (Phase.PUBLISHED, Phase.CANCELLED):
        _refuse(_("A published or cancelled round cannot change."), "closed")
    changed = {name: value for name, value in changes.items() if getattr(locked, name) != value}
    frozen = [name for name in changed if name in FROZEN_ONCE_VOTING]
    if locked.rules_frozen_at is not None and frozen:
        _refuse(
            _("Voting has opened: these can no longer change: %(fields)s.")
            % {
                "fields": ", ".join(
                    str(Consultation._meta.get_field(name).verbose_name) for name in frozen
                )
            },
            "frozen",
        )
    before = audit.snapshot(locked, list(changed))
    for name, value in changed.items():
        setattr(locked, name, value)
    if locked.phase != Phase.DRAFT:
        problems = rules_problems(locked)
        if problems:
            raise ValidationError(problems, code="invalid_rules")
    locked.save()
    audit.record(
        actor=by,
        action="consultation.update",
        obj=locked,
        before=before,
        after=audit.snapshot(locked, list(changed)),
    )
    return locked


def _quarter_start(year: int, quarter: int) -> datetime.date:
    return datetime.date(year, 3 * (quarter - 1) + 1, 1)


def proposed_dates(year: int, quarter: int) -> dict:
    """Dates for a round, from the calendar in settings (days after the quarter starts)."""
    calendar = settings.CONSULTATION_CALENDAR
    start = _quarter_start(year, quarter)
    zone = timezone.get_default_timezone()

    def at(days: int, hour: int) -> datetime.datetime:
        day = start + datetime.timedelta(days=days)
        return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=zone)

    return {field: at(*calendar[field]) for field in DATE_FIELDS}


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@transaction.atomic
def consultation_create_next(*, by=None, now=None) -> Consultation | None:
    """Propose next quarter's round as a draft, with the last round's rules and dates from the
    calendar, for the admin to confirm. Returns None when it already exists: running it twice,
    or twice at once, creates one round."""
    now = now or timezone.now()
    if by is not None:
        permissions.require(by, "consultations.manage_cycle")
    today = timezone.localdate(now)
    this_quarter = (today.month - 1) // 3 + 1
    year, quarter = (today.year + 1, 1) if this_quarter == 4 else (today.year, this_quarter + 1)
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


@transaction.atomic
def commune_exclude(*, consultation: Consultation, commune: Commune, by, reason: str) -> Exclusion:
    locked = _locked(consultation)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase not in (Phase.DRAFT, Phase.SCHEDULED, Phase.ASSEMBLIES, Phase.VALIDATION):
        _refuse(_("Communes can no longer be excluded: voting has opened."), "frozen")
    if not (reason or "").strip():
        _refuse(_("Write why the commune is excluded."), "reason_required")
    if Exclusion.objects.filter(consultation=locked, commune=commune).exists():
        _refuse(_("This commune is already excluded from the round."), "already_excluded")
    exclusion = Exclusion.objects.create(
        consultation=locked,
        commune=commune,
        kind=Exclusion.Kind.BY_ADMIN,
        reason=reason.strip(),
        by=by,
    )
    audit.record(
        actor=by,
        action="consultation.exclude_commune",
        obj=exclusion,
        after=audit.snapshot(exclusion),
    )
    return exclusion


def participating_communes(consultation: Consultation):
    """Every active commune takes part, except those excluded from this round."""
    return Commune.objects.filter(status=Commune.Status.ACTIVE).exclude(
        exclusions__consultation=consultation
    )


def consultations_advance_due(*, now=None) -> list[tuple[int, str, str]]:
    """The tick: move every round whose date has come, one transition at a time, in order.

    Safe to run late, twice, or at the same moment as another tick: each step locks the round and
    re-reads its phase, and each phase can be entered only once.
    """
    now = now or timezone.now()
    moved = []
    for pk in Consultation.objects.filter(phase__in=list(NEXT_PHASE)).values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                consultation = Consultation.objects.select_for_update().get(pk=pk)
                to = NEXT_PHASE.get(consultation.phase)
                starts = to and getattr(consultation, PHASE_STARTS[to])
                if to is None or starts is None or starts > now:
                    break
                from_phase = consultation.phase
                try:
                    TRANSITION_FROM[from_phase](consultation=consultation, by=None, now=now)
                except ValidationError as error:
                    # A precondition failed (no ballots at all): the round waits for a person,
                    # and its page says why (see selectors.consultation_timeline).
                    logger.warning(
                        "round %s stays in %s: %s", pk, from_phase, " ".join(error.messages)
                    )
                    break
                moved.append((pk, from_phase, to))
    return moved


def consultations_awaiting_count() -> list[int]:
    """Rounds in counting whose count has not run or waits for the urn's key."""
    from voting.models import Count

    return list(
        Consultation.objects.filter(phase=Phase.COUNTING)
        .exclude(count__status__in=[Count.Status.DONE, Count.Status.DISCREPANCY])
        .values_list("pk", flat=True)
    )


# Assemblies, problems and proposals ---------------------------------------------------------


def _require_phase(consultation: Consultation, phases, message: str) -> None:
    if consultation.phase not in phases:
        _refuse(message, "wrong_phase")


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def residents_of_age(*, on: datetime.date, min_age: int, max_age: int | None):
    """Residents on the census at least ``min_age`` (and at most ``max_age``) years old that day."""
    from communes.models import Resident

    residents = Resident.objects.filter(birth_date__lte=years_before(on, min_age))
    if max_age is not None:
        residents = residents.filter(birth_date__gt=years_before(on, max_age + 1))
    return residents


def eligible_residents(*, councils, on: datetime.date, min_age: int, max_age: int | None) -> int:
    """Registered residents of the councils old enough (and young enough) on that day."""
    return (
        residents_of_age(on=on, min_age=min_age, max_age=max_age)
        .filter(council__in=councils)
        .count()
    )


def quorum_required(*, consultation: Consultation, call: str, eligible: int) -> int:
    """The attendance a call needs: the round's share of the eligible residents, rounded up."""
    from .models import Assembly

    share = (
        consultation.quorum_first_call_percent
        if call == Assembly.Call.FIRST
        else consultation.quorum_second_call_percent
    )
    return max(1, -(-eligible * share // 100))


@transaction.atomic
def assembly_record(
    *,
    consultation: Consultation,
    commune: Commune,
    by,
    held_on: datetime.date,
    place: str,
    councils,
    call: str,
    attendance: int,
    minutes,
    attendee_cedulas: str = "",
):
    """Record an assembly with its signed minutes; quorum is computed from the census."""
    from communes.cedula import cedula_normalise
    from communes.services import commune_file_store

    from .models import Assembly

    permissions.require(by, "consultations.write_for_commune", commune)
    locked = _locked(consultation)
    _require_phase(
        locked,
        [Phase.ASSEMBLIES],
        _("Assemblies are recorded only while the assemblies phase is open."),
    )
    if not participating_communes(locked).filter(pk=commune.pk).exists():
        _refuse(_("This commune does not take part in the round."), "excluded")
    councils = list(councils)
    if not councils or any(council.commune_id != commune.pk for council in councils):
        _refuse(_("Choose the councils of this commune that were convened."), "councils")
    if held_on > timezone.localdate() or held_on < timezone.localdate(locked.assemblies_open_at):
        _refuse(
            _("The assembly's date must fall within the assemblies phase, and not in the future."),
            "date",
        )
    cedulas = []
    for line in (attendee_cedulas or "").splitlines():
        if line.strip():
            cedulas.append(cedula_normalise(line))
    if len(set(cedulas)) != len(cedulas):
        _refuse(_("A cédula appears twice in the attendance list."), "duplicate_cedula")
    if cedulas and len(cedulas) > attendance:
        _refuse(_("The attendance list has more cédulas than the attendance."), "attendance")
    eligible = eligible_residents(
        councils=councils, on=held_on, min_age=locked.min_age, max_age=locked.max_age
    )
    if attendance > eligible:
        _refuse(
            _(
                "Attendance (%(attendance)d) cannot exceed the %(eligible)d registered "
                "residents who may take part."
            )
            % {"attendance": attendance, "eligible": eligible},
            "attendance",
        )
    required = quorum_required(consultation=locked, call=call, eligible=eligible)
    stored_minutes = commune_file_store(commune=commune, uploaded=minutes, by=by, is_public=True)
    assembly = Assembly.objects.create(
        consultation=locked,
        commune=commune,
        held_on=held_on,
        place=place.strip(),
        call=call,
        attendance=attendance,
        attendee_cedulas="\n".join(cedulas),
        eligible=eligible,
        quorum_required=required,
        quorum_reached=attendance >= required,
        minutes=stored_minutes,
        recorded_by=by,
    )
    assembly.councils.set(councils)
    audit.record(
        actor=by,
        action="assembly.record",
        obj=assembly,
        after=audit.snapshot(
            assembly,
            [
                "commune_id",
                "held_on",
                "call",
                "attendance",
                "eligible",
                "quorum_required",
                "quorum_reached",
            ],
        ),
    )
    return assembly


def _assembly_for_writing(pk: int, by):
    """Lock an assembly for its commune's spokesperson, during the assemblies phase."""
    from .models import Assembly

    assembly = (
        Assembly.objects.select_for_update(of=("self",))
        .select_related("consultation", "commune")
        .get(pk=pk)
    )
    permissions.require(by, "consultations.write_for_commune", assembly.commune)
    _require_phase(
        assembly.consultation,
        [Phase.ASSEMBLIES],
        _("Problems are listed only while the assemblies phase is open."),
    )
    return assembly


@transaction.atomic
def problem_add(*, assembly, title: str, by):
    from .models import Problem

    assembly = _assembly_for_writing(assembly.pk, by)
    title = (title or "").strip()
    if not title:
        _refuse(_("Write the problem."), "title")
    last = assembly.problems.order_by("-priority").values_list("priority", flat=True).first() or 0
    problem = Problem.objects.create(assembly=assembly, title=title[:200], priority=last + 1)
    audit.record(actor=by, action="problem.add", obj=problem, after=audit.snapshot(problem))
    return problem


@transaction.atomic
def problem_move(*, problem, direction: str, by):
    """Swap a problem with the one above ("up") or below ("down") it in priority."""
    assembly = _assembly_for_writing(problem.assembly_id, by)
    ordered = list(assembly.problems.order_by("priority", "pk"))
    index = next(i for i, item in enumerate(ordered) if item.pk == problem.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ordered):
        return ordered[index]
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for priority, item in enumerate(ordered, start=1):
        if item.priority != priority:
            item.priority = priority
            item.save(update_fields=["priority"])
    audit.record(
        actor=by,
        action="problem.reorder",
        obj=assembly,
        after={"order": [item.pk for item in ordered]},
    )
    return ordered[other]


EDITABLE_PROJECT_FIELDS = [
    "title",
    "description",
    "category",
    "estimated_cost_usd",
    "beneficiaries",
    "place",
    "problem",
]
# Photos are optional; every other field must be filled in before submitting.
REQUIRED_TO_SUBMIT = EDITABLE_PROJECT_FIELDS


def _project_for_writing(project, by):
    from .models import Project

    locked = (
        Project.objects.select_for_update(of=("self",))
        .select_related("consultation", "commune__parish__municipality")
        .get(pk=project.pk)
    )
    permissions.require(by, "consultations.write_for_commune", locked.commune)
    phase = locked.consultation.phase
    if phase == Phase.ASSEMBLIES or (
        phase == Phase.VALIDATION and locked.status == Project.Status.SENT_BACK
    ):
        return locked
    _refuse(
        _(
            "Proposals are written during the assemblies phase (or, when sent back, "
            "during validation)."
        ),
        "wrong_phase",
    )


def _check_cost(consultation, cost):
    if cost is not None and cost > consultation.amount_usd:
        _refuse(
            _("The estimated cost (%(cost)s USD) is above the round's amount of %(amount)s USD.")
            % {"cost": cost, "amount": consultation.amount_usd},
            "cost",
        )


@transaction.atomic
def project_create(*, consultation: Consultation, commune: Commune, by, title: str):
    """Start a proposal (a draft) backed by an assembly with quorum, within the ballot's size."""
    from .models import Assembly, Project

    permissions.require(by, "consultations.write_for_commune", commune)
    locked = _locked(consultation)  # also serialises two tabs adding the last allowed proposal
    _require_phase(
        locked,
        [Phase.ASSEMBLIES],
        _("Proposals are entered only while the assemblies phase is open."),
    )
    if not Assembly.objects.filter(
        consultation=locked, commune=commune, quorum_reached=True
    ).exists():
        _refuse(_("Record an assembly with quorum first: only it can back proposals."), "no_quorum")
    active = Project.objects.filter(consultation=locked, commune=commune).exclude(
        status=Project.Status.REJECTED
    )
    if active.count() >= locked.max_options:
        _refuse(
            _("The round allows at most %(max)d proposals per commune.")
            % {"max": locked.max_options},
            "too_many",
        )
    title = (title or "").strip()
    if not title:
        _refuse(_("Give the proposal a title."), "title")
    project = Project.objects.create(consultation=locked, commune=commune, title=title[:200])
    audit.record(actor=by, action="project.create", obj=project, after=audit.snapshot(project))
    return project


@transaction.atomic
def project_update(*, project, by, version: int, changes: dict):
    """Save what the spokesperson typed. An edit made from a stale page (someone else saved in
    between) is refused and said so; nothing is overwritten silently."""
    from .models import Project

    locked = _project_for_writing(project, by)
    if locked.status not in (Project.Status.DRAFT, Project.Status.SENT_BACK):
        _refuse(_("A submitted proposal is locked; take it back to draft to change it."), "locked")
    if version != locked.version and locked.updated_by_id not in (None, by.pk):
        _refuse(
            _(
                "Someone else changed this proposal while you were editing it. Reload to see "
                "their version; what you typed last is still in the form."
            ),
            "conflict",
        )
    changes = {name: value for name, value in changes.items() if name in EDITABLE_PROJECT_FIELDS}
    _check_cost(locked.consultation, changes.get("estimated_cost_usd", locked.estimated_cost_usd))
    problem = changes.get("problem", locked.problem)
    if problem is not None and (
        problem.assembly.commune_id != locked.commune_id
        or problem.assembly.consultation_id != locked.consultation_id
        or not problem.assembly.quorum_reached
    ):
        _refuse(_("The problem must come from an assembly of this commune with quorum."), "problem")
    before = audit.snapshot(locked, [f if f != "problem" else "problem_id" for f in changes])
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.updated_by = by
    locked.save()
    audit.record(
        actor=by,
        action="project.update",
        obj=locked,
        before=before,
        after=audit.snapshot(locked, [f if f != "problem" else "problem_id" for f in changes]),
    )
    return locked


@transaction.atomic
def project_submit(*, project, by):
    from .models import Project

    locked = _project_for_writing(project, by)
    if locked.status not in (Project.Status.DRAFT, Project.Status.SENT_BACK):
        _refuse(_("Only a draft can be submitted."), "wrong_status")
    missing = [
        str(Project._meta.get_field(name).verbose_name)
        for name in REQUIRED_TO_SUBMIT
        if getattr(locked, name) in (None, "")
    ]
    if missing:
        _refuse(
            _("Complete before submitting: %(fields)s.") % {"fields": ", ".join(missing)},
            "incomplete",
        )
    _check_cost(locked.consultation, locked.estimated_cost_usd)
    before = locked.status
    locked.status = Project.Status.SUBMITTED
    locked.version += 1
    locked.updated_by = by
    locked.save(update_fields=["status", "version", "updated_by"])
    audit.record(
        actor=by,
        action="project.submit",
        obj=locked,
        before={"status": before},
        after={"status": locked.status},
    )
    return locked


@transaction.atomic
def project_withdraw(*, project, by):
    """A submitted proposal goes back to draft, while the assemblies phase is open."""
    from .models import Project

    locked = _project_for_writing(project, by)
    if locked.status != Project.Status.SUBMITTED or locked.consultation.phase != Phase.ASSEMBLIES:
        _refuse(
            _(
                "Only a submitted proposal goes back to draft, and only during the assemblies "
                "phase."
            ),
            "wrong_status",
        )
    locked.status = Project.Status.DRAFT
    locked.version += 1
    locked.updated_by = by
    locked.save(update_fields=["status", "version", "updated_by"])
    audit.record(
        actor=by,
        action="project.withdraw",
        obj=locked,
        before={"status": "submitted"},
        after={"status": "draft"},
    )
    return locked


@transaction.atomic
def project_decide(*, project, by, decision: str, note: str = ""):
    """Ministry staff approve, reject (with a reason) or send back (with a note) a submitted
    proposal, during validation; the commune's spokespeople are told by email."""
    from .models import Project

    locked = (
        Project.objects.select_for_update(of=("self",))
        .select_related("consultation", "commune__parish__municipality")
        .get(pk=project.pk)
    )
    permissions.require(by, "consultations.decide_projects", locked)
    _require_phase(
        locked.consultation, [Phase.VALIDATION], _("Proposals are decided only during validation.")
    )
    if locked.status != Project.Status.SUBMITTED:
        _refuse(
            _("This proposal is not waiting for a decision (it is “%(status)s”).")
            % {"status": locked.get_status_display()},
            "wrong_status",
        )
    outcome = {
        "approve": Project.Status.APPROVED,
        "reject": Project.Status.REJECTED,
        "send_back": Project.Status.SENT_BACK,
    }.get(decision)
    if outcome is None:
        _refuse(_("Unknown decision."), "decision")
    note = (note or "").strip()
    if outcome != Project.Status.APPROVED and not note:
        _refuse(_("Say why: the commune reads it."), "note_required")
    if outcome == Project.Status.APPROVED:
        _check_cost(locked.consultation, locked.estimated_cost_usd)
    locked.status = outcome
    locked.decision_note = note
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.version += 1
    locked.updated_by = by
    locked.save(
        update_fields=[
            "status",
            "decision_note",
            "decided_by",
            "decided_at",
            "version",
            "updated_by",
        ]
    )
    audit.record(
        actor=by,
        action=f"project.{decision}",
        obj=locked,
        before={"status": "submitted"},
        after={"status": outcome, "note": note},
    )
    from .tasks import project_decision_notify_task

    transaction.on_commit(lambda: outbox.send(project_decision_notify_task, locked.pk))
    return locked


MAX_PHOTOS_PER_PROJECT = 5


@transaction.atomic
def project_photo_add(*, project, uploaded, by):
    """Attach a photo (JPEG or PNG, metadata stripped) to a proposal being written."""
    from communes import files
    from communes.services import commune_file_store

    from .models import Project, ProjectPhoto

    locked = _project_for_writing(project, by)
    if locked.status not in (Project.Status.DRAFT, Project.Status.SENT_BACK):
        _refuse(_("A submitted proposal is locked; take it back to draft to change it."), "locked")
    if locked.photos.count() >= MAX_PHOTOS_PER_PROJECT:
        _refuse(
            _("A proposal has at most %(max)d photos.") % {"max": MAX_PHOTOS_PER_PROJECT},
            "too_many_photos",
        )
    stored = commune_file_store(
        commune=locked.commune, uploaded=uploaded, by=by, is_public=True, allowed=files.PICTURES
    )
    photo = ProjectPhoto.objects.create(project=locked, file=stored)
    audit.record(actor=by, action="project.add_photo", obj=locked, after={"file": str(stored.pk)})
    return photo
