"""The running sums of the urn, kept during voting so the count adds a few rows per commune
instead of millions of ballots.

The vote stays one statement: beside its ballot it writes the ballot's receipt into a queue
(``UrnPending``). A fold takes a batch of the queue, adds each ballot's encryptions into one of
its commune's running sums (``UrnShard``, drawn at random), and removes the batch, in one
transaction: the minute tick queues a fold for each round in voting, and the close of voting
folds what is left before it writes the commune sums. Two folds at once take different ballots
(``SKIP LOCKED``) and lock the sums in commune order, so they neither double-add nor deadlock;
each holds the round's fold lock shared, which the close of voting takes whole: it waits for the
folds in flight, and none starts until it is done.
"""

import random

from django.db import connection, transaction

from consultations.models import Consultation
from urncrypto import group

from .models import SealedBallot, UrnPending, UrnShard

FOLD_BATCH = 20_000
# The advisory lock (key, round) folds hold shared and the close of voting holds whole.
FOLD_LOCK = 7002

_TAKE = (
    f"SELECT p.receipt, u.commune_id, u.sealed FROM {UrnPending._meta.db_table} p "  # noqa: S608
    f"JOIN {SealedBallot._meta.db_table} u ON u.receipt = p.receipt "
    "WHERE p.consultation_id = %s LIMIT %s"
)
_SHARD = (
    f"SELECT c1, c2 FROM {UrnShard._meta.db_table} "  # noqa: S608
    "WHERE consultation_id = %s AND commune_id = %s AND shard = %s"
)
_SHARD_WRITE = (
    f"UPDATE {UrnShard._meta.db_table} SET c1 = %s, c2 = %s "  # noqa: S608
    "WHERE consultation_id = %s AND commune_id = %s AND shard = %s"
)


def projects_in(payload: bytes) -> int:
    """A stored ballot's number of projects, from its length: C1 and a C2 each (32 bytes), a
    0-or-1 proof each (128) and the sum proof (64)."""
    return (len(payload) - 96) // 160


class CommuneSums:
    """Encryptions added up per commune: every C1 into one point and each project's C2 into one,
    the C2 given and kept as one bytes value of 32 a project (as the sums are stored)."""

    def __init__(self):
        self._c1: dict[int, group.Accumulator] = {}
        self._c2: dict[int, list[group.Accumulator]] = {}

    def add(self, commune_id: int, c1: bytes, c2: bytes) -> None:
        if commune_id not in self._c1:
            self._c1[commune_id] = group.Accumulator()
            self._c2[commune_id] = [group.Accumulator() for _ in range(len(c2) // 32)]
        self._c1[commune_id].add(c1)
        for s, acc in enumerate(self._c2[commune_id]):
            acc.add(c2[32 * s : 32 * (s + 1)])

    def add_ballot(self, commune_id: int, payload: bytes) -> None:
        """A stored ballot's encryptions (its payload begins with C1, then each C2)."""
        self.add(commune_id, payload[:32], payload[32 : 32 * (projects_in(payload) + 1)])

    def communes(self) -> list[int]:
        return sorted(self._c1)

    def of(self, commune_id: int) -> tuple[bytes, bytes] | None:
        """(ΣC1, ΣC2 of each project joined), or None for a commune nothing was added to."""
        if commune_id not in self._c1:
            return None
        c2 = b"".join(acc.value for acc in self._c2[commune_id])
        return self._c1[commune_id].value, c2


def urn_fold(*, consultation_id: int, limit: int = FOLD_BATCH) -> int:
    """Add up to ``limit`` queued ballots of the round into their communes' running sums, in one
    transaction; returns how many (0 when the queue is empty)."""
    postgresql = connection.vendor == "postgresql"
    lock = " FOR UPDATE OF p SKIP LOCKED" if postgresql else ""
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [FOLD_LOCK, consultation_id]
            )
        cursor.execute(_TAKE + lock, [consultation_id, limit])
        rows = cursor.fetchall()
        if not rows:
            return 0
        batch = CommuneSums()
        for _receipt, commune_id, sealed in rows:
            batch.add_ballot(commune_id, bytes(sealed))
        draw = random.SystemRandom()
        for commune_id in batch.communes():
            where = [consultation_id, commune_id, draw.randrange(UrnShard.SHARDS)]
            cursor.execute(_SHARD + (" FOR UPDATE" if postgresql else ""), where)
            c1, c2 = cursor.fetchone()
            batch.add(commune_id, bytes(c1), bytes(c2))
            cursor.execute(_SHARD_WRITE, [*batch.of(commune_id), *where])
        receipts = [receipt for receipt, *_rest in rows]
        for start in range(0, len(receipts), 500):  # within SQLite's limit of parameters
            UrnPending.objects.filter(pk__in=receipts[start : start + 500]).delete()
    return len(rows)


def folds_stop(consultation_id: int) -> None:
    """Inside the close of voting's transaction: wait for the round's folds in flight to commit
    and keep new ones out until it commits (the sums it reads are then final)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FOLD_LOCK, consultation_id])


def urn_fold_all(*, consultation_id: int) -> int:
    """Fold until the round's queue is empty (the close of voting); returns how many."""
    total = 0
    while folded := urn_fold(consultation_id=consultation_id):
        total += folded
    return total


def rounds_to_fold() -> list[int]:
    """The rounds in voting with ballots waiting to be added (a closed round's are added by its
    close-of-voting rewrite; a cancelled round's never are)."""
    return list(
        UrnPending.objects.filter(consultation__phase=Consultation.Phase.VOTING)
        .values_list("consultation_id", flat=True)
        .distinct()
        .order_by()
    )
