"""¿Dónde voto?: the reads of the public page where a cédula gives its voting place.

For the round open for voting (or else the next one to open), a cédula gives the commune it
votes in, the voting centres and tables of that commune with their addresses, and the commune's
ballot. Nothing else: never a name or a birth date, never whether the person voted, has an
account or was verified (none of them is even read).

A cédula nobody has and a cédula that may not vote in the round (its commune is suspended or
left off the vote, or the person is outside the round's ages on voting day) get one answer: both
are the same query finding no row, so neither the page nor its timing tells them apart, and the
page cannot be used to learn who is on which census beyond "this cédula votes here".

A person may vote at any table of their commune (voting/tables.py checks the commune, not the
table), so every table of the commune is listed, grouped by centre.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.utils import timezone

from communes.models import Commune
from consultations.models import Consultation, Exclusion, Project
from consultations.services import residents_of_age

from .eligibility import voting_day
from .models import VotingTable
from .services import ballot

# Rounds whose vote is still to come or under way.
BEFORE_OR_DURING_VOTING = [
    Consultation.Phase.SCHEDULED,
    Consultation.Phase.ASSEMBLIES,
    Consultation.Phase.VALIDATION,
    Consultation.Phase.VOTING,
]


def where_to_vote_round(*, now: datetime.datetime | None = None) -> Consultation | None:
    """The round open for voting (the one that opened first), or else the next one to open; None
    when there is neither (one query)."""
    now = now or timezone.now()
    return (
        Consultation.objects.filter(
            phase__in=BEFORE_OR_DURING_VOTING,
            voting_opens_at__isnull=False,
            voting_closes_at__gt=now,
        )
        .order_by(
            Case(When(phase=Consultation.Phase.VOTING, then=Value(0)), default=Value(1)),
            "voting_opens_at",
            "pk",
        )
        .first()
    )


@dataclass(frozen=True)
class Centre:
    """A voting centre of the commune, with the numbers of the commune's tables in it."""

    code: str
    name: str
    address: str
    parish: str
    municipality: str
    state: str
    tables: list[int]


@dataclass(frozen=True)
class VotingPlace:
    """Where a cédula votes in a round: its commune, the centres and tables, and the ballot."""

    commune_code: str
    commune_name: str
    parish: str
    municipality: str
    state: str
    centres: list[Centre]
    projects: list[Project]  # approved so far, in a fresh random order (no first place)


def _voter_commune(consultation: Consultation, cedula: str) -> dict | None:
    """The commune a cédula votes in, if it may vote in the round: on the census, within the
    round's ages on voting day, its commune active and on the vote. One query, the same for
    every cédula, found or not."""
    left_off = Exclusion.objects.filter(
        consultation=consultation, commune=OuterRef("council__commune")
    )
    return (
        residents_of_age(
            on=voting_day(consultation),
            min_age=consultation.min_age,
            max_age=consultation.max_age,
        )
        .filter(cedula=cedula, council__commune__status=Commune.Status.ACTIVE)
        .filter(~Exists(left_off))
        .values(
            commune_id=F("council__commune_id"),
            commune_code=F("council__commune__code"),
            commune_name=F("council__commune__name"),
            parish=F("council__commune__parish__name"),
            municipality=F("council__commune__parish__municipality__name"),
            state=F("council__commune__parish__municipality__state__name"),
        )
        .first()
    )


def _centres(commune_id: int) -> list[Centre]:
    """The commune's tables, grouped by centre in the order of their codes (one query)."""
    rows = (
        VotingTable.objects.filter(commune_id=commune_id)
        .order_by("centre__code", "number")
        .values_list(
            "number",
            "centre__code",
            "centre__name",
            "centre__address",
            "centre__parish__name",
            "centre__parish__municipality__name",
            "centre__parish__municipality__state__name",
        )
    )
    centres: dict[str, Centre] = {}
    for number, code, name, address, parish, municipality, state in rows:
        if code not in centres:
            centres[code] = Centre(code, name, address, parish, municipality, state, [])
        centres[code].tables.append(number)
    return list(centres.values())


def voting_place_find(*, consultation: Consultation, cedula: str) -> VotingPlace | None:
    """Where a (normalised) cédula votes in the round, or None, the same None whether nobody
    has the cédula or its holder may not vote in the round. One query when there is no answer;
    three when there is (the tables are not read for a round voted online only)."""
    commune = _voter_commune(consultation, cedula)
    if commune is None:
        return None
    online_only = consultation.channels == Consultation.Channels.ONLINE
    return VotingPlace(
        commune_code=commune["commune_code"],
        commune_name=commune["commune_name"],
        parish=commune["parish"],
        municipality=commune["municipality"],
        state=commune["state"],
        centres=[] if online_only else _centres(commune["commune_id"]),
        projects=ballot(consultation=consultation, commune_id=commune["commune_id"]),
    )
