"""The urn's open data of a published round (issue 14): what anyone needs to redo the count.

An index (the round's key and the rules the count applied, and one file per commune) and, per
commune, one gzip-compressed JSON file: every stored ballot (receipt, encryptions, proofs), the
summed encryptions the commissioners decrypted, their partial decryptions with proofs and the
online totals, in the shape ``urncrypto.verify.round_from_json`` reads for one commune; and what
the rest of the count used, so the ranking can be redone too: each project's published figures,
the commune's totals, and its tables' accepted tally sheets. ``scripts/verify_round.py`` checks
all of it with Python and PyNaCl alone.

Read from the replica like the other results open data; a commune's file is built in a fixed
number of queries, its ballots streamed (a commune of 100,000 ballots is never a list in memory).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import F

from replica import public_read, public_stream
from urncrypto import Ballot, BallotContext, UrnCryptoError

from .commissioners import summed_of
from .models import (
    CommuneResult,
    CommuneSum,
    PartialDecryption,
    ProjectResult,
    SealedBallot,
    TallySheet,
)

# A commune's totals as the count published them (``CommuneResult``).
RESULT_FIELDS = (
    "voting_book",
    "urn",
    "counted",
    "table_marks",
    "sheet_ballots",
    "blank",
    "null",
    "pending_sheets",
    "votes",
    "void_reason",
)
# Each project's figures as the count published them (``ProjectResult``), and its cost.
PROJECT_FIELDS = (
    "online_votes",
    "table_votes",
    "votes",
    "rank",
    "is_winner",
    "award",
    "priority",
    "lot",
    "tie_broken",
)


@public_read
def urn_index(*, consultation) -> dict:
    """The round's key, its key generation's transcript ({} for the server's 1 of 1), the rules
    the count applied, and every commune with results (by registry code): two queries, the
    round (with its urn) being read already."""
    urn = consultation.urn
    greedy = consultation.counting_rule == consultation.CountingRule.GREEDY_BUDGET
    communes = (
        CommuneResult.objects.filter(consultation=consultation)
        .order_by("commune__code")
        .values_list("commune_id", "commune__code")
    )
    return {
        "round": consultation.pk,
        "public": urn.key,
        "key_generation": urn.key_generation,
        "lot_seed": urn.lot_seed,
        "tie_break": consultation.tie_break,
        "counting_rule": consultation.counting_rule,
        "winners_per_commune": consultation.winners_per_commune,
        "commune_budget": str(consultation.commune_budget()) if greedy else None,
        "communes": [{"commune": pk, "code": code} for pk, code in communes],
    }


@dataclass(frozen=True)
class UrnCommune:
    """A commune's file without its ballots, and the context its ballots are read in."""

    commune_id: int
    context: BallotContext | None  # None: no project on the ballot (nothing to read)
    header: dict


@public_read
def urn_commune(*, consultation, code: str) -> UrnCommune | None:
    """Everything of a commune's file but its ballots, or None when the commune has no results
    in the round: five queries."""
    result = (
        CommuneResult.objects.filter(consultation=consultation, commune__code=code)
        .values("commune_id", *RESULT_FIELDS)
        .first()
    )
    if result is None:
        return None
    commune_id = result.pop("commune_id")
    projects = []
    for row in (
        ProjectResult.objects.filter(consultation=consultation, commune_id=commune_id)
        .order_by("project_id")
        .values("project_id", *PROJECT_FIELDS, cost=F("project__estimated_cost_usd"))
    ):
        # A project without an estimated cost counts as the most a project may cost (the count's
        # own rule), so the budget rule can be redone from the file.
        cost = row.pop("cost")
        project = row.pop("project_id")
        cost = cost if cost is not None else consultation.amount_usd
        projects.append({"project": project, **row, "cost": str(cost)})
    summed = CommuneSum.objects.filter(consultation=consultation, commune_id=commune_id).first()
    partials = list(
        PartialDecryption.objects.filter(consultation=consultation, commune_id=commune_id)
        .order_by("index")
        .values_list("data", flat=True)
    )
    sheets = list(
        TallySheet.objects.filter(
            consultation=consultation,
            table__commune_id=commune_id,
            status=TallySheet.Status.ACCEPTED,
        )
        .order_by("table__code")
        .values("votes", "blank", "null", table_code=F("table__code"))
    )
    # The ballots' context: the projects the commune's sum was made over (ascending ids), or
    # when nobody voted online, those the count ranked.
    ids = summed.projects if summed is not None else [p["project"] for p in projects]
    context = BallotContext.of(consultation.pk, commune_id, ids) if ids else None
    header = {
        "commune": commune_id,
        "code": code,
        "projects": list(context.projects) if context else [],
        "totals": {str(p["project"]): p["online_votes"] for p in projects},
        "partials": partials,
        "result": result,
        "project_results": projects,
        "tally_sheets": sheets,
    }
    if summed is not None:
        header["summed"] = summed_of(summed, consultation.pk).to_json()
    return UrnCommune(commune_id, context, header)


@public_stream
def urn_ballots(*, consultation, commune: UrnCommune) -> Iterator[dict]:
    """The commune's stored ballots as published (``Ballot.to_json``), in receipt order, one
    query streamed. The receipt is the stored one (what the voter holds), so a ballot changed in
    storage shows as a ballot whose receipt is not its hash; a payload that no longer reads as a
    ballot is published as it is, with why, for the verifier to name."""
    rows = (
        SealedBallot.objects.filter(consultation=consultation, commune_id=commune.commune_id)
        .order_by("receipt")
        .values_list("receipt", "sealed")
        .iterator(chunk_size=2000)
    )
    for receipt, sealed in rows:
        try:
            if commune.context is None:
                raise UrnCryptoError("malformed", "the commune has no project on its ballot")
            ballot = Ballot.from_payload(commune.context, bytes(sealed)).to_json()
        except UrnCryptoError as error:
            ballot = {"unreadable": str(error)}
        ballot["receipt"] = receipt
        yield ballot


def urn_commune_json(*, consultation, commune: UrnCommune) -> Iterator[str]:
    """The commune's file as JSON text, piece by piece: the header, then the ballots. Called by
    the view: where the ballots are read (the replica or the primary) is decided then, not when
    the response is streamed."""
    ballots = urn_ballots(consultation=consultation, commune=commune)
    return _json_pieces(commune.header, ballots)


def _json_pieces(header: dict, ballots: Iterator[dict]) -> Iterator[str]:
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
    yield text[:-1] + ',"ballots":['
    separator = "\n"
    for ballot in ballots:
        yield separator + json.dumps(ballot, separators=(",", ":"))
        separator = ",\n"
    yield "\n]}\n"
