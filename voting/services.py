"""Every write of the vote: the urn made when voting opens, and a vote cast online.

A vote whose rules all hold is one SQL statement: it checks the rules, locks the round against
closing (``FOR SHARE``), writes the voting-book row unless the person is already in it, and only
then the encrypted ballot and its place in the queue of ballots to add into the commune's running
sums; a refusal reads the details to explain itself. So two tabs,
two devices or twenty POSTs at once record exactly one vote, and no vote slips in once the round
has moved on to counting. Votes are not written to the audit trail: the voting book is their
append-only record, and an audit entry per vote would be one more row sharing the vote's time.
"""

import datetime
import functools
import random
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from consultations.models import Consultation, Project
from consultations.services import refuse
from urncrypto import ballot_encrypt, group

from . import commissioners, eligibility
from . import urn as sealing
from .eligibility import ONLINE
from .models import SealedBallot, Urn, UrnPending, UrnShard, VotingBookEntry
from .selectors import ballot_contexts


def urn_open(*, consultation: Consultation, now: datetime.datetime) -> Urn:
    """Make the round's urn as voting opens (inside that transition): its key, from the
    commissioners' key generation (k of n, every contribution in), or for a round without
    commissioners from the server's own 1-of-1 key generation, which production refuses unless
    an admin recorded why (``Consultation.single_key_reason``); its lot seed; and each taking
    part commune's empty running sums. The key is never whole anywhere: only its public result
    is stored."""
    existing = Urn.objects.filter(consultation=consultation).first()
    if existing is not None:
        return existing
    needed, total = consultation.key_shares_needed, consultation.key_shares_total
    if needed:
        result, transcript = commissioners.key_generation_result(consultation)
    else:
        if not settings.URN_SINGLE_KEY_ALLOWED and not consultation.single_key_reason.strip():
            refuse(
                _(
                    "This round has no electoral commissioners, so the server alone would hold "
                    "its key: set k of n commissioners (k of at least 2) or record why not."
                ),
                "single_key",
            )
        result = sealing.server_key_generation(consultation.pk, consultation.max_options)
        transcript = {}
    urn = Urn.objects.create(
        consultation=consultation,
        public_key=result.key.fingerprint,
        key=result.to_json(),
        key_generation=transcript,
        lot_seed=sealing.lot_seed(),
        shares_needed=needed,
        shares_total=total,
        created_at=now,
    )
    shards_create(consultation)
    audit.record(
        actor=None,
        action="urn.open",
        obj=consultation,
        after={
            "key_fingerprint": group.b64(result.key.fingerprint),
            "lot_seed": urn.lot_seed,
            "commissioners": f"{needed} of {total}" if needed else "server 1 of 1",
            "single_key_reason": consultation.single_key_reason if not needed else "",
        },
    )
    return urn


def shards_create(consultation: Consultation) -> int:
    """Each commune's empty running sums, written as voting opens, so a fold only updates."""
    rows = [
        UrnShard(
            consultation=consultation,
            commune_id=commune_id,
            shard=shard,
            c1=group.IDENTITY,
            c2=group.IDENTITY * len(context.projects),
        )
        for commune_id, context in ballot_contexts(consultation).items()
        for shard in range(UrnShard.SHARDS)
    ]
    UrnShard.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


@dataclass(frozen=True)
class Voter:
    """What the vote needs to know about a person, read in one query."""

    resident_id: int
    commune_id: int
    commune_name: str


def voter_check(*, consultation: Consultation, user, now=None, project_id: int | None = None):
    """Who may vote in this round, or a ValidationError saying which condition failed (the rule
    and its messages: voting.eligibility).

    With ``project_id``, also that the project is on the voter's ballot (checked last).
    """
    now = now or timezone.now()
    eligibility.refuse_outside_window(consultation, now, ONLINE)
    voter = eligibility.online_voter(consultation, user_id=user.pk, project_id=project_id)
    if voter is None:
        eligibility.refuse(eligibility.NO_RESIDENT, ONLINE)
    if voter.reason:
        eligibility.refuse(
            voter.reason,
            ONLINE,
            commune=voter.commune_name,
            **eligibility.age_params(consultation, voter.birth_date),
        )
    return Voter(
        resident_id=voter.resident_id,
        commune_id=voter.commune_id,
        commune_name=voter.commune_name,
    )


BALLOT_CACHE_SECONDS = 300


def ballot(*, consultation: Consultation, commune_id: int) -> list[Project]:
    """The commune's approved projects, in a fresh random order each time (no first place).

    While the round is in voting its ballots cannot change (a project is edited or decided only
    before), so each is read from the database once and then from the cache: every voter opens
    it twice (the ballot, the confirmation). The vote itself checks the live ballot."""
    key = f"ballot:{consultation.pk}:{commune_id}"
    voting = consultation.phase == Consultation.Phase.VOTING
    projects = cache.get(key) if voting else None
    if projects is None:
        projects = list(
            Project.objects.filter(
                consultation=consultation, commune_id=commune_id, status=Project.Status.APPROVED
            ).only("pk", "title", "description", "category", "estimated_cost_usd", "place")
        )
        if voting:
            cache.set(key, projects, BALLOT_CACHE_SECONDS)
    random.SystemRandom().shuffle(projects)
    return projects


