"""Who may vote in a round, and why not: the one rule behind the online vote's check, the vote's
single SQL statement and the officer's look-up at a table.

The rule is a list of conditions on a person (``r``, their census record) and their commune
(``c``), each written once in SQL with the reason it refuses, in the order people are told them:

    other_commune        (at a table) the person is not on the census of the table's commune
    unverified           (online) the census record the account claimed is not verified yet
    commune_not_on_vote  the commune is not active, or the round leaves it out
    too_young / too_old  their age on voting day, against the round's limits
    already_voted        they are in the round's voting book, online or at a table
    not_on_ballot        (online) the chosen project is not on their commune's ballot

The vote's statement requires them all (``holds``), except ``already_voted``, which the voting
book's unique key decides in the very write (it also settles two votes racing each other); the
online check and the table's look-up ask which one fails first (``first_failing``, a CASE over
the same list). Outside the window (the round's phase, dates, channels and daily hours) is
checked before any of these, in Python, with the round in hand.

What each reason says, to the person voting online or to the officer at the table, is the table
REASONS. At a table every window reason has the code "closed" (the officer's page and its
offline queue treat a table as closed, whatever closed it); the message says which.
"""

import datetime
import functools
from dataclasses import dataclass
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from communes.models import CommunalCouncil, Commune, Resident, age_on
from consultations.models import Consultation, Exclusion, Project
from consultations.services import years_before

from .models import VotingBookEntry

# Where the person votes: the reader of the reason follows (the voter online, the officer at a
# table).
ONLINE = VotingBookEntry.Channel.ONLINE.value
TABLE = VotingBookEntry.Channel.TABLE.value

# The conditions' reasons.
OTHER_COMMUNE = "other_commune"
UNVERIFIED = "unverified"
COMMUNE_NOT_ON_VOTE = "commune_not_on_vote"
TOO_YOUNG = "too_young"
TOO_OLD = "too_old"
ALREADY_VOTED = "already_voted"
NOT_ON_BALLOT = "not_on_ballot"
# Before the conditions: nobody to check.
NO_RESIDENT = "no_resident"
NOT_ON_CENSUS = "not_on_census"
# Outside the window.
NOT_OPEN = "not_open"
OPENS_ON = "opens_on"
CLOSED = "closed"
IN_PERSON_ONLY = "in_person_only"
ONLINE_ONLY = "online_only"
OUTSIDE_HOURS = "outside_hours"
TABLE_OUTSIDE_HOURS = "table_outside_hours"


@dataclass(frozen=True)
class Reason:
    """Why someone may not vote: the code pages, the officer's queue and tests match, and what
    the voter (online) or the officer (at a table) is told."""

    code: str
    online: str | None = None
    table: str | None = None


REASONS = {
    NO_RESIDENT: Reason(
        NO_RESIDENT,
        online=_("Your account is not linked to a record of the census. Claim your record first."),
    ),
    NOT_ON_CENSUS: Reason(
        NOT_ON_CENSUS, table=_("Nobody with cédula %(cedula)s is on the census.")
    ),
    OTHER_COMMUNE: Reason(
        OTHER_COMMUNE,
        table=_("%(name)s belongs to %(commune)s; this table is for %(table_commune)s."),
    ),
    UNVERIFIED: Reason(
        UNVERIFIED,
        online=_("Your census record has not been verified yet by your commune's spokespeople."),
    ),
    COMMUNE_NOT_ON_VOTE: Reason(
        COMMUNE_NOT_ON_VOTE,
        online=_("Your commune, %(commune)s, is not on this round's vote."),
        table=_("This commune is not on this round's vote."),
    ),
    TOO_YOUNG: Reason(
        TOO_YOUNG,
        online=_(
            "You must be at least %(min)d years old on voting day (%(day)s); you will be %(age)d."
        ),
        table=_("Under %(min)d on voting day (%(age)d years old)."),
    ),
    TOO_OLD: Reason(
        TOO_OLD,
        online=_("This round is for people up to %(max)d years old on voting day (%(day)s)."),
        table=_("Over %(max)d on voting day (%(age)d years old)."),
    ),
    ALREADY_VOTED: Reason(
        ALREADY_VOTED,
        online=_("You have already voted in this round. Each person votes once."),
        table=_("ALREADY VOTED %(where)s. Do not give a ballot."),
    ),
    NOT_ON_BALLOT: Reason(NOT_ON_BALLOT, online=_("That project is not on your commune's ballot.")),
    NOT_OPEN: Reason(NOT_OPEN, online=_("Voting in this round is not open.")),
    OPENS_ON: Reason(NOT_OPEN, online=_("Voting opens on %(when)s.")),
    CLOSED: Reason(
        CLOSED,
        online=_("Voting in this round has closed."),
        table=_("Voting at this table is closed."),
    ),
    IN_PERSON_ONLY: Reason(
        IN_PERSON_ONLY, online=_("This round is voted in person only, at a voting table.")
    ),
    ONLINE_ONLY: Reason(CLOSED, table=_("This round is voted online only; tables do not open.")),
    OUTSIDE_HOURS: Reason(
        OUTSIDE_HOURS,
        online=_("Voting is open from %(start)s to %(end)s. Please come back then."),
    ),
    TABLE_OUTSIDE_HOURS: Reason(CLOSED, table=_("Voting is open from %(start)s to %(end)s.")),
}


