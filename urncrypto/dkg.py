"""Distributed key generation with no dealer: Pedersen's joint-Feldman scheme, k of n.

The round's key has one secret per ballot slot, x_s; nobody ever holds one whole.

1. Each commissioner makes, on their own machine, an X25519 key pair (to receive shares) and an
   Ed25519 signing key (to sign what they publish), and gives the server the public halves. The
   server publishes the ceremony: round, threshold k, slots, and every commissioner's index and
   public keys; its digest is what every later message is bound to (commissioners compare it at
   the ceremony, so a server that showed them different ceremonies is caught).
2. Each commissioner i (a "dealer") draws, per slot s, a random polynomial f_{i,s} of degree
   k - 1 and publishes its Feldman commitments A_{i,s,t} = a_{i,s,t}·G, a Schnorr proof that it
   knows a_{i,s,0} (so nobody can choose a constant term that cancels the others'), and, for
   every commissioner j, the values f_{i,s}(j) sealed to j's X25519 key (libsodium sealed box),
   the whole signed. The server relays it and cannot read the shares.
3. Each commissioner j opens the shares meant for them and checks each against the dealer's
   commitments: f_{i,s}(j)·G = Σ_t j^t·A_{i,s,t}. A share that does not open, belongs to another
   ceremony or commissioner (each sealed plaintext names the ceremony, the dealer and the
   recipient), or does not match raises ``ShareRejected`` with the dealer's index; the
   commissioner then files a complaint and the dealer must reveal that share in public, signed:
   a dealer who does not, or whose revealed share does not match either, is disqualified; a
   complaint against a share that does match is unfounded (the accuser uses the revealed one).
4. With the qualified dealers Q: commissioner j's key share is x_{j,s} = Σ_{i∈Q} f_{i,s}(j), kept
   only in their own file. Anyone derives from the public commitments alone the round's key
   H_s = Σ_{i∈Q} A_{i,s,0} and each commissioner's verification key
   Y_{j,s} = Σ_t j^t·Σ_{i∈Q} A_{i,s,t} = x_{j,s}·G, against which partial decryptions are proven.

1 of 1 is the same code with polynomials of degree 0: the one commissioner deals to itself.

Joint-Feldman lets a cheater bias the distribution of the key slightly by getting a dealer
disqualified after seeing the others' commitments (Gennaro, Jarecki, Krawczyk, Rabin 1999);
Gennaro et al. (CT-RSA 2003) showed threshold ElGamal and Schnorr stay secure with such keys, so
the simpler scheme is kept.
"""

import hashlib
import struct
from dataclasses import dataclass
from functools import cached_property

import nacl.exceptions
from nacl import bindings
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from . import group
from .ballot import RoundKey
from .errors import MalformedInput, ProofRejected, ShareRejected, UrnCryptoError
from .group import Accumulator, Transcript, b64, unb64
from .proofs import Proof, schnorr_prove, schnorr_verify
from .tally import KeyShare

_U64 = struct.Struct(">Q")
MAX_COMMISSIONERS = 255


def _index(value, what="index") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
        raise MalformedInput("malformed", f"{what} is a whole number from 1 to 255")
    return value


def _json_object(data, what: str) -> dict:
    if not isinstance(data, dict):
        raise MalformedInput("malformed", f"{what} is a JSON object")
    return data


def _field(data: dict, name: str):
    try:
        return data[name]
    except KeyError as error:
        raise MalformedInput("malformed", f"missing {name!r}") from error


# Identities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionerKey:
    """What a commissioner publishes about themself: index and public keys."""

    index: int
    encryption_key: bytes  # X25519: shares are sealed to it
    signing_key: bytes  # Ed25519: their contributions, complaints and answers are signed with it

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "encryption_key": b64(self.encryption_key),
            "signing_key": b64(self.signing_key),
        }

    @classmethod
    def from_json(cls, data) -> "CommissionerKey":
        data = _json_object(data, "a commissioner's public key")
        return cls(
            _index(_field(data, "index")),
            unb64(_field(data, "encryption_key"), 32),
            unb64(_field(data, "signing_key"), 32),
        )


