"""The rounds: last quarter's published with its results, this quarter's in voting (all day
long, so the demo residents can vote whenever they try), and next quarter's proposed as a draft,
so every cycle page has something real to show.

A round moves only through the cycle's services, each step at its own date (``now=``), as the
cycle admin and the minute tick would have moved it: the admin schedules it, the tick does the
rest. What happens inside a phase (assemblies, votes, tables) is written between the steps.
"""

import datetime
import random

from django.db.models import Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import User
from consultations.models import Consultation
from consultations.services import ROMAN, proposed_dates, quarter_of
from cycle.services import (
    round_close_voting,
    round_count,
    round_open_assemblies,
    round_open_validation,
    round_open_voting,
    round_propose_next,
    round_publish,
    round_schedule,
)
from voting.models import CommuneResult, Count, VotingBookEntry

from . import tables, votes
from .assemblies import CURRENT_STATUSES, PAST_STATUSES, assemblies_seed
from .people import account

# The current round's voting hours: the whole day, so the demo can be tried at any time.
ALL_DAY = (datetime.time(0, 0), datetime.time(23, 59, 59))
DAY = datetime.timedelta(days=1)
# The cycle admin scheduled each round this long before its assemblies opened.
SCHEDULED_AHEAD = 20 * DAY
# The count ran this long after voting closed (the tables' sheets came in meanwhile).
COUNTED_AFTER = datetime.timedelta(hours=2)


def rounds_seed(rng: random.Random, *, now: datetime.datetime) -> list[str]:
    """The past, current and next rounds, made once. Returns lines to print."""
    today = timezone.localdate(now)
    past, created = _round_draft(quarter_of(today, shift=-1))
    if created:
        _round_to_validation(past)
        assemblies_seed(rng, past, statuses=PAST_STATUSES)
        _past_round_vote(rng, past)
    current, created = _round_draft(
        quarter_of(today),
        dates={  # around today: voting opened yesterday and closes in six days
            "assemblies_open_at": now - 45 * DAY,
            "validation_opens_at": now - 20 * DAY,
            "voting_opens_at": now - DAY,
            "voting_closes_at": now + 6 * DAY,
            "tally_deadline_at": now + 9 * DAY,
        },
        hours={"voting_hours_start": ALL_DAY[0], "voting_hours_end": ALL_DAY[1]},
    )
    if created:
        _round_to_validation(current)
        assemblies_seed(rng, current, statuses=CURRENT_STATUSES)
        _current_round_vote(rng, current, now=now)
    current = Consultation.objects.get(pk=current.pk)
    tables.officer_on_duty_seed(current, now=now)
    round_propose_next(now=now)
    return _rounds_summary(past, current)


DEMO_KEY_REASON = (
    "Datos de demostración: sin comisionados electorales, el servidor guarda la única parte de "
    "la clave."
)


def _round_draft(
    year_quarter: tuple[int, int], *, dates: dict | None = None, hours: dict | None = None
) -> tuple[Consultation, bool]:
    """The quarter's round as the admin drafted it: on the calendar's dates unless others are
    given, one national winner per commune."""
    year, quarter = year_quarter
    return Consultation.objects.get_or_create(
        year=year,
        quarter=quarter,
        defaults={
            "name": f"Consulta Popular {year}-{ROMAN[quarter]}",
            "funder_by_rank": [Consultation.Funder.NATIONAL],
            # No commissioners in the demo: the server holds the urns' only key share, and says so.
            "single_key_reason": DEMO_KEY_REASON,
            **(dates or proposed_dates(year, quarter)),
            **(hours or {}),
        },
    )


def _round_to_validation(consultation: Consultation) -> None:
    """The admin schedules the draft; the tick opens the assemblies and then validation, each on
    its date."""
    round_schedule(
        consultation=consultation,
        by=account("admin"),
        now=consultation.assemblies_open_at - SCHEDULED_AHEAD,
    )
    round_open_assemblies(consultation=consultation, by=None, now=consultation.assemblies_open_at)
    round_open_validation(consultation=consultation, by=None, now=consultation.validation_opens_at)


def _voting_opened(consultation: Consultation) -> Consultation:
    """The tick opens voting on its date (the urn gets its keys); returns the round with its urn."""
    round_open_voting(consultation=consultation, by=None, now=consultation.voting_opens_at)
    return Consultation.objects.select_related("urn").get(pk=consultation.pk)


def _past_round_vote(rng: random.Random, consultation: Consultation) -> None:
    """The demo voters vote online and the tables mark their voters all day; voting closes, the
    tables' sheets come in, the count runs and the results are published, each on its date."""
    consultation = _voting_opened(consultation)
    closed = consultation.voting_closes_at
    favour = votes.online_votes_cast(rng, consultation, until=closed)
    assignments = tables.table_marks_seed(consultation)
    round_close_voting(consultation=consultation, by=None, now=closed)
    # The sheets are entered and decided before the count, which then adds them up.
    tables.tally_sheets_seed(consultation, assignments, favour, closed=closed)
    round_count(consultation_id=consultation.pk, now=closed + COUNTED_AFTER)
    round_publish(consultation=consultation, by=None, now=consultation.tally_deadline_at)


def _current_round_vote(rng: random.Random, consultation: Consultation, *, now) -> None:
    """A third of the demo voters have voted since yesterday; the rest, like the demo accounts,
    not yet."""
    consultation = _voting_opened(consultation)
    votes.online_votes_cast(rng, consultation, until=now - datetime.timedelta(minutes=5), every=3)


def _rounds_summary(past: Consultation, current: Consultation) -> list[str]:
    count = Count.objects.filter(consultation=past).first()
    # Online and at the tables.
    counted = CommuneResult.objects.filter(consultation=past).aggregate(n=Sum("votes"))["n"]
    voters = User.objects.filter(email__startswith=votes.VOTER_PREFIX).count()
    return [
        _("%(round)s: published, %(votes)d votes counted (count: %(status)s).")
        % {
            "round": past.name,
            "votes": counted or 0,
            "status": count.get_status_display() if count else "-",
        },
        _(
            "%(round)s: voting until %(closes)s, from %(start)s to %(end)s every day; "
            "%(votes)d votes so far. The resident and spokesperson accounts above have "
            "not voted yet."
        )
        % {
            "round": current.name,
            "closes": formats.date_format(
                timezone.localtime(current.voting_closes_at), "DATETIME_FORMAT"
            ),
            "start": formats.time_format(current.voting_hours_start, "TIME_FORMAT"),
            "end": formats.time_format(current.voting_hours_end, "TIME_FORMAT"),
            "votes": VotingBookEntry.objects.filter(consultation=current).count(),
        },
        _(
            "%(voters)d demo voters (%(prefix)s0001@… and on) voted online; their accounts "
            "have no password."
        )
        % {"voters": voters, "prefix": votes.VOTER_PREFIX},
        *tables.tables_summary(past, current),
    ]
