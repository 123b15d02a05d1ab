"""An online ballot: one exponential-ElGamal encryption per project, with proofs.

The round's public key has one point per ballot slot, H_s = x_s·G (as many slots as the round
allows projects on a ballot); nobody holds any x_s whole (see dkg.py). A commune's projects are
taken in ascending id order and project number s uses slot s. A ballot choosing project c is

    C1 = r·G,   C2_s = r·H_s + m_s·G   with m_s = 1 for s = c and 0 otherwise,

one random r shared by the slots (multi-recipient ElGamal with randomness re-use, Bellare,
Boldyreva and Staddon 2003: with independent keys per slot, (r·G, r·H_1, …, r·H_n) is
indistinguishable from random under DDH, so sharing r hides as much as n separate encryptions,
with n + 1 points instead of 2n: 43 % fewer to store and to add at the count). Each C2_s carries
a disjunctive Chaum-Pedersen proof that m_s is 0 or 1, and the ballot one DLEQ proof that
ΣC2_s - G = r·ΣH_s, i.e. that the m_s sum to one. Every challenge hashes the round, the commune,
the projects in order, the key's fingerprint and all the ciphertexts, so a ballot cannot be
moved to another commune, round, ballot layout or key.

The receipt is BLAKE2b-128, in base32, of the ballot's canonical bytes (context included).

The expensive part of making a ballot (3n + 1 variable-base multiplications) does not depend on
the choice: ``ballot_precompute`` does it ahead of time and ``ballot_encrypt`` then needs only
hashing and scalar arithmetic. Precomputed values are as secret as the vote itself (r decrypts
the ballot): memory only, used once.
"""

import base64
import hashlib
import struct
from dataclasses import dataclass
from functools import cached_property

from . import group
from .errors import MalformedInput, ProofRejected, UrnCryptoError
from .group import BASE, IDENTITY, Transcript, add, b64, base_mul, mul, sub, unb64
from .proofs import BitProof, Proof, bit_challenge, bit_verify, dleq_challenge, dleq_verify

MAX_ID = 2**63 - 1
MAGIC = b"URNB\x01"
_U64 = struct.Struct(">Q")


