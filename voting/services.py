"""Every write of the vote: the urn made when voting opens, and a vote cast online.

A vote whose rules all hold is one SQL statement: it checks the rules, locks the round against
closing (``FOR SHARE``), writes the voting-book row unless the person is already in it, and only
then the sealed ballot; a refusal reads the details to explain itself. So two tabs,
two devices or twenty POSTs at once record exactly one vote, and no vote slips in once the round
has moved on to counting. Votes are not written to the audit trail: the voting book is their
append-only record, and an audit entry per vote would be one more row sharing the vote's time.
"""

import datetime
import random
from dataclasses import dataclass

import psycopg
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
import outbox
from accounts import permissions
from communes.models import Commune, Resident, age_on
from consultations.models import Consultation, Exclusion, Project
from consultations.services import years_before

from . import urn as sealing
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
    """A commissioner's share of the urn's key, typed in for the count. Returns how many are in;
    once enough are, the count starts. The share itself is never written to the database."""
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
    if entered >= urn.shares_needed:
        from .tasks import consultation_count_task

        transaction.on_commit(lambda: outbox.send(consultation_count_task, consultation.pk))
    return entered


def voting_day(consultation: Consultation) -> datetime.date:
    """The day ages are measured on: the day voting opens (local time)."""
    return timezone.localdate(consultation.voting_opens_at)


@dataclass(frozen=True)
class Voter:
    """What the vote needs to know about a person, read in one query."""

    resident_id: int
    commune_id: int
    commune_name: str


def refuse(message: str, code: str):
    raise ValidationError(message, code=code)


def within_voting_hours(consultation: Consultation, at: datetime.datetime) -> bool:
    """Is ``at`` within the round's daily voting hours (local time)? Online and at tables."""
    local = timezone.localtime(at).time()
    return consultation.voting_hours_start <= local < consultation.voting_hours_end


def voting_hours(consultation: Consultation) -> dict[str, str]:
    """The daily hours as people read them, for the messages that name them."""
    return {
        "start": formats.time_format(consultation.voting_hours_start, "TIME_FORMAT"),
        "end": formats.time_format(consultation.voting_hours_end, "TIME_FORMAT"),
    }


def _window_problem(consultation: Consultation, now: datetime.datetime) -> None:
    if consultation.phase != Consultation.Phase.VOTING:
        if consultation.phase in (Consultation.Phase.COUNTING, Consultation.Phase.PUBLISHED):
            refuse(_("Voting in this round has closed."), "closed")
        refuse(_("Voting in this round is not open."), "not_open")
    if consultation.channels == Consultation.Channels.IN_PERSON:
        refuse(_("This round is voted in person only, at a voting table."), "in_person_only")
    if now < consultation.voting_opens_at:
        refuse(
            _("Voting opens on %(when)s.")
            % {
                "when": formats.date_format(
                    timezone.localtime(consultation.voting_opens_at), "DATETIME_FORMAT"
                )
            },
            "not_open",
        )
    if now >= consultation.voting_closes_at:
        refuse(_("Voting in this round has closed."), "closed")
    if not within_voting_hours(consultation, now):
        refuse(
            _("Voting is open from %(start)s to %(end)s. Please come back then.")
            % voting_hours(consultation),
            "outside_hours",
        )


# The voter, their commune, whether the commune is excluded from the round, whether they are
# already in its voting book and (when a project is given) whether it is on their ballot: one
# round trip. Raw SQL because this runs on every vote and the ORM's compiling cost more than the
# query itself; the same statement works on SQLite. Table names come from the models.
_VOTER = """
SELECT r.id, r.verification, r.birth_date, c.id, c.name, c.status,
    EXISTS (SELECT 1 FROM {exclusion} e
            WHERE e.consultation_id = %(consultation)s AND e.commune_id = c.id),
    EXISTS (SELECT 1 FROM {book} b
            WHERE b.consultation_id = %(consultation)s AND b.resident_id = r.id),
    EXISTS (SELECT 1 FROM {project} p
            WHERE p.id = %(project)s AND p.consultation_id = %(consultation)s
            AND p.commune_id = c.id AND p.status = %(approved)s)
FROM {resident} r
JOIN {council} cc ON cc.id = r.council_id
JOIN {commune} c ON c.id = cc.commune_id
WHERE r.user_id = %(user)s
"""


def _voter_row(consultation: Consultation, user_id: int, project_id: int | None):
    with connection.cursor() as cursor:
        cursor.execute(
            _VOTER.format(**_tables()),
            {
                "consultation": consultation.pk,
                "user": user_id,
                "project": project_id,
                "approved": Project.Status.APPROVED.value,
            },
        )
        return cursor.fetchone()


