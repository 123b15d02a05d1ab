"""A published round's results in pabulib's format (pabulib.org), the one researchers of
participatory budgeting load with pabutools: one ``.pb`` file per commune, and one zip per round.

Each file has three sections, ``;``-separated: META (the round, the commune, its budget and the
counting rule), PROJECTS (cost, votes, whether it won, its lot) and VOTES, one line per vote
counted for a project: the online choices and the accepted tally sheets' votes expanded to one
line each, in project order, numbered from 1. No line carries anything about a person, and
their order is that of the projects, so a line cannot be matched to a voter or to when they
voted. Blank and null ballots choose no project: they are totals in META.

The reads are the selectors' (two queries for a file, two for the whole round, streamed).
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from consultations.models import Consultation

from . import selectors

RULE_NAMES = {
    # pabulib's name for "most votes first, skip what no longer fits".
    Consultation.CountingRule.GREEDY_BUDGET: "greedy",
    Consultation.CountingRule.TOP_N: "top-n",
}
PROJECT_COLUMNS = [
    "project_id",
    "cost",
    "votes",
    "name",
    "category",
    "selected",
    "lot",
    "priority",
    "award",
]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def budget(consultation: Consultation) -> Decimal:
    """What one commune may be given by the counting rule: its budget under the greedy rule;
    the amount per winner times the winners under "top N"."""
    if consultation.counting_rule == Consultation.CountingRule.GREEDY_BUDGET:
        return consultation.commune_budget()
    return consultation.amount_usd * consultation.winners_per_commune


def commune_file(consultation: Consultation, commune: dict, projects: list[dict]) -> str:
    """The ``.pb`` text of one commune: ``commune`` and ``projects`` as the selector gives them."""
    projects = sorted(projects, key=lambda project: project["project_id"])
    lines = sum(project["votes"] for project in projects)
    meta = [
        ("description", f"{consultation.name}: {commune['name']}"),
        ("country", "Venezuela"),
        ("unit", commune["name"]),
        ("subunit", commune["code"]),
        ("district", commune["state"]),
        ("instance", consultation.name),
        ("num_projects", len(projects)),
        ("num_votes", lines),
        ("budget", _money(budget(consultation))),
        ("currency", "USD"),
        ("vote_type", "choose-1"),
        ("min_length", 1),
        ("max_length", 1),
        ("rule", RULE_NAMES[consultation.counting_rule]),
        ("winners_per_commune", consultation.winners_per_commune),
        ("tie_break", consultation.tie_break),
        ("lot_seed", consultation.urn.lot_seed),
        ("date_begin", consultation.voting_opens_at.date().isoformat()),
        ("date_end", consultation.voting_closes_at.date().isoformat()),
        ("language", "es"),
        ("eligible", commune["eligible"]),
        ("voters", commune["voters"]),
        ("voters_15_35", commune["voters_15_35"]),
        ("blank", commune["blank"]),
        ("null", commune["null"]),
        ("void_reason", commune["void_reason"] or "none"),
        ("pending_sheets", commune["pending_sheets"]),
        ("state_award", int(commune["state_award"])),
        ("youth_award", int(commune["youth_award"])),
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    writer.writerows(meta)
    writer.writerow(["PROJECTS"])
    writer.writerow(PROJECT_COLUMNS)
    for project in projects:
        writer.writerow(
            [
                project["project_id"],
                _money(project["cost"]),
                project["votes"],
                project["title"],
                project["category"],
                int(project["is_winner"]),
                project["lot"],
                project["priority"] if project["priority"] is not None else "none",
                project["award"] or "none",
            ]
        )
    writer.writerow(["VOTES"])
    writer.writerow(["voter_id", "vote"])
    number = 0
    for project in projects:
        for _vote in range(project["votes"]):
            number += 1
            writer.writerow([number, project["project_id"]])
    return out.getvalue()


def file_name(consultation: Consultation, commune_code: str) -> str:
    return f"venezuela_consulta-{consultation.pk}_{commune_code}.pb"


class _Chunks(io.RawIOBase):
    """A write-only stream whose bytes are collected for a streaming response to send."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self):
        return True

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def round_zip(
    consultation: Consultation, communes: Iterable[tuple[dict, list[dict]]]
) -> Iterator[bytes]:
    """Every commune's file in one zip, made piece by piece (never whole in memory)."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for commune, projects in communes:
            archive.writestr(
                file_name(consultation, commune["code"]),
                commune_file(consultation, commune, projects),
            )
            yield sink.take()
    yield sink.take()


def commune_pb(*, consultation: Consultation, code: str) -> str | None:
    """One commune's file, or None when it was not on the round's vote."""
    for commune, projects in selectors.pabulib_communes(consultation=consultation, code=code):
        return commune_file(consultation, commune, projects)
    return None
