"""The electoral commissioners' part: the round's key made among them, and the count's
decryption made by them, k of n, without the key ever being whole.

Before voting: each commissioner runs ``scripts/commissioner.py`` on their own machine, uploads
their public keys, then (once all n have) their contribution; the urn's key is the public result
of the contributions (``urncrypto.dkg``). After voting closes: each commissioner decrypts every
commune's sum with their own key share, on their machine (uploading the partial decryptions) or
on their page (uploading the key share, used for that request only and never stored). Every
partial decryption is checked against the commissioner's verification key before it is kept;
k of them per commune give its totals. No process ever holds more than one share.

A round without commissioners (the demo's and the tests' 1 of 1) has one share, the server's,
kept in a file outside the database (``voting.urn``); the count makes its partial decryptions
itself.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from accounts import permissions
from accounts.models import User
from consultations.models import Consultation
from consultations.services import refuse
from urncrypto import (
    KeyShare,
    PartialDecryption,
    SummedBallots,
    UrnCryptoError,
    dkg,
    group,
    partial_decrypt,
    partial_verify,
)
from urncrypto.ballot import BallotContext

from . import urn as sealing
from .models import Commissioner, CommuneSum, Urn
from .models import PartialDecryption as StoredPartial

# urncrypto's reason codes in the user's language (its own messages are the tool's English).
REASONS = {
    "malformed": gettext_lazy("The file is not in the expected format."),
    "point_invalid": gettext_lazy("The file holds a value that is not a point of the group."),
    "scalar_invalid": gettext_lazy("The file holds a number that is not valid in the group."),
    "not_on_ballot": gettext_lazy("That project is not on the commune's ballot."),
    "too_many_projects": gettext_lazy("The ballot has more projects than the round's key allows."),
    "wrong_context": gettext_lazy(
        "The file belongs to another round, commune, ballot or commissioner."
    ),
    "proof_invalid": gettext_lazy("A proof in the file does not hold: nothing was saved."),
    "signature_invalid": gettext_lazy(
        "The signature does not match the commissioner's published key."
    ),
    "unknown_commissioner": gettext_lazy("That number names none of the round's commissioners."),
    "duplicate": gettext_lazy("The same commissioner or commune appears twice in the file."),
    "share_undecryptable": gettext_lazy("A share does not open with this commissioner's key."),
    "share_replayed": gettext_lazy("A share was made for another round or commissioner."),
    "share_mismatch": gettext_lazy(
        "That key share is not this commissioner's share of this round's key."
    ),
    "missing_contribution": gettext_lazy("A commissioner's contribution to the key is missing."),
    "threshold_invalid": gettext_lazy(
        "The number of commissioners needed must be between 1 and how many there are."
    ),
    "not_enough_partials": gettext_lazy("Fewer partial decryptions than needed."),
    "total_out_of_range": gettext_lazy("A total is larger than the number of ballots."),
    "precomputation_used": gettext_lazy("A ballot's randomness was used twice."),
    "sum_mismatch": gettext_lazy("The sums are not the sums of the ballots."),
    "already_decrypted": gettext_lazy("This commune's sum was already decrypted."),
}


def refuse_crypto(error: UrnCryptoError) -> None:
    refuse(str(REASONS.get(error.code, REASONS["malformed"])), f"urn_{error.code}")


# The key generation ---------------------------------------------------------------------------


def ceremony_of(consultation: Consultation) -> dkg.Ceremony | None:
    """The round's ceremony once all its n commissioners have given their public keys."""
    seats = list(Commissioner.objects.filter(consultation=consultation).order_by("index"))
    if len(seats) != consultation.key_shares_total or any(s.keys is None for s in seats):
        return None
    return dkg.Ceremony(
        consultation.pk,
        consultation.key_shares_needed,
        consultation.max_options,
        tuple(dkg.CommissionerKey.from_json(seat.keys) for seat in seats),
    )


