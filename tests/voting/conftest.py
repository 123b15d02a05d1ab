"""Fixtures the voting tests share: rounds counted under the greedy rule (issue 16), a round with
voting tables, a round with awards by participation."""

import datetime
import uuid
from decimal import Decimal

import pytest

from communes.models import CommunalCouncil
from consultations.models import Consultation, Project
from voting.models import TallySheet, VotingCentre

from ..builders import (
    DURING_VOTING,
    JUST_35,
    JUST_36,
    MIDDLE,
    OLD,
    YOUNG,
    ballot_of,
    by_title,
    cast,
    close_voting,
    count_and_publish,
    make_commune,
    make_round,
    non_voters,
    open_voting,
    vote_as,
)
from ..builders.tables import A_SHEET, Table

GREEDY = Consultation.CountingRule.GREEDY_BUDGET

COSTS = {"Agua potable": "6000", "Cancha": "5000", "Alumbrado": "4000"}


@pytest.fixture
def greedy_round(adam, commune_a, commune_b, council_a, council_b):
    """A greedy round with a 10,000 USD budget per commune, in voting: commune A's projects
    cost 6,000 (Agua potable), 5,000 (Cancha) and 4,000 (Alumbrado)."""
    consultation = make_round(counting_rule=GREEDY, commune_budget_usd=Decimal("10000"))
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    for title, cost in COSTS.items():
        Project.objects.filter(consultation=consultation, title=title).update(
            estimated_cost_usd=Decimal(cost)
        )
    return open_voting(consultation, adam)


@pytest.fixture
def greedy_published(greedy_round, adam, council_a, commune_a):
    a = by_title(greedy_round, commune_a)
    n = cast(greedy_round, council_a, a["Agua potable"], 3, first=1)
    n = cast(greedy_round, council_a, a["Cancha"], 2, first=n)
    cast(greedy_round, council_a, a["Alumbrado"], 1, first=n)
    return count_and_publish(greedy_round, adam)


@pytest.fixture
def round_with_tables(voting_round, adam, council_a, council_b, commune_a, commune_b):
    """Commune A: online Agua potable 2, Cancha 1; table 1 (3 marked) accepted on its own with
    Agua potable 2, Cancha 1; table 2 (2 marked, and a queued mark of an online voter: a
    conflict) under review, its officers disagreeing; two who did not vote (eligible 10).
    Commune B: online Escuela 1, Mercado 2, no tables (eligible 3)."""
    a, b = by_title(voting_round, commune_a), by_title(voting_round, commune_b)
    n = cast(voting_round, council_a, a["Agua potable"], 2, first=1)
    n = cast(voting_round, council_a, a["Cancha"], 1, first=n)
    n = cast(voting_round, council_b, b["Escuela"], 1, first=n)
    cast(voting_round, council_b, b["Mercado"], 2, first=n)
    non_voters(council_a, 2, first=1)
    centre = VotingCentre.objects.create(
        code="CE-0101", name="Escuela Bolivariana La Ceiba", parish=commune_a.parish
    )
    one = Table(voting_round, adam, centre, 1, commune_a, council_a, voters=3, first=1)
    two = Table(voting_round, adam, centre, 2, commune_a, council_a, voters=2, first=4)
    # Marked offline before they voted online; the mark arrives after: a conflict.
    conflict = two.mark(
        "V-20000001",
        mark_id=uuid.uuid4(),
        marked_at=DURING_VOTING - datetime.timedelta(minutes=30),
        now=DURING_VOTING + datetime.timedelta(minutes=5),
    )
    assert conflict.outcome == "conflict"
    close_voting(voting_round)
    one.enter(1, A_SHEET)
    assert one.enter(2, A_SHEET).status == TallySheet.Status.ACCEPTED
    two.enter(1, {"Agua potable": 0, "Cancha": 1, "Alumbrado": 0}, blank=1)
    assert two.enter(2, {"Agua potable": 0, "Cancha": 2, "Alumbrado": 0}).status == "review"
    consultation = count_and_publish(voting_round, adam)
    return {"round": consultation, "one": one, "two": two}


@pytest.fixture
def awarded(adam, commune_a, commune_b, council_a, council_b):
    """Awards for the most voters of each state and for the one commune with most young voters.
    Distrito Capital: A (4 voters, 1 aged 15 to 35) and C (2 voters, none young). Lara: B alone
    (3 voters, 2 young)."""
    consultation = make_round(award_state_most_voters=True, award_youth_communes=1)
    commune_c = make_commune("COM-0101-903", "010101", "Comuna El Guarataro")
    council_c = CommunalCouncil.objects.create(
        commune=commune_c, code="CC-C-1", name="Consejo Comunal San Juan", families=150
    )
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    ballot_of(consultation, commune_c, titles=("Biblioteca", "Huerto", "Puente"))
    open_voting(consultation, adam)
    a = by_title(consultation, commune_a)
    b = by_title(consultation, commune_b)
    c = by_title(consultation, commune_c)
    n = vote_as(consultation, council_a, a["Agua potable"], [JUST_36, MIDDLE, OLD], first=1)
    n = vote_as(consultation, council_a, a["Cancha"], [JUST_35], first=n)
    n = vote_as(consultation, council_b, b["Escuela"], [YOUNG, YOUNG], first=n)
    n = vote_as(consultation, council_b, b["Mercado"], [OLD], first=n)
    vote_as(consultation, council_c, c["Huerto"], [OLD, MIDDLE], first=n)
    return count_and_publish(consultation, adam), commune_c
