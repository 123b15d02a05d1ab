"""Voting at tables: officers, the digital voting book at a table, and double-entered tally sheets.

The book is the one online voting writes to (unique per round and person), so a person marked at
a table cannot vote online afterwards and the other way round, whatever the order and however
close together. A mark queued in the officer's page while offline and sent later may find the
person already in the book: that is recorded as a conflict, never dropped and never counted
silently, and the table's sheet will then disagree with its marks and wait for staff.

A tally sheet counts only when two officers of the table entered the same figures and their total
equals the table's marks; otherwise staff accept figures or annul it, always with a reason.
"""

import datetime
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _

import audit
from accounts import permissions
from accounts.models import StaffRole
from accounts.services import staff_role_grant
from communes.cedula import cedula_mask, cedula_normalise
from communes.models import Resident
from communes.services import commune_file_store
from consultations.models import Consultation, Project
from consultations.services import participating_communes, refuse

from . import eligibility
from .counting import commune_recount
from .eligibility import TABLE
from .models import (
    BookConflict,
    OfficerAssignment,
    SheetEvent,
    TallyEntry,
    TallySheet,
    VotingBookEntry,
    VotingTable,
)

# A mark made while the officer's page was offline is still taken this long after voting closed,
# provided it was made while voting was open and the table's sheet has not been entered yet.
QUEUED_MARK_GRACE = datetime.timedelta(hours=3)
# No table counts more ballots than this on one sheet line (a typo guard, not a rule of law).
MAX_BALLOTS_PER_LINE = 100_000


# Officers ------------------------------------------------------------------------------------


def officer_assign(
    *, consultation: Consultation, table: VotingTable, officer, by, now=None
) -> OfficerAssignment:
    """Put a person in charge of a table for a round (they become a polling officer)."""
    permissions.require(by, "voting.manage_tables")
    now = now or timezone.now()
    if consultation.phase in (
        Consultation.Phase.PUBLISHED,
        Consultation.Phase.CANCELLED,
    ) or (consultation.voting_closes_at and now >= consultation.voting_closes_at):
        refuse(_("Officers can only be assigned before voting closes."), "closed")
    if not participating_communes(consultation).filter(pk=table.commune_id).exists():
        refuse(_("This table's commune is not on this round's vote."), "commune_not_on_vote")
    with transaction.atomic():
        try:  # the unique (round, officer) constraint answers, even for two admins at once
            with transaction.atomic():
                assignment = OfficerAssignment.objects.create(
                    consultation=consultation,
                    table=table,
                    officer=officer,
                    assigned_by=by,
                    assigned_at=now,
                )
        except IntegrityError:
            refuse(
                _("%(email)s already runs a table in this round.") % {"email": officer.email},
                "already_assigned",
            )
        staff_role_grant(user=officer, kind=StaffRole.Kind.POLLING_OFFICER, by=by)
        audit.record(
            actor=by,
            action="officer.assign",
            obj=assignment,
            after={"consultation": consultation.pk, "table": table.code, "officer": officer.pk},
        )
    return assignment


@transaction.atomic
def officer_unassign(*, assignment: OfficerAssignment, by, now=None) -> None:
    permissions.require(by, "voting.manage_tables")
    now = now or timezone.now()
    if now >= assignment.consultation.voting_opens_at:
        refuse(_("Once voting has opened, an officer stays with their table."), "opened")
    audit.record(
        actor=by,
        action="officer.unassign",
        obj=assignment,
        before={"table": assignment.table.code, "officer": assignment.officer_id},
    )
    assignment.delete()


def table_window(consultation: Consultation) -> tuple[datetime.datetime, datetime.datetime]:
    """When an officer may open their table's page: from the start of the first voting day to
    the tally-sheet deadline (or the end of the day voting closes, without one)."""
    first_day = timezone.localtime(consultation.voting_opens_at).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    last = consultation.tally_deadline_at or timezone.localtime(
        consultation.voting_closes_at
    ).replace(hour=23, minute=59, second=59)
    return first_day, last


def officer_assignments_now(user, *, now=None) -> list[OfficerAssignment]:
    """The tables this person runs today (the page lists them; usually one)."""
    if not getattr(user, "is_authenticated", False):
        return []
    now = now or timezone.now()
    assignments = OfficerAssignment.objects.filter(
        officer=user,
        consultation__phase__in=[
            Consultation.Phase.VOTING,
            Consultation.Phase.COUNTING,
            Consultation.Phase.PUBLISHED,
        ],
    ).select_related("consultation", "table__centre", "table__commune")
    return [a for a in assignments if _in_window(a.consultation, now)]