def key_generation_result(consultation: Consultation) -> tuple[dkg.PublicResult, dict]:
    """The round's public key from its commissioners' contributions, and the key generation's
    public transcript; refused (ValidationError) while a key or a contribution is missing."""
    seats = list(Commissioner.objects.filter(consultation=consultation).order_by("index"))
    ceremony = ceremony_of(consultation)
    contributed = [seat for seat in seats if seat.contribution is not None]
    if ceremony is None or len(contributed) < len(seats):
        refuse(
            _(
                "The commissioners' key generation is not finished: %(keys)d of %(n)d have given "
                "their public keys and %(done)d of %(n)d their contribution."
            )
            % {
                "keys": sum(1 for seat in seats if seat.keys is not None),
                "done": len(contributed),
                "n": consultation.key_shares_total,
            },
            "key_generation_unfinished",
        )
    contributions = [dkg.Contribution.from_json(seat.contribution) for seat in seats]
    try:
        result = dkg.public_result(ceremony, contributions)
    except UrnCryptoError as error:
        refuse_crypto(error)
    transcript = {
        "ceremony": ceremony.to_json(),
        "contributions": [c.to_json() for c in contributions],
        "disqualified": [],
    }
    return result, transcript


# The count's decryption -------------------------------------------------------------------


def summed_of(row: CommuneSum, consultation_id: int) -> SummedBallots:
    c2 = bytes(row.c2)
    return SummedBallots(
        BallotContext(consultation_id, row.commune_id, tuple(row.projects)),
        bytes(row.c1),
        tuple(c2[32 * s : 32 * (s + 1)] for s in range(len(c2) // 32)),
        row.ballots,
    )


def sums_of(consultation_id: int) -> dict[int, SummedBallots]:
    """Commune id → its summed ballots, as written when voting closed."""
    return {
        row.commune_id: summed_of(row, consultation_id)
        for row in CommuneSum.objects.filter(consultation_id=consultation_id).order_by("commune_id")
    }


def verification_key(urn: Urn, index: int) -> tuple[bytes, ...]:
    result = dkg.PublicResult.from_json(urn.key)
    if index not in result.verification_keys:
        raise UrnCryptoError("unknown_commissioner", index=index)
    return result.verification_keys[index]


def _partials_store(consultation, partials: list[PartialDecryption]) -> int:
    """Keep checked partial decryptions; those already kept for that commune and commissioner
    are left as they are (a second upload of the same file writes nothing)."""
    rows = [
        StoredPartial(
            consultation=consultation,
            commune_id=partial.commune_id,
            index=partial.index,
            data=partial.to_json(),
        )
        for partial in partials
    ]
    made = StoredPartial.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(made)


def _seat_of(consultation, by) -> Commissioner:
    seat = Commissioner.objects.filter(consultation=consultation, user=by).first()
    if seat is None:
        refuse(_("You are not an electoral commissioner of this round."), "not_commissioner")
    return seat


def _awaiting_decryption(consultation) -> Urn:
    # The urn's row locked: two commissioners' uploads of one round take turns, so the second
    # to commit sees the first's partial decryptions and exactly one of them finds the round
    # ready to count (otherwise both could see only their own and neither queue the count).
    urn = Urn.objects.select_for_update().filter(consultation=consultation).first()
    if consultation.phase != Consultation.Phase.COUNTING or urn is None or not urn.rewritten_at:
        refuse(
            _("This round's sums are not ready for decryption: voting must have closed first."),
            "not_counting",
        )
    return urn


@transaction.atomic
def partials_add(*, consultation: Consultation, by, data) -> int:
    """A commissioner's partial decryptions, as their tool wrote them ({round, index,
    partials}): every one checked against their verification key and the commune's sum, all
    kept or (on the first that fails) none. Returns how many communes are now in."""
    seat = _seat_of(consultation, by)
    urn = _awaiting_decryption(consultation)
    if not isinstance(data, dict) or not isinstance(data.get("partials"), list):
        refuse(str(REASONS["malformed"]), "urn_malformed")
    if not data["partials"]:  # a file that decrypts nothing writes nothing, not even an audit
        refuse(str(REASONS["malformed"]), "urn_malformed")
    if data.get("round") != consultation.pk or data.get("index") != seat.index:
        refuse(str(REASONS["wrong_context"]), "urn_wrong_context")
    sums = sums_of(consultation.pk)
    key = sealing.round_key(urn)
    checked, seen = [], set()
    try:
        keys = verification_key(urn, seat.index)
        for item in data["partials"]:
            partial = PartialDecryption.from_json(item)
            summed = sums.get(partial.commune_id)
            if partial.index != seat.index or summed is None:
                raise UrnCryptoError("wrong_context")
            if partial.commune_id in seen:
                raise UrnCryptoError("duplicate")
            seen.add(partial.commune_id)
            partial_verify(key=key, verification_key=keys, summed=summed, partial=partial)
            checked.append(partial)
    except UrnCryptoError as error:
        refuse_crypto(error)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError):
        # A value of the wrong JSON type where urncrypto expects another (a list as a commune).
        refuse(str(REASONS["malformed"]), "urn_malformed")
    stored = _partials_store(consultation, checked)
    audit.record(
        actor=by,
        action="urn.partials_added",
        obj=consultation,
        after={"commissioner": seat.index, "communes": len(checked), "new": stored},
    )
    return done_by(consultation.pk).get(seat.index, 0)


def share_parse(consultation: Consultation, urn: Urn, index: int, data) -> KeyShare:
    try:
        share = KeyShare.from_json(data)
        if share.key.round_id != consultation.pk or share.index != index:
            raise UrnCryptoError("wrong_context")
        if share.verification_key != verification_key(urn, index):
            raise UrnCryptoError("share_mismatch")
    except UrnCryptoError as error:
        refuse_crypto(error)
    except (TypeError, ValueError, KeyError):
        refuse(str(REASONS["malformed"]), "urn_malformed")
    return share


@transaction.atomic
def partials_from_share(*, consultation: Consultation, by, data) -> int:
    """A commissioner's key share, uploaded on their page: checked against their verification
    key, used here to decrypt every commune's sum (each commune once), then dropped: it is
    never written anywhere. Returns how many communes are now in."""
    seat = _seat_of(consultation, by)
    urn = _awaiting_decryption(consultation)
    share = share_parse(consultation, urn, seat.index, data)
    done = set(
        StoredPartial.objects.filter(consultation=consultation, index=seat.index).values_list(
            "commune_id", flat=True
        )
    )
    partials = [
        partial_decrypt(share=share, summed=summed)
        for commune_id, summed in sums_of(consultation.pk).items()
        if commune_id not in done
    ]
    del share
    stored = _partials_store(consultation, partials)
    audit.record(
        actor=by,
        action="urn.partials_made",
        obj=consultation,
        after={"commissioner": seat.index, "new": stored},
    )
    return done_by(consultation.pk).get(seat.index, 0)


def server_partials(consultation_id: int, sums: dict) -> list[PartialDecryption] | None:
    """A round without commissioners: the server's own partial decryptions of these sums
    (commune id → SummedBallots), kept for the open data; None when its key share is not on
    this server."""
    share = sealing.server_share_load(consultation_id)
    if share is None:
        return None
    made = [partial_decrypt(share=share, summed=summed) for summed in sums.values()]
    del share
    _partials_store(Consultation(pk=consultation_id), made)
    return made


def done_by(consultation_id: int) -> dict[int, int]:
    """Commissioner index → communes whose sum they have decrypted (checked)."""
    rows = (
        StoredPartial.objects.filter(consultation_id=consultation_id)
        .values_list("index")
        .order_by()
    )
    counted: dict[int, int] = {}
    for (index,) in rows:
        counted[index] = counted.get(index, 0) + 1
    return counted


@dataclass(frozen=True)
class DecryptionStatus:
    needed: int
    communes: int
    done: dict[int, int]  # commissioner index → communes decrypted

    @property
    def complete(self) -> int:
        """Commissioners who have decrypted every commune."""
        return sum(1 for n in self.done.values() if n >= self.communes)

    @property
    def ready(self) -> bool:
        """Every commune's sum decrypted by k commissioners (or no online ballot at all)."""
        return self.communes == 0 or self.complete >= self.needed


def decryption_status(consultation_id: int, needed: int) -> DecryptionStatus:
    return DecryptionStatus(
        max(needed, 1),
        CommuneSum.objects.filter(consultation_id=consultation_id).count(),
        done_by(consultation_id),
    )


# Appointing the commissioners, and their uploads before voting --------------------------------

# Once voting opens the key is made and the seats are frozen: nobody is appointed, removed, or
# changes their keys or contribution after that.
OPEN_OR_OVER = (
    Consultation.Phase.VOTING,
    Consultation.Phase.COUNTING,
    Consultation.Phase.PUBLISHED,
    Consultation.Phase.CANCELLED,
)


def _round_locked_before_voting(consultation: Consultation) -> Consultation:
    """The round, locked (urn_open runs with it locked too, so an appointment or an upload and
    the opening of voting never interleave), refused once voting has opened."""
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    if locked.phase in OPEN_OR_OVER or locked.rules_frozen_at is not None:
        refuse(
            _(
                "Voting has opened (or the round is over): the electoral commissioners and the "
                "round's key can no longer change."
            ),
            "commissioners_frozen",
        )
    return locked


@transaction.atomic
def commissioner_appoint(
    *, consultation: Consultation, email: str, index: int, by, now=None
) -> Commissioner:
    """Appoint the person with an account under ``email`` as commissioner number ``index`` (1
    to n) of a round whose voting has not opened. One seat per number and per person (the
    database's constraints settle two appointments at once)."""
    permissions.require(by, "consultations.manage_cycle")
    locked = _round_locked_before_voting(consultation)
    total = locked.key_shares_total
    if not total:
        refuse(
            _(
                "This round has no electoral commissioners: set how many there are (n) and how "
                "many are needed (k) in its rules first."
            ),
            "no_commissioners",
        )
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= total:
        refuse(
            _("The commissioner's number must be between 1 and %(n)d.") % {"n": total},
            "index_out_of_range",
        )
    person = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if person is None:
        refuse(
            _("Nobody has an account with that email: they must sign up first."), "no_such_person"
        )
    seats = Commissioner.objects.filter(consultation=locked)
    if seats.filter(index=index).exists():
        refuse(_("Number %(index)d already has a commissioner.") % {"index": index}, "index_taken")
    if seats.filter(user=person).exists():
        refuse(_("That person is already a commissioner of this round."), "person_taken")
    try:
        with transaction.atomic():
            seat = Commissioner.objects.create(
                consultation=locked,
                index=index,
                user=person,
                appointed_at=now or timezone.now(),
            )
    except IntegrityError:
        # A second appointment of the same number or person committed between the checks and
        # the insert (another admin, another tab): the constraints decided.
        refuse(
            _("That number or that person was just taken by another appointment."),
            "appointment_race",
        )
    audit.record(
        actor=by,
        action="commissioner.appoint",
        obj=locked,
        after={"index": index, "person": person.email},
    )
    return seat


@transaction.atomic
def commissioner_remove(*, commissioner: Commissioner, by) -> None:
    """Remove an appointment before voting opens and before the person gave their keys (after
    that, the ceremony others may have seen names them)."""
    permissions.require(by, "consultations.manage_cycle")
    locked = _round_locked_before_voting(commissioner.consultation)
    seat = Commissioner.objects.select_for_update().filter(pk=commissioner.pk).first()
    if seat is None:
        refuse(_("That appointment was already removed."), "already_removed")
    if seat.keys is not None:
        refuse(
            _(
                "Commissioner %(index)d has already given their public keys: the appointment "
                "can no longer be removed."
            )
            % {"index": seat.index},
            "keys_given",
        )
    seat.delete()
    audit.record(
        actor=by,
        action="commissioner.remove",
        obj=locked,
        before={"index": seat.index, "person": seat.user.email},
    )


def seat_of(consultation: Consultation, user) -> Commissioner | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Commissioner.objects.filter(consultation=consultation, user=user).first()


def _locked_seat(consultation: Consultation, by) -> tuple[Consultation, Commissioner]:
    locked = _round_locked_before_voting(consultation)
    seat = Commissioner.objects.select_for_update().filter(consultation=locked, user=by).first()
    if seat is None:
        refuse(_("You are not an electoral commissioner of this round."), "not_commissioner")
    return locked, seat


def _malformed() -> None:
    refuse(str(REASONS["malformed"]), "urn_malformed")


@transaction.atomic
def commissioner_keys_add(*, consultation: Consultation, by, data) -> Commissioner:
    """A commissioner's public keys (``keygen``'s .public.json), for their own number. They may
    be replaced (a lost secret file) until someone has contributed: from then on the ceremony,
    which names every key, is fixed."""
    locked, seat = _locked_seat(consultation, by)
    try:
        key = dkg.CommissionerKey.from_json(data)
    except UrnCryptoError as error:
        refuse_crypto(error)
    except (TypeError, ValueError, KeyError, AttributeError):
        _malformed()
    if key.index != seat.index:
        refuse(
            _(
                "This public keys file is for commissioner number %(theirs)d; you are number "
                "%(yours)d. Run keygen again with --index %(yours)d."
            )
            % {"theirs": key.index, "yours": seat.index},
            "urn_wrong_context",
        )
    others = Commissioner.objects.filter(consultation=locked).exclude(pk=seat.pk)
    for other in others.filter(keys__isnull=False):
        known = dkg.CommissionerKey.from_json(other.keys)
        if known.encryption_key == key.encryption_key or known.signing_key == key.signing_key:
            refuse(
                _("Another commissioner of this round already gave these same keys."),
                "urn_duplicate",
            )
    if seat.keys == key.to_json():
        return seat
    if Commissioner.objects.filter(consultation=locked).filter(contribution__isnull=False).exists():
        refuse(
            _(
                "The key ceremony has started (a commissioner has contributed): your public "
                "keys can no longer change."
            ),
            "ceremony_started",
        )
    seat.keys = key.to_json()
    seat.save(update_fields=["keys"])
    audit.record(
        actor=by,
        action="commissioner.keys_add",
        obj=locked,
        after={"index": seat.index, "signing_key": seat.keys["signing_key"]},
    )
    return seat


@transaction.atomic
def commissioner_contribution_add(*, consultation: Consultation, by, data) -> Commissioner:
    """A commissioner's contribution to the round's key (``contribute``'s output), checked
    against the ceremony before it is kept: theirs, signed with their key, for this ceremony,
    complete, with valid proofs. Given once: a second, different one is refused (a dealer who
    could change theirs after seeing the others' could steer the key)."""
    locked, seat = _locked_seat(consultation, by)
    ceremony = ceremony_of(locked)
    if ceremony is None:
        refuse(
            _("Not every commissioner has given their public keys yet: the ceremony is not ready."),
            "ceremony_not_ready",
        )
    try:
        contribution = dkg.Contribution.from_json(data)
        if contribution.dealer != seat.index:
            raise UrnCryptoError("wrong_context", "another commissioner's contribution")
        dkg.contribution_check(ceremony, contribution)
    except UrnCryptoError as error:
        refuse_crypto(error)
    except (TypeError, ValueError, KeyError, AttributeError):
        _malformed()
    if seat.contribution is not None:
        if seat.contribution == contribution.to_json():
            return seat
        refuse(
            _("You have already contributed to this round's key: it cannot be replaced."),
            "already_contributed",
        )
    seat.contribution = contribution.to_json()
    seat.save(update_fields=["contribution"])
    audit.record(
        actor=by,
        action="commissioner.contribution_add",
        obj=locked,
        after={"index": seat.index, "ceremony": group.b64(ceremony.digest)},
    )
    return seat


# What a commissioner's page downloads ---------------------------------------------------------


def contributions_document(consultation: Consultation) -> dict | None:
    """Every commissioner's contribution, the shape ``commissioner.py combine`` reads; None
    until all are in."""
    seats = list(Commissioner.objects.filter(consultation=consultation).order_by("index"))
    if len(seats) != consultation.key_shares_total or any(s.contribution is None for s in seats):
        return None
    return {"round": consultation.pk, "contributions": [seat.contribution for seat in seats]}


def sums_document(consultation: Consultation) -> dict | None:
    """Every commune's summed encryptions, the shape ``commissioner.py decrypt --sums`` reads;
    None until voting has closed and the urn was summed."""
    urn = Urn.objects.filter(consultation=consultation).first()
    if urn is None or urn.rewritten_at is None:
        return None
    return {
        "round": consultation.pk,
        "communes": [summed.to_json() for summed in sums_of(consultation.pk).values()],
    }


def key_fingerprint(consultation: Consultation) -> str | None:
    """The round key's fingerprint, for commissioners to compare with their tool's: from the
    urn once voting opened, else from the contributions once all are in (None before)."""
    urn = Urn.objects.filter(consultation=consultation).first()
    if urn is not None:
        return group.b64(bytes(urn.public_key))
    if contributions_document(consultation) is None:
        return None
    result, _transcript = key_generation_result(consultation)
    return group.b64(result.key.fingerprint)


# What the pages show ------------------------------------------------------------------------


def seats_of(consultation: Consultation) -> list[Commissioner]:
    """The round's appointed commissioners, by number, with their people (one query)."""
    return list(
        Commissioner.objects.filter(consultation=consultation)
        .select_related("user")
        .order_by("index")
    )


@dataclass(frozen=True)
class CommissionerProgress:
    """Where a commissioner stands, for their page. ``step`` is one of: keys, waiting_keys,
    contribution, waiting_contributions, combine (share made on their machine; wait for the
    close), waiting_sums, decrypt, decrypted, done, no_key (voting opened on the server's key,
    or the round ended without one)."""

    step: str
    seats: list
    needed: int
    total: int
    ceremony_digest: str | None = None
    fingerprint: str | None = None
    decryption: DecryptionStatus | None = None
    mine: int = 0  # communes this commissioner has decrypted

    @property
    def keys_in(self) -> int:
        return sum(1 for seat in self.seats if seat.keys is not None)

    @property
    def contributions_in(self) -> int:
        return sum(1 for seat in self.seats if seat.contribution is not None)


def commissioner_progress(consultation: Consultation, seat: Commissioner) -> CommissionerProgress:
    seats = seats_of(consultation)
    base = {
        "seats": seats,
        "needed": consultation.key_shares_needed,
        "total": consultation.key_shares_total,
    }
    urn = Urn.objects.filter(consultation=consultation).first()
    if urn is None:
        if consultation.phase in OPEN_OR_OVER:
            return CommissionerProgress("no_key", **base)
        ceremony = ceremony_of(consultation)
        digest = group.b64(ceremony.digest) if ceremony is not None else None
        if seat.keys is None:
            step = "keys"
        elif ceremony is None:
            step = "waiting_keys"
        elif seat.contribution is None:
            step = "contribution"
        elif contributions_document(consultation) is None:
            step = "waiting_contributions"
        else:
            step = "combine"
        fingerprint = key_fingerprint(consultation) if step == "combine" else None
        return CommissionerProgress(step, ceremony_digest=digest, fingerprint=fingerprint, **base)
    if not urn.shares_needed:
        return CommissionerProgress("no_key", **base)
    digest = urn.key_generation.get("ceremony", {}).get("digest")
    known = {"ceremony_digest": digest, "fingerprint": group.b64(bytes(urn.public_key))}
    if consultation.phase == Consultation.Phase.PUBLISHED:
        return CommissionerProgress("done", **known, **base)
    if urn.rewritten_at is None:
        step = "waiting_sums" if consultation.phase == Consultation.Phase.COUNTING else "combine"
        return CommissionerProgress(step, **known, **base)
    status = decryption_status(consultation.pk, urn.shares_needed)
    mine = status.done.get(seat.index, 0)
    step = "decrypted" if mine >= status.communes else "decrypt"
    return CommissionerProgress(step, decryption=status, mine=mine, **known, **base)
