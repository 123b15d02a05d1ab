"""The demo's rounds: one published with counted results (online and at voting tables), one in
voting for the demo accounts, with the demo polling officer at a table."""

import io

from django.core.management import call_command

from accounts.models import User
from consultations.models import Consultation, PhaseTransition
from voting.models import (
    CommuneResult,
    OfficerAssignment,
    ProjectResult,
    SealedBallot,
    TallySheet,
    VotingBookEntry,
    VotingTable,
)
from voting.services import ballot, vote_cast


def _sizes():
    return [
        model.objects.count()
        for model in (Consultation, PhaseTransition, User, VotingBookEntry, SealedBallot)
    ]


def test_seed_demo_publishes_last_quarter_with_results_and_the_demo_residents_can_vote_now(db):
    call_command("seed_demo", stdout=io.StringIO())
    sizes = _sizes()
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    assert _sizes() == sizes  # running it again duplicates nothing

    past = Consultation.objects.get(phase="published")
    assert list(past.transitions.order_by("at").values_list("to_phase", flat=True)) == [
        "scheduled",
        "assemblies",
        "validation",
        "voting",
        "counting",
        "published",
    ]
    count = past.count
    book = VotingBookEntry.objects.filter(consultation=past, channel="online").count()
    assert count.status == "done" and not count.problems and count.ballots == book > 300
    assert SealedBallot.objects.filter(consultation=past).count() == book
    results = list(CommuneResult.objects.filter(consultation=past))
    assert len(results) == 60 and all(result.totals_agree for result in results)
    on_sheets = sum(
        sum(sheet.votes.values()) for sheet in TallySheet.objects.filter(consultation=past)
    )
    assert sum(result.votes for result in results) == book + on_sheets
    with_votes = sum(1 for result in results if result.votes)
    assert ProjectResult.objects.filter(consultation=past, is_winner=True).count() == with_votes
    assert with_votes >= 55

    current = Consultation.objects.get(phase="voting")
    assert VotingBookEntry.objects.filter(consultation=current).exists()
    printed = output.getvalue()
    for account in ("residente", "vocera"):
        email = f"{account}@demo.comunas.test"
        assert email in printed
        user = User.objects.get(email=email)
        choice = ballot(consultation=current, commune_id=user.resident.council.commune_id)[0]
        receipt = vote_cast(consultation=current, user=user, project_id=choice.pk)
        assert SealedBallot.objects.filter(receipt=receipt, consultation=current).exists()


def test_seed_demo_counts_the_past_rounds_tables_and_puts_the_demo_officer_at_a_table(db):
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    past = Consultation.objects.get(phase="published")
    current = Consultation.objects.get(phase="voting")
    tables = list(VotingTable.objects.filter(code__startswith="CV-").order_by("code"))
    assert [table.code for table in tables] == [
        f"{tables[0].centre.code}-1",
        f"{tables[1].centre.code}-1",
        f"{tables[1].centre.code}-2",
    ]
    assert tables[0].commune != tables[1].commune == tables[2].commune

    # One sheet accepted on its own, one accepted by staff after the entries differed, one
    # annulled: each with both officers' entries and their scans.
    sheets = {
        sheet.table.code: sheet
        for sheet in TallySheet.objects.filter(consultation=past).select_related("table")
    }
    auto, reviewed, annulled = (sheets[table.code] for table in tables)
    assert (auto.status, reviewed.status, annulled.status) == ("accepted", "accepted", "annulled")
    assert auto.decided_by is None and reviewed.decided_by.email == "ministerio@demo.comunas.test"
    assert annulled.decided_by is not None
    for sheet in sheets.values():
        entries = list(sheet.entries.all())
        assert len(entries) == 2 and all(entry.scan.is_public for entry in entries)
        assert len({entry.officer_id for entry in entries}) == 2
    assert list(reviewed.events.values_list("kind", flat=True)) == [
        "entered",
        "entered",
        "mismatch",
        "accepted",
    ]
    assert reviewed.events.get(kind="accepted").reason
    assert annulled.events.get(kind="annulled").reason

    # The accepted sheets add up to their tables' marks in the voting book; the annulled one
    # counted more ballots than its table's marks.
    def marks(table):
        return VotingBookEntry.objects.filter(consultation=past, table=table).count()

    for sheet in (auto, reviewed):
        assert sheet.ballots == marks(sheet.table) >= 5
    assert annulled.entries.first().ballots > marks(annulled.table) >= 5

    # The published results include the tables' votes; an annulled table's voters count in the
    # turnout, not its figures.
    for sheet in (auto, reviewed):
        commune = sheet.table.commune
        result = CommuneResult.objects.get(consultation=past, commune=commune)
        assert result.pending_sheets == 0
        assert result.sheet_ballots == sheet.ballots and result.blank == sheet.blank
        assert result.table_marks == sum(
            marks(table) for table in tables if table.commune == commune
        )
        table_votes = dict(
            ProjectResult.objects.filter(consultation=past, commune=commune).values_list(
                "project_id", "table_votes"
            )
        )
        assert table_votes == {int(key): n for key, n in sheet.votes.items()}
        assert sum(table_votes.values()) > 0
        winner = ProjectResult.objects.get(consultation=past, commune=commune, is_winner=True)
        assert winner.votes == winner.online_votes + winner.table_votes

    # In the current round the demo officer runs the table of the demo accounts' commune.
    duty = OfficerAssignment.objects.get(
        consultation=current, officer__email="mesa@demo.comunas.test"
    )
    resident = User.objects.get(email="residente@demo.comunas.test").resident
    assert duty.table == tables[0] and duty.table.commune == resident.council.commune
    assert duty.officer.staff_roles.filter(kind="polling_officer").exists()
    assert duty.officer.authenticator_set.filter(type="totp").exists()
    marked = VotingBookEntry.objects.filter(consultation=current, table=duty.table)
    assert marked.count() == 3 and {entry.marked_by_id for entry in marked} == {duty.officer_id}
    assert "mesa@demo.comunas.test" in output.getvalue() and duty.table.code in output.getvalue()
