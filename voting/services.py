"""Every write of the vote: the urn made when voting opens, and a vote cast online.

A vote whose rules all hold is one SQL statement: it checks the rules, locks the round against
closing (``FOR SHARE``), writes the voting-book row unless the person is already in it, and only
then the sealed ballot; a refusal reads the details to explain itself. So two tabs,
two devices or twenty POSTs at once record exactly one vote, and no vote slips in once the round
has moved on to counting. Votes are not written to the audit trail: the voting book is their
append-only record, and an audit entry per vote would be one more row sharing the vote's time.
"""

import datetime
import functools
import random
from dataclasses import dataclass

import psycopg
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from accounts import permissions
from consultations.models import Consultation, Project
from consultations.services import refuse

from . import eligibility
from . import urn as sealing
from .eligibility import ONLINE
from .models import SealedBallot, Urn, VotingBookEntry


def urn_open(*, consultation: Consultation, now: datetime.datetime) -> Urn:
    """Make the round's key pair and lot seed as voting opens (inside that transition).

    The private key goes to a file outside the database, or as k-of-n shares to one file per
    commissioner, before the urn row is committed, so no ballot can ever be sealed to a key that
    was not kept.
    """
    existing = Urn.objects.filter(consultation=consultation).first()
    if existing is not None:
        return existing
    public_key, private_key = sealing.keypair()
    needed, total = consultation.key_shares_needed, consultation.key_shares_total
    if needed:
        shares = sealing.shares_split(consultation.pk, private_key, needed, total)
        sealing.share_files_store(consultation.pk, shares)
    else:
        sealing.private_key_store(consultation.pk, private_key)
    urn = Urn.objects.create(
        consultation=consultation,
        public_key=public_key,
        lot_seed=sealing.lot_seed(),
        shares_needed=needed,
        shares_total=total,
        created_at=now,
    )
    audit.record(
        actor=None,
        action="urn.open",
        obj=consultation,
        after={
            "public_key": public_key.hex(),
            "lot_seed": urn.lot_seed,
            "shares": f"{needed} of {total}" if needed else "key file",
        },
    )
    return urn


SHARE_REFUSALS = {
    "format": gettext_lazy(
        "That is not a share: it looks like R12-3-5-… with 64 letters and digits, then 4 more."
    ),
    "checksum": gettext_lazy(
        "That share has a typing mistake: its last four characters do not match."
    ),
    "round": gettext_lazy("That share belongs to another round."),
}


def urn_share_add(*, consultation: Consultation, text: str, by) -> int:
    """A commissioner's share of the urn's key, typed in for the count. Returns how many are in
    (once enough are, cycle.services starts the count). The share itself is never written to the
    database."""
    permissions.require(by, "consultations.manage_cycle", consultation)
    urn = Urn.objects.filter(consultation=consultation).first()
    if consultation.phase != Consultation.Phase.COUNTING or urn is None or not urn.shares_needed:
        refuse(_("This round's count does not wait for commissioners' shares."), "no_shares")
    try:
        index, data = sealing.share_parse(consultation.pk, text)
    except sealing.ShareError as error:
        refuse(str(SHARE_REFUSALS[str(error)]), f"share_{error}")
    if not 1 <= index <= urn.shares_total:
        refuse(str(SHARE_REFUSALS["format"]), "share_format")
    if not sealing.share_keep(consultation.pk, index, data):
        refuse(_("Share %(index)d has already been entered.") % {"index": index}, "share_repeated")
    entered = len(sealing.shares_kept(consultation.pk, urn.shares_total))
    audit.record(
        actor=by,
        action="urn.share_entered",
        obj=consultation,
        after={"share": index, "entered": entered, "needed": urn.shares_needed},
    )
    return entered


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
)
INSERT INTO {urn} (receipt, consultation_id, commune_id, sealed)
SELECT %(receipt)s, %(consultation)s, %(commune)s, %(sealed)s FROM book
RETURNING receipt
"""


# The whole vote in one statement when every rule holds (the usual case): the voter's
# conditions (voting.eligibility's rule; whether they voted already is the book's unique key),
# the round still in voting (FOR SHARE, so closing waits for votes in flight), the voting-book
# row unless the person is already in it, and only then the sealed ballot. When it writes
# nothing, voter_check says why.
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
)
INSERT INTO {urn} (receipt, consultation_id, commune_id, sealed)
SELECT %(receipt)s, %(consultation)s, commune_id, %(sealed)s FROM book
RETURNING receipt
"""


