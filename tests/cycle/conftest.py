"""A round driven only through cycle.services, from its draft to its money, for the cycle tests."""

import datetime

import pytest

from consultations.models import Consultation, Project
from cycle import services as cycle
from voting.services import vote_cast

from ..conftest import make_resident, make_user

# A Monday noon (UTC): 08:00 in Caracas. The round's dates are counted in hours from it.
NOW = datetime.datetime(2027, 1, 4, 12, 0, tzinfo=datetime.UTC)
ASSEMBLIES, VALIDATION, VOTING, CLOSING, DEADLINE = 1, 24, 48, 58, 120
DURING_VOTING = 50  # 10:00 in Caracas, within the default voting hours


def hours(count: float) -> datetime.datetime:
    return NOW + datetime.timedelta(hours=count)


def draft_round(**overrides) -> Consultation:
    return Consultation.objects.create(
        **{
            "name": "Consulta Popular 2027-I",
            "year": 2027,
            "quarter": 1,
            "assemblies_open_at": hours(ASSEMBLIES),
            "validation_opens_at": hours(VALIDATION),
            "voting_opens_at": hours(VOTING),
            "voting_closes_at": hours(CLOSING),
            "tally_deadline_at": hours(DEADLINE),
            "funder_by_rank": ["national"],
            **overrides,
        }
    )


def ballot(consultation, commune, titles=("Agua potable", "Cancha", "Alumbrado")):
    """The commune's approved proposals (validation's outcome, written directly)."""
    return [
        Project.objects.create(
            consultation=consultation,
            commune=commune,
            title=title,
            status=Project.Status.APPROVED,
            estimated_cost_usd=9000,
        )
        for title in titles
    ]


def votes(
    consultation, council, projects, choices: list[int], *, first: int = 0, at: float = 0
) -> None:
    """Residents of the council vote online, ``at`` hours after the usual voting time:
    choices[i] is the index of voter i's project."""
    for number, choice in enumerate(choices, start=first):
        user = make_user(f"votante{number}@example.org")
        make_resident(council, f"V-{21_000_000 + number}", f"Votante {number}", user=user)
        vote_cast(
            consultation=consultation,
            user=user,
            project_id=projects[choice].pk,
            now=hours(DURING_VOTING + at),
        )


def tick_at(count: float, *, run_jobs: bool = True) -> list:
    """The beat's tick at that hour; with run_jobs, the jobs it queued on commit run too."""
    from django.test import TestCase

    if not run_jobs:
        return cycle.rounds_advance_due(now=hours(count))
    with TestCase.captureOnCommitCallbacks(execute=True):
        return cycle.rounds_advance_due(now=hours(count))


@pytest.fixture
def scheduled(adam, commune_a, commune_b):
    """A round scheduled by Adam; communes A and B take part."""
    return cycle.round_schedule(consultation=draft_round(), by=adam, now=NOW)


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
    votes(voting, council_a, ballot_of(voting, council_a.commune), [0, 1, 1, 2, 1])
    votes(voting, council_b, ballot_of(voting, council_b.commune), [2, 2], first=100)
    return voting


def ballot_of(consultation, commune) -> list[Project]:
    return list(consultation.projects.filter(commune=commune).order_by("pk"))
