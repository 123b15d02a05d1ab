"""Venezuela's states, municipalities and parishes, from the INE codes in data/ve_territory.csv."""

import csv
from pathlib import Path

TERRITORY_CSV = Path(__file__).resolve().parent / "data" / "ve_territory.csv"

# INE's "Dependencias Federales" (code 25) is a statistical entity of islands with no communes.
EXCLUDED_STATE_CODES = {"25"}


def territory_rows() -> list[dict]:
    with TERRITORY_CSV.open(encoding="utf-8", newline="") as handle:
        return [
            row for row in csv.DictReader(handle) if row["state_code"] not in EXCLUDED_STATE_CODES
        ]


def territory_load(State, Municipality, Parish) -> None:
    """Create the states, municipalities and parishes that are missing; safe to run again.

    Takes the model classes so a data migration can pass its historical models.
    """
    rows = territory_rows()
    states = {s.code: s for s in State.objects.all()}
    for row in rows:
        code, name = row["state_code"], row["state_name"]
        if code not in states:
            states[code] = State.objects.create(code=code, name=name)
        elif states[code].name != name:
            State.objects.filter(pk=states[code].pk).update(name=name)
    municipalities = {m.code: m for m in Municipality.objects.all()}
    new_municipalities = {}
    for row in rows:
        code = row["municipality_code"]
        if code not in municipalities and code not in new_municipalities:
            new_municipalities[code] = Municipality(
                code=code, name=row["municipality_name"], state=states[row["state_code"]]
            )
    Municipality.objects.bulk_create(new_municipalities.values())
    municipalities = {m.code: m for m in Municipality.objects.all()}
    existing_parishes = set(Parish.objects.values_list("code", flat=True))
    Parish.objects.bulk_create(
        Parish(
            code=row["parish_code"],
            name=row["parish_name"],
            municipality=municipalities[row["municipality_code"]],
        )
        for row in rows
        if row["parish_code"] not in existing_parishes
    )
