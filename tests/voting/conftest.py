"""Fixtures the voting tests share: rounds counted under the greedy rule (issue 16)."""

from decimal import Decimal

import pytest

from consultations.models import Consultation, Project

from ..builders import ballot_of, by_title, cast, count_and_publish, make_round, open_voting

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
