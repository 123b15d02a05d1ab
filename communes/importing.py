"""Bulk imports of the commune registry and the census from CSV files.

Every row is checked before anything is written. A file with a bad row changes nothing unless
the caller asks to skip invalid rows; each bad row is reported by its line number. Rows are keyed
by their registry code or cédula, so running the same file twice changes nothing.
"""

import csv
import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _
from tqdm import tqdm

import audit

from .cedula import cedula_normalise
from .models import CommunalCouncil, Commune, Parish, Resident

BATCH_SIZE = 5000


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False


@dataclass
class ImportSpec:
    """How one kind of row is read and written."""

    model: type[models.Model]
    key: str
    columns: tuple[str, ...]
    # Fields the import may change on an existing row (others are left alone).
    updatable: tuple[str, ...]
    # Reads the lookups every row needs (parish codes, council codes) once, before parsing.
    load_context: Callable[[], dict]
    # Turns one CSV row into (key, field values), raising ValidationError with a clear message.
    parse: Callable[[dict, dict], tuple[str, dict]]
    # Refuses a change that an import must not make (optional).
    check_update: Callable[[dict, dict], None] | None = None


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong encoding, missing columns)."""


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def _required(row: dict, column: str, label: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise ValidationError(_("%(label)s is empty.") % {"label": label})
    return value


def _date(row: dict, column: str, label: str) -> datetime.date:
    value = _required(row, column, label)
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("%(label)s “%(value)s” is not a date in the form YYYY-MM-DD.")
            % {"label": label, "value": value[:40]}
        ) from None


def _choice(row: dict, column: str, label: str, choices, aliases: dict[str, str]) -> str:
    value = _required(row, column, label).lower()
    value = aliases.get(value, value)
    if value not in choices.values:
        raise ValidationError(
            _("%(label)s “%(value)s” is not one of: %(options)s.")
            % {"label": label, "value": value[:40], "options": ", ".join(choices.values)}
        )
    return value


# Communes -----------------------------------------------------------------------------------


def _commune_context() -> dict:
    return {"parishes": dict(Parish.objects.values_list("code", "pk"))}


def _commune_parse(row: dict, context: dict) -> tuple[str, dict]:
    code = _required(row, "code", _("The registry code"))
    if len(code) > 32:
        raise ValidationError(_("The registry code is longer than 32 characters."))
    name = _required(row, "name", _("The name"))
    if len(name) > 200:
        raise ValidationError(_("The name is longer than 200 characters."))
    parish_code = _required(row, "parish_code", _("The parish code"))
    parish_id = context["parishes"].get(parish_code)
    if parish_id is None:
        raise ValidationError(
            _("There is no parish with code “%(code)s”.") % {"code": parish_code[:20]}
        )
    bank_account = (row.get("bank_account") or "").strip().replace("-", "").replace(" ", "")
    if bank_account and not (bank_account.isdigit() and len(bank_account) == 20):
        raise ValidationError(_("The bank account must have exactly 20 digits."))
    status = (row.get("status") or "").strip() or Commune.Status.ACTIVE
    values = {
        "name": name,
        "kind": _choice(
            row, "kind", _("The kind"), Commune.Kind, {"comuna": "commune", "circuito": "circuit"}
        ),
        "parish_id": parish_id,
        "status": _choice(
            {"status": status},
            "status",
            _("The status"),
            Commune.Status,
            {"activa": "active", "suspendida": "suspended"},
        ),
        "registered_on": _date(row, "registered_on", _("The registration date")),
        "bank_account": bank_account,
    }
    return code, values


def _commune_check_update(old: dict, new: dict) -> None:
    if old["kind"] != new["kind"]:
        raise ValidationError(
            _(
                "The kind of an existing commune is not changed by an import; a circuit "
                "becomes a commune through its conversion, which keeps its history."
            )
        )


COMMUNES = ImportSpec(
    model=Commune,
    key="code",
    columns=("code", "name", "kind", "parish_code", "registered_on"),
    updatable=("name", "kind", "parish_id", "status", "registered_on", "bank_account"),
    load_context=_commune_context,
    parse=_commune_parse,
    check_update=_commune_check_update,
)


# Communal councils --------------------------------------------------------------------------


def _council_context() -> dict:
    return {"communes": dict(Commune.objects.values_list("code", "pk"))}


def _council_parse(row: dict, context: dict) -> tuple[str, dict]:
    code = _required(row, "code", _("The council code"))
    if len(code) > 32:
        raise ValidationError(_("The council code is longer than 32 characters."))
    name = _required(row, "name", _("The name"))
    commune_code = _required(row, "commune_code", _("The commune code"))
    commune_id = context["communes"].get(commune_code)
    if commune_id is None:
        raise ValidationError(
            _("There is no commune with code “%(code)s”.") % {"code": commune_code[:40]}
        )
    families_text = _required(row, "families", _("The number of families"))
    if not families_text.isdigit() or not 0 < int(families_text) < 100_000:
        raise ValidationError(
            _("The number of families must be a whole number above zero, not “%(value)s”.")
            % {"value": families_text[:20]}
        )
    kind = (row.get("kind") or "").strip() or CommunalCouncil.Kind.URBAN
    values = {
        "name": name[:200],
        "commune_id": commune_id,
        "families": int(families_text),
        "kind": _choice(
            {"kind": kind},
            "kind",
            _("The type"),
            CommunalCouncil.Kind,
            {
                "urbano": "urban",
                "rural": "rural",
                "indígena": "indigenous",
                "indigena": "indigenous",
            },
        ),
    }
    return code, values


COUNCILS = ImportSpec(
    model=CommunalCouncil,
    key="code",
    columns=("code", "name", "commune_code", "families"),
    updatable=("name", "commune_id", "families", "kind"),
    load_context=_council_context,
    parse=_council_parse,
)


# Residents (census) -------------------------------------------------------------------------


def _resident_context() -> dict:
    return {
        "councils": dict(CommunalCouncil.objects.values_list("code", "pk")),
        "today": datetime.date.today(),
    }


def _resident_parse(row: dict, context: dict) -> tuple[str, dict]:
    cedula = cedula_normalise(row.get("cedula") or "")
    full_name = _required(row, "full_name", _("The full name"))
    if len(full_name) > 200:
        raise ValidationError(_("The full name is longer than 200 characters."))
    birth_date = _date(row, "birth_date", _("The birth date"))
    if not datetime.date(1900, 1, 1) <= birth_date <= context["today"]:
        raise ValidationError(
            _("The birth date %(date)s is not plausible.") % {"date": birth_date.isoformat()}
        )
    council_code = _required(row, "council_code", _("The council code"))
    council_id = context["councils"].get(council_code)
    if council_id is None:
        raise ValidationError(
            _("There is no communal council with code “%(code)s”.") % {"code": council_code[:40]}
        )
    return cedula, {"full_name": full_name, "birth_date": birth_date, "council_id": council_id}


RESIDENTS = ImportSpec(
    model=Resident,
    key="cedula",
    columns=("cedula", "full_name", "birth_date", "council_code"),
    updatable=("full_name", "birth_date", "council_id"),
    load_context=_resident_context,
    parse=_resident_parse,
)


# The importer -------------------------------------------------------------------------------


def _read_rows(lines: Iterable[str], spec: ImportSpec) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(lines)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in spec.columns if column not in header]
    if missing:
        raise ImportFileError(
            _("The file lacks the column(s): %(columns)s. Its first line must name the columns.")
            % {"columns": ", ".join(missing)}
        )
    reader.fieldnames = header
    for row in reader:
        if None in row:  # more cells than columns
            yield reader.line_num, {"__extra__": True}
            continue
        if any("\x00" in value for value in row.values() if value):
            # No text column can hold it (PostgreSQL refuses NUL in text).
            yield reader.line_num, {"__null__": True}
            continue
        yield reader.line_num, row


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_csv(
    lines: Iterable[str],
    *,
    spec: ImportSpec,
    skip_invalid: bool = False,
    progress: bool | None = None,
    actor=None,
    action: str = "",
) -> ImportReport:
    """Check every row of ``lines`` (a CSV with a header), then write them in one transaction.

    ``progress=None`` shows a progress bar only on a terminal.
    """
    report = ImportReport()
    hide_progress = None if progress is None else not progress  # None: tqdm decides by the tty
    context = spec.load_context()
    parsed: dict[str, tuple[int, dict]] = {}
    rows = _read_rows(lines, spec)
    for line, row in tqdm(rows, desc=_("Checking"), unit=" rows", disable=hide_progress):
        report.rows += 1
        if "__extra__" in row:
            report.errors.append(RowError(line, _("The row has more cells than the header.")))
            continue
        if "__null__" in row:
            report.errors.append(RowError(line, _("The row holds a null character.")))
            continue
        try:
            key, values = spec.parse(row, context)
        except ValidationError as error:
            report.errors.append(RowError(line, _messages(error)))
            continue
        if key in parsed:
            report.errors.append(
                RowError(
                    line,
                    _("“%(key)s” already appears on line %(line)d.")
                    % {"key": key, "line": parsed[key][0]},
                )
            )
            continue
        parsed[key] = (line, values)

    if report.errors and not skip_invalid:
        return report

    with transaction.atomic():
        keys = list(parsed)
        for batch in tqdm(
            list(_batches(keys, BATCH_SIZE)),
            desc=_("Writing"),
            unit=" batches",
            disable=hide_progress,
        ):
            existing = {
                row[spec.key]: row
                for row in spec.model.objects.filter(**{f"{spec.key}__in": batch}).values(
                    "pk", spec.key, *spec.updatable
                )
            }
            to_create, to_update = [], []
            for key in batch:
                line, values = parsed[key]
                old = existing.get(key)
                if old is None:
                    to_create.append(spec.model(**{spec.key: key}, **values))
                    continue
                changed = {name: value for name, value in values.items() if old[name] != value}
                if not changed:
                    report.unchanged += 1
                    continue
                if spec.check_update is not None:
                    try:
                        spec.check_update(old, values)
                    except ValidationError as error:
                        report.errors.append(RowError(line, _messages(error)))
                        continue
                to_update.append(spec.model(pk=old["pk"], **{spec.key: key}, **values))
            spec.model.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
            if to_update:
                spec.model.objects.bulk_update(
                    to_update, list(spec.updatable), batch_size=BATCH_SIZE
                )
            report.created += len(to_create)
            report.updated += len(to_update)
        if report.errors and not skip_invalid:
            # A row refused while writing (an illegal update) undoes the whole file.
            transaction.set_rollback(True)
            report.created = report.updated = report.unchanged = 0
            report.errors.sort(key=lambda error: error.line)
            return report
        audit.record(
            actor=actor,  # None: a command run on the server
            action=action or f"import.{spec.model._meta.model_name}",
            object_type=spec.model._meta.label_lower,
            after={
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "skipped_invalid": len(report.errors),
            },
        )
    report.written = True
    return report
