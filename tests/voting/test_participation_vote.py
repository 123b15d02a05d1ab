"""The resident's page leads to the vote (issue 18): "Mi participación" shows the round open in
their commune with its closing time and a "Votar" button, or "Ya votaste" and how to check the
receipt; signing in from a link that names the page lands there."""

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import StaffRole
from communes.models import Resident
from consultations.models import Consultation, Exclusion
from voting.models import VotingBookEntry

from ..builders import PASSWORD, live_round_for, make_staff, make_table, make_voter

PAGE = "communes:my-participation"


def open_vote_of(page: str, consultation) -> str:
    """The round's card on the page ("" when the page shows none)."""
    match = re.search(
        rf'<li class="card" data-open-vote="{consultation.pk}">(.*?)</li>', page, re.S
    )
    return match.group(1) if match else ""


@pytest.fixture
def lucia(council_a):
    """Lucía, a verified resident of commune A."""
    return make_voter(council_a, 7)


def test_the_page_shows_the_open_round_its_closing_time_and_the_vote_button(
    client, live_round, lucia
):
    client.force_login(lucia)
    page = client.get(reverse(PAGE)).content.decode()
    card = open_vote_of(page, live_round)
    assert live_round.name in card
    closes = formats.date_format(timezone.localtime(live_round.voting_closes_at), "DATETIME_FORMAT")
    assert f"La votación cierra el {closes}." in card
    assert f'href="{reverse("voting:ballot", args=[live_round.pk])}">Votar</a>' in card
    assert "Cada día" not in card  # this round is open all day
    # Before the census record, first: what a resident comes for on voting day.
    assert page.index("Votación en tu comuna") < page.index("Mi registro del censo")


def test_after_voting_online_it_says_so_and_how_to_check_the_receipt(client, live_round, lucia):
    client.force_login(lucia)
    project = live_round.projects.filter(commune__code="COM-0101-901").first()
    client.post(reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk})
    card = open_vote_of(client.get(reverse(PAGE)).content.decode(), live_round)
    assert 'data-voted="online"' in card and "Ya votaste" in card
    assert "Votar</a>" not in card
    assert reverse("voting:receipt-check", args=[live_round.pk]) in card


def test_marked_at_a_table_it_says_so_without_a_receipt(client, live_round, lucia, commune_a):
    resident = Resident.objects.get(user=lucia)
    VotingBookEntry.objects.create(
        consultation=live_round,
        resident=resident,
        commune=commune_a,
        channel=VotingBookEntry.Channel.TABLE,
        voted_at=timezone.now(),
        table=make_table(commune_a),
        marked_by=make_staff("oficial@example.org", StaffRole.Kind.POLLING_OFFICER),
        mark_id=uuid.uuid4(),
    )
    client.force_login(lucia)
    card = open_vote_of(client.get(reverse(PAGE)).content.decode(), live_round)
    assert 'data-voted="table"' in card and "en una mesa de votación" in card
    assert "Votar</a>" not in card and "recibo/" not in card


def test_daily_hours_are_given_when_voting_does_not_last_all_day(
    client, commune_a, commune_b, lucia
):
    consultation = live_round_for(
        commune_a,
        commune_b,
        name="Consulta con horario",
        voting_hours_start=datetime.time(0, 0),
        voting_hours_end=datetime.time(23, 0),
    )
    client.force_login(lucia)
    card = open_vote_of(client.get(reverse(PAGE)).content.decode(), consultation)
    assert "Cada día de 00:00 a 23:00." in card


def test_a_round_voted_in_person_only_has_no_button(client, commune_a, commune_b, lucia):
    consultation = live_round_for(commune_a, commune_b, channels=Consultation.Channels.IN_PERSON)
    client.force_login(lucia)
    card = open_vote_of(client.get(reverse(PAGE)).content.decode(), consultation)
    assert "En esta consulta solo se vota en persona, en una mesa de votación." in card
    assert "Votar</a>" not in card


def test_an_unverified_resident_is_told_to_wait_for_verification(client, live_round, council_a):
    pending = make_voter(council_a, 8, verified=False)
    client.force_login(pending)
    card = open_vote_of(client.get(reverse(PAGE)).content.decode(), live_round)
    assert live_round.name in card and "Votar</a>" not in card
    assert "verifique tu registro" in card


def test_no_card_for_a_round_without_the_residents_commune(
    client, commune_a, commune_b, council_b, adam
):
    consultation = live_round_for(commune_a, commune_b)
    Exclusion.objects.create(
        consultation=consultation, commune=commune_b, kind=Exclusion.Kind.BY_ADMIN, reason="x"
    )
    client.force_login(make_voter(council_b, 9))
    page = client.get(reverse(PAGE)).content.decode()
    assert open_vote_of(page, consultation) == ""
    assert "Votación en tu comuna" not in page


def test_no_card_once_voting_has_closed(client, live_round, lucia):
    Consultation.objects.filter(pk=live_round.pk).update(phase=Consultation.Phase.COUNTING)
    client.force_login(lucia)
    assert "Votación en tu comuna" not in client.get(reverse(PAGE)).content.decode()


def test_the_page_costs_the_same_queries_for_one_open_round_or_three(
    client, commune_a, commune_b, lucia
):
    live_round_for(commune_a, commune_b, name="Primera")
    client.force_login(lucia)
    client.get(reverse(PAGE))  # the session's roles are worked out once
    with CaptureQueriesContext(connection) as one:
        client.get(reverse(PAGE))
    for number in (2, 3):
        live_round_for(commune_a, commune_b, name=f"Otra {number}", quarter=number)
    with CaptureQueriesContext(connection) as three:
        page = client.get(reverse(PAGE)).content.decode()
    assert page.count('data-open-vote="') == 3
    assert len(three) == len(one)


@pytest.mark.parametrize("after", ["next", "home"])
def test_signing_in_lands_on_the_page_with_the_vote(live_round, lucia, after):
    client = Client()
    login = reverse("account_login")
    data = {"login": lucia.email, "password": PASSWORD}
    if after == "next":
        login += f"?next={reverse(PAGE)}"
        form = client.get(login).content.decode()
        assert f'name="next" value="{reverse(PAGE)}"' in form
        data["next"] = reverse(PAGE)
    page = client.post(login, data, follow=True)
    assert page.redirect_chain[-1][0] == reverse(PAGE)
    card = open_vote_of(page.content.decode(), live_round)
    assert "Votar</a>" in card
