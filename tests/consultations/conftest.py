import datetime

import pytest

from communes.models import Spokesperson
from cycle import services as cycle

from ..builders import NOW, make_resident, make_round, make_user


@pytest.fixture
def draft(db):
    return make_round()


@pytest.fixture
def scheduled(adam):
    return cycle.round_schedule(consultation=make_round(), by=adam, now=NOW)


@pytest.fixture
def dora(council_a, commune_a):
    """Dora, finance spokesperson of commune A (Alice's colleague)."""
    user = make_user("dora@example.org")
    resident = make_resident(council_a, "V-16161616", "Dora Finanzas", user=user)
    Spokesperson.objects.create(
        resident=resident,
        commune=commune_a,
        unit=Spokesperson.Unit.FINANCE,
        term_start=datetime.date(2025, 1, 1),
        term_end=datetime.date(2028, 1, 1),
    )
    return user