@dataclass(frozen=True)
class CommissionerSecret:
    """A commissioner's own secret keys: never leaves their machine."""

    index: int
    encryption_secret: bytes
    signing_seed: bytes

    def public(self) -> CommissionerKey:
        return CommissionerKey(
            self.index,
            bytes(PrivateKey(self.encryption_secret).public_key),
            bytes(SigningKey(self.signing_seed).verify_key),
        )

    def sign(self, message: bytes) -> bytes:
        return SigningKey(self.signing_seed).sign(message).signature

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "encryption_secret": b64(self.encryption_secret),
            "signing_seed": b64(self.signing_seed),
        }

    @classmethod
    def from_json(cls, data) -> "CommissionerSecret":
        data = _json_object(data, "a commissioner's secret key")
        return cls(
            _index(_field(data, "index")),
            unb64(_field(data, "encryption_secret"), 32),
            unb64(_field(data, "signing_seed"), 32),
        )


def commissioner_keygen(index: int) -> CommissionerSecret:
    return CommissionerSecret(_index(index), bytes(PrivateKey.generate()), bindings.randombytes(32))


def _signature_check(key: CommissionerKey, message: bytes, signature: bytes, **context) -> None:
    try:
        VerifyKey(key.signing_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as error:
        raise ProofRejected("signature_invalid", **context) from error


# The ceremony ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ceremony:
    round_id: int
    threshold: int
    slots: int
    commissioners: tuple[CommissionerKey, ...]

    def __post_init__(self):
        if isinstance(self.round_id, bool) or not isinstance(self.round_id, int):
            raise MalformedInput("malformed", "round is a number")
        if not 0 < self.round_id < 2**63:
            raise MalformedInput("malformed", "round is a positive number")
        if not 1 <= len(self.commissioners) <= MAX_COMMISSIONERS:
            raise MalformedInput("malformed", "1 to 255 commissioners")
        indices = [c.index for c in self.commissioners]
        if indices != sorted(set(indices)):
            raise MalformedInput("malformed", "commissioners in ascending index order, once each")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise UrnCryptoError("threshold_invalid")
        if not 1 <= self.threshold <= len(self.commissioners):
            raise UrnCryptoError("threshold_invalid")
        if isinstance(self.slots, bool) or not isinstance(self.slots, int):
            raise MalformedInput("malformed", "slots is a number")
        if not 1 <= self.slots <= 255:
            raise MalformedInput("malformed", "1 to 255 slots")

    @cached_property
    def digest(self) -> bytes:
        data = hashlib.blake2b(digest_size=32, person=b"comunas-dkg-v1")
        data.update(_U64.pack(self.round_id))
        data.update(bytes([self.threshold, self.slots, len(self.commissioners)]))
        for c in self.commissioners:
            data.update(bytes([c.index]) + c.encryption_key + c.signing_key)
        return data.digest()

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(c.index for c in self.commissioners)

    def commissioner(self, index: int) -> CommissionerKey:
        for c in self.commissioners:
            if c.index == index:
                return c
        raise UrnCryptoError("unknown_commissioner", f"no commissioner {index}", index=index)

    def to_json(self) -> dict:
        return {
            "round": self.round_id,
            "threshold": self.threshold,
            "slots": self.slots,
            "commissioners": [c.to_json() for c in self.commissioners],
            "digest": b64(self.digest),
        }

    @classmethod
    def from_json(cls, data) -> "Ceremony":
        data = _json_object(data, "a ceremony")
        commissioners = _field(data, "commissioners")
        if not isinstance(commissioners, list):
            raise MalformedInput("malformed", "commissioners is a list")
        ceremony = cls(
            _field(data, "round"),
            _field(data, "threshold"),
            _field(data, "slots"),
            tuple(CommissionerKey.from_json(c) for c in commissioners),
        )
        if "digest" in data and data["digest"] != b64(ceremony.digest):
            raise UrnCryptoError("wrong_context", "the ceremony's digest does not match it")
        return ceremony


def _evaluate(coefficients, j: int) -> bytes:
    """f(j) by Horner's rule, in libsodium's scalar arithmetic."""
    x = group.scalar_from_int(j)
    value = group.ZERO
    for a in reversed(coefficients):
        value = group.scalar_add(group.scalar_mul(value, x), a)
    return value


def _evaluate_in_exponent(commitments, j: int) -> bytes:
    """Σ_t j^t·A_t, i.e. f(j)·G computed from the public commitments."""
    x = group.scalar_from_int(j)
    power, acc = group.ONE, Accumulator()
    for a in commitments:
        acc.add(group.mul(power, a))
        power = group.scalar_mul(power, x)
    return acc.value


def _pok_transcript(ceremony: Ceremony, dealer: int, slot: int) -> Transcript:
    t = Transcript("dkg-constant-term").append("ceremony", ceremony.digest)
    return t.append_int("dealer", dealer).append_int("slot", slot)


SHARE_MAGIC = b"URNS\x01"


def _share_plaintext(ceremony: Ceremony, dealer: int, recipient: int, values) -> bytes:
    return SHARE_MAGIC + ceremony.digest + bytes([dealer, recipient]) + b"".join(values)


@dataclass(frozen=True)
class Contribution:
    """Dealer i's public message: commitments, proofs, sealed shares, signature."""

    ceremony: bytes  # the ceremony's digest
    dealer: int
    commitments: tuple[tuple[bytes, ...], ...]  # per slot, k points
    proofs: tuple[Proof, ...]  # per slot, Schnorr proof of the constant term
    shares: tuple[tuple[int, bytes], ...]  # (recipient, sealed box), ascending recipient
    signature: bytes

    def signed_bytes(self) -> bytes:
        parts = [b"URND\x01", self.ceremony, bytes([self.dealer, len(self.commitments)])]
        for row in self.commitments:
            parts.append(bytes([len(row)]) + b"".join(row))
        parts.extend(p.to_bytes() for p in self.proofs)
        for recipient, sealed in self.shares:
            parts.append(bytes([recipient]) + len(sealed).to_bytes(2, "big") + sealed)
        return b"".join(parts)

    def share_for(self, recipient: int) -> bytes:
        for index, sealed in self.shares:
            if index == recipient:
                return sealed
        raise ShareRejected(
            "missing_contribution", "no share for this commissioner", dealer=self.dealer
        )

    def to_json(self) -> dict:
        return {
            "ceremony": b64(self.ceremony),
            "dealer": self.dealer,
            "commitments": [[b64(a) for a in row] for row in self.commitments],
            "proofs": [[b64(p.e), b64(p.z)] for p in self.proofs],
            "shares": {str(j): b64(sealed) for j, sealed in self.shares},
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, data) -> "Contribution":
        data = _json_object(data, "a contribution")
        commitments, proofs = _field(data, "commitments"), _field(data, "proofs")
        shares = _field(data, "shares")
        if not isinstance(commitments, list) or not all(isinstance(r, list) for r in commitments):
            raise MalformedInput("malformed", "commitments are lists of points")
        if not isinstance(proofs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in proofs
        ):
            raise MalformedInput("malformed", "each proof is two scalars")
        if not isinstance(shares, dict):
            raise MalformedInput("malformed", "shares map a commissioner's index to a box")
        parsed_shares = []
        for key, box in shares.items():
            if not key.isdigit() or str(int(key)) != key:
                raise MalformedInput("malformed", "a share's key is a commissioner's index")
            parsed_shares.append((_index(int(key)), unb64(box)))
        return cls(
            unb64(_field(data, "ceremony"), 32),
            _index(_field(data, "dealer"), "dealer"),
            tuple(tuple(unb64(a, 32) for a in row) for row in commitments),
            tuple(Proof.from_scalars(unb64(e, 32), unb64(z, 32)) for e, z in proofs),
            tuple(sorted(parsed_shares)),
            unb64(_field(data, "signature"), 64),
        )


@dataclass(frozen=True)
class DealerSecret:
    """A dealer's polynomials, kept (0600) only until the ceremony ends, to answer complaints."""

    ceremony: bytes
    dealer: int
    coefficients: tuple[tuple[bytes, ...], ...]  # per slot, k scalars

    def shares_for(self, recipient: int) -> tuple[bytes, ...]:
        return tuple(_evaluate(row, recipient) for row in self.coefficients)

    def to_json(self) -> dict:
        return {
            "ceremony": b64(self.ceremony),
            "dealer": self.dealer,
            "coefficients": [[b64(a) for a in row] for row in self.coefficients],
        }

    @classmethod
    def from_json(cls, data) -> "DealerSecret":
        data = _json_object(data, "a dealer's secret")
        rows = _field(data, "coefficients")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise MalformedInput("malformed", "coefficients are lists of scalars")
        return cls(
            unb64(_field(data, "ceremony"), 32),
            _index(_field(data, "dealer"), "dealer"),
            tuple(tuple(group.scalar_check(unb64(a, 32)) for a in row) for row in rows),
        )


def contribution_make(
    ceremony: Ceremony, me: CommissionerSecret
) -> tuple[Contribution, DealerSecret]:
    """Dealer ``me``'s contribution to the round's key, and the secret to answer complaints."""
    if ceremony.commissioner(me.index) != me.public():
        raise UrnCryptoError("wrong_context", "the ceremony lists other keys for this index")
    k = ceremony.threshold
    coefficients = tuple(
        tuple(group.scalar_random() for _t in range(k)) for _s in range(ceremony.slots)
    )
    commitments = tuple(tuple(group.base_mul(a) for a in row) for row in coefficients)
    proofs = tuple(
        schnorr_prove(_pok_transcript(ceremony, me.index, s), commitments[s][0], row[0])
        for s, row in enumerate(coefficients)
    )
    secret = DealerSecret(ceremony.digest, me.index, coefficients)
    shares = []
    for c in ceremony.commissioners:
        plaintext = _share_plaintext(ceremony, me.index, c.index, secret.shares_for(c.index))
        shares.append((c.index, SealedBox(PublicKey(c.encryption_key)).encrypt(plaintext)))
    unsigned = Contribution(ceremony.digest, me.index, commitments, proofs, tuple(shares), b"")
    contribution = Contribution(
        ceremony.digest,
        me.index,
        commitments,
        proofs,
        tuple(shares),
        me.sign(unsigned.signed_bytes()),
    )
    return contribution, secret


def contribution_check(ceremony: Ceremony, contribution: Contribution) -> None:
    """What anyone can check of a contribution: the ceremony, the signature, the shape, every
    commitment in the group, the constant terms' proofs, one box for every commissioner."""
    dealer = contribution.dealer
    if contribution.ceremony != ceremony.digest:
        raise UrnCryptoError("wrong_context", "made for another ceremony", dealer=dealer)
    key = ceremony.commissioner(dealer)
    unsigned = Contribution(
        contribution.ceremony,
        dealer,
        contribution.commitments,
        contribution.proofs,
        contribution.shares,
        b"",
    )
    _signature_check(key, unsigned.signed_bytes(), contribution.signature, dealer=dealer)
    if len(contribution.commitments) != ceremony.slots or len(contribution.proofs) != (
        ceremony.slots
    ):
        raise MalformedInput("malformed", "one row of commitments per slot", dealer=dealer)
    for s, row in enumerate(contribution.commitments):
        if len(row) != ceremony.threshold:
            raise MalformedInput("malformed", "k commitments per slot", dealer=dealer)
        for point in row:
            group.point_check(point)
        if not schnorr_verify(_pok_transcript(ceremony, dealer, s), row[0], contribution.proofs[s]):
            raise ProofRejected("proof_invalid", f"dealer {dealer}, slot {s + 1}", dealer=dealer)
    if tuple(j for j, _box in contribution.shares) != ceremony.indices:
        raise MalformedInput("malformed", "one share for every commissioner", dealer=dealer)


def _values_check(ceremony, contribution, recipient, values) -> None:
    for s, value in enumerate(values):
        expected = _evaluate_in_exponent(contribution.commitments[s], recipient)
        if group.base_mul(value) != expected:
            raise ShareRejected(
                "share_mismatch",
                f"dealer {contribution.dealer}, slot {s + 1}",
                dealer=contribution.dealer,
            )


def share_open(
    ceremony: Ceremony, me: CommissionerSecret, contribution: Contribution
) -> tuple[bytes, ...]:
    """The values dealer ``contribution.dealer`` sent to ``me``, checked against its public
    commitments. ShareRejected (with the dealer's index) is grounds for a complaint."""
    contribution_check(ceremony, contribution)
    dealer = contribution.dealer
    try:
        plaintext = SealedBox(PrivateKey(me.encryption_secret)).decrypt(
            contribution.share_for(me.index)
        )
    except nacl.exceptions.CryptoError as error:
        raise ShareRejected("share_undecryptable", f"dealer {dealer}", dealer=dealer) from error
    size = len(SHARE_MAGIC) + 32 + 2 + 32 * ceremony.slots
    if len(plaintext) != size or not plaintext.startswith(SHARE_MAGIC):
        raise ShareRejected("share_mismatch", f"dealer {dealer}: not a share", dealer=dealer)
    head = len(SHARE_MAGIC)
    digest = plaintext[head : head + 32]
    sender, recipient = plaintext[head + 32], plaintext[head + 33]
    if digest != ceremony.digest or sender != dealer or recipient != me.index:
        raise ShareRejected("share_replayed", f"dealer {dealer}", dealer=dealer)
    body = plaintext[head + 34 :]
    try:
        values = tuple(
            group.scalar_check(body[32 * s : 32 * (s + 1)]) for s in range(ceremony.slots)
        )
    except MalformedInput as error:
        raise ShareRejected("share_mismatch", f"dealer {dealer}", dealer=dealer) from error
    _values_check(ceremony, contribution, me.index, values)
    return values


# Complaints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Complaint:
    ceremony: bytes
    accuser: int
    dealer: int
    signature: bytes

    def signed_bytes(self) -> bytes:
        return b"URNC\x01" + self.ceremony + bytes([self.accuser, self.dealer])

    def to_json(self) -> dict:
        return {
            "ceremony": b64(self.ceremony),
            "accuser": self.accuser,
            "dealer": self.dealer,
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, data) -> "Complaint":
        data = _json_object(data, "a complaint")
        return cls(
            unb64(_field(data, "ceremony"), 32),
            _index(_field(data, "accuser"), "accuser"),
            _index(_field(data, "dealer"), "dealer"),
            unb64(_field(data, "signature"), 64),
        )


@dataclass(frozen=True)
class ComplaintAnswer:
    """The dealer's answer: the accuser's share values in the clear, signed."""

    ceremony: bytes
    dealer: int
    accuser: int
    values: tuple[bytes, ...]
    signature: bytes

    def signed_bytes(self) -> bytes:
        return (
            b"URNA\x01" + self.ceremony + bytes([self.dealer, self.accuser]) + b"".join(self.values)
        )

    def to_json(self) -> dict:
        return {
            "ceremony": b64(self.ceremony),
            "dealer": self.dealer,
            "accuser": self.accuser,
            "values": [b64(v) for v in self.values],
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, data) -> "ComplaintAnswer":
        data = _json_object(data, "an answer to a complaint")
        values = _field(data, "values")
        if not isinstance(values, list):
            raise MalformedInput("malformed", "values are a list of scalars")
        return cls(
            unb64(_field(data, "ceremony"), 32),
            _index(_field(data, "dealer"), "dealer"),
            _index(_field(data, "accuser"), "accuser"),
            tuple(group.scalar_check(unb64(v, 32)) for v in values),
            unb64(_field(data, "signature"), 64),
        )


def complaint_make(ceremony: Ceremony, me: CommissionerSecret, dealer: int) -> Complaint:
    ceremony.commissioner(dealer)
    unsigned = Complaint(ceremony.digest, me.index, dealer, b"")
    return Complaint(ceremony.digest, me.index, dealer, me.sign(unsigned.signed_bytes()))


def complaint_answer(
    ceremony: Ceremony, me: CommissionerSecret, secret: DealerSecret, complaint: Complaint
) -> ComplaintAnswer:
    if complaint.ceremony != ceremony.digest or complaint.dealer != me.index:
        raise UrnCryptoError("wrong_context", "the complaint is not about this dealer")
    if secret.ceremony != ceremony.digest or secret.dealer != me.index:
        raise UrnCryptoError("wrong_context", "the polynomials are of another ceremony")
    values = secret.shares_for(complaint.accuser)
    unsigned = ComplaintAnswer(ceremony.digest, me.index, complaint.accuser, values, b"")
    return ComplaintAnswer(
        ceremony.digest, me.index, complaint.accuser, values, me.sign(unsigned.signed_bytes())
    )


def complaint_judge(
    ceremony: Ceremony,
    contribution: Contribution,
    complaint: Complaint,
    answer: ComplaintAnswer | None,
) -> str:
    """ "dealer" (disqualified: no valid answer, or the revealed share does not match either) or
    "accuser" (the complaint is unfounded: the revealed share matches the commitments)."""
    accuser = ceremony.commissioner(complaint.accuser)
    if complaint.ceremony != ceremony.digest or complaint.dealer != contribution.dealer:
        raise UrnCryptoError("wrong_context", "the complaint is about another contribution")
    _signature_check(
        accuser, complaint.signed_bytes(), complaint.signature, accuser=complaint.accuser
    )
    if answer is None:
        return "dealer"
    dealer = ceremony.commissioner(contribution.dealer)
    try:
        if (answer.ceremony, answer.dealer, answer.accuser) != (
            ceremony.digest,
            contribution.dealer,
            complaint.accuser,
        ) or len(answer.values) != ceremony.slots:
            return "dealer"
        _signature_check(dealer, answer.signed_bytes(), answer.signature)
        _values_check(ceremony, contribution, complaint.accuser, answer.values)
    except UrnCryptoError:
        return "dealer"
    return "accuser"


# The result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicResult:
    """What the qualified contributions make public: the round's key, each commissioner's
    verification key (one point per slot), and which dealers counted."""

    key: RoundKey
    threshold: int
    verification_keys: dict[int, tuple[bytes, ...]]
    qualified: tuple[int, ...]

    def to_json(self) -> dict:
        return {
            "key": self.key.to_json(),
            "fingerprint": b64(self.key.fingerprint),
            "threshold": self.threshold,
            "qualified": list(self.qualified),
            "verification_keys": {
                str(j): [b64(p) for p in points] for j, points in self.verification_keys.items()
            },
        }

    @classmethod
    def from_json(cls, data) -> "PublicResult":
        data = _json_object(data, "a round's public key")
        keys = _field(data, "verification_keys")
        if not isinstance(keys, dict):
            raise MalformedInput("malformed", "verification keys map an index to points")
        qualified = _field(data, "qualified")
        if not isinstance(qualified, list):
            raise MalformedInput("malformed", "qualified is a list")
        threshold = _field(data, "threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
            raise UrnCryptoError("threshold_invalid")
        vks = {}
        for index, points in keys.items():
            if not index.isdigit() or not isinstance(points, list):
                raise MalformedInput("malformed", "verification keys map an index to points")
            vks[_index(int(index))] = tuple(group.point_check(unb64(p, 32)) for p in points)
        return cls(
            RoundKey.from_json(_field(data, "key")),
            threshold,
            vks,
            tuple(_index(i) for i in qualified),
        )


def _qualified(ceremony, contributions, disqualified) -> list[Contribution]:
    by_dealer = {}
    for contribution in contributions:
        if contribution.dealer in by_dealer:
            raise UrnCryptoError("duplicate", f"dealer {contribution.dealer} contributed twice")
        by_dealer[contribution.dealer] = contribution
    missing = [i for i in ceremony.indices if i not in by_dealer]
    if missing:
        raise UrnCryptoError("missing_contribution", f"commissioners {missing}")
    chosen = [by_dealer[i] for i in ceremony.indices if i not in set(disqualified)]
    if not chosen:
        raise UrnCryptoError("missing_contribution", "every dealer was disqualified")
    return chosen


def public_result(ceremony: Ceremony, contributions, *, disqualified=()) -> PublicResult:
    """The round's key and verification keys from the public commitments alone (checks each
    contribution first). Every commissioner must have contributed; ``disqualified``: dealers
    whose complaints were judged against them."""
    chosen = _qualified(ceremony, contributions, disqualified)
    for contribution in chosen:
        contribution_check(ceremony, contribution)
    joint = []  # per slot, per t: Σ over qualified dealers of A_{i,s,t}
    for s in range(ceremony.slots):
        row = []
        for t in range(ceremony.threshold):
            acc = Accumulator()
            for contribution in chosen:
                acc.add(contribution.commitments[s][t])
            row.append(acc.value)
        joint.append(row)
    key = RoundKey.checked(ceremony.round_id, [row[0] for row in joint])
    verification_keys = {
        j: tuple(group.point_check(_evaluate_in_exponent(row, j)) for row in joint)
        for j in ceremony.indices
    }
    return PublicResult(key, ceremony.threshold, verification_keys, tuple(c.dealer for c in chosen))


def key_share_combine(
    ceremony: Ceremony,
    me: CommissionerSecret,
    contributions,
    *,
    disqualified=(),
    revealed: dict[int, tuple[bytes, ...]] | None = None,
) -> tuple[KeyShare, PublicResult]:
    """``me``'s key share from every qualified dealer's share (opened and checked here, or, for
    a dealer whose share was revealed answering ``me``'s complaint, the revealed values), checked
    against the verification key the public commitments give."""
    result = public_result(ceremony, contributions, disqualified=disqualified)
    revealed = revealed or {}
    chosen = _qualified(ceremony, contributions, disqualified)
    totals = [group.ZERO] * ceremony.slots
    for contribution in chosen:
        if contribution.dealer in revealed:
            values = tuple(revealed[contribution.dealer])
            if len(values) != ceremony.slots:
                raise MalformedInput("malformed", "one revealed value per slot")
            _values_check(ceremony, contribution, me.index, values)
        else:
            values = share_open(ceremony, me, contribution)
        totals = [group.scalar_add(a, b) for a, b in zip(totals, values, strict=True)]
    share = KeyShare(result.key, me.index, ceremony.threshold, tuple(totals))
    if share.verification_key != result.verification_keys[me.index]:
        raise ShareRejected("share_mismatch", "the combined share does not match its key")
    return share, result