def _in_window(consultation, now) -> bool:
    start, end = table_window(consultation)
    return start <= now <= end


def assignment_for(*, user, pk: int, now=None) -> OfficerAssignment:
    """The officer's own assignment, on its days; anything else is "not found" (no probing)."""
    assignment = (
        OfficerAssignment.objects.select_related(
            "consultation", "table__centre", "table__commune__parish__municipality__state"
        )
        .filter(pk=pk)
        .first()
    )
    if assignment is None or not permissions.can(user, "voting.run_table", assignment):
        raise Http404
    if not _in_window(assignment.consultation, now or timezone.now()):
        raise Http404
    return assignment


# The voting book at a table --------------------------------------------------------------------


@dataclass(frozen=True)
class TableVoter:
    """What the officer sees of a person: enough to recognise them, no more."""

    resident_id: int
    cedula_masked: str
    full_name: str
    may_vote: bool
    reason: str  # why not, in the officer's words; empty when they may vote
    code: str


def _resident_by_cedula(cedula: str) -> Resident:
    normalised = cedula_normalise(cedula)  # raises with a clear message
    resident = Resident.objects.select_related("council__commune").filter(cedula=normalised).first()
    if resident is None:
        eligibility.refuse(eligibility.NOT_ON_CENSUS, TABLE, cedula=cedula_mask(normalised))
    return resident


def _eligibility_problem(consultation, table, resident, *, book: bool) -> tuple[str, str]:
    """Why this person may not vote at this table (message, code), or ("", "") when they may
    (the rule: voting.eligibility). ``book``: whether being in the voting book already counts
    (a mark leaves that to the book's unique key, to record a queued mark's conflict)."""
    reason = eligibility.table_reason(
        consultation, resident_id=resident.pk, table_commune_id=table.commune_id, book=book
    )
    if not reason:
        return "", ""
    if reason == eligibility.ALREADY_VOTED:
        entry = (
            VotingBookEntry.objects.select_related("table__centre")
            .filter(consultation=consultation, resident=resident)
            .first()
        )
        return eligibility.explain(reason, TABLE, where=_where_voted(entry))
    return eligibility.explain(
        reason,
        TABLE,
        name=resident.full_name,
        commune=resident.council.commune.name,
        table_commune=table.commune.name,
        **eligibility.age_params(consultation, resident.birth_date),
    )


def _where_voted(entry: VotingBookEntry) -> str:
    when = formats.time_format(timezone.localtime(entry.voted_at), "TIME_FORMAT")
    if entry.channel == VotingBookEntry.Channel.ONLINE:
        return _("online at %(time)s") % {"time": when}
    return _("at %(table)s at %(time)s") % {"table": entry.table, "time": when}


def _already_voted_message(entry: VotingBookEntry) -> str:
    return eligibility.explain(eligibility.ALREADY_VOTED, TABLE, where=_where_voted(entry))[0]


def table_voter_lookup(*, assignment: OfficerAssignment, cedula: str, now=None) -> TableVoter:
    """Look a person up at the table: may they vote here, now? Raises for a malformed cédula or
    one not on the census."""
    now = now or timezone.now()
    consultation, table = assignment.consultation, assignment.table
    resident = _resident_by_cedula(cedula)
    reason, code = _eligibility_problem(consultation, table, resident, book=True)
    if not reason:
        window = eligibility.window_reason(consultation, now, TABLE)
        if window is not None:
            reason, code = eligibility.explain(
                window, TABLE, **eligibility.window_params(consultation)
            )
    return _table_voter(resident, may_vote=not reason, reason=reason, code=code)


@dataclass(frozen=True)
class Mark:
    """What became of a mark: "marked", "repeat" (this same mark, sent again) or "conflict"."""

    outcome: str
    voter: TableVoter
    message: str