def _tables() -> dict[str, str]:
    return {
        **eligibility.tables(),
        "consultation": Consultation._meta.db_table,
        "urn": SealedBallot._meta.db_table,
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


def _cast_in_one_statement(consultation, user, project_id, now, receipt, sealed) -> bool:
    connection.ensure_connection()
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
                "now": now,
                "receipt": receipt,
                "sealed": sealed,
            },
            prepare=connection.connection.prepare_threshold is not None,
        )
        return cursor.fetchone() is not None


def vote_cast(*, consultation: Consultation, user, project_id: int, now=None) -> str:
    """Cast a person's online vote; returns the receipt. Refusals raise ValidationError."""
    now = now or timezone.now()
    eligibility.refuse_outside_window(consultation, now, ONLINE)
    if not 0 < project_id < 2**63:
        # No project has this id, and neither the sealed ballot nor a bigint column can hold it.
        eligibility.refuse(eligibility.NOT_ON_BALLOT, ONLINE)
    receipt, sealed = sealing.seal(bytes(consultation.urn.public_key), project_id)
    postgresql = connection.vendor == "postgresql"
    if postgresql and _cast_in_one_statement(consultation, user, project_id, now, receipt, sealed):
        return receipt
    # Nothing written (or the embedded database): find out why, in the voter's words.
    voter = voter_check(consultation=consultation, user=user, now=now, project_id=project_id)
    if postgresql:
        written = _cast_known_voter(consultation, voter, now, receipt, sealed)
    else:
        written = _cast_portably(consultation, voter, now, receipt, sealed)
    if not written:
        # Another tab or device got there first, or the round closed meanwhile.
        consultation.refresh_from_db(fields=["phase"])
        eligibility.refuse_outside_window(consultation, now, ONLINE)
        eligibility.refuse(eligibility.ALREADY_VOTED, ONLINE)
    return receipt


def _cast_known_voter(consultation, voter, now, receipt, sealed) -> bool:
    """The vote of a person voter_check has just passed (the rare path after the one statement
    wrote nothing: a vote racing this one, or the round closing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CAST.format(**_tables()),
            {
                "voting": Consultation.Phase.VOTING.value,
                "online": ONLINE,
                "consultation": consultation.pk,
                "resident": voter.resident_id,
                "commune": voter.commune_id,
                "now": now,
                "receipt": receipt,
                "sealed": sealed,
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


def _cast_portably(consultation, voter, now, receipt, sealed) -> bool:
    """The same write on the embedded database: the voting-book row unless the person is in it
    already or the round has left voting, and only then the sealed ballot."""
    tables = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CAST_BOOK_SQLITE.format(**tables),
            {
                "consultation": consultation.pk,
                "voting": Consultation.Phase.VOTING.value,
                "resident": voter.resident_id,
                "commune": voter.commune_id,
                "online": VotingBookEntry.Channel.ONLINE.value,
                "now": connection.ops.adapt_datetimefield_value(now),
            },
        )
        if cursor.fetchone() is None:
            return False  # already in the voting book, or the round closed meanwhile
        cursor.execute(
            _CAST_URN_SQLITE.format(**tables),
            {
                "receipt": receipt,
                "consultation": consultation.pk,
                "commune": voter.commune_id,
                "sealed": sealed,
            },
        )
    return True
