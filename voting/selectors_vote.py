"""Reads of the vote itself: the receipt check and the urn's published receipts."""

import time
from dataclasses import dataclass

from consultations.models import Consultation

from . import urn as sealing
from .models import Count, SealedBallot, Urn


@dataclass(frozen=True)
class ReceiptFound:
    commune_name: str
    commune_code: str
    counted: bool


def receipt_find(*, consultation, receipt: str) -> ReceiptFound | None:
    row = (
        SealedBallot.objects.filter(consultation=consultation, receipt=receipt)
        .values("commune__name", "commune__code")
        .first()
    )
    if row is None:
        return None
    counted = Count.objects.filter(consultation=consultation, status=Count.Status.DONE).exists()
    return ReceiptFound(row["commune__name"], row["commune__code"], counted)


def urn_receipts(*, consultation, commune):
    return (
        SealedBallot.objects.filter(consultation=consultation, commune=commune)
        .order_by("receipt")
        .values_list("receipt", flat=True)
        .iterator(5000)
    )


@dataclass(frozen=True)
class KeyShares:
    needed: int
    total: int
    entered: int


def key_shares_status(*, consultation) -> KeyShares | None:
    """For a round whose urn key is split among commissioners: how many shares are in."""
    urn = Urn.objects.filter(consultation=consultation).first()
    if urn is None or not urn.shares_needed:
        return None
    entered = len(sealing.shares_kept(consultation.pk, urn.shares_total))
    return KeyShares(urn.shares_needed, urn.shares_total, entered)


# pk → (expires at, round). A round in voting is read at most every few seconds per process:
# its dates, rules and urn key are frozen once voting opens, and the vote's own statement checks
# the live phase, so a stale copy can refuse a vote as closed a few seconds late, never accept
# one after closing.
_ROUNDS_IN_VOTING: dict[int, tuple[float, Consultation]] = {}
ROUND_IN_VOTING_SECONDS = 5.0


def consultation_in_voting(pk: int) -> Consultation | None:
    now = time.monotonic()
    kept = _ROUNDS_IN_VOTING.get(pk)
    if kept is not None and kept[0] > now:
        return kept[1]
    consultation = Consultation.objects.select_related("urn").filter(pk=pk).first()
    if consultation is not None and consultation.phase == Consultation.Phase.VOTING:
        _ROUNDS_IN_VOTING[pk] = (now + ROUND_IN_VOTING_SECONDS, consultation)
    return consultation


def forget_rounds_in_voting() -> None:
    _ROUNDS_IN_VOTING.clear()
