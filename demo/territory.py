"""The registry on the real territory (communes and circuits in five states, their communal
councils), the census, the spokespeople, and voting centres with tables: all through the same
imports and services as real data."""

import datetime
import io
import random

from communes import importing
from communes import services as communes
from communes.models import CommunalCouncil, Commune, Municipality, Resident, Spokesperson
from voting import table_import
from voting.models import VotingTable

from .names import GIVEN, PATRONS, PLACES, SURNAMES

# Five states, twelve communes or circuits each.
STATES = ["01", "15", "13", "23", "14"]  # Distrito Capital, Miranda, Lara, Zulia, Mérida
COMMUNES_PER_STATE = 12
# Voting centres and tables: (state of the commune, centre name, its tables). The first commune
# is the demo accounts' own; its first table is the one mesa@… runs in the current round.
CENTRES = [
    ("01", "Escuela Bolivariana {parish}", 1),
    ("13", "Casa comunal {place}", 2),
]


def _csv(header: str, rows: list[str]) -> io.StringIO:
    return io.StringIO("\n".join([header, *rows]) + "\n")


def registry_seed(rng: random.Random) -> Commune:
    """The communes, circuits and councils, through the registry's CSV import. Returns the
    first commune: the demo accounts' own."""
    commune_rows, council_rows = [], []
    names = iter(rng.sample(PATRONS + PLACES, len(PATRONS + PLACES)) * 3)
    for state_code in STATES:
        municipalities = list(
            Municipality.objects.filter(state__code=state_code).prefetch_related("parishes")
        )
        for number in range(1, COMMUNES_PER_STATE + 1):
            municipality = municipalities[(number - 1) % min(4, len(municipalities))]
            parish = list(municipality.parishes.all())[number % municipality.parishes.count()]
            kind = "circuit" if number % 4 == 0 else "commune"
            prefix = "Circuito Comunal" if kind == "circuit" else "Comuna"
            code = f"COM-{municipality.code}-{number:03d}"
            registered = datetime.date(2013 + number % 10, 1 + number % 12, 1 + number % 27)
            bank = "".join(rng.choice("0123456789") for _digit in range(20)) if number % 3 else ""
            name = f"{prefix} {next(names)}"
            commune_rows.append(f'{code},"{name}",{kind},{parish.code},{registered},active,{bank}')
            for council_number in range(1, rng.randint(3, 6) + 1):
                council_kind = (
                    "rural" if state_code in {"14", "13"} and council_number % 2 else "urban"
                )
                council_rows.append(
                    f"CC-{municipality.code}-{number:03d}-{council_number:02d},"
                    f'"Consejo Comunal {rng.choice(PLACES)} {council_number}",{code},'
                    f"{rng.randint(150, 400)},{council_kind}"
                )
    importing.import_csv(
        _csv("code,name,kind,parish_code,registered_on,status,bank_account", commune_rows),
        spec=importing.COMMUNES,
        progress=False,
    )
    importing.import_csv(
        _csv("code,name,commune_code,families,kind", council_rows),
        spec=importing.COUNCILS,
        progress=False,
    )
    return Commune.objects.get(code=commune_rows[0].split(",")[0])


def voting_centres_seed(home: Commune) -> None:
    """A voting centre in two demo communes (the demo accounts' one first), with tables,
    through the same import as a real registry of centres."""
    centre_rows, table_rows = [], []
    for state_code, name, tables in CENTRES:
        commune = (
            home
            if state_code == STATES[0]
            else Commune.objects.filter(
                code__startswith="COM-", parish__municipality__state__code=state_code
            )
            .select_related("parish")
            .order_by("code")
            .first()
        )
        code = f"CV-{commune.code.removeprefix('COM-')}"
        place = PLACES[len(centre_rows) * 7 % len(PLACES)]
        centre_name = name.format(parish=commune.parish.name, place=place)
        centre_rows.append(
            f'{code},"{centre_name}",{commune.parish.code},"Sector {place}, {commune.name}"'
        )
        table_rows.extend(f"{code},{number},{commune.code}" for number in range(1, tables + 1))
    importing.import_csv(
        _csv("code,name,parish_code,address", centre_rows),
        spec=table_import.CENTRES,
        progress=False,
    )
    importing.import_csv(
        _csv("centre_code,number,commune_code", table_rows),
        spec=table_import.TABLES,
        progress=False,
    )


def demo_tables() -> list[VotingTable]:
    """The demo's voting tables, the demo accounts' commune's first."""
    return list(
        VotingTable.objects.filter(code__startswith="CV-")
        .select_related("commune")
        .order_by("centre__code", "number")
    )


def census_seed(rng: random.Random) -> None:
    """Five to ten residents a council, through the census import: ages 13 to 85 on the day the
    census was taken, a few foreign-born (cédula E-)."""
    rows, used = [], set()
    today = datetime.date(2026, 11, 1)
    for council_code in CommunalCouncil.objects.order_by("code").values_list("code", flat=True):
        for _person in range(rng.randint(5, 10)):
            number = rng.randint(3_000_000, 33_000_000)
            while number in used:
                number += 1
            used.add(number)
            letter = "E" if rng.random() < 0.04 else "V"
            age_days = rng.randint(13 * 365, 85 * 365)
            birth = today - datetime.timedelta(days=age_days)
            name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
            rows.append(f"{letter}-{number},{name},{birth.isoformat()},{council_code}")
    importing.import_csv(
        _csv("cedula,full_name,birth_date,council_code", rows),
        spec=importing.RESIDENTS,
        progress=False,
    )


def spokespeople_seed(rng: random.Random) -> None:
    """One spokesperson per unit in every demo commune, the first adults of its census."""
    units = [choice for choice, _label in Spokesperson.Unit.choices]
    serving = set(Spokesperson.objects.values_list("commune_id", "unit"))
    for commune in Commune.objects.filter(code__startswith="COM-").order_by("code"):
        residents = list(
            Resident.objects.filter(
                council__commune=commune,
                birth_date__lte=datetime.date(2008, 1, 1),
                spokesperson_terms__isnull=True,
            ).order_by("cedula")[: len(units)]
        )
        for unit, resident in zip(units, residents, strict=False):
            if (commune.pk, unit) in serving:
                continue
            communes.spokesperson_appoint(
                resident=resident,
                commune=commune,
                unit=unit,
                term_start=datetime.date(2025, 3, 1) + datetime.timedelta(days=rng.randint(0, 90)),
                by=None,
            )