def voter_check(*, consultation: Consultation, user, now=None, project_id: int | None = None):
    """Who may vote in this round, or a ValidationError saying which condition failed.

    With ``project_id``, also that the project is on the voter's ballot (checked last).
    """
    now = now or timezone.now()
    _window_problem(consultation, now)
    row = _voter_row(consultation, user.pk, project_id)
    if row is None:
        refuse(
            _("Your account is not linked to a record of the census. Claim your record first."),
            "no_resident",
        )
    resident_id, verification, birth_date, commune_id, commune_name, commune_status = row[:6]
    excluded, voted, on_ballot = row[6:]
    if verification != Resident.Verification.VERIFIED:
        refuse(
            _("Your census record has not been verified yet by your commune's spokespeople."),
            "unverified",
        )
    if commune_status != Commune.Status.ACTIVE or excluded:
        refuse(
            _("Your commune, %(commune)s, is not on this round's vote.")
            % {"commune": commune_name},
            "commune_not_on_vote",
        )
    day = voting_day(consultation)
    age = age_on(birth_date, day)
    if age < consultation.min_age:
        refuse(
            _(
                "You must be at least %(min)d years old on voting day (%(day)s); "
                "you will be %(age)d."
            )
            % {"min": consultation.min_age, "day": formats.date_format(day), "age": age},
            "too_young",
        )
    if consultation.max_age is not None and age > consultation.max_age:
        refuse(
            _("This round is for people up to %(max)d years old on voting day (%(day)s).")
            % {"max": consultation.max_age, "day": formats.date_format(day)},
            "too_old",
        )
    if voted:
        refuse(_("You have already voted in this round. Each person votes once."), "already_voted")
    if project_id is not None and not on_ballot:
        refuse(_("That project is not on your commune's ballot."), "not_on_ballot")
    return Voter(resident_id=resident_id, commune_id=commune_id, commune_name=commune_name)


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


# The whole vote in one statement when every rule holds (the usual case): the voter's rules as
# in voter_check, the round still in voting (FOR SHARE, so closing waits for votes in flight),
# the voting-book row unless the person is already in it, and only then the sealed ballot. When
# it writes nothing, voter_check says why.
_CAST_CHECKED = """
WITH voter AS (
    SELECT r.id AS resident_id, c.id AS commune_id
    FROM {resident} r
    JOIN {council} cc ON cc.id = r.council_id
    JOIN {commune} c ON c.id = cc.commune_id
    WHERE r.user_id = %(user)s AND r.verification = %(verified)s AND c.status = %(active)s
      AND r.birth_date <= %(born_by)s
      AND (%(born_after)s::date IS NULL OR r.birth_date > %(born_after)s::date)
      AND NOT EXISTS (SELECT 1 FROM {exclusion} e
                      WHERE e.consultation_id = %(consultation)s AND e.commune_id = c.id)
      AND EXISTS (SELECT 1 FROM {project} p
                  WHERE p.id = %(project)s AND p.consultation_id = %(consultation)s
                  AND p.commune_id = c.id AND p.status = %(approved)s)
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
    from communes.models import CommunalCouncil

    return {
        "resident": Resident._meta.db_table,
        "council": CommunalCouncil._meta.db_table,
        "commune": Commune._meta.db_table,
        "exclusion": Exclusion._meta.db_table,
        "project": Project._meta.db_table,
        "consultation": Consultation._meta.db_table,
        "book": VotingBookEntry._meta.db_table,
        "urn": SealedBallot._meta.db_table,
    }


def _cast_in_one_statement(consultation, user, project_id, now, receipt, sealed) -> bool:
    day = voting_day(consultation)
    max_age = consultation.max_age
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
            _CAST_CHECKED.format(**_tables()),
            {
                "user": user.pk,
                "verified": Resident.Verification.VERIFIED.value,
                "active": Commune.Status.ACTIVE.value,
                "born_by": years_before(day, consultation.min_age),
                "born_after": years_before(day, max_age + 1) if max_age is not None else None,
                "consultation": consultation.pk,
                "project": project_id,
                "approved": Project.Status.APPROVED.value,
                "voting": Consultation.Phase.VOTING.value,
                "online": VotingBookEntry.Channel.ONLINE.value,
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
    _window_problem(consultation, now)
    if not 0 < project_id < 2**63:
        # No project has this id, and neither the sealed ballot nor a bigint column can hold it.
        refuse(_("That project is not on your commune's ballot."), "not_on_ballot")
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
        _window_problem(consultation, now)
        refuse(_("You have already voted in this round. Each person votes once."), "already_voted")
    return receipt


def _cast_known_voter(consultation, voter, now, receipt, sealed) -> bool:
    """The vote of a person voter_check has just passed (the rare path after the one statement
    wrote nothing: a vote racing this one, or the round closing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CAST.format(**_tables()),
            {
                "voting": Consultation.Phase.VOTING.value,
                "online": VotingBookEntry.Channel.ONLINE.value,
                "consultation": consultation.pk,
                "resident": voter.resident_id,
                "commune": voter.commune_id,
                "now": now,
                "receipt": receipt,
                "sealed": sealed,
            },
        )
        return cursor.fetchone() is not None


def _cast_portably(consultation, voter, now, receipt, sealed) -> bool:
    """The same write for the embedded demo database (SQLite serialises writers anyway)."""
    from django.db import IntegrityError, transaction

    try:
        with transaction.atomic():
            if not Consultation.objects.filter(
                pk=consultation.pk, phase=Consultation.Phase.VOTING
            ).exists():
                return False
            VotingBookEntry.objects.create(
                consultation=consultation,
                resident_id=voter.resident_id,
                commune_id=voter.commune_id,
                channel=VotingBookEntry.Channel.ONLINE,
                voted_at=now,
            )
            SealedBallot.objects.create(
                receipt=receipt,
                consultation=consultation,
                commune_id=voter.commune_id,
                sealed=sealed,
            )
    except IntegrityError:
        return False
    return True
