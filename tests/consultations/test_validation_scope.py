"""The validation queue lists exactly the proposals accounts.permissions lets each person decide."""

import pytest

from accounts import permissions
from accounts.models import StaffRole
from consultations import selectors
from consultations.models import Project

from ..builders import make_round, make_staff


@pytest.fixture
def submitted(commune_a, commune_b):
    consultation = make_round()
    return [
        Project.objects.create(
            consultation=consultation, commune=commune, title=title, status="submitted"
        )
        for commune, title in ((commune_a, "Agua potable"), (commune_b, "Escuela"))
    ]


DECIDE = "consultations.decide_projects"


def queue_of(user) -> set[int]:
    return {p.pk for p in selectors.validation_queue(user=user, filters={})}


def test_the_queue_is_the_rule_of_who_decides_proposals(
    submitted, commune_a, commune_b, mina, alice, adam
):
    in_a, in_b = submitted
    capital = make_staff(
        "capital@example.org",
        StaffRole.Kind.MINISTRY_STAFF,
        state=commune_a.parish.municipality.state,
    )
    cofunder = make_staff(
        "cofinanciador@example.org",
        StaffRole.Kind.COFUNDER_STAFF,
        state=commune_a.parish.municipality.state,
    )
    assert queue_of(mina) == {in_a.pk, in_b.pk}
    assert queue_of(capital) == {in_a.pk}
    for nobody in (alice, adam, cofunder):
        assert queue_of(nobody) == set()
    for user in (mina, capital, alice, adam, cofunder):
        decidable = {
            p.pk for p in submitted if permissions.can(user, "consultations.decide_projects", p)
        }
        assert queue_of(user) == decidable