class Cast:
    """One vote being written: the round, the time and the encrypted ballot."""

    def __init__(self, consultation, now, ballot):
        self.consultation, self.now, self.ballot = consultation, now, ballot
        self.receipt = ballot.receipt
        self.payload = ballot.payload_bytes()


_CAST = """
WITH open_round AS (
    SELECT id FROM {consultation}
    WHERE id = %(consultation)s AND phase = %(voting)s
    FOR SHARE
), book AS (
    INSERT INTO {book} (consultation_id, resident_id, commune_id, channel, voted_at)
    SELECT id, %(resident)s, %(commune)s, %(online)s, %(now)s FROM open_round
    ON CONFLICT (consultation_id, resident_id) DO NOTHING
    RETURNING 1
), ballot AS (
    INSERT INTO {urn} (receipt, consultation_id, commune_id, sealed)
    SELECT %(receipt)s, %(consultation)s, %(commune)s, %(sealed)s FROM book
    RETURNING receipt
)
INSERT INTO {pending} (receipt, consultation_id)
SELECT receipt, %(consultation)s FROM ballot
RETURNING receipt
"""


# The whole vote in one statement when every rule holds (the usual case): the voter's
# conditions (voting.eligibility's rule; whether they voted already is the book's unique key),
# the round still in voting (FOR SHARE, so closing waits for votes in flight), the voting-book
# row unless the person is already in it, and only then the encrypted ballot and its place in the
# queue to add (``voting.sums``). When it writes nothing, voter_check says why.
_CAST_CHECKED = """
WITH voter AS (
    SELECT r.id AS resident_id, c.id AS commune_id
    FROM {person}
    WHERE r.user_id = %(user)s
      AND {conditions}
), open_round AS (
    SELECT id FROM {consultation} WHERE id = %(consultation)s AND phase = %(voting)s FOR SHARE
), book AS (
    INSERT INTO {book} (consultation_id, resident_id, commune_id, channel, voted_at)
    SELECT open_round.id, voter.resident_id, voter.commune_id, %(online)s, %(now)s
    FROM open_round, voter
    ON CONFLICT (consultation_id, resident_id) DO NOTHING
    RETURNING commune_id
), ballot AS (
    INSERT INTO {urn} (receipt, consultation_id, commune_id, sealed)
    SELECT %(receipt)s, %(consultation)s, commune_id, %(sealed)s FROM book
    RETURNING receipt
)
INSERT INTO {pending} (receipt, consultation_id)
SELECT receipt, %(consultation)s FROM ballot
RETURNING receipt
"""


def _tables() -> dict[str, str]:
    return {
        **eligibility.tables(),
        "consultation": Consultation._meta.db_table,
        "urn": SealedBallot._meta.db_table,
        "pending": UrnPending._meta.db_table,
    }


@functools.cache
def _cast_checked(max_age: bool) -> str:
    """The one statement's text (per kind of round: with a maximum age or without), kept: it
    is the same for every vote of the round."""
    conditions = eligibility.rule(ONLINE, max_age=max_age, project=True, book=False)
    names = _tables()
    return _CAST_CHECKED.format(
        person=eligibility.PERSON.format(**names), conditions=conditions.holds(), **names
    )


def _cast_in_one_statement(cast: Cast, user, project_id) -> bool:
    connection.ensure_connection()
    consultation = cast.consultation
    # Prepared once per connection: planning this join took longer than running it (EXPLAIN
    # ANALYZE: ~1.9 ms against ~0.7 ms), and it is the busiest write of the day. Django's cursors
    # bind on the client and never prepare, so this statement gets a psycopg cursor of its own.
    # Behind a pooler in transaction mode (DATABASE_POOLING) the connection's prepare_threshold
    # is None and nothing is prepared: the next statement may reach another server connection.
    # Django's error wrapper: a dropped connection marks it unusable, so it is closed when the
    # request ends instead of failing every later request of this thread.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            _cast_checked(consultation.max_age is not None),
            {
                **eligibility.params(consultation, project_id=project_id),
                "user": user.pk,
                "voting": Consultation.Phase.VOTING.value,
                "online": ONLINE,
                "now": cast.now,
                "receipt": cast.receipt,
                "sealed": cast.payload,
            },
            prepare=connection.connection.prepare_threshold is not None,
        )
        return cursor.fetchone() is not None


@dataclass(frozen=True)
class Ballots:
    """A round's ballots as the vote needs them: each project's commune and each commune's
    context. Frozen once voting opens, so kept per process and urn key."""

    commune_of: dict[int, int]
    contexts: dict  # commune id → urncrypto.BallotContext


_BALLOTS: dict[bytes, Ballots] = {}


