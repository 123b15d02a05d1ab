"""Voting at tables: officers and their scope, the voting book shared with online voting, the
offline queue's conflicts, double-entered tally sheets and their review, and the count."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import StaffRole
from audit.models import AuditEntry
from communes.models import State
from consultations.models import Consultation, Exclusion
from cycle import services as cycle
from voting import services, tables
from voting.models import (
    BookConflict,
    CommuneResult,
    Count,
    ProjectResult,
    SealedBallot,
    SheetEvent,
    TallyEntry,
    TallySheet,
    VotingBookEntry,
    VotingTable,
)

from ..builders import (
    AFTER_VOTING,
    DURING_VOTING,
    close_voting,
    hours,
    make_resident,
    make_staff,
    make_table,
    make_user,
    make_voter,
    tiny_pdf,
)

BEFORE_VOTING = hours(47)
AFTER_DEADLINE = hours(121)


def make_officer(email):
    return make_staff(email, StaffRole.Kind.POLLING_OFFICER)


@pytest.fixture
def table_a(commune_a):
    return make_table(commune_a)


@pytest.fixture
def officers(voting_round, table_a, adam):
    """Two officers of table A in the round, assigned before voting opened."""
    return [
        tables.officer_assign(
            consultation=voting_round,
            table=table_a,
            officer=make_officer(f"oficial{n}@example.org"),
            by=adam,
            now=BEFORE_VOTING,
        )
        for n in (1, 2)
    ]


def voters_of(council, count, start=1):
    return [
        make_resident(council, f"V-{30_000_000 + n}", f"Elector {n}")
        for n in range(start, start + count)
    ]


def mark(assignment, resident, *, now=DURING_VOTING, **extra):
    return tables.table_mark(
        assignment=assignment, cedula=resident.cedula, by=assignment.officer, now=now, **extra
    )


def scan():
    return SimpleUploadedFile("acta.pdf", tiny_pdf())


def enter(assignment, votes, blank=0, null=0, *, now=AFTER_VOTING, upload=None):
    projects = tables.ballot_projects(assignment.consultation, assignment.table.commune_id)
    return tables.tally_enter(
        assignment=assignment,
        by=assignment.officer,
        votes={str(p.pk): n for p, n in zip(projects, votes, strict=True)},
        blank=blank,
        null=null,
        scan=upload or scan(),
        now=now,
    )


def error_code(call) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.code or caught.value.error_list[0].code


# Officers ----------------------------------------------------------------------------------


def test_assigning_an_officer_makes_them_one_and_one_table_per_round(
    voting_round, table_a, adam, mina, commune_a, commune_b
):
    person = make_user("nueva.oficial@example.org")
    assignment = tables.officer_assign(
        consultation=voting_round, table=table_a, officer=person, by=adam, now=BEFORE_VOTING
    )
    assert StaffRole.objects.filter(user=person, kind="polling_officer").exists()
    other = make_table(commune_a, number=2)
    assert (
        error_code(
            lambda: tables.officer_assign(
                consultation=voting_round, table=other, officer=person, by=adam, now=BEFORE_VOTING
            )
        )
        == "already_assigned"
    )
    with pytest.raises(PermissionDenied):
        tables.officer_assign(
            consultation=voting_round,
            table=other,
            officer=make_user("x@example.org"),
            by=mina,
            now=BEFORE_VOTING,
        )
    assert (
        error_code(
            lambda: tables.officer_assign(
                consultation=voting_round,
                table=other,
                officer=make_user("tarde@example.org"),
                by=adam,
                now=AFTER_VOTING,
            )
        )
        == "closed"
    )
    Exclusion.objects.create(
        consultation=voting_round, commune=commune_b, kind="no_ballot", reason="Sin boleta"
    )
    assert (
        error_code(
            lambda: tables.officer_assign(
                consultation=voting_round,
                table=make_table(commune_b, centre_code="E-0002"),
                officer=make_user("b@example.org"),
                by=adam,
                now=BEFORE_VOTING,
            )
        )
        == "commune_not_on_vote"
    )
    assert assignment.table == table_a
    # Once voting has opened, the officer stays.
    with pytest.raises(ValidationError):
        tables.officer_unassign(assignment=assignment, by=adam, now=DURING_VOTING)
    tables.officer_unassign(assignment=assignment, by=adam, now=BEFORE_VOTING)


def test_an_officer_sees_only_their_table_and_only_on_its_days(
    client, live_round, commune_a, council_a, adam
):
    from django.utils import timezone

    first = make_table(commune_a, number=1)
    second = make_table(commune_a, number=2)
    now = timezone.now()
    one = tables.officer_assign(
        consultation=live_round,
        table=first,
        officer=make_officer("uno@example.org"),
        by=adam,
        now=now - datetime.timedelta(hours=2),
    )
    two = tables.officer_assign(
        consultation=live_round,
        table=second,
        officer=make_officer("dos@example.org"),
        by=adam,
        now=now - datetime.timedelta(hours=2),
    )
    client.force_login(one.officer)
    assert client.get(reverse("voting:officer-home")).url == reverse("voting:table", args=[one.pk])
    assert client.get(reverse("voting:table", args=[one.pk])).status_code == 200
    assert client.get(reverse("voting:table", args=[two.pk])).status_code == 404
    resident = voters_of(council_a, 1)[0]
    response = client.post(
        reverse("voting:table-mark", args=[two.pk]),
        {"cedula": resident.cedula, "mark_id": str(uuid.uuid4())},
    )
    assert response.status_code == 404
    assert not VotingBookEntry.objects.exists()

    # Before the first voting day and after the tally-sheet deadline, the table is gone.
    day = datetime.timedelta(days=1)
    Consultation.objects.filter(pk=live_round.pk).update(
        voting_opens_at=now + 2 * day,
        voting_closes_at=now + 3 * day,
        tally_deadline_at=now + 4 * day,
    )
    assert client.get(reverse("voting:table", args=[one.pk])).status_code == 404
    Consultation.objects.filter(pk=live_round.pk).update(
        assemblies_open_at=now - 6 * day,
        validation_opens_at=now - 5 * day,
        voting_opens_at=now - 3 * day,
        voting_closes_at=now - 2 * day,
        tally_deadline_at=now - day,
    )
    assert client.get(reverse("voting:table", args=[one.pk])).status_code == 404
    assert client.get(reverse("voting:officer-home")).status_code == 200  # "no table today"


# The voting book, shared with online voting ------------------------------------------------


def test_a_person_marked_at_a_table_cannot_vote_online(voting_round, officers, council_a):
    voter = make_voter(council_a, 1)
    outcome = mark(officers[0], voter.resident)
    assert outcome.outcome == "marked"
    entry = VotingBookEntry.objects.get()
    assert (entry.channel, entry.table, entry.marked_by) == (
        "table",
        officers[0].table,
        officers[0].officer,
    )
    project = voting_round.projects.filter(commune=officers[0].table.commune).first()
    code = error_code(
        lambda: services.vote_cast(
            consultation=voting_round, user=voter, project_id=project.pk, now=DURING_VOTING
        )
    )
    assert code == "already_voted"
    assert VotingBookEntry.objects.count() == 1
    assert not SealedBallot.objects.exists()


def test_a_person_who_voted_online_is_refused_loudly_at_the_table(
    voting_round, officers, council_a
):
    voter = make_voter(council_a, 1)
    project = voting_round.projects.filter(commune=officers[0].table.commune).first()
    services.vote_cast(
        consultation=voting_round, user=voter, project_id=project.pk, now=DURING_VOTING
    )
    looked_up = tables.table_voter_lookup(
        assignment=officers[0], cedula=voter.resident.cedula, now=DURING_VOTING
    )
    assert not looked_up.may_vote and looked_up.code == "already_voted"
    assert looked_up.cedula_masked.endswith(voter.resident.cedula[-4:])
    assert voter.resident.cedula not in looked_up.cedula_masked
    with pytest.raises(ValidationError) as caught:
        mark(officers[0], voter.resident)
    assert caught.value.code == "already_voted"
    assert "YA VOTÓ" in caught.value.messages[0]
    assert VotingBookEntry.objects.count() == 1
    assert not BookConflict.objects.exists()


def test_a_second_mark_at_another_table_is_refused(
    voting_round, officers, commune_a, council_a, adam
):
    other = tables.officer_assign(
        consultation=voting_round,
        table=make_table(commune_a, number=2),
        officer=make_officer("otra@example.org"),
        by=adam,
        now=BEFORE_VOTING,
    )
    resident = voters_of(council_a, 1)[0]
    mark(officers[0], resident)
    assert error_code(lambda: mark(other, resident)) == "already_voted"
    assert VotingBookEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("cedula", "code"),
    [
        ("12345678", "invalid"),
        ("V-0123456", "leading_zero"),
        ("V-99999999", "not_on_census"),
    ],
)
def test_a_bad_cedula_changes_nothing(voting_round, officers, cedula, code):
    audit_before = AuditEntry.objects.count()
    assert (
        error_code(
            lambda: tables.table_mark(
                assignment=officers[0], cedula=cedula, by=officers[0].officer, now=DURING_VOTING
            )
        )
        == code
    )
    assert not VotingBookEntry.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_the_table_refuses_other_communes_minors_and_closed_hours(
    voting_round, officers, council_a, council_b
):
    other = make_resident(council_b, "V-40000001", "De Otra Comuna")
    assert error_code(lambda: mark(officers[0], other)) == "other_commune"
    child = make_resident(council_a, "V-40000002", "Menor", birth=datetime.date(2015, 1, 1))
    assert error_code(lambda: mark(officers[0], child)) == "too_young"
    adult = make_resident(council_a, "V-40000003", "Adulta")
    assert error_code(lambda: mark(officers[0], adult, now=BEFORE_VOTING)) == "closed"
    assert error_code(lambda: mark(officers[0], adult, now=AFTER_VOTING)) == "closed"
    Consultation.objects.filter(pk=voting_round.pk).update(channels="online")
    officers[0].consultation.refresh_from_db()
    assert error_code(lambda: mark(officers[0], adult)) == "closed"
    assert not VotingBookEntry.objects.exists()


# The offline queue ---------------------------------------------------------------------------


def test_the_same_queued_mark_sent_twice_is_one_mark(voting_round, officers, council_a):
    resident = voters_of(council_a, 1)[0]
    mark_id = uuid.uuid4()
    made = DURING_VOTING - datetime.timedelta(minutes=20)
    first = mark(officers[0], resident, mark_id=mark_id, marked_at=made)
    again = mark(officers[0], resident, mark_id=mark_id, marked_at=made)
    assert (first.outcome, again.outcome) == ("marked", "repeat")
    entry = VotingBookEntry.objects.get()
    assert entry.voted_at == made  # when the ballot was handed out, not when the mark arrived
    assert not BookConflict.objects.exists()


def test_a_queued_mark_that_meets_an_online_vote_is_a_conflict_never_dropped(
    client, voting_round, officers, council_a, mina
):
    voter = make_voter(council_a, 1)
    made = DURING_VOTING
    project = voting_round.projects.filter(commune=officers[0].table.commune).first()
    services.vote_cast(
        consultation=voting_round,
        user=voter,
        project_id=project.pk,
        now=made + datetime.timedelta(minutes=5),
    )
    mark_id = uuid.uuid4()
    sent = made + datetime.timedelta(minutes=30)
    outcome = mark(officers[0], voter.resident, mark_id=mark_id, marked_at=made, now=sent)
    assert outcome.outcome == "conflict"
    again = mark(officers[0], voter.resident, mark_id=mark_id, marked_at=made, now=sent)
    assert again.outcome == "conflict"
    conflict = BookConflict.objects.get()
    assert (conflict.existing_channel, conflict.table, conflict.marked_at) == (
        "online",
        officers[0].table,
        made,
    )
    # Still one row in the book: not counted twice, and not silently either.
    assert VotingBookEntry.objects.get().channel == "online"
    assert AuditEntry.objects.filter(action="voting_book.conflict").count() == 1
    client.force_login(mina)
    queue = client.get(reverse("voting:sheet-queue")).content.decode()
    assert f'data-conflict="{conflict.pk}"' in queue


def test_a_queued_mark_after_closing_is_taken_until_the_sheet_is_entered(
    voting_round, officers, council_a
):
    late, later = voters_of(council_a, 2)
    made = hours(57.9)  # while voting was open
    arrived = AFTER_VOTING  # two hours after closing
    assert mark(officers[0], late, marked_at=made, now=arrived).outcome == "marked"
    enter(officers[0], [1, 0, 0], now=arrived)
    assert error_code(lambda: mark(officers[0], later, marked_at=made, now=arrived)) == "closed"
    # A mark said to be made after closing is refused, queued or not.
    assert error_code(lambda: mark(officers[1], later, marked_at=hours(58.5), now=hours(59))) == (
        "closed"
    )


def test_the_table_page_queues_marks_and_answers_json(
    client, live_round, commune_a, council_a, adam
):
    from django.utils import timezone

    table = make_table(commune_a)
    assignment = tables.officer_assign(
        consultation=live_round,
        table=table,
        officer=make_officer("uno@example.org"),
        by=adam,
        now=timezone.now() - datetime.timedelta(hours=2),
    )
    resident = voters_of(council_a, 1)[0]
    client.force_login(assignment.officer)
    page = client.get(reverse("voting:table", args=[assignment.pk]), {"cedula": resident.cedula})
    html = page.content.decode()
    assert 'data-voter="may_vote"' in html and 'id="queue"' in html
    assert "table-queue" in html  # the script of the offline queue
    bad = client.get(reverse("voting:table", args=[assignment.pk]), {"cedula": "x12"})
    assert "no es una cédula válida" in bad.content.decode()
    url = reverse("voting:table-mark", args=[assignment.pk])
    mark_id = str(uuid.uuid4())
    made = (timezone.now() - datetime.timedelta(minutes=3)).isoformat()
    data = {"cedula": resident.cedula, "mark_id": mark_id, "marked_at": made}
    answer = client.post(url, data, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json()["outcome"] == "marked"
    again = client.post(url, data, headers={"Accept": "application/json"})
    assert again.json()["outcome"] == "repeat"
    refused = client.post(
        url,
        {"cedula": "V-88888888", "mark_id": str(uuid.uuid4())},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "not_on_census"
    assert VotingBookEntry.objects.count() == 1


# Tally sheets ---------------------------------------------------------------------------------


def test_two_equal_entries_that_match_the_book_accept_the_sheet(voting_round, officers, council_a):
    for resident in voters_of(council_a, 5):
        mark(officers[0], resident)
    sheet = enter(officers[0], [3, 1, 0], blank=1)
    assert sheet.status == "waiting"
    sheet = enter(officers[1], [3, 1, 0], blank=1)
    sheet.refresh_from_db()
    assert sheet.status == "accepted" and sheet.decided_by is None
    assert sheet.ballots == 5 and sheet.blank == 1
    assert list(sheet.events.values_list("kind", flat=True)) == ["entered", "entered", "accepted"]
    assert TallyEntry.objects.filter(sheet=sheet, scan__is_public=True).count() == 2


def test_entries_that_differ_wait_for_review_with_the_difference(voting_round, officers, council_a):
    for resident in voters_of(council_a, 4):
        mark(officers[0], resident)
    enter(officers[0], [3, 1, 0])
    sheet = enter(officers[1], [2, 2, 0])
    sheet.refresh_from_db()
    assert sheet.status == "review"
    mismatch = sheet.events.get(kind="mismatch")
    lines = mismatch.details["lines"]
    assert sorted(lines.values()) == [[0, 0], [1, 2], [3, 2]]
    assert mismatch.details["marks"] == 4


def test_equal_entries_whose_total_is_not_the_book_wait_for_review(
    voting_round, officers, council_a
):
    for resident in voters_of(council_a, 4):
        mark(officers[0], resident)
    enter(officers[0], [3, 1, 1])
    sheet = enter(officers[1], [3, 1, 1])
    sheet.refresh_from_db()
    assert sheet.status == "review"
    assert sheet.events.get(kind="mismatch").details["totals"] == [5, 5]


def test_entry_rules(voting_round, officers, council_a, commune_a, adam):
    mark(officers[0], voters_of(council_a, 1)[0])
    assert error_code(lambda: enter(officers[0], [1, 0, 0], now=DURING_VOTING)) == "not_closed"
    assert error_code(lambda: enter(officers[0], [1, 0, 0], now=AFTER_DEADLINE)) == "deadline"
    with pytest.raises(ValidationError) as caught:
        enter(officers[0], [-1, 0, 0])
    assert "negativo" in " ".join(caught.value.messages)
    exe = SimpleUploadedFile("acta.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    with pytest.raises(ValidationError):
        enter(officers[0], [1, 0, 0], upload=exe)
    assert not TallyEntry.objects.exists()
    enter(officers[0], [1, 0, 0])
    assert error_code(lambda: enter(officers[0], [1, 0, 0])) == "entered_twice"
    enter(officers[1], [1, 0, 0])
    third = tables.officer_assign(
        consultation=voting_round,
        table=officers[0].table,
        officer=make_officer("tercera@example.org"),
        by=adam,
        now=BEFORE_VOTING,
    )
    assert error_code(lambda: enter(third, [1, 0, 0])) == "complete"
    assert TallyEntry.objects.count() == 2
    # Figures must name every project of the ballot, and only those.
    projects = tables.ballot_projects(voting_round, commune_a.pk)
    with pytest.raises(ValidationError):
        tables.figures_check(
            consultation=voting_round,
            commune_id=commune_a.pk,
            votes={str(projects[0].pk): 1, "999999": 1},
            blank=0,
            null=0,
        )


@pytest.fixture
def sheet_in_review(voting_round, officers, council_a):
    for resident in voters_of(council_a, 4):
        mark(officers[0], resident)
    enter(officers[0], [3, 1, 0])
    sheet = enter(officers[1], [2, 2, 0])
    sheet.refresh_from_db()
    return sheet


def test_staff_decide_a_sheet_with_a_reason(sheet_in_review, mina):
    sheet = sheet_in_review
    assert (
        error_code(
            lambda: tables.tally_decide(
                sheet=sheet, by=mina, decision="accept", reason=" ", now=hours(70)
            )
        )
        == "reason"
    )
    first = sheet.entries.order_by("entered_at").first()
    tables.tally_decide(
        sheet=sheet,
        by=mina,
        decision="accept",
        entry_id=first.pk,
        reason="La foto del acta confirma la primera carga.",
        now=hours(70),
    )
    sheet.refresh_from_db()
    assert sheet.status == "accepted" and sheet.decided_by == mina
    assert sheet.votes == first.votes
    event = sheet.events.get(kind="accepted")
    assert event.reason == "La foto del acta confirma la primera carga." and event.by == mina
    assert error_code(
        lambda: tables.tally_decide(
            sheet=sheet, by=mina, decision="annul", reason="Otra vez", now=hours(71)
        )
    ) == ("decided")


def test_typed_figures_and_annulment(voting_round, sheet_in_review, mina, commune_a, adam):
    projects = tables.ballot_projects(voting_round, commune_a.pk)
    tables.tally_decide(
        sheet=sheet_in_review,
        by=mina,
        decision="accept",
        votes={str(projects[0].pk): 2, str(projects[1].pk): 1, str(projects[2].pk): 0},
        blank=1,
        null=0,
        reason="Leído del acta firmada.",
        now=hours(70),
    )
    sheet_in_review.refresh_from_db()
    assert sheet_in_review.ballots == 4
    # A sheet still waiting can only be decided once the deadline has passed: then it is annulled.
    waiting = TallySheet.objects.create(
        consultation=voting_round, table=make_table(commune_a, number=9)
    )
    assert (
        error_code(
            lambda: tables.tally_decide(
                sheet=waiting, by=adam, decision="annul", reason="Sin acta", now=hours(70)
            )
        )
        == "waiting"
    )
    tables.tally_decide(
        sheet=waiting, by=adam, decision="annul", reason="Nunca llegó el acta", now=AFTER_DEADLINE
    )
    waiting.refresh_from_db()
    assert waiting.status == "annulled"


def test_only_staff_of_the_tables_state_decide(sheet_in_review, officers, commune_a):
    elsewhere = make_staff("otro.estado@example.org", StaffRole.Kind.MINISTRY_STAFF)
    far = State.objects.exclude(pk=commune_a.parish.municipality.state_id).first()
    StaffRole.objects.filter(user=elsewhere).update(state=far)
    for person in (elsewhere, officers[0].officer):
        with pytest.raises(PermissionDenied):
            tables.tally_decide(
                sheet=sheet_in_review, by=person, decision="annul", reason="x", now=hours(70)
            )
    assert TallySheet.objects.get(pk=sheet_in_review.pk).status == "review"


def test_the_review_page_shows_both_entries_and_records_the_decision(client, sheet_in_review, mina):
    client.force_login(mina)
    url = reverse("voting:sheet-review", args=[sheet_in_review.pk])
    page = client.get(url).content.decode()
    assert page.count('data-differs="1"') == 2 and 'data-marks="4"' in page
    refused = client.post(url, {"decision": "annul", "reason": ""})
    assert refused.status_code == 422
    assert TallySheet.objects.get(pk=sheet_in_review.pk).status == "review"
    entry = sheet_in_review.entries.order_by("entered_at").last()
    done = client.post(url, {"decision": f"entry_{entry.pk}", "reason": "Coincide con la foto."})
    assert done.status_code == 302
    assert TallySheet.objects.get(pk=sheet_in_review.pk).status == "accepted"


# The count -------------------------------------------------------------------------------------


def results_of(consultation, commune):
    result = CommuneResult.objects.get(consultation=consultation, commune=commune)
    projects = {
        row.project.title: (row.online_votes, row.table_votes, row.votes, row.is_winner)
        for row in ProjectResult.objects.filter(
            consultation=consultation, commune=commune
        ).select_related("project")
    }
    return result, projects


def test_the_count_adds_accepted_sheets_keeps_pending_communes_open_and_recounts(
    voting_round, officers, council_a, commune_a, mina, adam, django_capture_on_commit_callbacks
):
    # Online: two votes for "Cancha". At table A: 4 marks, a sheet accepted (3 Agua, 1 blank).
    for number in (1, 2):
        services.vote_cast(
            consultation=voting_round,
            user=make_voter(council_a, number),
            project_id=voting_round.projects.get(commune=commune_a, title="Cancha").pk,
            now=DURING_VOTING,
        )
    for resident in voters_of(council_a, 4):
        mark(officers[0], resident)
    order = [p.title for p in tables.ballot_projects(voting_round, commune_a.pk)]
    agua = [3 if title == "Agua potable" else 0 for title in order]
    enter(officers[0], agua, blank=1)
    enter(officers[1], agua, blank=1)
    # A second table: 3 marks, entries that disagree (in review).
    second = tables.officer_assign(
        consultation=voting_round,
        table=make_table(commune_a, number=2),
        officer=make_officer("tres@example.org"),
        by=adam,
        now=BEFORE_VOTING,
    )
    third = tables.officer_assign(
        consultation=voting_round,
        table=second.table,
        officer=make_officer("cuatro@example.org"),
        by=adam,
        now=BEFORE_VOTING,
    )
    for resident in voters_of(council_a, 3, start=50):
        mark(second, resident)
    cancha = [3 if title == "Cancha" else 0 for title in order]
    enter(second, cancha)
    review = enter(third, [1 if title == "Cancha" else 0 for title in order])

    close_voting(voting_round)
    count = cycle.round_count(consultation_id=voting_round.pk, now=hours(60))
    assert count.status == Count.Status.DONE
    result, projects = results_of(voting_round, commune_a)
    assert (result.voting_book, result.urn, result.counted) == (2, 2, 2)
    assert (result.table_marks, result.sheet_ballots, result.blank) == (7, 4, 1)
    assert result.pending_sheets == 1 and result.voters == 9
    assert projects["Agua potable"] == (0, 3, 3, False)
    assert projects["Cancha"] == (2, 0, 2, False)  # no winner while a sheet is pending
    first_run = sorted(ProjectResult.objects.values_list("project_id", "votes", "rank"))
    cycle.round_count(consultation_id=voting_round.pk, now=hours(61))
    assert sorted(ProjectResult.objects.values_list("project_id", "votes", "rank")) == first_run

    with django_capture_on_commit_callbacks(execute=True):
        tables.tally_decide(
            sheet=review,
            by=mina,
            decision="accept",
            entry_id=review.entries.order_by("entered_at").first().pk,
            reason="El acta dice 3 para Cancha.",
            now=hours(70),
        )
    result, projects = results_of(voting_round, commune_a)
    assert result.pending_sheets == 0 and result.sheet_ballots == 7
    assert projects["Cancha"] == (2, 3, 5, True)
    assert projects["Agua potable"][3] is False
    assert Count.objects.get(consultation=voting_round).revision == 1
    # The full count gives the same result as the recount.
    recounted = sorted(ProjectResult.objects.values_list("project_id", "votes", "is_winner"))
    cycle.round_count(consultation_id=voting_round.pk, now=hours(71))
    assert sorted(ProjectResult.objects.values_list("project_id", "votes", "is_winner")) == (
        recounted
    )
    assert SheetEvent.objects.filter(sheet=review, kind="accepted").count() == 1


def test_the_admin_assigns_officers_on_the_rounds_tables_page(
    client, voting_round, table_a, adam, commune_a
):
    client.force_login(adam)
    url = reverse("voting:round-tables", args=[voting_round.pk])
    page = client.get(url, {"q": commune_a.name[:6]}).content.decode()
    assert f'data-table="{table_a.code}"' in page
    person = make_user("nueva@example.org")
    unknown = client.post(url, {"table": table_a.code, "email": "nadie@example.org"})
    assert unknown.status_code == 422 and "Nadie tiene una cuenta" in unknown.content.decode()
    wrong_table = client.post(url, {"table": "NO-EXISTE", "email": person.email})
    assert wrong_table.status_code == 422
    assert not person.table_assignments.exists()
    # The page is seen before voting opens: the round's dates are in 2027.
    done = client.post(url, {"table": table_a.code.lower(), "email": person.email.upper()})
    assert done.status_code == 302
    assignment = person.table_assignments.get()
    assert assignment.table == table_a and assignment.assigned_by == adam
    again = client.post(url, {"table": table_a.code, "email": person.email})
    assert again.status_code == 422
    client.post(reverse("voting:officer-unassign", args=[assignment.pk]))
    assert not person.table_assignments.exists()
    assert AuditEntry.objects.filter(action="officer.unassign").count() == 1


def test_the_admin_imports_centres_and_tables_from_the_page(client, voting_round, adam, commune_a):
    client.force_login(adam)
    url = reverse("voting:tables-import", args=[voting_round.pk])
    parish = commune_a.parish.code

    def upload(kind, text, **extra):
        data = {"kind": kind, "file": SimpleUploadedFile("f.csv", text.encode()), **extra}
        return client.post(url, data, follow=True)

    upload("centres", f"code,name,parish_code,address\nCE-1,Liceo Andrés Bello,{parish},Calle 1\n")
    bad = upload("tables", f"centre_code,number,commune_code\nCE-1,1,{commune_a.code}\nCE-9,1,X\n")
    assert "Línea 3" in bad.content.decode()
    assert not VotingTable.objects.exists()
    upload("tables", f"centre_code,number,commune_code\nCE-1,1,{commune_a.code}\n")
    assert VotingTable.objects.get().code == "CE-1-1"
    not_csv = upload("tables", "\x00\x01garbage")
    assert not_csv.status_code == 200 and VotingTable.objects.count() == 1


def test_a_table_whose_sheet_never_came_is_decided_by_the_admin_after_the_deadline(
    client, voting_round, officers, council_a, adam
):
    for resident in voters_of(council_a, 2):
        mark(officers[0], resident)
    sheet = TallySheet.objects.get(table=officers[0].table)  # made with the first mark
    assert sheet.status == "waiting" and not sheet.entries.exists()
    assert (
        error_code(
            lambda: tables.tally_decide(
                sheet=sheet, by=adam, decision="annul", reason="Sin acta", now=hours(70)
            )
        )
        == "waiting"
    )
    tables.tally_decide(
        sheet=sheet,
        by=adam,
        decision="annul",
        reason="El acta nunca llegó; la mesa no se cuenta.",
        now=AFTER_DEADLINE,
    )
    sheet.refresh_from_db()
    assert sheet.status == "annulled" and sheet.events.get().reason.startswith("El acta")
