"""Races at the tables: an online vote and a table mark at the same instant, two officers marking
one person, two officers entering a sheet together. Committed for real, each on its own connection.
"""

import uuid

import pytest
from django.utils import timezone

from accounts.models import StaffRole
from voting import services, tables
from voting.models import SealedBallot, SheetEvent, TallyEntry, TallySheet, VotingBookEntry

from ..builders import (
    close_now,
    live_round_for,
    make_staff,
    make_table,
    make_user,
    make_voter,
    tiny_pdf,
)
from ..concurrency import attempt, run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def assigned(consultation, table, email):
    admin = make_user(f"admin.{email}", is_superuser=True)
    StaffRole.objects.create(user=admin, kind=StaffRole.Kind.CYCLE_ADMIN)
    return tables.officer_assign(
        consultation=consultation,
        table=table,
        officer=make_staff(email, StaffRole.Kind.POLLING_OFFICER),
        by=admin,
        now=timezone.now() - timezone.timedelta(hours=2),
    )


def test_an_online_vote_and_a_table_mark_at_the_same_instant_make_one_entry(
    commune_a, commune_b, council_a
):
    consultation = live_round_for(commune_a, commune_b)
    assignment = assigned(consultation, make_table(commune_a), "oficial@example.org")
    project = consultation.projects.filter(commune=commune_a).first()
    voters = [make_voter(council_a, n) for n in range(12)]
    outcomes = []
    for voter in voters:
        outcomes.append(
            sorted(
                run_at_once(
                    [
                        attempt(
                            lambda v=voter: services.vote_cast(
                                consultation=consultation, user=v, project_id=project.pk
                            )
                        ),
                        attempt(
                            lambda v=voter: tables.table_mark(
                                assignment=assignment,
                                cedula=v.resident.cedula,
                                by=assignment.officer,
                            )
                        ),
                    ]
                )
            )
        )
    assert all(outcome == ["already_voted", "ok"] for outcome in outcomes), outcomes
    for voter in voters:
        assert VotingBookEntry.objects.filter(resident=voter.resident).count() == 1
    online = VotingBookEntry.objects.filter(channel="online").count()
    assert SealedBallot.objects.filter(consultation=consultation).count() == online


def test_two_officers_marking_one_person_at_once_make_one_mark(commune_a, commune_b, council_a):
    consultation = live_round_for(commune_a, commune_b)
    first = assigned(consultation, make_table(commune_a, 1), "uno@example.org")
    second = assigned(consultation, make_table(commune_a, 2), "dos@example.org")
    voter = make_voter(council_a, 1)
    results = run_at_once(
        [
            attempt(
                lambda a=a: tables.table_mark(
                    assignment=a, cedula=voter.resident.cedula, by=a.officer
                )
            )
            for a in (first, second, first, second)
        ]
    )
    assert sorted(results) == ["already_voted"] * 3 + ["ok"]
    assert VotingBookEntry.objects.filter(resident=voter.resident).count() == 1


def test_the_same_queued_mark_sent_from_two_tabs_at_once_is_one_mark(
    commune_a, commune_b, council_a
):
    consultation = live_round_for(commune_a, commune_b)
    assignment = assigned(consultation, make_table(commune_a), "oficial@example.org")
    voter = make_voter(council_a, 1)
    mark_id = uuid.uuid4()
    made = timezone.now() - timezone.timedelta(minutes=10)
    outcomes = []

    def send():
        outcome = tables.table_mark(
            assignment=assignment,
            cedula=voter.resident.cedula,
            by=assignment.officer,
            mark_id=mark_id,
            marked_at=made,
        )
        outcomes.append(outcome.outcome)

    run_at_once([send, send, send])
    assert sorted(outcomes) == ["marked", "repeat", "repeat"]
    assert VotingBookEntry.objects.count() == 1


def test_officers_entering_a_sheet_together_decide_it_once(commune_a, commune_b, council_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    consultation = live_round_for(commune_a, commune_b)
    table = make_table(commune_a)
    officers = [assigned(consultation, table, f"oficial{n}@example.org") for n in range(3)]
    voter = make_voter(council_a, 1)
    tables.table_mark(assignment=officers[0], cedula=voter.resident.cedula, by=officers[0].officer)
    close_now(consultation)
    from consultations.models import Consultation

    Consultation.objects.filter(pk=consultation.pk).update(
        voting_closes_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    for assignment in officers:
        assignment.consultation.refresh_from_db()
    projects = tables.ballot_projects(consultation, commune_a.pk)
    votes = {str(p.pk): (1 if i == 0 else 0) for i, p in enumerate(projects)}

    def enter(assignment):
        def job():
            tables.tally_enter(
                assignment=assignment,
                by=assignment.officer,
                votes=votes,
                blank=0,
                null=0,
                scan=SimpleUploadedFile("acta.pdf", tiny_pdf()),
            )

        return attempt(job)

    results = run_at_once([enter(a) for a in officers])
    assert sorted(results) == ["complete", "ok", "ok"]
    assert TallyEntry.objects.count() == 2
    sheet = TallySheet.objects.get()
    assert sheet.status == "accepted"
    assert SheetEvent.objects.filter(sheet=sheet, kind="accepted").count() == 1
