"""A round driven only through cycle.services, from its draft to its money, for the cycle tests."""

import pytest

from consultations.models import Consultation, Project
from cycle import services as cycle

from ..builders import NOW, VALIDATION, VOTING, ballot, make_round, tick_at, votes


@pytest.fixture
def scheduled(adam, commune_a, commune_b):
    """A round scheduled by Adam; communes A and B take part."""
    return cycle.round_schedule(consultation=make_round(), by=adam, now=NOW)


@pytest.fixture
def voting(scheduled, commune_a, commune_b, council_a, council_b):
    """The round in voting, opened by the tick: A and B each have a ballot of three projects."""
    tick_at(VALIDATION)
    ballot(scheduled, commune_a)
    ballot(scheduled, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    tick_at(VOTING)
    scheduled.refresh_from_db()
    assert scheduled.phase == Consultation.Phase.VOTING
    return scheduled


@pytest.fixture
def voted(voting, council_a, council_b):
    """Seven residents voted: in A the second project wins, in B the third."""
    votes(voting, council_a, _projects_of(voting, council_a.commune), [0, 1, 1, 2, 1])
    votes(voting, council_b, _projects_of(voting, council_b.commune), [2, 2], first=100)
    return voting


def _projects_of(consultation, commune) -> list[Project]:
    return list(consultation.projects.filter(commune=commune).order_by("pk"))
