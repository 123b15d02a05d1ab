"""The three zero-knowledge proofs, non-interactive by Fiat-Shamir over a ``Transcript``.

Each proof is stored in its compact form (challenges and responses, no commitments): the
verifier recomputes the commitments from them and accepts only when hashing those commitments
with the whole statement gives back the challenge. The transcript a caller passes in already
binds the context (round, commune, the projects' order, the public key, the ciphertexts); each
function adds its own statement and commitments.

- Schnorr proof of knowledge of x with Y = x·G (a dealer's constant term in the key generation).
- Chaum-Pedersen DLEQ: the same x in Y = x·G and D = x·C (a commissioner's partial decryption
  of a summed C with their verification key Y; a ballot's "the choices sum to one").
- Disjunctive Chaum-Pedersen (Cramer-Damgård-Schoenmakers): (C1, C2) encrypts 0 or 1 under H,
  i.e. C2 = r·H or C2 - G = r·H with C1 = r·G, without saying which.

Inputs are checked points and canonical scalars (the callers check what comes from outside).
"""

from dataclasses import dataclass

from . import group
from .group import BASE, Transcript, base_mul, mul, scalar_add, scalar_mul, scalar_sub, sub


@dataclass(frozen=True)
class Proof:
    """(challenge, response) of a Schnorr or DLEQ proof."""

    e: bytes
    z: bytes

    def to_bytes(self) -> bytes:
        return self.e + self.z

    @classmethod
    def from_scalars(cls, e: bytes, z: bytes) -> "Proof":
        return cls(group.scalar_check(e), group.scalar_check(z))


@dataclass(frozen=True)
class BitProof:
    """A disjunctive proof that a ciphertext encrypts 0 or 1: challenges and responses of both
    branches; e0 + e1 is the Fiat-Shamir challenge."""

    e0: bytes
    e1: bytes
    z0: bytes
    z1: bytes

    def to_bytes(self) -> bytes:
        return self.e0 + self.e1 + self.z0 + self.z1

    @classmethod
    def from_scalars(cls, e0, e1, z0, z1) -> "BitProof":
        return cls(*(group.scalar_check(s) for s in (e0, e1, z0, z1)))


def _response(w: bytes, e: bytes, x: bytes) -> bytes:
    return scalar_add(w, scalar_mul(e, x))


def _back(z: bytes, base: bytes, e: bytes, point: bytes) -> bytes:
    """z·base - e·point: the commitment a verifier recomputes."""
    first = base_mul(z) if base == BASE else mul(z, base)
    return sub(first, mul(e, point))


# Schnorr -----------------------------------------------------------------------------------


def schnorr_prove(transcript: Transcript, y: bytes, x: bytes) -> Proof:
    w = group.scalar_random()
    t = transcript.copy().append("Y", y).append("R", base_mul(w))
    e = t.challenge()
    return Proof(e, _response(w, e, x))


def schnorr_verify(transcript: Transcript, y: bytes, proof: Proof) -> bool:
    r = _back(proof.z, BASE, proof.e, y)
    return transcript.copy().append("Y", y).append("R", r).challenge() == proof.e


# Chaum-Pedersen ----------------------------------------------------------------------------


def dleq_challenge(transcript, y, c, d, a, b) -> bytes:
    t = transcript.copy()
    for label, point in (("Y", y), ("C", c), ("D", d), ("A", a), ("B", b)):
        t.append(label, point)
    return t.challenge()


def dleq_prove(transcript: Transcript, y: bytes, c: bytes, d: bytes, x: bytes, *, h_w=None):
    """Prove log_G(Y) = log_C(D) = x. ``h_w`` = (w, w·G, w·C) precomputed, else made here."""
    if h_w is None:
        w = group.scalar_random()
        h_w = (w, base_mul(w), mul(w, c))
    w, a, b = h_w
    e = dleq_challenge(transcript, y, c, d, a, b)
    return Proof(e, _response(w, e, x))


def dleq_verify(transcript: Transcript, y: bytes, c: bytes, d: bytes, proof: Proof) -> bool:
    a = _back(proof.z, BASE, proof.e, y)
    b = _back(proof.z, c, proof.e, d)
    return dleq_challenge(transcript, y, c, d, a, b) == proof.e


# Disjunctive Chaum-Pedersen: 0 or 1 -------------------------------------------------------


def bit_challenge(transcript, c1, c2, h, a0, b0, a1, b1) -> bytes:
    t = transcript.copy()
    for label, point in (("C1", c1), ("C2", c2), ("H", h)):
        t.append(label, point)
    for label, point in (("A0", a0), ("B0", b0), ("A1", a1), ("B1", b1)):
        t.append(label, point)
    return t.challenge()


def bit_verify(transcript: Transcript, c1: bytes, c2: bytes, h: bytes, proof: BitProof) -> bool:
    """Does (C1, C2) encrypt 0 or 1 under H? Six variable-base multiplications."""
    a0 = _back(proof.z0, BASE, proof.e0, c1)
    b0 = _back(proof.z0, h, proof.e0, c2)
    a1 = _back(proof.z1, BASE, proof.e1, c1)
    b1 = _back(proof.z1, h, proof.e1, sub(c2, BASE))
    e = bit_challenge(transcript, c1, c2, h, a0, b0, a1, b1)
    return scalar_add(proof.e0, proof.e1) == e


def bit_prove(transcript, c1, c2, h, r: bytes, m: int) -> BitProof:
    """The plain prover (the ballot uses a precomputed variant of the same algebra)."""
    w, u, e_other = group.scalar_random(), group.scalar_random(), group.scalar_random()
    real_a, real_b = base_mul(w), mul(w, h)
    other = 1 - m
    # The simulated branch's commitments: z·G - e·C1 and z·H - e·(C2 - other·G) for a chosen e.
    z_other = u
    sim_a = _back(z_other, BASE, e_other, c1)
    sim_b = _back(z_other, h, e_other, sub(c2, BASE) if other else c2)
    if m == 0:
        a0, b0, a1, b1 = real_a, real_b, sim_a, sim_b
    else:
        a0, b0, a1, b1 = sim_a, sim_b, real_a, real_b
    e = bit_challenge(transcript, c1, c2, h, a0, b0, a1, b1)
    e_real = scalar_sub(e, e_other)
    z_real = _response(w, e_real, r)
    if m == 0:
        return BitProof(e_real, e_other, z_real, z_other)
    return BitProof(e_other, e_real, z_other, z_real)