def explain(reason: str, channel: str, **params) -> tuple[str, str]:
    """(message, code) of a reason, as told to the reader of that channel."""
    found = REASONS[reason]
    message = getattr(found, channel)
    if message is None:
        raise ValueError(f"{reason!r} is never told at {channel!r}")
    return str(message) % params, found.code


def refuse(reason: str, channel: str, **params) -> NoReturn:
    message, code = explain(reason, channel, **params)
    raise ValidationError(message, code=code)


# The window ------------------------------------------------------------------------------------


def voting_day(consultation: Consultation) -> datetime.date:
    """The day ages are measured on: the day voting opens (local time)."""
    return timezone.localdate(consultation.voting_opens_at)


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


def window_reason(consultation: Consultation, at: datetime.datetime, channel: str) -> str | None:
    """Why nobody may vote on this channel at ``at`` (None: the window is open).

    Online, the round must be in voting (its phase), voted online, between its dates and within
    its daily hours. At a table, the same dates and hours and a round voted in person; the
    round's phase is the mark's business (a mark queued offline may arrive after closing).
    """
    opens, closes = consultation.voting_opens_at, consultation.voting_closes_at
    if channel == ONLINE:
        if consultation.phase != Consultation.Phase.VOTING:
            if consultation.phase in (Consultation.Phase.COUNTING, Consultation.Phase.PUBLISHED):
                return CLOSED
            return NOT_OPEN
        if consultation.channels == Consultation.Channels.IN_PERSON:
            return IN_PERSON_ONLY
        if at < opens:
            return OPENS_ON
        if at >= closes:
            return CLOSED
        if not within_voting_hours(consultation, at):
            return OUTSIDE_HOURS
        return None
    if consultation.channels == Consultation.Channels.ONLINE:
        return ONLINE_ONLY
    if not (opens <= at < closes):
        return CLOSED
    if not within_voting_hours(consultation, at):
        return TABLE_OUTSIDE_HOURS
    return None


def window_params(consultation: Consultation) -> dict[str, str]:
    """What the window's messages name: when voting opens, and the daily hours."""
    when = formats.date_format(timezone.localtime(consultation.voting_opens_at), "DATETIME_FORMAT")
    return {"when": when, **voting_hours(consultation)}


def window_problem(consultation: Consultation, at: datetime.datetime, channel: str) -> str:
    """What the reader is told when the window is closed ("" when it is open)."""
    reason = window_reason(consultation, at, channel)
    if reason is None:
        return ""
    return explain(reason, channel, **window_params(consultation))[0]


def refuse_outside_window(consultation: Consultation, at: datetime.datetime, channel: str) -> None:
    reason = window_reason(consultation, at, channel)
    if reason is not None:
        refuse(reason, channel, **window_params(consultation))


# The conditions ------------------------------------------------------------------------------

# The person (``r``, their census record) and their commune (``c``).
PERSON = """{resident} r
JOIN {council} cc ON cc.id = r.council_id
JOIN {commune} c ON c.id = cc.commune_id"""

# Each condition holds when the person may vote; in the order people are told what fails.
_CONDITIONS = (
    (OTHER_COMMUNE, "c.id = %(table_commune)s"),
    (UNVERIFIED, "r.verification = %(verified)s"),
    (
        COMMUNE_NOT_ON_VOTE,
        "c.status = %(active)s AND NOT EXISTS (SELECT 1 FROM {exclusion} e "
        "WHERE e.consultation_id = %(consultation)s AND e.commune_id = c.id)",
    ),
    (TOO_YOUNG, "r.birth_date <= %(born_by)s"),
    (TOO_OLD, "r.birth_date > %(born_after)s"),
    (
        ALREADY_VOTED,
        "NOT EXISTS (SELECT 1 FROM {book} b "
        "WHERE b.consultation_id = %(consultation)s AND b.resident_id = r.id)",
    ),
    (
        NOT_ON_BALLOT,
        "EXISTS (SELECT 1 FROM {project} p WHERE p.id = %(project)s "
        "AND p.consultation_id = %(consultation)s AND p.commune_id = c.id "
        "AND p.status = %(approved)s)",
    ),
)
# Which conditions apply where (the round's maximum age and a chosen project, when there are).
_ONLY_AT = {OTHER_COMMUNE: TABLE, UNVERIFIED: ONLINE, NOT_ON_BALLOT: ONLINE}


