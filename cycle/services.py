"""The round's lifecycle: one doorway for every step a round takes, from its schedule to its money.

Each step is one function, called alike by the cycle admin's buttons (``by`` is the person, who
gives a reason when moving a round before its date), by the beat's tick (``by=None``: only once
the step's date has come), by the demo and by the tests. A step that moves a round is one
transaction: the phase machine's own checks and move (``consultations.phases``), then what the
move means for the other apps (the urn opens with voting; the count is queued when voting
closes; results are published only from a finished count whose totals agree). When any part is
refused the whole step changes nothing.

Safe to repeat: each step locks the round and re-reads its phase, and a phase can be entered
once, so a missed tick, a second worker or a crash and rerun leave the same state.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import outbox
from consultations import phases
from consultations.models import NEXT_PHASE, Consultation
from funding.selectors import rounds_awaiting_allocations
from voting import commissioners
from voting.counting import rounds_awaiting_count
from voting.models import Count, Urn
from voting.services import urn_open
from voting.sums import rounds_to_fold

from .jobs import round_allocate_task, round_count_task, urn_fold_task
from .work import round_allocate, round_count

__all__ = [
    "ROUND_STEP_INTO",
    "round_advance",
    "round_allocate",
    "round_cancel",
    "round_close_voting",
    "round_count",
    "round_open_assemblies",
    "round_open_validation",
    "round_open_voting",
    "round_partials_add",
    "round_propose_next",
    "round_publish",
    "round_schedule",
    "round_share_decrypt",
    "rounds_advance_due",
]

Phase = Consultation.Phase
logger = logging.getLogger(__name__)


def round_schedule(*, consultation: Consultation, by, now=None) -> Consultation:
    """A draft becomes scheduled: its rules are sound and every date lies ahead, in order."""
    return phases.consultation_schedule(consultation=consultation, by=by, now=now)


def round_open_assemblies(
    *, consultation: Consultation, by, reason: str = "", now=None
) -> Consultation:
    """Scheduled → assemblies: spokespeople record assemblies and write proposals."""
    return phases.consultation_open_assemblies(
        consultation=consultation, by=by, reason=reason, now=now
    )


def round_open_validation(
    *, consultation: Consultation, by, reason: str = "", now=None
) -> Consultation:
    """Assemblies → validation: ministry staff decide the submitted proposals."""
    return phases.consultation_open_validation(
        consultation=consultation, by=by, reason=reason, now=now
    )


@transaction.atomic
def round_open_voting(
    *, consultation: Consultation, by, reason: str = "", now=None
) -> Consultation:
    """Validation → voting, and the urn opens (its key pair and lot seed), in one transaction:
    no round is ever in voting without an urn to seal its ballots to. Communes without two
    approved projects are left off the vote; the rules freeze."""
    now = now or timezone.now()
    opened = phases.consultation_open_voting(
        consultation=consultation, by=by, reason=reason, now=now
    )
    urn_open(consultation=opened, now=now)
    return opened


@transaction.atomic
def round_close_voting(
    *, consultation: Consultation, by, reason: str = "", now=None
) -> Consultation:
    """Voting → counting; the count is queued once the move is committed (and the tick queues it
    again until it is done)."""
    closed = phases.consultation_close_voting(
        consultation=consultation, by=by, reason=reason, now=now
    )
    transaction.on_commit(lambda: outbox.send(round_count_task, closed.pk))
    return closed


@transaction.atomic
def round_publish(*, consultation: Consultation, by, reason: str = "", now=None) -> Consultation:
    """Counting → published, only from a finished count whose three totals (voting book, urn,
    choices counted) agree in every commune; the winners' allocations are queued on commit.

    The phase machine's checks come first (phase, date or reason, permission); the count is
    checked, locked, inside the same transaction, so a refused publication leaves no trace."""
    published = phases.consultation_publish(
        consultation=consultation, by=by, reason=reason, now=now
    )
    count = Count.objects.select_for_update().filter(consultation=published).first()
    if count is None or count.status != Count.Status.DONE:
        raise ValidationError(
            _("The count has not finished, or its totals do not agree: see the count's status."),
            code="count_not_done",
        )
    transaction.on_commit(lambda: outbox.send(round_allocate_task, published.pk))
    return published


def round_cancel(*, consultation: Consultation, by, reason: str, now=None) -> Consultation:
    """Any phase before published → cancelled, by a cycle admin, with the reason."""
    return phases.consultation_cancel(consultation=consultation, by=by, reason=reason, now=now)


# The step that moves a round into each phase after "scheduled": the tick's and the admin's.
ROUND_STEP_INTO = {
    Phase.ASSEMBLIES: round_open_assemblies,
    Phase.VALIDATION: round_open_validation,
    Phase.VOTING: round_open_voting,
    Phase.COUNTING: round_close_voting,
    Phase.PUBLISHED: round_publish,
}


def round_advance(*, consultation: Consultation, by, reason: str = "", now=None) -> Consultation:
    """Move a round into its next phase by hand (the admin's button), through that phase's step."""
    to = NEXT_PHASE.get(consultation.phase)
    if to is None:
        raise ValidationError(_("This round has no next phase."), code="wrong_phase")
    return ROUND_STEP_INTO[to](consultation=consultation, by=by, reason=reason, now=now)


def _count_when_decrypted(consultation: Consultation) -> None:
    urn = Urn.objects.get(consultation=consultation)
    if commissioners.decryption_status(consultation.pk, urn.shares_needed).ready:
        transaction.on_commit(lambda: outbox.send(round_count_task, consultation.pk))


@transaction.atomic
def round_partials_add(*, consultation: Consultation, by, data) -> int:
    """A commissioner's partial decryptions (their tool's file), checked and kept; returns how
    many communes of theirs are in. Once k commissioners have decrypted every commune, the
    count is queued (on commit)."""
    done = commissioners.partials_add(consultation=consultation, by=by, data=data)
    _count_when_decrypted(consultation)
    return done


@transaction.atomic
def round_share_decrypt(*, consultation: Consultation, by, data) -> int:
    """A commissioner's key share, uploaded on their page, used for this request only to make
    their partial decryptions; then as round_partials_add."""
    done = commissioners.partials_from_share(consultation=consultation, by=by, data=data)
    _count_when_decrypted(consultation)
    return done


def round_propose_next(*, by=None, now=None) -> Consultation | None:
    """Propose next quarter's round as a draft (the last round's rules, the calendar's dates), for
    the admin to confirm; None when it exists already. Twice, or twice at once, makes one."""
    return phases.consultation_create_next(by=by, now=now)


def rounds_advance_due(*, now=None) -> list[tuple[int, str, str]]:
    """The beat's tick: move every round whose date has come, one step at a time and in order,
    through the same steps a person uses; then queue the folds of ballots waiting to be added into
    their urn's running sums, the counts that have not finished, and give published rounds'
    winners the allocations they lack. Returns the moves made, as
    (round id, from phase, to phase).

    Safe late (it catches up step by step), twice, or at once with another tick: each step locks
    the round and re-reads its phase. A step refused (no ballots at all) leaves the round waiting
    for a person; its page says why.
    """
    now = now or timezone.now()
    moved = []
    for pk in Consultation.objects.filter(phase__in=list(NEXT_PHASE)).values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                consultation = Consultation.objects.select_for_update().get(pk=pk)
                from_phase, to = consultation.phase, phases.phase_due(consultation, now)
                if to is None:
                    break
                try:
                    ROUND_STEP_INTO[to](consultation=consultation, by=None, now=now)
                except ValidationError as error:
                    logger.warning(
                        "round %s stays in %s: %s", pk, from_phase, " ".join(error.messages)
                    )
                    break
                moved.append((pk, from_phase, to))
    for consultation_id in rounds_to_fold():
        outbox.send(urn_fold_task, consultation_id)
    for consultation_id in rounds_awaiting_count():
        outbox.send(round_count_task, consultation_id)
    for consultation_id in rounds_awaiting_allocations():
        round_allocate(consultation_id=consultation_id, now=now)
    return moved
