"""One eligibility rule (voting.eligibility), asked three ways: the online check (voter_check),
the vote's single SQL statement (vote_cast) and the officer's look-up and mark at a table. Each
reason gives the same code on every path it applies to, and the vote's statement writes nothing
for anyone the check refuses."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation

from communes.models import Commune, Resident
from consultations.models import Consultation, Exclusion
from urncrypto import BallotContext, ballot_encrypt
from voting import eligibility, services, tables, urn
from voting.models import SealedBallot, VotingBookEntry, VotingCentre, VotingTable

from ..builders import DURING_VOTING, hours, make_user, make_voter

# Voting day is 2027-01-06 (local): 15 that very day is old enough.
FIFTEEN_TOMORROW = datetime.date(2012, 1, 7)


def a_table(commune, number):
    centre, _new = VotingCentre.objects.get_or_create(
        code=f"E-00{number}", defaults={"name": "Escuela Bolivariana", "parish": commune.parish}
    )
    return VotingTable.objects.create(
        code=f"E-00{number}-1", centre=centre, number=1, commune=commune
    )


@pytest.fixture
def desks(voting_round, commune_a, commune_b, adam):
    """An officer's assignment at a table of commune A and one of commune B."""
    return {
        commune.pk: tables.officer_assign(
            consultation=voting_round,
            table=a_table(commune, number),
            officer=make_user(f"oficial{number}@example.org"),
            by=adam,
            now=hours(47),
        )
        for number, commune in ((1, commune_a), (2, commune_b))
    }


def online_code(consultation, user, project=None, now=DURING_VOTING) -> str:
    """The code voter_check gives ("" when the person may vote)."""
    project_id = project.pk if project is not None else None
    try:
        services.voter_check(consultation=consultation, user=user, now=now, project_id=project_id)
    except ValidationError as error:
        return error.code
    return ""


def cast_code(consultation, user, project, now=DURING_VOTING) -> str:
    """The code vote_cast gives ("" when the vote is recorded); nothing written when refused."""
    before = (VotingBookEntry.objects.count(), SealedBallot.objects.count())
    try:
        services.vote_cast(consultation=consultation, user=user, project_id=project.pk, now=now)
    except ValidationError as error:
        after = (VotingBookEntry.objects.count(), SealedBallot.objects.count())
        assert after == before, "a refused vote wrote something"
        return error.code
    return ""


def one_statement_writes(consultation, user, project) -> bool:
    """Whether the vote's one statement alone writes the vote (rolled back afterwards)."""
    urn_row = consultation.urn
    # A commune off the vote has no ballot: any well-formed one will do, the statement refuses.
    context = services.ballots_of(consultation).contexts.get(project.commune_id) or (
        BallotContext.of(consultation.pk, project.commune_id, [project.pk])
    )
    ballot = ballot_encrypt(key=urn.round_key(urn_row), context=context, choice=project.pk)
    with transaction.atomic():
        written = services._cast_in_one_statement(
            services.Cast(consultation, DURING_VOTING, ballot), user, project.pk
        )
        transaction.set_rollback(True)
    return written


def table_codes(assignment, resident, now=DURING_VOTING) -> tuple[str, str]:
    """The codes of the officer's look-up and of the mark ("" / "marked" when they may vote)."""
    looked_up = tables.table_voter_lookup(assignment=assignment, cedula=resident.cedula, now=now)
    try:
        with transaction.atomic():
            mark = tables.table_mark(
                assignment=assignment, cedula=resident.cedula, by=assignment.officer, now=now
            )
            transaction.set_rollback(True)
    except ValidationError as error:
        return looked_up.code, error.code
    return looked_up.code, mark.voter.code


def ballot_project(consultation, commune):
    return consultation.projects.filter(commune=commune).order_by("pk").first()


# Each reason on every path it applies to ----------------------------------------------------


def test_a_person_who_may_vote_passes_all_three(voting_round, council_a, commune_a, desks):
    voter = make_voter(council_a, 1)
    project = ballot_project(voting_round, commune_a)
    assert online_code(voting_round, voter, project) == ""
    assert one_statement_writes(voting_round, voter, project)
    assert table_codes(desks[commune_a.pk], voter.resident) == ("", "marked")
    assert cast_code(voting_round, voter, project) == ""


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("excluded", "commune_not_on_vote"),
        ("suspended", "commune_not_on_vote"),
        ("too_young", "too_young"),
        ("too_old", "too_old"),
    ],
)
def test_each_reason_gives_its_code_online_in_the_vote_and_at_the_table(
    voting_round, council_a, commune_a, desks, change, code
):
    birth = FIFTEEN_TOMORROW if change == "too_young" else datetime.date(1990, 1, 1)
    if change == "too_old":
        birth = datetime.date(1991, 1, 6)  # 36 on voting day
        Consultation.objects.filter(pk=voting_round.pk).update(max_age=35)
        voting_round.refresh_from_db()
    if change == "excluded":
        Exclusion.objects.create(
            consultation=voting_round, commune=commune_a, kind="by_admin", reason="Fuera"
        )
    if change == "suspended":
        Commune.objects.filter(pk=commune_a.pk).update(status=Commune.Status.SUSPENDED)
    voter = make_voter(council_a, 2, birth=birth)
    project = ballot_project(voting_round, commune_a)
    assert online_code(voting_round, voter, project) == code
    assert not one_statement_writes(voting_round, voter, project)
    assert cast_code(voting_round, voter, project) == code
    assert table_codes(desks[commune_a.pk], voter.resident) == (code, code)


