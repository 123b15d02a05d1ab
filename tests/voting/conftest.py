import datetime

import pytest

from communes.models import Resident
from consultations import services as rounds
from consultations.models import Project

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
    rounds.consultation_schedule(consultation=consultation, by=adam, now=NOW)
    rounds.consultations_advance_due(now=hours(48))
    consultation.refresh_from_db()
    assert consultation.phase == "voting"
    return consultation


def close_voting(consultation):
    """Move the round to counting as the tick would (the count itself is run by the caller)."""
    rounds.consultations_advance_due(now=hours(58))
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