def tables() -> dict[str, str]:
    """The database tables the rule reads, by the names its SQL uses."""
    return {
        "resident": Resident._meta.db_table,
        "council": CommunalCouncil._meta.db_table,
        "commune": Commune._meta.db_table,
        "exclusion": Exclusion._meta.db_table,
        "project": Project._meta.db_table,
        "book": VotingBookEntry._meta.db_table,
    }


@dataclass(frozen=True)
class Rule:
    """The conditions that apply to one check, as SQL on ``PERSON``, with their parameters."""

    conditions: tuple[tuple[str, str], ...]

    def holds(self) -> str:
        """True when every condition holds (the vote's WHERE)."""
        return "\n  AND ".join(f"({sql})" for _reason, sql in self.conditions)

    def first_failing(self) -> str:
        """The reason of the first condition that fails, or '' (a NULL counts as failing)."""
        cases = "".join(
            f" WHEN ({sql}) IS NOT TRUE THEN '{reason}'" for reason, sql in self.conditions
        )
        return f"CASE{cases} ELSE '' END"


@functools.cache
def rule(channel: str, *, max_age: bool, project: bool, book: bool) -> Rule:
    """The conditions for a channel; ``max_age``: the round has one; ``project``: a project was
    chosen; ``book``: the voting book is read (the writes leave it to the book's unique key)."""
    names = tables()
    skipped = {reason for reason, only in _ONLY_AT.items() if only != channel}
    if not max_age:
        skipped.add(TOO_OLD)
    if not project:
        skipped.add(NOT_ON_BALLOT)
    if not book:
        skipped.add(ALREADY_VOTED)
    return Rule(
        tuple((reason, sql.format(**names)) for reason, sql in _CONDITIONS if reason not in skipped)
    )


def rule_for(consultation: Consultation, channel: str, *, project: bool, book: bool) -> Rule:
    return rule(channel, max_age=consultation.max_age is not None, project=project, book=book)


def params(
    consultation: Consultation, *, project_id: int | None = None, table_commune_id=None
) -> dict:
    """The values the conditions compare with, for this round (and project, or table)."""
    day = voting_day(consultation)
    values = {
        "consultation": consultation.pk,
        "verified": Resident.Verification.VERIFIED.value,
        "active": Commune.Status.ACTIVE.value,
        "born_by": years_before(day, consultation.min_age),
        "project": project_id,
        "approved": Project.Status.APPROVED.value,
        "table_commune": table_commune_id,
    }
    if consultation.max_age is not None:
        values["born_after"] = years_before(day, consultation.max_age + 1)
    return values


def age_params(consultation: Consultation, birth_date: datetime.date) -> dict:
    """What the age messages name: the limits, voting day and the person's age on it."""
    day = voting_day(consultation)
    return {
        "min": consultation.min_age,
        "max": consultation.max_age,
        "day": formats.date_format(day),
        "age": age_on(birth_date, day),
    }


# The three who ask -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineVoter:
    """A signed-in person as the online vote sees them, with the reason they may not vote
    ("" when they may)."""

    resident_id: int
    birth_date: datetime.date
    commune_id: int
    commune_name: str
    reason: str


_ONLINE_VOTER = """
SELECT r.id, r.birth_date, c.id, c.name, {first_failing}
FROM {person}
WHERE r.user_id = %(user)s
"""


def online_voter(
    consultation: Consultation, *, user_id: int, project_id: int | None
) -> OnlineVoter | None:
    """The person whose account this is, with why they may not vote online in this round (with
    ``project_id``: also whether it is on their ballot); None without a census record. One
    query, which also runs on the embedded database."""
    checks = rule_for(consultation, ONLINE, project=project_id is not None, book=True)
    sql = _ONLINE_VOTER.format(
        first_failing=checks.first_failing(), person=PERSON.format(**tables())
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params(consultation, project_id=project_id), "user": user_id})
        row = cursor.fetchone()
    if row is None:
        return None
    birth_date = row[1]
    if isinstance(birth_date, str):  # the embedded database reads dates as text here
        birth_date = datetime.date.fromisoformat(birth_date)
    return OnlineVoter(row[0], birth_date, row[2], row[3], row[4])


_TABLE_VOTER = """
SELECT {first_failing}
FROM {person}
WHERE r.id = %(resident)s
"""


def table_reason(
    consultation: Consultation, *, resident_id: int, table_commune_id: int, book: bool
) -> str:
    """Why this person may not vote at a table of that commune ("" when they may). ``book``:
    also whether they are in the voting book already (a mark leaves that to the book's key)."""
    checks = rule_for(consultation, TABLE, project=False, book=book)
    sql = _TABLE_VOTER.format(
        first_failing=checks.first_failing(), person=PERSON.format(**tables())
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                **params(consultation, table_commune_id=table_commune_id),
                "resident": resident_id,
            },
        )
        return cursor.fetchone()[0]
