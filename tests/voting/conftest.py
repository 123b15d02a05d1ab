import datetime

import pytest

from communes.models import Resident
from consultations.models import Project
from cycle import services as cycle

from ..conftest import make_resident, make_user
from ..consultations.conftest import NOW, hours, make_round

# 10:00 in Caracas on voting day: inside the round's voting window and hours.
DURING_VOTING = hours(50)
AFTER_VOTING = hours(60)


def ballot_of(consultation, commune, titles=("Agua potable", "Cancha", "Alumbrado")):
    projects = []
    for priority, title in enumerate(titles, start=1):
        projects.append(
            Project.objects.create(
                consultation=consultation,
                commune=commune,
                title=title,
                status=Project.Status.APPROVED,
                category=Project.Category.WATER if priority == 1 else Project.Category.SPORT,
            )
        )
    return projects


def open_voting(consultation, adam):
    cycle.round_schedule(consultation=consultation, by=adam, now=NOW)
    cycle.rounds_advance_due(now=hours(48))
    consultation.refresh_from_db()
    assert consultation.phase == "voting"
    return consultation


def close_voting(consultation):
    """Move the round to counting as the tick would (the count itself is run by the caller)."""
    cycle.rounds_advance_due(now=hours(58))
    consultation.refresh_from_db()
    assert consultation.phase == "counting"
    return consultation


def make_voter(council, number: int, *, birth=datetime.date(1990, 1, 1), verified=True):
    user = make_user(f"votante{number}@example.org")
    make_resident(council, f"V-{20_000_000 + number}", f"Votante {number}", birth=birth, user=user)
    if not verified:
        Resident.objects.filter(user=user).update(
            verification=Resident.Verification.UNVERIFIED, verified_by=None, verified_at=None
        )
    return user


@pytest.fixture
def voting_round(adam, commune_a, commune_b, council_a, council_b):
    """A round in voting: communes A and B each have three approved projects."""
    consultation = make_round()
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    return open_voting(consultation, adam)


def live_round_for(commune_a, commune_b, **overrides):
    """A round in voting right now, all day long, made directly: A and B each have a ballot."""
    from django.utils import timezone

    from consultations.models import Consultation
    from voting.services import urn_open

    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    consultation = Consultation.objects.create(
        **{
            "name": "Consulta en curso",
            "year": 2031,
            "quarter": 1,
            "phase": Consultation.Phase.VOTING,
            "funder_by_rank": ["national"],
            "assemblies_open_at": now - 3 * hour,
            "validation_opens_at": now - 2 * hour,
            "voting_opens_at": now - hour,
            "voting_closes_at": now + 2 * hour,
            "tally_deadline_at": now + 3 * hour,
            "voting_hours_start": datetime.time(0, 0),
            "voting_hours_end": datetime.time(23, 59, 59),
            **overrides,
        }
    )
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    urn_open(consultation=consultation, now=now)
    return consultation


@pytest.fixture
def live_round(commune_a, commune_b):
    return live_round_for(commune_a, commune_b)


def close_now(consultation):
    """Put a live round in counting (the count itself is the caller's)."""
    from consultations.models import Consultation as Round

    Round.objects.filter(pk=consultation.pk).update(phase=Round.Phase.COUNTING)
    consultation.refresh_from_db()
