"""The round's counting rule: "top N per commune" or "greedy within the commune's budget"."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from consultations.models import Consultation
from consultations.services import consultation_update
from cycle import services as cycle
from funding.models import Allocation
from voting import counting
from voting.models import ProjectResult

GREEDY = Consultation.CountingRule.GREEDY_BUDGET
TOP_N = Consultation.CountingRule.TOP_N


def candidate(project_id, votes, cost):
    return counting.Candidate(project_id, votes, None, f"{project_id:04d}", cost)


def test_greedy_skips_what_no_longer_fits_and_tries_the_next():
    ranked = [
        candidate(1, 9, Decimal("6000")),
        candidate(2, 7, Decimal("5000")),  # 6000 + 5000 > 10000: skipped
        candidate(3, 4, Decimal("4000")),  # fits in the 4000 left
        candidate(4, 2, Decimal("1")),  # nothing left
    ]
    won = counting.winners_of(ranked, rule=GREEDY, seats=1, budget=Decimal("10000"))
    assert won == {1, 3}


def test_greedy_never_picks_a_project_without_votes_or_without_a_cost():
    ranked = [candidate(1, 5, None), candidate(2, 3, Decimal("100")), candidate(3, 0, Decimal("1"))]
    won = counting.winners_of(ranked, rule=GREEDY, seats=1, budget=Decimal("10000"))
    assert won == {2}


def test_top_n_takes_the_first_n_with_votes_whatever_they_cost():
    ranked = [
        candidate(1, 5, Decimal("9000")),
        candidate(2, 3, Decimal("9000")),
        candidate(3, 0, None),
    ]
    assert counting.winners_of(ranked, rule=TOP_N, seats=2, budget=Decimal("1")) == {1, 2}
    assert counting.winners_of(ranked, rule=TOP_N, seats=3, budget=Decimal("1")) == {1, 2}


def test_commune_budget_defaults_to_the_amount_times_the_winners():
    round_ = Consultation(amount_usd=Decimal("10000"), winners_per_commune=2)
    assert round_.commune_budget() == Decimal("20000")
    round_.commune_budget_usd = Decimal("15000")
    assert round_.commune_budget() == Decimal("15000")


def test_the_count_applies_the_greedy_rule(greedy_published, commune_a):
    rows = ProjectResult.objects.filter(consultation=greedy_published, commune=commune_a)
    assert {r.project.title: (r.rank, r.is_winner) for r in rows} == {
        "Agua potable": (1, True),
        "Cancha": (2, False),  # 6,000 + 5,000 is past the 10,000 budget
        "Alumbrado": (3, True),
    }


def test_a_greedy_winner_is_allocated_its_cost(greedy_published, commune_a):
    cycle.round_allocate(consultation_id=greedy_published.pk)
    allocated = dict(
        Allocation.objects.filter(project__commune=commune_a).values_list(
            "project__title", "amount_usd"
        )
    )
    assert allocated == {"Agua potable": Decimal("6000"), "Alumbrado": Decimal("4000")}


def test_the_results_page_states_the_rule(client, greedy_published):
    page = client.get(reverse("voting:results-round", args=[greedy_published.pk])).content
    page = page.decode()
    assert "presupuesto de la comuna" in page
    assert "presupuesto de la comuna de 10\xa0000,00 USD" in page


def test_the_rule_is_frozen_once_voting_opens(greedy_round, adam):
    with pytest.raises(ValidationError) as refused:
        consultation_update(consultation=greedy_round, by=adam, changes={"counting_rule": TOP_N})
    assert refused.value.code == "frozen"
    greedy_round.refresh_from_db()
    assert greedy_round.counting_rule == GREEDY
