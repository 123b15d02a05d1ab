"""The voting tables: in the past round, two officers a table marking voters in the book and
entering the table's tally sheet (one agreed, one reviewed by staff, one annulled); in the
current round, the demo's polling officer at the demo accounts' commune's table."""

import datetime
import random

from django.utils.translation import gettext as _

from communes.models import Resident
from consultations.models import Consultation
from consultations.services import years_before
from voting.eligibility import voting_day
from voting.models import OfficerAssignment, TallySheet, VotingBookEntry
from voting.tables import (
    ballot_projects,
    officer_assign,
    table_mark,
    table_marks,
    tally_decide,
    tally_enter,
)

from .documents import pdf_upload
from .names import GIVEN, SURNAMES
from .people import account, email, user_without_password
from .territory import demo_tables

OFFICER_PREFIX = "oficial"  # the past round's officers: oficial1@… and on, without a password
# What became of the past round's tally sheets, table by table in the order of demo_tables():
# both officers agreed with the book (accepted on its own); the entries differed and staff
# accepted one, read against the scan; the sheet counted more ballots than the table's marks and
# was annulled.
SHEET_STORIES = ["agreed", "disagreed", "annulled"]
REVIEW_REASONS = {
    "disagreed": "Revisada el acta escaneada: la segunda transcripción anotó un voto en la línea "
    "de otro proyecto; vale la primera, que coincide con el acta firmada y con el cuaderno.",
    "annulled": "El acta suma más boletas que electores marcados en el cuaderno de votación y el "
    "escaneo no permite corregirla; se anula y sus electores constan como votantes sin voto.",
}


def table_voters(consultation: Consultation, commune_id: int):
    """Residents of a commune who may vote and are not in the round's book, without a demo
    account (those vote online, or are kept for whoever tries the demo)."""
    return (
        Resident.objects.filter(
            council__commune_id=commune_id,
            user__isnull=True,
            claims__isnull=True,
            birth_date__lte=years_before(voting_day(consultation), 18),
        )
        .exclude(
            pk__in=VotingBookEntry.objects.filter(consultation=consultation).values("resident_id")
        )
        .order_by("cedula")
    )


def table_marks_seed(consultation: Consultation) -> list[list[OfficerAssignment]]:
    """The past round's tables: two officers each, and residents of the table's commune who
    did not vote online marked in the voting book by them during the day. Returns the
    officers' assignments, two per table."""
    admin = account("admin")
    opens = consultation.voting_opens_at
    tables = demo_tables()
    per_commune: dict[int, list] = {}
    for table in tables:
        per_commune.setdefault(table.commune_id, []).append(table)
    assignments = []
    minute = 0
    for number, table in enumerate(tables):
        pair = [
            officer_assign(
                consultation=consultation,
                table=table,
                officer=user_without_password(
                    f"{OFFICER_PREFIX}{officer_number}",
                    GIVEN[-officer_number],
                    SURNAMES[-officer_number],
                ),
                by=admin,
                now=opens,
            )
            for officer_number in (2 * number + 1, 2 * number + 2)
        ]
        assignments.append(pair)
        siblings = per_commune[table.commune_id]
        voters = list(table_voters(consultation, table.commune_id))
        for index, resident in enumerate(voters[siblings.index(table) :: len(siblings)][:8]):
            minute += 17
            table_mark(
                assignment=pair[index % 2],
                cedula=resident.cedula,
                by=pair[index % 2].officer,
                now=opens + datetime.timedelta(minutes=minute),
            )
    return assignments


def tally_sheets_seed(
    consultation: Consultation,
    assignments: list[list[OfficerAssignment]],
    favour: dict[int, float],
    *,
    closed: datetime.datetime,
) -> None:
    """Each table's two officers enter its sheet, with the scan of the signed sheet; staff
    decide the ones sent to review (see SHEET_STORIES)."""
    reviewer = account("ministerio")
    rng = random.Random(7)  # apart from the main generator: the rest of the demo stays put
    minutes = datetime.timedelta(minutes=1)
    for story, (first, second) in zip(SHEET_STORIES, assignments, strict=False):
        table = first.table
        marks = table_marks(consultation, table)
        projects = [project.pk for project in ballot_projects(consultation, table.commune_id)]
        blank = 1 if marks >= 5 else 0
        chosen = rng.choices(projects, [favour[pk] for pk in projects], k=marks - blank)
        votes = {str(pk): chosen.count(pk) for pk in projects}
        entries = [votes, dict(votes)]
        if story == "disagreed":  # the second officer wrote a vote on the wrong line
            top, other = sorted(votes, key=lambda pk: -votes[pk])[:2]
            entries[1][top], entries[1][other] = votes[top] - 1, votes[other] + 1
        elif story == "annulled":  # both agree, on more ballots than the book's marks
            top = max(votes, key=lambda pk: votes[pk])
            entries[0][top] = entries[1][top] = votes[top] + 4
        sheet = None
        for number, (assignment, figures) in enumerate(
            zip((first, second), entries, strict=True), 1
        ):
            sheet = tally_enter(
                assignment=assignment,
                by=assignment.officer,
                votes=figures,
                blank=blank,
                null=0,
                scan=pdf_upload(f"acta-{table.code}-{number}.pdf"),
                now=closed + (20 + 15 * number) * minutes,
            )
        if story == "agreed":
            continue
        tally_decide(
            sheet=sheet,
            by=reviewer,
            decision="accept" if story == "disagreed" else "annul",
            reason=REVIEW_REASONS[story],
            entry_id=sheet.entries.order_by("entered_at").first().pk
            if story == "disagreed"
            else None,
            now=closed + 90 * minutes,
        )


def officer_on_duty_seed(current: Consultation, *, now: datetime.datetime) -> None:
    """mesa@… runs the demo accounts' commune's first table in the current round, and has
    marked a few people there already."""
    officer = account("mesa")
    if current.phase != Consultation.Phase.VOTING or now >= current.voting_closes_at:
        return
    if OfficerAssignment.objects.filter(consultation=current, officer=officer).exists():
        return
    table = demo_tables()[0]
    assignment = officer_assign(
        consultation=current, table=table, officer=officer, by=account("admin"), now=now
    )
    for index, resident in enumerate(table_voters(current, table.commune_id)[:3]):
        table_mark(
            assignment=assignment,
            cedula=resident.cedula,
            by=officer,
            now=now - datetime.timedelta(minutes=50 - 15 * index),
        )


def tables_summary(past: Consultation, current: Consultation) -> list[str]:
    """Lines to print: who runs which table now, and what became of the past round's sheets."""
    lines = []
    duty = (
        OfficerAssignment.objects.filter(consultation=current, officer__email=email("mesa"))
        .select_related("table__commune", "officer")
        .first()
    )
    if duty is not None:
        lines.append(
            _("%(officer)s runs voting table %(table)s (%(commune)s) in %(round)s.")
            % {
                "officer": duty.officer.email,
                "table": duty.table.code,
                "commune": duty.table.commune.name,
                "round": current.name,
            }
        )
    sheets = TallySheet.objects.filter(consultation=past).select_related("table")
    if sheets:
        lines.append(
            _("%(round)s: tally sheets %(sheets)s.")
            % {
                "round": past.name,
                "sheets": ", ".join(
                    f"{sheet.table.code} {sheet.get_status_display()}" for sheet in sheets
                ),
            }
        )
    return lines
