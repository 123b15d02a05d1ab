"""Bulk imports of voting centres and their tables from CSV files, through the registry's importer.

The same rules as the commune registry's imports (communes/importing.py): every row is checked
before anything is written, a file with a bad row changes nothing unless the caller asks to skip
invalid rows, each bad row is reported by its line number, and running the same file twice
changes nothing. A table is keyed by its code, "<centre code>-<number>".
"""

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts import permissions
from communes.importing import ImportReport, ImportSpec, _required, import_csv
from communes.models import Commune, Parish

from .models import TallySheet, VotingBookEntry, VotingCentre, VotingTable

CENTRE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")  # as the voting_centre_code_format constraint
MAX_TABLE_NUMBER = 999


def _centre_code(row: dict, column: str, label: str) -> str:
    code = _required(row, column, label).upper()
    if len(code) > 20:
        raise ValidationError(_("The centre code is longer than 20 characters."))
    if not CENTRE_CODE.match(code):
        raise ValidationError(
            _(
                "The centre code “%(code)s” may hold only letters A to Z, digits and hyphens, "
                "and starts with a letter or a digit."
            )
            % {"code": code}
        )
    return code


# Centres ------------------------------------------------------------------------------------


def _centre_context() -> dict:
    return {"parishes": dict(Parish.objects.values_list("code", "pk"))}


def _centre_parse(row: dict, context: dict) -> tuple[str, dict]:
    code = _centre_code(row, "code", _("The centre code"))
    name = _required(row, "name", _("The name"))
    if len(name) > 200:
        raise ValidationError(_("The name is longer than 200 characters."))
    parish_code = _required(row, "parish_code", _("The parish code"))
    parish_id = context["parishes"].get(parish_code)
    if parish_id is None:
        raise ValidationError(
            _("There is no parish with code “%(code)s”.") % {"code": parish_code[:20]}
        )
    address = (row.get("address") or "").strip()
    if len(address) > 300:
        raise ValidationError(_("The address is longer than 300 characters."))
    return code, {"name": name, "parish_id": parish_id, "address": address}


CENTRES = ImportSpec(
    model=VotingCentre,
    key="code",
    columns=("code", "name", "parish_code"),
    updatable=("name", "parish_id", "address"),
    load_context=_centre_context,
    parse=_centre_parse,
)


# Tables -------------------------------------------------------------------------------------


def _table_context() -> dict:
    return {
        "centres": dict(VotingCentre.objects.values_list("code", "pk")),
        "communes": dict(Commune.objects.values_list("code", "pk")),
    }


def _table_parse(row: dict, context: dict) -> tuple[str, dict]:
    centre_code = _centre_code(row, "centre_code", _("The centre code"))
    centre_id = context["centres"].get(centre_code)
    if centre_id is None:
        raise ValidationError(
            _("There is no voting centre with code “%(code)s”; import the centres first.")
            % {"code": centre_code}
        )
    number_text = _required(row, "number", _("The table number"))
    if not number_text.isdigit() or not 1 <= int(number_text) <= MAX_TABLE_NUMBER:
        raise ValidationError(
            _("The table number must be a whole number from 1 to %(max)d, not “%(value)s”.")
            % {"max": MAX_TABLE_NUMBER, "value": number_text[:20]}
        )
    commune_code = _required(row, "commune_code", _("The commune code"))
    commune_id = context["communes"].get(commune_code)
    if commune_id is None:
        raise ValidationError(
            _("There is no commune with code “%(code)s”.") % {"code": commune_code[:40]}
        )
    number = int(number_text)
    return f"{centre_code}-{number}", {
        "centre_id": centre_id,
        "number": number,
        "commune_id": commune_id,
    }


def _table_check_update(old: dict, new: dict) -> None:
    """A table moves to another commune only while nobody has voted at it."""
    table_id = old["pk"]
    if (
        VotingBookEntry.objects.filter(table_id=table_id).exists()
        or TallySheet.objects.filter(table_id=table_id).exists()
    ):
        raise ValidationError(
            _(
                "Table %(code)s already has marks in the voting book or a tally sheet; its "
                "commune is not changed by an import."
            )
            % {"code": old["code"]}
        )


TABLES = ImportSpec(
    model=VotingTable,
    key="code",
    columns=("centre_code", "number", "commune_code"),
    # The code is the centre and the number, so of these only the commune can ever change (the
    # importer compares every parsed field with the stored row, hence all three here).
    updatable=("commune_id", "centre_id", "number"),
    load_context=_table_context,
    parse=_table_parse,
    check_update=_table_check_update,
)

SPECS = {"centres": CENTRES, "tables": TABLES}


def tables_import(
    *, kind: str, lines: Iterable[str], by, skip_invalid: bool = False
) -> ImportReport:
    """Import a CSV of voting centres (``kind="centres"``) or tables (``kind="tables"``) uploaded
    by a cycle admin. Raises communes.importing.ImportFileError when the file as a whole cannot
    be read (missing columns)."""
    permissions.require(by, "voting.manage_tables")
    return import_csv(
        lines,
        spec=SPECS[kind],
        skip_invalid=skip_invalid,
        progress=False,
        actor=by,
        action=f"voting.import_{kind}",
    )