def _lock_round_for_a_mark(consultation_id: int) -> str | None:
    """The round's phase, share-locked so closing waits for marks in flight (like online votes)."""
    if connection.vendor != "postgresql":
        return Consultation.objects.filter(pk=consultation_id).values_list("phase", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT phase FROM {Consultation._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
            [consultation_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def table_mark(
    *,
    assignment: OfficerAssignment,
    cedula: str,
    by,
    mark_id: uuid.UUID | None = None,
    marked_at: datetime.datetime | None = None,
    now=None,
) -> Mark:
    """Mark a person as voted at the officer's table.

    A live mark (``marked_at`` None) of someone already in the book is refused. A mark queued
    offline (``marked_at`` earlier, when the person was handed a ballot) that finds them in the
    book is kept as a conflict for staff. The same mark sent twice is recognised by its id.
    """
    permissions.require(by, "voting.run_table", assignment)
    now = now or timezone.now()
    queued = marked_at is not None
    marked_at = min(marked_at or now, now)  # a device clock ahead of ours is not believed
    mark_id = mark_id or uuid.uuid4()
    consultation, table = assignment.consultation, assignment.table
    resident = _resident_by_cedula(cedula)
    reason, code = _eligibility_problem(consultation, table, resident, book=False)
    if reason:
        refuse(reason, code)
    with transaction.atomic():
        phase = _lock_round_for_a_mark(consultation.pk)
        problem = eligibility.window_problem(consultation, marked_at, TABLE)
        if not problem:
            if phase == Consultation.Phase.VOTING and now < consultation.voting_closes_at:
                pass
            elif not (
                queued
                and phase in (Consultation.Phase.VOTING, Consultation.Phase.COUNTING)
                and now < consultation.voting_closes_at + QUEUED_MARK_GRACE
                and not TallyEntry.objects.filter(
                    sheet__consultation=consultation, sheet__table=table
                ).exists()
            ):
                problem = eligibility.explain(eligibility.CLOSED, TABLE)[0]
        if problem:
            refuse(problem, eligibility.CLOSED)
        entry, created = _book_insert(consultation, table, resident, by, mark_id, marked_at)
        if created:
            # The table's sheet exists from its first mark: if no officer ever enters it, staff
            # can still decide it after the deadline, and the count shows the commune pending.
            TallySheet.objects.get_or_create(consultation=consultation, table=table)
            audit.record(
                actor=by,
                action="voting_book.mark",
                obj=consultation,
                after={
                    "table": table.code,
                    "resident": resident.pk,
                    "mark": str(mark_id),
                    "queued": queued,
                },
            )
            voter = _table_voter(resident, may_vote=False, reason="", code="marked")
            return Mark("marked", voter, _("Marked as voted. Give them their ballot."))
        if entry.mark_id == mark_id:
            voter = _table_voter(resident, may_vote=False, reason="", code="marked")
            return Mark("repeat", voter, _("This mark had already reached the voting book."))
        if not queued:
            refuse(_already_voted_message(entry), "already_voted")
        conflict, _new = BookConflict.objects.get_or_create(
            mark_id=mark_id,
            defaults={
                "consultation": consultation,
                "table": table,
                "resident": resident,
                "officer": by,
                "marked_at": marked_at,
                "received_at": now,
                "existing_channel": entry.channel,
                "existing_table": entry.table,
            },
        )
        if _new:
            audit.record(
                actor=by,
                action="voting_book.conflict",
                obj=conflict,
                after={
                    "table": table.code,
                    "resident": resident.pk,
                    "existing_channel": entry.channel,
                    "marked_at": marked_at.isoformat(),
                },
            )
    message = _(
        "CONFLICT: this mark was made offline, but the person had already voted %(where)s. It is "
        "recorded for staff; the table's tally sheet will be reviewed."
    ) % {"where": _where_voted(entry)}
    voter = _table_voter(resident, may_vote=False, reason=message, code="conflict")
    return Mark("conflict", voter, message)


def _table_voter(resident, *, may_vote, reason, code) -> TableVoter:
    return TableVoter(
        resident_id=resident.pk,
        cedula_masked=cedula_mask(resident.cedula),
        full_name=resident.full_name,
        may_vote=may_vote,
        reason=reason,
        code=code,
    )


def _book_insert(consultation, table, resident, by, mark_id, marked_at):
    """(entry, created): the person's row in the book, written now unless already there."""
    try:
        with transaction.atomic():
            entry = VotingBookEntry.objects.create(
                consultation=consultation,
                resident=resident,
                commune_id=table.commune_id,
                channel=VotingBookEntry.Channel.TABLE,
                voted_at=marked_at,
                table=table,
                marked_by=by,
                mark_id=mark_id,
            )
            return entry, True
    except IntegrityError:
        existing = (
            VotingBookEntry.objects.select_related("table__centre")
            .filter(consultation=consultation, resident=resident)
            .first()
        )
        if existing is None:  # not the one-per-person rule: something else, let it surface
            raise
        return existing, False


# Tally sheets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """A sheet's figures: votes per project (ids as text), blank and null ballots."""

    votes: dict[str, int]
    blank: int
    null: int

    @property
    def ballots(self) -> int:
        return sum(self.votes.values()) + self.blank + self.null


def ballot_projects(consultation, commune_id) -> list[Project]:
    return list(
        Project.objects.filter(
            consultation=consultation, commune_id=commune_id, status=Project.Status.APPROVED
        ).order_by("title", "pk")
    )


def figures_check(*, consultation, commune_id, votes: dict, blank, null) -> Figures:
    """Every project of the commune's ballot once, and counts that are whole, not negative and
    not absurd; raises ValidationError saying which line is wrong."""
    projects = {str(p.pk): p for p in ballot_projects(consultation, commune_id)}
    errors = []

    def number(value, label):
        try:
            n = int(str(value).strip())
        except (TypeError, ValueError):
            errors.append(_("%(line)s: write a whole number.") % {"line": label})
            return 0
        if n < 0:
            errors.append(_("%(line)s: a count cannot be negative.") % {"line": label})
        elif n > MAX_BALLOTS_PER_LINE:
            errors.append(
                _("%(line)s: %(n)d is more ballots than a table receives.")
                % {"line": label, "n": n}
            )
        return n

    given = {str(key): value for key, value in votes.items()}
    unknown = set(given) - set(projects)
    if unknown:
        errors.append(_("The sheet names a project that is not on this commune's ballot."))
    counted = {}
    for key, project in projects.items():
        if key not in given:
            errors.append(_("%(line)s: missing.") % {"line": project.title})
            continue
        counted[key] = number(given[key], project.title)
    figures = Figures(counted, number(blank, _("Blank")), number(null, _("Null")))
    if errors:
        raise ValidationError(errors, code="figures")
    return figures


def table_marks(consultation, table) -> int:
    return VotingBookEntry.objects.filter(consultation=consultation, table=table).count()


def _sheet_locked(consultation, table) -> TallySheet:
    TallySheet.objects.get_or_create(consultation=consultation, table=table)
    return TallySheet.objects.select_for_update().get(consultation=consultation, table=table)


def sheet_difference(sheet: TallySheet, entries: list[TallyEntry], marks: int) -> dict:
    """What a reviewer needs: each line as each officer entered it, and the totals vs the book."""
    lines = {}
    keys = sorted({key for entry in entries for key in entry.votes}, key=int)
    for key in keys:
        lines[key] = [entry.votes.get(key) for entry in entries]
    return {
        "lines": lines,
        "blank": [entry.blank for entry in entries],
        "null": [entry.null for entry in entries],
        "totals": [entry.ballots for entry in entries],
        "marks": marks,
        "conflicts": BookConflict.objects.filter(
            consultation=sheet.consultation, table=sheet.table
        ).count(),
    }


def tally_enter(
    *,
    assignment: OfficerAssignment,
    by,
    votes: dict,
    blank,
    null,
    scan,
    now=None,
) -> TallySheet:
    """An officer's entry of their table's sheet, with the photo or scan of the signed sheet.

    The second entry decides: the same figures as the first and a total equal to the table's
    marks accept the sheet; anything else sends it to review with the difference recorded.
    """
    permissions.require(by, "voting.run_table", assignment)
    now = now or timezone.now()
    consultation, table = assignment.consultation, assignment.table
    if now < consultation.voting_closes_at:
        refuse(_("The tally sheet is entered once voting has closed."), "not_closed")
    if consultation.tally_deadline_at and now > consultation.tally_deadline_at:
        refuse(
            _("The deadline for tally sheets has passed; staff decide the remaining ones."),
            "deadline",
        )
    figures = figures_check(
        consultation=consultation, commune_id=table.commune_id, votes=votes, blank=blank, null=null
    )
    with transaction.atomic():
        sheet = _sheet_locked(consultation, table)
        entries = list(sheet.entries.all())
        if any(entry.officer_id == by.pk for entry in entries):
            refuse(
                _(
                    "You have already entered this sheet; the other entry must come from a second "
                    "officer of the table."
                ),
                "entered_twice",
            )
        if sheet.is_final or len(entries) >= 2:
            refuse(_("This sheet already has both entries."), "complete")
        stored_scan = commune_file_store(
            commune=table.commune,
            uploaded=scan,
            by=by,
            is_public=True,  # a signed tally sheet is a public document
        )
        entry = TallyEntry.objects.create(
            sheet=sheet,
            officer=by,
            votes=figures.votes,
            blank=figures.blank,
            null=figures.null,
            scan=stored_scan,
            entered_at=now,
        )
        entries.append(entry)
        SheetEvent.objects.create(
            sheet=sheet,
            kind=SheetEvent.Kind.ENTERED,
            at=now,
            by=by,
            details={"votes": figures.votes, "blank": figures.blank, "null": figures.null},
        )
        audit.record(
            actor=by,
            action="tally_sheet.enter",
            obj=sheet,
            after={"table": table.code, "entry": len(entries), "ballots": figures.ballots},
        )
        if len(entries) == 2:
            _second_entry_check(sheet, entries, now)
    return sheet


def _second_entry_check(sheet: TallySheet, entries: list[TallyEntry], now) -> None:
    marks = table_marks(sheet.consultation, sheet.table)
    first, second = entries
    same = first.figures() == second.figures()
    if same and first.ballots == marks:
        _sheet_final(
            sheet,
            TallySheet.Status.ACCEPTED,
            Figures(dict(first.votes), first.blank, first.null),
            by=None,
            reason="",
            now=now,
            details={"marks": marks},
        )
        return
    sheet.status = TallySheet.Status.REVIEW
    sheet.save(update_fields=["status"])
    reasons = []
    if not same:
        reasons.append(_("The two entries differ."))
    if first.ballots != marks or second.ballots != marks:
        reasons.append(
            _("The sheet's total is not the table's %(marks)d marks in the voting book.")
            % {"marks": marks}
        )
    SheetEvent.objects.create(
        sheet=sheet,
        kind=SheetEvent.Kind.MISMATCH,
        at=now,
        reason=" ".join(reasons),
        details=sheet_difference(sheet, entries, marks),
    )


def _sheet_final(sheet, status, figures: Figures | None, *, by, reason, now, details) -> None:
    sheet.status = status
    if figures is not None:
        sheet.votes, sheet.blank, sheet.null = figures.votes, figures.blank, figures.null
    sheet.decided_at = now
    sheet.decided_by = by
    sheet.save(update_fields=["status", "votes", "blank", "null", "decided_at", "decided_by"])
    kind = (
        SheetEvent.Kind.ACCEPTED
        if status == TallySheet.Status.ACCEPTED
        else (SheetEvent.Kind.ANNULLED)
    )
    SheetEvent.objects.create(
        sheet=sheet,
        kind=kind,
        at=now,
        by=by,
        reason=reason,
        details={
            **details,
            **(
                {"votes": figures.votes, "blank": figures.blank, "null": figures.null}
                if figures is not None
                else {}
            ),
        },
    )
    audit.record(
        actor=by,
        action=f"tally_sheet.{status}",
        obj=sheet,
        after={"table": sheet.table.code, "reason": reason, **details},
    )
    transaction.on_commit(
        lambda: commune_recount(
            consultation_id=sheet.consultation_id, commune_id=sheet.table.commune_id
        )
    )


def tally_decide(
    *,
    sheet: TallySheet,
    by,
    decision: str,
    reason: str,
    entry_id: int | None = None,
    votes: dict | None = None,
    blank=None,
    null=None,
    now=None,
) -> TallySheet:
    """Staff's decision on a sheet under review (or, after the deadline, one still waiting):
    accept one officer's entry or figures read from the scan, or annul it. A reason is required."""
    permissions.require(by, "voting.review_tally_sheets", sheet)
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        refuse(_("Say why: the reason is published with the sheet."), "reason")
    if decision not in ("accept", "annul"):
        refuse(_("Choose to accept figures or to annul the sheet."), "decision")
    with transaction.atomic():
        sheet = (
            TallySheet.objects.select_for_update()
            .select_related("consultation", "table__commune")
            .get(pk=sheet.pk)
        )
        consultation = sheet.consultation
        if sheet.is_final:
            refuse(_("This sheet has already been decided."), "decided")
        deadline_passed = consultation.tally_deadline_at is not None and (
            now > consultation.tally_deadline_at
        )
        if sheet.status == TallySheet.Status.WAITING and not deadline_passed:
            refuse(
                _(
                    "This sheet is still waiting for its officers' entries; it can be decided once "
                    "they disagree or after the deadline."
                ),
                "waiting",
            )
        marks = table_marks(consultation, sheet.table)
        if decision == "annul":
            _sheet_final(
                sheet,
                TallySheet.Status.ANNULLED,
                None,
                by=by,
                reason=reason,
                now=now,
                details={"marks": marks},
            )
            return sheet
        if entry_id is not None:
            entry = sheet.entries.filter(pk=entry_id).first()
            if entry is None:
                refuse(_("That entry is not one of this sheet's."), "entry")
            figures = Figures(dict(entry.votes), entry.blank, entry.null)
        else:
            figures = figures_check(
                consultation=consultation,
                commune_id=sheet.table.commune_id,
                votes=votes or {},
                blank=blank,
                null=null,
            )
        _sheet_final(
            sheet,
            TallySheet.Status.ACCEPTED,
            figures,
            by=by,
            reason=reason,
            now=now,
            details={"marks": marks, "entry": entry_id},
        )
    return sheet