def test_the_age_limits_are_inclusive_on_every_path(voting_round, council_a, commune_a, desks):
    Consultation.objects.filter(pk=voting_round.pk).update(max_age=35)
    voting_round.refresh_from_db()
    project = ballot_project(voting_round, commune_a)
    for number, birth in enumerate([datetime.date(2012, 1, 6), datetime.date(1991, 1, 7)], 3):
        voter = make_voter(council_a, number, birth=birth)  # 15, and 35, that very day
        assert online_code(voting_round, voter, project) == ""
        assert one_statement_writes(voting_round, voter, project)
        assert table_codes(desks[commune_a.pk], voter.resident) == ("", "marked")


def test_already_voted_online_then_everywhere(voting_round, council_a, commune_a, desks):
    voter = make_voter(council_a, 5)
    project = ballot_project(voting_round, commune_a)
    assert cast_code(voting_round, voter, project) == ""
    assert online_code(voting_round, voter, project) == "already_voted"
    assert not one_statement_writes(voting_round, voter, project)
    assert cast_code(voting_round, voter, project) == "already_voted"
    assert table_codes(desks[commune_a.pk], voter.resident) == ("already_voted", "already_voted")


def test_already_voted_at_a_table_then_online(voting_round, council_a, commune_a, desks):
    voter = make_voter(council_a, 6)
    desk = desks[commune_a.pk]
    tables.table_mark(
        assignment=desk, cedula=voter.resident.cedula, by=desk.officer, now=DURING_VOTING
    )
    project = ballot_project(voting_round, commune_a)
    assert online_code(voting_round, voter, project) == "already_voted"
    assert cast_code(voting_round, voter, project) == "already_voted"


def test_the_reasons_of_one_channel_only(voting_round, council_a, commune_a, commune_b, desks):
    # Online: an account without a census record, an unverified record, another commune's
    # project. At a table: a cédula not on the census, a person of another commune. An
    # unverified record votes at its table: the officer checks the identity card there.
    nobody = make_user("sin.registro@example.org")
    project = ballot_project(voting_round, commune_a)
    assert online_code(voting_round, nobody) == "no_resident"
    assert cast_code(voting_round, nobody, project) == "no_resident"
    unverified = make_voter(council_a, 7, verified=False)
    assert online_code(voting_round, unverified) == "unverified"
    assert not one_statement_writes(voting_round, unverified, project)
    assert cast_code(voting_round, unverified, project) == "unverified"
    assert table_codes(desks[commune_a.pk], unverified.resident) == ("", "marked")
    voter = make_voter(council_a, 8)
    elsewhere = ballot_project(voting_round, commune_b)
    assert online_code(voting_round, voter, elsewhere) == "not_on_ballot"
    assert not one_statement_writes(voting_round, voter, elsewhere)
    assert cast_code(voting_round, voter, elsewhere) == "not_on_ballot"
    assert table_codes(desks[commune_b.pk], voter.resident) == ("other_commune", "other_commune")
    with pytest.raises(ValidationError) as caught:
        tables.table_voter_lookup(assignment=desks[commune_a.pk], cedula="V-99999999")
    assert caught.value.code == "not_on_census"


def test_outside_the_window_online_and_at_the_table(voting_round, council_a, commune_a, desks):
    voter = make_voter(council_a, 9)
    project = ballot_project(voting_round, commune_a)
    desk = desks[commune_a.pk]
    before, after = hours(47.5), hours(58)
    assert online_code(voting_round, voter, project, now=before) == "not_open"
    assert online_code(voting_round, voter, project, now=after) == "closed"
    for moment in (before, after):
        assert table_codes(desk, voter.resident, now=moment) == ("closed", "closed")
    Consultation.objects.filter(pk=voting_round.pk).update(channels="in_person")
    voting_round.refresh_from_db()
    assert online_code(voting_round, voter, project) == "in_person_only"
    Consultation.objects.filter(pk=voting_round.pk).update(channels="online")
    desk.consultation.refresh_from_db()
    assert table_codes(desk, voter.resident) == ("closed", "closed")


# The reasons' words -------------------------------------------------------------------------


def test_every_reason_is_told_in_spanish_to_whoever_reads_it():
    for reason, told in eligibility.REASONS.items():
        assert told.online or told.table, reason
        for message in (told.online, told.table):
            if message is not None:
                with translation.override("en"):
                    english = str(message)
                assert str(message) != english, f"{reason} is not translated"


def test_the_officer_and_the_voter_read_the_same_reason_in_their_own_words(
    voting_round, council_a, commune_a, desks
):
    child = make_voter(council_a, 10, birth=FIFTEEN_TOMORROW)
    with pytest.raises(ValidationError) as online:
        services.voter_check(consultation=voting_round, user=child, now=DURING_VOTING)
    looked_up = tables.table_voter_lookup(
        assignment=desks[commune_a.pk], cedula=child.resident.cedula, now=DURING_VOTING
    )
    assert "al menos 15 años" in online.value.messages[0] and "tendrás" in online.value.messages[0]
    assert looked_up.code == "too_young" and looked_up.reason.startswith("Menor de 15")
    assert Resident.objects.get(pk=child.resident.pk).verification == "verified"
