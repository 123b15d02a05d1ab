import datetime

import pytest

from consultations.models import Consultation, Project

NOW = datetime.datetime(2027, 1, 4, 12, 0, tzinfo=datetime.UTC)


def hours(count: float) -> datetime.datetime:
    return NOW + datetime.timedelta(hours=count)


def make_round(**overrides) -> Consultation:
    fields = {
        "name": "Consulta Popular 2027-I",
        "year": 2027,
        "quarter": 1,
        "assemblies_open_at": hours(1),
        "validation_opens_at": hours(24),
        "voting_opens_at": hours(48),
        "voting_closes_at": hours(58),
        "tally_deadline_at": hours(120),
        "funder_by_rank": ["national"],
        **overrides,
    }
    return Consultation.objects.create(**fields)


def approve_projects(consultation, commune, count: int) -> None:
    Project.objects.bulk_create(
        Project(
            consultation=consultation,
            commune=commune,
            title=f"Proyecto {number}",
            status=Project.Status.APPROVED,
        )
        for number in range(count)
    )


@pytest.fixture
def draft(db):
    return make_round()


@pytest.fixture
def scheduled(adam):
    from cycle.services import round_schedule

    return round_schedule(consultation=make_round(), by=adam, now=NOW)


@pytest.fixture
def dora(council_a, commune_a):
    """Dora, finance spokesperson of commune A (Alice's colleague)."""
    from communes.models import Spokesperson

    from ..conftest import make_resident, make_user

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
