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

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from consultations.models import Consultation
from consultations.services import refuse
from urncrypto import (
    KeyShare,
    PartialDecryption,
    SummedBallots,
    UrnCryptoError,
    dkg,
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
    urn = Urn.objects.filter(consultation=consultation).first()
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


def server_partials(consultation_id: int) -> str:
    """For a round without commissioners: the server's own partial decryptions of every sum not
    yet decrypted. Returns "" or why it could not (its key share is not on this server)."""
    share = sealing.server_share_load(consultation_id)
    if share is None:
        return _("The server's key share of this round is not in the key folder on this server.")
    done = set(
        StoredPartial.objects.filter(consultation_id=consultation_id, index=1).values_list(
            "commune_id", flat=True
        )
    )
    partials = [
        partial_decrypt(share=share, summed=summed)
        for commune_id, summed in sums_of(consultation_id).items()
        if commune_id not in done
    ]
    _partials_store(Consultation(pk=consultation_id), partials)
    return ""


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


def partials_of(consultation_id: int) -> dict[int, list[PartialDecryption]]:
    """Commune id → its checked partial decryptions, lowest commissioner first."""
    found: dict[int, list[PartialDecryption]] = {}
    for commune_id, data in (
        StoredPartial.objects.filter(consultation_id=consultation_id)
        .order_by("commune_id", "index")
        .values_list("commune_id", "data")
    ):
        found.setdefault(commune_id, []).append(PartialDecryption.from_json(data))
    return found