def _positive_id(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise MalformedInput("malformed", f"{what} must be a positive integer")
    return value


@dataclass(frozen=True)
class RoundKey:
    """The round's public key: one checked point per ballot slot."""

    round_id: int
    slots: tuple[bytes, ...]

    def __post_init__(self):
        _positive_id(self.round_id, "round")
        if not self.slots or len(self.slots) > 255:
            raise MalformedInput("malformed", "a key has 1 to 255 slots")

    @classmethod
    def checked(cls, round_id: int, slots) -> "RoundKey":
        return cls(round_id, tuple(group.point_check(point) for point in slots))

    @cached_property
    def fingerprint(self) -> bytes:
        digest = hashlib.blake2b(digest_size=32, person=b"comunas-urnkey1")
        digest.update(_U64.pack(self.round_id) + bytes([len(self.slots)]))
        for point in self.slots:
            digest.update(point)
        return digest.digest()

    @cached_property
    def prefix_sums(self) -> tuple[bytes, ...]:
        """prefix_sums[n] = H_0 + … + H_{n-1}: the key the "sums to one" proof uses."""
        sums, running = [IDENTITY], IDENTITY
        for point in self.slots:
            running = add(running, point)
            sums.append(running)
        return tuple(sums)

    def to_json(self) -> dict:
        return {"round": self.round_id, "slots": [b64(p) for p in self.slots]}

    @classmethod
    def from_json(cls, data) -> "RoundKey":
        if not isinstance(data, dict) or not isinstance(data.get("slots"), list):
            raise MalformedInput("malformed", "a round key is {round, slots}")
        return cls.checked(data.get("round"), [unb64(s, 32) for s in data["slots"]])


@dataclass(frozen=True)
class BallotContext:
    """Where a ballot belongs: the round, the commune, and its projects in ascending id order."""

    round_id: int
    commune_id: int
    projects: tuple[int, ...]

    def __post_init__(self):
        _positive_id(self.round_id, "round")
        _positive_id(self.commune_id, "commune")
        if not isinstance(self.projects, tuple) or not 1 <= len(self.projects) <= 255:
            raise MalformedInput("malformed", "a ballot lists 1 to 255 projects")
        for project in self.projects:
            _positive_id(project, "project")
        if any(a >= b for a, b in zip(self.projects, self.projects[1:], strict=False)):
            raise MalformedInput("malformed", "projects must be in ascending id order, once each")

    @classmethod
    def of(cls, round_id: int, commune_id: int, projects) -> "BallotContext":
        """The context of a commune's ballot, whatever order its projects come in."""
        return cls(round_id, commune_id, tuple(sorted(projects)))

    def to_bytes(self) -> bytes:
        ids = b"".join(_U64.pack(p) for p in self.projects)
        return _U64.pack(self.round_id) + _U64.pack(self.commune_id) + bytes([len(ids) // 8]) + ids


def _transcript(key: RoundKey, context: BallotContext, c1: bytes, c2: tuple[bytes, ...]):
    if key.round_id != context.round_id:
        raise UrnCryptoError("wrong_context", "the key belongs to another round")
    t = Transcript("ballot").append("key", key.fingerprint).append("context", context.to_bytes())
    t.append("C1", c1)
    for point in c2:
        t.append("C2", point)
    return t


def _slot_transcript(t: Transcript, slot: int) -> Transcript:
    return t.copy().append_int("slot", slot)


def _sum_transcript(t: Transcript) -> Transcript:
    return t.copy().append("part", b"sum")


@dataclass(frozen=True)
class Ballot:
    context: BallotContext
    c1: bytes
    c2: tuple[bytes, ...]
    bits: tuple[BitProof, ...]
    total: Proof

    def __post_init__(self):
        n = len(self.context.projects)
        if len(self.c2) != n or len(self.bits) != n:
            raise MalformedInput("malformed", "one encryption and one proof per project")

    def payload_bytes(self) -> bytes:
        """What the urn stores beside the round and commune: encryptions, then proofs."""
        return b"".join(
            [self.c1, *self.c2, *(p.to_bytes() for p in self.bits), self.total.to_bytes()]
        )

    def to_bytes(self) -> bytes:
        """The canonical bytes: version, context, encryptions, proofs."""
        return MAGIC + self.context.to_bytes() + self.payload_bytes()

    @cached_property
    def receipt(self) -> str:
        digest = hashlib.blake2b(self.to_bytes(), digest_size=16).digest()
        return base64.b32encode(digest).decode().rstrip("=")

    @classmethod
    def from_payload(cls, context: BallotContext, payload: bytes) -> "Ballot":
        n = len(context.projects)
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise MalformedInput("malformed", "a ballot's payload is bytes")
        payload = bytes(payload)
        if len(payload) != 32 * (1 + n) + 128 * n + 64:
            raise MalformedInput("malformed", "the payload's length does not fit the ballot")
        points = [payload[32 * i : 32 * (i + 1)] for i in range(1 + n)]
        scalars = payload[32 * (1 + n) :]
        words = [scalars[32 * i : 32 * (i + 1)] for i in range(len(scalars) // 32)]
        bits = tuple(BitProof.from_scalars(*words[4 * s : 4 * s + 4]) for s in range(n))
        return cls(context, points[0], tuple(points[1:]), bits, Proof.from_scalars(*words[-2:]))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Ballot":
        if not isinstance(data, bytes) or not data.startswith(MAGIC) or len(data) < 22:
            raise MalformedInput("malformed", "not a version-1 ballot")
        body = data[len(MAGIC) :]
        round_id, commune_id = _U64.unpack_from(body, 0)[0], _U64.unpack_from(body, 8)[0]
        n = body[16]
        ids = body[17 : 17 + 8 * n]
        if len(ids) != 8 * n:
            raise MalformedInput("malformed", "the ballot is cut short")
        projects = tuple(_U64.unpack_from(ids, 8 * i)[0] for i in range(n))
        context = BallotContext(round_id, commune_id, projects)
        return cls.from_payload(context, body[17 + 8 * n :])

    def to_json(self) -> dict:
        return {
            "receipt": self.receipt,
            "round": self.context.round_id,
            "commune": self.context.commune_id,
            "projects": list(self.context.projects),
            "c1": b64(self.c1),
            "c2": [b64(p) for p in self.c2],
            "bits": [[b64(p.e0), b64(p.e1), b64(p.z0), b64(p.z1)] for p in self.bits],
            "sum": [b64(self.total.e), b64(self.total.z)],
        }

    @classmethod
    def from_json(cls, data) -> "Ballot":
        """A ballot as published; its "receipt", when present, must be the ballot's own."""
        if not isinstance(data, dict):
            raise MalformedInput("malformed", "a ballot is a JSON object")
        try:
            projects = data["projects"]
            if not isinstance(projects, list) or not isinstance(data["c2"], list):
                raise MalformedInput("malformed", "projects and c2 are lists")
            context = BallotContext(data["round"], data["commune"], tuple(projects))
            bits = data["bits"]
            if not isinstance(bits, list) or not all(
                isinstance(b, list) and len(b) == 4 for b in bits
            ):
                raise MalformedInput("malformed", "each bit proof is four scalars")
            if not isinstance(data["sum"], list) or len(data["sum"]) != 2:
                raise MalformedInput("malformed", "the sum proof is two scalars")
            ballot = cls(
                context,
                unb64(data["c1"], 32),
                tuple(unb64(p, 32) for p in data["c2"]),
                tuple(BitProof.from_scalars(*(unb64(s, 32) for s in b)) for b in bits),
                Proof.from_scalars(*(unb64(s, 32) for s in data["sum"])),
            )
        except KeyError as error:
            raise MalformedInput("malformed", f"missing {error.args[0]!r}") from error
        if "receipt" in data and data["receipt"] != ballot.receipt:
            raise UrnCryptoError("wrong_context", "the receipt is not this ballot's")
        return ballot


# Making a ballot ---------------------------------------------------------------------------


class BallotPrecomputation:
    """Everything of a ballot that does not depend on the choice, for n projects. Secret, and
    good for one ballot: r decrypts it, and reusing w or u with another challenge reveals r.

    Kept as one bytes object (about 2.4 KB for 7 projects) so a pool of them stays small. Per
    project, ten 32-byte values: the encryption of 0 and of 1 (r·H, r·H + G), the real branch's
    w, w·G and w·H, the simulated branch's u, e and u·G, and its B = u·H - e·G (when it is
    branch 0, i.e. the choice is 1) or u·H + e·G (when it is branch 1, the choice is 0).
    """

    __slots__ = ("_data", "_used", "key", "n")
    PER_SLOT = 10

    def __init__(self, key: RoundKey, n: int):
        if not 1 <= n <= len(key.slots):
            raise UrnCryptoError("too_many_projects", f"{n} projects, {len(key.slots)} slots")
        self.key, self.n, self._used = key, n, False
        r = group.scalar_random()
        parts = [r, base_mul(r)]
        for h in key.slots[:n]:
            mask = mul(r, h)
            w, u, e_other = group.scalar_random(), group.scalar_random(), group.scalar_random()
            u_h, e_g = mul(u, h), base_mul(e_other)
            parts += [mask, add(mask, BASE), w, base_mul(w), mul(w, h)]
            parts += [u, e_other, base_mul(u), sub(u_h, e_g), add(u_h, e_g)]
        w = group.scalar_random()
        parts += [w, base_mul(w), mul(w, key.prefix_sums[n])]
        self._data = b"".join(parts)

    def _value(self, i: int) -> bytes:
        return self._data[32 * i : 32 * (i + 1)]

    @property
    def r(self) -> bytes:
        return self._value(0)

    @property
    def c1(self) -> bytes:
        return self._value(1)

    def slot(self, s: int) -> tuple[bytes, ...]:
        first = 2 + self.PER_SLOT * s
        return tuple(self._value(first + i) for i in range(self.PER_SLOT))

    @property
    def sum_commitment(self) -> tuple[bytes, bytes, bytes]:
        first = 2 + self.PER_SLOT * self.n
        return self._value(first), self._value(first + 1), self._value(first + 2)

    def take(self) -> "BallotPrecomputation":
        if self._used:
            raise UrnCryptoError("precomputation_used")
        self._used = True
        return self


def ballot_precompute(key: RoundKey, n: int) -> BallotPrecomputation:
    return BallotPrecomputation(key, n)


def ballot_encrypt(
    *,
    key: RoundKey,
    context: BallotContext,
    choice: int,
    precomputed: BallotPrecomputation | None = None,
) -> Ballot:
    """The ballot for ``choice`` (a project id of the context), with its proofs."""
    if choice not in context.projects:
        raise UrnCryptoError("not_on_ballot")
    n = len(context.projects)
    pre = precomputed if precomputed is not None else BallotPrecomputation(key, n)
    if pre.key is not key and pre.key != key:
        raise UrnCryptoError("wrong_context", "precomputed for another key")
    if pre.n != n:
        raise UrnCryptoError("wrong_context", "precomputed for another number of projects")
    pre.take()
    chosen = context.projects.index(choice)
    marks = [1 if s == chosen else 0 for s in range(n)]
    slots = [pre.slot(s) for s in range(n)]
    r, c1 = pre.r, pre.c1
    c2 = tuple(slot[m] for slot, m in zip(slots, marks, strict=True))
    t = _transcript(key, context, c1, c2)
    bits = []
    for s, (slot, m) in enumerate(zip(slots, marks, strict=True)):
        _c2_0, _c2_1, w, real_a, real_b, u, e_other, sim_a, sim_b_if_1, sim_b_if_0 = slot
        sim_b = sim_b_if_1 if m == 1 else sim_b_if_0
        if m == 0:
            a0, b0, a1, b1 = real_a, real_b, sim_a, sim_b
        else:
            a0, b0, a1, b1 = sim_a, sim_b, real_a, real_b
        e = bit_challenge(_slot_transcript(t, s), c1, c2[s], key.slots[s], a0, b0, a1, b1)
        e_real = group.scalar_sub(e, e_other)
        z_real = group.scalar_add(w, group.scalar_mul(e_real, r))
        z_other = group.scalar_add(u, group.scalar_mul(e_other, r))
        if m == 0:
            bits.append(BitProof(e_real, e_other, z_real, z_other))
        else:
            bits.append(BitProof(e_other, e_real, z_other, z_real))
    w, a, b = pre.sum_commitment
    d = sub(_sum(c2), BASE)
    st = _sum_transcript(t)
    e = _sum_challenge(st, c1, key.prefix_sums[n], d, a, b)
    total = Proof(e, group.scalar_add(w, group.scalar_mul(e, r)))
    return Ballot(context, c1, c2, tuple(bits), total)


def _sum(points) -> bytes:
    acc = group.Accumulator()
    for point in points:
        acc.add(point)
    return acc.value


def _sum_challenge(t, c1, h_n, d, a, b) -> bytes:
    # The DLEQ statement of proofs.dleq_*: Y = C1 = r·G and D = ΣC2 - G = r·ΣH.
    return dleq_challenge(t, c1, h_n, d, a, b)


# Checking a ballot -------------------------------------------------------------------------


def ballot_verify(
    key: RoundKey,
    ballot: Ballot,
    context: BallotContext | None = None,
    *,
    points_checked: bool = False,
) -> None:
    """Refuse (UrnCryptoError) unless every point is in the group and every proof holds; with
    ``context``, also unless the ballot belongs there. ``points_checked``: the caller has just
    checked every point with ``group.point_check``."""
    if context is not None and ballot.context != context:
        raise UrnCryptoError("wrong_context", "the ballot belongs to another commune or round")
    n = len(ballot.context.projects)
    if n > len(key.slots):
        raise UrnCryptoError("too_many_projects")
    c1, c2 = ballot.c1, ballot.c2
    if not points_checked:
        c1 = group.point_check(c1)
        c2 = tuple(group.point_check(p) for p in c2)
    t = _transcript(key, ballot.context, c1, c2)
    for s, proof in enumerate(ballot.bits):
        if not bit_verify(_slot_transcript(t, s), c1, c2[s], key.slots[s], proof):
            raise ProofRejected("proof_invalid", f"project {s + 1}'s 0-or-1 proof", slot=s)
    d = sub(_sum(c2), BASE)
    if not dleq_verify(_sum_transcript(t), c1, key.prefix_sums[n], d, ballot.total):
        raise ProofRejected("proof_invalid", "the sums-to-one proof", slot="sum")