def ballots_of(consultation: Consultation) -> Ballots:
    fingerprint = bytes(consultation.urn.public_key)
    kept = _BALLOTS.get(fingerprint)
    if kept is None:
        contexts = ballot_contexts(consultation)
        commune_of = {p: c for c, context in contexts.items() for p in context.projects}
        kept = _BALLOTS[fingerprint] = Ballots(commune_of, contexts)
    return kept


def vote_cast(*, consultation: Consultation, user, project_id: int, now=None) -> str:
    """Cast a person's online vote; returns the receipt. Refusals raise ValidationError.

    The ballot is encrypted before the transaction (from this process's pool of precomputed
    ballots); one statement writes the voting-book row, the ballot and its place in the queue of
    ballots to add into their commune's running sums (``voting.sums``), or nothing."""
    now = now or timezone.now()
    eligibility.refuse_outside_window(consultation, now, ONLINE)
    commune_id = ballots_of(consultation).commune_of.get(project_id)
    if commune_id is None:
        # Not on any ballot of the round: say why in the voter's words (their own conditions
        # first), and refuse it as not on their ballot if they meet them all.
        if 0 < project_id < 2**63:
            voter_check(consultation=consultation, user=user, now=now, project_id=project_id)
        eligibility.refuse(eligibility.NOT_ON_BALLOT, ONLINE)
    key = sealing.round_key(consultation.urn)
    context = ballots_of(consultation).contexts[commune_id]
    ballot = ballot_encrypt(
        key=key,
        context=context,
        choice=project_id,
        precomputed=sealing.precomputation_take(key, len(context.projects)),
    )
    cast = Cast(consultation, now, ballot)
    postgresql = connection.vendor == "postgresql"
    if postgresql and _cast_in_one_statement(cast, user, project_id):
        return cast.receipt
    # Nothing written (or the embedded database): find out why, in the voter's words.
    voter = voter_check(consultation=consultation, user=user, now=now, project_id=project_id)
    written = _cast_known_voter(cast, voter) if postgresql else _cast_portably(cast, voter)
    if not written:
        # Another tab or device got there first, or the round closed meanwhile.
        consultation.refresh_from_db(fields=["phase"])
        eligibility.refuse_outside_window(consultation, now, ONLINE)
        eligibility.refuse(eligibility.ALREADY_VOTED, ONLINE)
    return cast.receipt


def _cast_known_voter(cast: Cast, voter) -> bool:
    """The vote of a person voter_check has just passed (the rare path after the one statement
    wrote nothing: a vote racing this one, or the round closing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CAST.format(**_tables()),
            {
                "voting": Consultation.Phase.VOTING.value,
                "online": ONLINE,
                "consultation": cast.consultation.pk,
                "resident": voter.resident_id,
                "commune": voter.commune_id,
                "now": cast.now,
                "receipt": cast.receipt,
                "sealed": cast.payload,
            },
        )
        return cursor.fetchone() is not None


# The embedded database (SQLite) has no data-modifying WITH: the same write in two statements,
# in one transaction that holds the file's write lock from its start (transaction_mode
# IMMEDIATE, config/settings.py), so the round cannot close between them and concurrent votes
# queue for the lock instead of failing. Raw SQL for the same reason as _VOTER: on the busiest
# write of the day the ORM's compiling cost more than the statements (bench/embedded.py).
_CAST_BOOK_SQLITE = """
INSERT INTO {book} (consultation_id, resident_id, commune_id, channel, voted_at)
SELECT id, %(resident)s, %(commune)s, %(online)s, %(now)s FROM {consultation}
WHERE id = %(consultation)s AND phase = %(voting)s
ON CONFLICT (consultation_id, resident_id) DO NOTHING
RETURNING 1
"""
_CAST_URN_SQLITE = """
INSERT INTO {urn} (receipt, consultation_id, commune_id, sealed)
VALUES (%(receipt)s, %(consultation)s, %(commune)s, %(sealed)s)
"""
_CAST_PENDING_SQLITE = (
    "INSERT INTO {pending} (receipt, consultation_id) VALUES (%(receipt)s, %(consultation)s)"
)


def _cast_portably(cast: Cast, voter) -> bool:
    """The same write on the embedded database: the voting-book row unless the person is in it
    already or the round has left voting, then the ballot and its place in the queue to add."""
    tables = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CAST_BOOK_SQLITE.format(**tables),
            {
                "consultation": cast.consultation.pk,
                "voting": Consultation.Phase.VOTING.value,
                "resident": voter.resident_id,
                "commune": voter.commune_id,
                "online": VotingBookEntry.Channel.ONLINE.value,
                "now": connection.ops.adapt_datetimefield_value(cast.now),
            },
        )
        if cursor.fetchone() is None:
            return False  # already in the voting book, or the round closed meanwhile
        cursor.execute(
            _CAST_URN_SQLITE.format(**tables),
            {
                "receipt": cast.receipt,
                "consultation": cast.consultation.pk,
                "commune": voter.commune_id,
                "sealed": cast.payload,
            },
        )
        cursor.execute(
            _CAST_PENDING_SQLITE.format(**tables),
            {"receipt": cast.receipt, "consultation": cast.consultation.pk},
        )
    return True
