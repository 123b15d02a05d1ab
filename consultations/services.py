"""Every write to a round but its moves from phase to phase (those are ``phases.py``, reached
through ``cycle.services``): its rules and dates, its exclusions, the assemblies, their problems
and the proposals. Each write checks its preconditions; a refused one raises ValidationError and
changes nothing.
"""

import datetime
import math
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
import outbox
from accounts import permissions
from communes import files
from communes.cedula import cedula_normalise
from communes.models import Commune, Resident
from communes.services import commune_file_store

from .models import PHASE_STARTS, Assembly, Consultation, Exclusion, Problem, Project, ProjectPhoto
from .selectors import participating_communes
from .tasks import project_decision_notify_task

Phase = Consultation.Phase

DATE_FIELDS = list(PHASE_STARTS.values())
RULE_FIELDS = [
    "min_age",
    "max_age",
    "max_options",
    "winners_per_commune",
    "funder_by_rank",
    "amount_usd",
    "tie_break",
    "counting_rule",
    "commune_budget_usd",
    "award_state_most_voters",
    "award_youth_communes",
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
FROZEN_ONCE_VOTING = [
    *RULE_FIELDS,
    "single_key_reason",
    "voting_opens_at",
    "voting_closes_at",
    "tally_deadline_at",
]


def _locked(consultation: Consultation) -> Consultation:
    return Consultation.objects.select_for_update().get(pk=consultation.pk)


def refuse(message: str, code: str):
    """Refuse a write: a ValidationError with the message people read and the code tests and
    pages match. The one definition; the apps above (voting, funding) use it too."""
    raise ValidationError(message, code=code)


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


@transaction.atomic
def consultation_update(*, consultation: Consultation, by, changes: dict) -> Consultation:
    """Change a round's name, rules or dates; what voting depends on is frozen once it opens."""
    locked = _locked(consultation)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase in (Phase.PUBLISHED, Phase.CANCELLED):
        refuse(_("A published or cancelled round cannot change."), "closed")
    changed = {name: value for name, value in changes.items() if getattr(locked, name) != value}
    frozen = [name for name in changed if name in FROZEN_ONCE_VOTING]
    if locked.rules_frozen_at is not None and frozen:
        refuse(
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


def quarter_of(day: datetime.date, *, shift: int = 0) -> tuple[int, int]:
    """The (year, quarter) a day falls in, or ``shift`` quarters after it (before it when
    negative), across years: the 4th quarter of a year shifted by one is the next year's 1st."""
    index = day.year * 4 + (day.month - 1) // 3 + shift
    return index // 4, index % 4 + 1


@transaction.atomic
def commune_exclude(*, consultation: Consultation, commune: Commune, by, reason: str) -> Exclusion:
    locked = _locked(consultation)
    permissions.require(by, "consultations.manage_cycle", locked)
    if locked.phase not in (Phase.DRAFT, Phase.SCHEDULED, Phase.ASSEMBLIES, Phase.VALIDATION):
        refuse(_("Communes can no longer be excluded: voting has opened."), "frozen")
    if not (reason or "").strip():
        refuse(_("Write why the commune is excluded."), "reason_required")
    if Exclusion.objects.filter(consultation=locked, commune=commune).exists():
        refuse(_("This commune is already excluded from the round."), "already_excluded")
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


# Assemblies, problems and proposals ---------------------------------------------------------


def _require_phase(consultation: Consultation, phases, message: str) -> None:
    if consultation.phase not in phases:
        refuse(message, "wrong_phase")


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def residents_of_age(*, on: datetime.date, min_age: int, max_age: int | None):
    """Residents on the census at least ``min_age`` (and at most ``max_age``) years old that day."""
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
    share = (
        consultation.quorum_first_call_percent
        if call == Assembly.Call.FIRST
        else consultation.quorum_second_call_percent
    )
    # Decimal's // truncates toward zero, so -(-a // b) does not round a Decimal up; the product
    # over 100 is exact (a division by 100 always terminates), and ceil rounds that up.
    return max(1, math.ceil(Decimal(eligible) * Decimal(share) / 100))


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
    permissions.require(by, "consultations.write_for_commune", commune)
    locked = _locked(consultation)
    _require_phase(
        locked,
        [Phase.ASSEMBLIES],
        _("Assemblies are recorded only while the assemblies phase is open."),
    )
    if not participating_communes(locked).filter(pk=commune.pk).exists():
        refuse(_("This commune does not take part in the round."), "excluded")
    councils = list(councils)
    if not councils or any(council.commune_id != commune.pk for council in councils):
        refuse(_("Choose the councils of this commune that were convened."), "councils")
    if held_on > timezone.localdate() or held_on < timezone.localdate(locked.assemblies_open_at):
        refuse(
            _("The assembly's date must fall within the assemblies phase, and not in the future."),
            "date",
        )
    cedulas = []
    for line in (attendee_cedulas or "").splitlines():
        if line.strip():
            cedulas.append(cedula_normalise(line))
    if len(set(cedulas)) != len(cedulas):
        refuse(_("A cédula appears twice in the attendance list."), "duplicate_cedula")
    if cedulas and len(cedulas) > attendance:
        refuse(_("The attendance list has more cédulas than the attendance."), "attendance")
    eligible = eligible_residents(
        councils=councils, on=held_on, min_age=locked.min_age, max_age=locked.max_age
    )
    if attendance > eligible:
        refuse(
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
    assembly = _assembly_for_writing(assembly.pk, by)
    title = (title or "").strip()
    if not title:
        refuse(_("Write the problem."), "title")
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
    refuse(
        _(
            "Proposals are written during the assemblies phase (or, when sent back, "
            "during validation)."
        ),
        "wrong_phase",
    )


def _check_cost(consultation, cost):
    if cost is not None and cost > consultation.amount_usd:
        refuse(
            _("The estimated cost (%(cost)s USD) is above the round's amount of %(amount)s USD.")
            % {"cost": cost, "amount": consultation.amount_usd},
            "cost",
        )


@transaction.atomic
def project_create(*, consultation: Consultation, commune: Commune, by, title: str):
    """Start a proposal (a draft) backed by an assembly with quorum, within the ballot's size."""
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
        refuse(_("Record an assembly with quorum first: only it can back proposals."), "no_quorum")
    active = Project.objects.filter(consultation=locked, commune=commune).exclude(
        status=Project.Status.REJECTED
    )
    if active.count() >= locked.max_options:
        refuse(
            _("The round allows at most %(max)d proposals per commune.")
            % {"max": locked.max_options},
            "too_many",
        )
    title = (title or "").strip()
    if not title:
        refuse(_("Give the proposal a title."), "title")
    project = Project.objects.create(consultation=locked, commune=commune, title=title[:200])
    audit.record(actor=by, action="project.create", obj=project, after=audit.snapshot(project))
    return project


@transaction.atomic
def project_update(*, project, by, version: int, changes: dict):
    """Save what the spokesperson typed. An edit made from a stale page (someone else saved in
    between) is refused and said so; nothing is overwritten silently."""
    locked = _project_for_writing(project, by)
    if locked.status not in (Project.Status.DRAFT, Project.Status.SENT_BACK):
        refuse(_("A submitted proposal is locked; take it back to draft to change it."), "locked")
    if version != locked.version and locked.updated_by_id not in (None, by.pk):
        refuse(
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
        refuse(_("The problem must come from an assembly of this commune with quorum."), "problem")
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
    locked = _project_for_writing(project, by)
    if locked.status not in (Project.Status.DRAFT, Project.Status.SENT_BACK):
        refuse(_("Only a draft can be submitted."), "wrong_status")
    missing = [
        str(Project._meta.get_field(name).verbose_name)
        for name in REQUIRED_TO_SUBMIT
        if getattr(locked, name) in (None, "")
    ]
    if missing:
        refuse(
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
    locked = _project_for_writing(project, by)
    if locked.status != Project.Status.SUBMITTED or locked.consultation.phase != Phase.ASSEMBLIES:
        refuse(
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
        refuse(
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
        refuse(_("Unknown decision."), "decision")
    note = (note or "").strip()
    if outcome != Project.Status.APPROVED and not note:
        refuse(_("Say why: the commune reads it."), "note_required")
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
    transaction.on_commit(lambda: outbox.send(project_decision_notify_task, locked.pk))
    return locked


MAX_PHOTOS_PER_PROJECT = 5


@transaction.atomic
def project_photo_add(*, project, uploaded, by):
    """Attach a photo (JPEG or PNG, metadata stripped) to a proposal being written."""
    locked = _project_for_writing(project, by)
    if locked.status not in (Project.Status.DRAFT, Project.Status.SENT_BACK):
        refuse(_("A submitted proposal is locked; take it back to draft to change it."), "locked")
    if locked.photos.count() >= MAX_PHOTOS_PER_PROJECT:
        refuse(
            _("A proposal has at most %(max)d photos.") % {"max": MAX_PHOTOS_PER_PROJECT},
            "too_many_photos",
        )
    stored = commune_file_store(
        commune=locked.commune, uploaded=uploaded, by=by, is_public=True, allowed=files.PICTURES
    )
    photo = ProjectPhoto.objects.create(project=locked, file=stored)
    audit.record(actor=by, action="project.add_photo", obj=locked, after={"file": str(stored.pk)})
    return photo
