"""Who may vote online, and each refusal in plain words; the window and the hours."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from communes.models import Commune
from consultations.models import Consultation, Exclusion, Project
from cycle import services as cycle
from voting import services
from voting.models import SealedBallot, VotingBookEntry

from ..builders import (
    DURING_VOTING,
    ballot_of,
    close_voting,
    hours,
    make_round,
    make_user,
    make_voter,
    open_voting,
)


def refusal(consultation, user, project=None, now=DURING_VOTING) -> str:
    project = project or consultation.projects.filter(status="approved").first()
    with pytest.raises(ValidationError) as caught:
        services.vote_cast(consultation=consultation, user=user, project_id=project.pk, now=now)
    assert VotingBookEntry.objects.count() == 0 or caught.value.code == "already_voted"
    return caught.value.code, caught.value.messages[0]


def first_of(consultation, commune):
    return consultation.projects.filter(commune=commune).order_by("pk").first()


def test_a_verified_resident_of_a_commune_on_the_vote_votes(voting_round, council_a):
    voter = make_voter(council_a, 1)
    receipt = services.vote_cast(
        consultation=voting_round,
        user=voter,
        project_id=first_of(voting_round, council_a.commune).pk,
        now=DURING_VOTING,
    )
    assert SealedBallot.objects.get(receipt=receipt).commune == council_a.commune
    entry = VotingBookEntry.objects.get()
    assert (entry.channel, entry.commune) == ("online", council_a.commune)


def test_no_census_record(voting_round):
    code, message = refusal(voting_round, make_user("nadie@example.org"))
    assert code == "no_resident"
    assert "reclama tu registro" in message


def test_unverified_record(voting_round, council_a):
    code, message = refusal(voting_round, make_voter(council_a, 2, verified=False))
    assert code == "unverified"
    assert "no han verificado" in message


def test_commune_left_off_the_vote(voting_round, council_b, commune_b):
    Exclusion.objects.create(
        consultation=voting_round, commune=commune_b, kind="by_admin", reason="Fuera"
    )
    code, message = refusal(voting_round, make_voter(council_b, 3))
    assert code == "commune_not_on_vote"
    assert commune_b.name in message


def test_inactive_commune(voting_round, council_b, commune_b):
    Commune.objects.filter(pk=commune_b.pk).update(status=Commune.Status.SUSPENDED)
    code, _message = refusal(voting_round, make_voter(council_b, 4))
    assert code == "commune_not_on_vote"


@pytest.mark.parametrize(
    ("birth", "allowed"),
    [
        # Voting day is 2027-01-06 (local); the minimum age is 15.
        (datetime.date(2012, 1, 6), True),  # 15 that very day
        (datetime.date(2012, 1, 7), False),  # 15 the day after
    ],
)
def test_minimum_age_on_voting_day(voting_round, council_a, birth, allowed):
    voter = make_voter(council_a, 5, birth=birth)
    if allowed:
        services.voter_check(consultation=voting_round, user=voter, now=DURING_VOTING)
    else:
        code, message = refusal(voting_round, voter)
        assert code == "too_young"
        assert "al menos 15 años" in message


def test_maximum_age_of_a_youth_round(adam, commune_a, council_a):
    youth = make_round(max_age=35)
    ballot_of(youth, commune_a)
    open_voting(youth, adam)
    services.voter_check(
        consultation=youth,
        user=make_voter(council_a, 6, birth=datetime.date(1991, 1, 7)),  # 35 on voting day
        now=DURING_VOTING,
    )
    code, message = refusal(youth, make_voter(council_a, 7, birth=datetime.date(1991, 1, 6)))
    assert code == "too_old"
    assert "hasta 35 años" in message


def test_never_twice(voting_round, council_a):
    voter = make_voter(council_a, 8)
    project = first_of(voting_round, council_a.commune)
    services.vote_cast(
        consultation=voting_round, user=voter, project_id=project.pk, now=DURING_VOTING
    )
    code, message = refusal(voting_round, voter, project)
    assert code == "already_voted"
    assert "una sola vez" in message
    assert (VotingBookEntry.objects.count(), SealedBallot.objects.count()) == (1, 1)


def test_never_for_another_communes_project(voting_round, council_a, commune_b):
    code, message = refusal(
        voting_round, make_voter(council_a, 9), first_of(voting_round, commune_b)
    )
    assert code == "not_on_ballot"
    assert "no está en la boleta de tu comuna" in message


def test_never_for_a_project_not_approved(voting_round, council_a, commune_a):
    rejected = Project.objects.create(
        consultation=voting_round,
        commune=commune_a,
        title="Rechazado",
        status=Project.Status.REJECTED,
        decision_note="No",
    )
    code, _message = refusal(voting_round, make_voter(council_a, 10), rejected)
    assert code == "not_on_ballot"


def test_not_before_voting_opens(adam, commune_a, council_a):
    consultation = make_round()
    ballot_of(consultation, commune_a)

    cycle.round_schedule(consultation=consultation, by=adam, now=hours(0))
    cycle.rounds_advance_due(now=hours(47))
    consultation.refresh_from_db()
    assert consultation.phase == "validation"
    code, message = refusal(consultation, make_voter(council_a, 11), now=hours(47))
    assert code == "not_open"
    assert "no está abierta" in message


def test_not_after_voting_closes(voting_round, council_a):
    close_voting(voting_round)
    code, message = refusal(voting_round, make_voter(council_a, 12), now=hours(59))
    assert code == "closed"
    assert "ya cerró" in message


def test_not_past_the_closing_time_even_before_the_tick(voting_round, council_a):
    """The tick may run a minute late: the closing date itself still stops votes."""
    code, _message = refusal(voting_round, make_voter(council_a, 13), now=hours(58))
    assert code == "closed"


def test_only_within_the_voting_hours(adam, commune_a, council_a):
    # Voting over several days: 04:00 in Caracas of the second day is outside 07:00-18:00.
    consultation = make_round(voting_closes_at=hours(90), tally_deadline_at=hours(120))
    ballot_of(consultation, commune_a)
    open_voting(consultation, adam)
    voter = make_voter(council_a, 14)
    code, message = refusal(consultation, voter, now=hours(68))
    assert code == "outside_hours"
    assert "7" in message and "18" in message
    services.vote_cast(
        consultation=consultation,
        user=voter,
        project_id=first_of(consultation, commune_a).pk,
        now=hours(74),  # 10:00 in Caracas
    )


def test_not_online_when_the_round_is_in_person_only(adam, commune_a, council_a):
    consultation = make_round(channels=Consultation.Channels.IN_PERSON)
    ballot_of(consultation, commune_a)
    open_voting(consultation, adam)
    code, message = refusal(consultation, make_voter(council_a, 15))
    assert code == "in_person_only"
    assert "en persona" in message
