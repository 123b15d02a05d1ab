"""When voting closes, before the count: the urn rewritten so nothing links a ballot to a voter.

During voting a ballot row is written in its voter's transaction: on PostgreSQL it carries that
transaction's id (xmin) and lands on the page after the last vote's, as the voting-book row does;
on SQLite its rowid follows the book's. Whoever holds a copy of the database could pair the two
by either, and with the commissioners' k key shares read each voter's choice. The queue of
ballots to add (``UrnPending``) and the running sums (``UrnShard``, whose row versions differ by
a fold's batch) carry the same kind of link. So, once voting has closed:

1. the ballots still queued are added into the running sums (``voting.sums``), and each commune's
   running sums into its final sum (``CommuneSum``), written fresh;
2. the round's ballots are deleted and written again in one transaction, in receipt order (a
   hash, unrelated to who voted or when): every row gets the same new transaction id and a
   storage place that follows the receipts;
3. the running sums are deleted;
4. the three tables are rewritten on disk (``VACUUM FULL``), so the old row versions are gone from
   the data files too, not just invisible.

What still holds the link is anything copied during voting: WAL archives, base backups,
replicas' WAL, and the database's own WAL until it is recycled (README, "Ballot secrecy").
"""

import logging

from django.db import connection, transaction
from django.db.models import Count as Tally
from django.utils import timezone

import audit
from consultations.models import Consultation

from .models import CommuneSum, SealedBallot, Urn, UrnPending, UrnShard
from .selectors import ballot_contexts
from .sums import CommuneSums, folds_stop, urn_fold_all

logger = logging.getLogger(__name__)

URN = SealedBallot._meta.db_table
SHARDS = UrnShard._meta.db_table
PENDING = UrnPending._meta.db_table
COLUMNS = "receipt, consultation_id, commune_id, sealed"

# PostgreSQL: one statement moves the rows; the append-only trigger lets this transaction
# delete (migration 0009). The names interpolated are the models' tables, never input.
_REWRITE_POSTGRESQL = [
    "SET LOCAL comunas.urn_rewrite = 'on'",
    f"""WITH moved AS (DELETE FROM {URN} WHERE consultation_id = %(round)s RETURNING {COLUMNS})
    INSERT INTO {URN} ({COLUMNS}) SELECT {COLUMNS} FROM moved ORDER BY receipt""",  # noqa: S608
    "SET LOCAL comunas.urn_rewrite = 'off'",
]
# SQLite has no DELETE inside WITH: a temporary copy, and the triggers dropped and made again.
_SQLITE_TRIGGER = (
    f"CREATE TRIGGER {URN}_no_delete BEFORE DELETE ON {URN} BEGIN "
    "SELECT RAISE(ABORT, 'the voting book and the urn are append-only: DELETE refused'); END;"
)
_REWRITE_SQLITE = [
    f"CREATE TEMP TABLE urn_rewrite AS SELECT {COLUMNS} FROM {URN} "  # noqa: S608
    "WHERE consultation_id = %(round)s",
    f"DROP TRIGGER {URN}_no_delete",
    f"DELETE FROM {URN} WHERE consultation_id = %(round)s",  # noqa: S608
    _SQLITE_TRIGGER,
    f"INSERT INTO {URN} ({COLUMNS}) SELECT {COLUMNS} FROM urn_rewrite ORDER BY receipt",  # noqa: S608
    "DROP TABLE urn_rewrite",
]


def _sums(consultation: Consultation) -> list[CommuneSum]:
    """Each commune's final sum: its running sums added, and its number of ballots."""
    contexts = ballot_contexts(consultation)
    ballots = dict(
        SealedBallot.objects.filter(consultation=consultation)
        .values_list("commune_id")
        .annotate(n=Tally("receipt"))
        .values_list("commune_id", "n")
        .order_by()
    )
    running = CommuneSums()
    for commune_id, c1, c2 in UrnShard.objects.filter(consultation=consultation).values_list(
        "commune_id", "c1", "c2"
    ):
        running.add(commune_id, bytes(c1), bytes(c2))
    sums = []
    for commune_id, n in sorted(ballots.items()):
        context, summed = contexts.get(commune_id), running.of(commune_id)
        if context is None or summed is None:
            # Ballots with no running sum cannot be (the vote writes both or neither); the
            # count finds the commune's totals short and says so.
            logger.error("commune %s has %s ballots and no running sum", commune_id, n)
            continue
        sums.append(
            CommuneSum(
                consultation=consultation,
                commune_id=commune_id,
                projects=list(context.projects),
                ballots=n,
                c1=summed[0],
                c2=summed[1],
            )
        )
    return sums


def urn_rewrite(*, consultation_id: int, now=None) -> bool:
    """Rewrite a closed round's urn (steps 1 to 3 in one transaction, then 4). True when it did,
    False when it had been done (safe to repeat: the count job calls it every time)."""
    now = now or timezone.now()
    with transaction.atomic():
        urn = Urn.objects.select_for_update().filter(consultation_id=consultation_id).first()
        if urn is None or urn.rewritten_at is not None:
            return False
        consultation = Consultation.objects.get(pk=consultation_id)
        if consultation.phase != Consultation.Phase.COUNTING:
            return False
        folds_stop(consultation_id)
        urn_fold_all(consultation_id=consultation_id)
        CommuneSum.objects.filter(consultation=consultation).delete()
        sums = CommuneSum.objects.bulk_create(_sums(consultation), batch_size=2000)
        statements = _REWRITE_POSTGRESQL if connection.vendor == "postgresql" else _REWRITE_SQLITE
        moved = None
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, {"round": consultation_id})
                if connection.vendor == "postgresql" and statement.lstrip().startswith("WITH"):
                    moved = cursor.rowcount  # the rows moved (the statements after are SETs)
        UrnShard.objects.filter(consultation=consultation).delete()
        UrnPending.objects.filter(consultation=consultation).delete()
        urn.rewritten_at = now
        urn.save(update_fields=["rewritten_at"])
        audit.record(
            actor=None,
            action="urn.rewritten",
            obj=consultation,
            after={"communes": len(sums), "ballots": sum(s.ballots for s in sums)},
        )
    logger.info("urn of round %s rewritten (%s rows)", consultation_id, moved)
    tables_rewrite_on_disk()
    return True


def tables_rewrite_on_disk() -> bool:
    """Step 4. Not possible inside a transaction: when called in one (a test's), the rows are
    fresh already and the old versions wait for the next call outside one."""
    if connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM FULL {URN}, {SHARDS}, {PENDING}")
            # VACUUM FULL leaves the visibility map empty: without this plain VACUUM every count
            # of the urn's rows (the count's, per range of communes) reads the whole heap, 0.7 s
            # instead of 0.02 s a range nationally. It also gives the planner fresh statistics.
            cursor.execute(f"VACUUM (ANALYZE) {URN}")
        else:
            cursor.execute("VACUUM")
    return True
