"""The count without opening a ballot: add the encryptions, decrypt only the totals.

Per commune, the ballots' C1 are added into one point and each project's C2 into one point;
since the encryptions are additively homomorphic, the sum encrypts the project's number of
votes t_s: ΣC2_s = x_s·ΣC1 + t_s·G.

Commissioner j holds, per slot, a Shamir share x_{j,s} of x_s (from the key generation, never
whole anywhere) and publishes for each commune a partial decryption D_{j,s} = x_{j,s}·ΣC1 with a
DLEQ proof against their verification key Y_{j,s} = x_{j,s}·G. Any k valid partials combine by
Lagrange interpolation in the exponent, Σ λ_j·D_{j,s} = x_s·ΣC1, so t_s·G = ΣC2_s - x_s·ΣC1 is
found without x_s ever being rebuilt; t_s, bounded by the number of ballots, is then a table
look-up (baby-step giant-step).
"""

from dataclasses import dataclass
from functools import cached_property

from . import group
from .ballot import Ballot, BallotContext, RoundKey
from .errors import MalformedInput, ProofRejected, UrnCryptoError
from .group import BASE, Accumulator, Transcript, b64, mul, sub, unb64
from .proofs import Proof, dleq_prove, dleq_verify


@dataclass(frozen=True)
class SummedBallots:
    """A commune's encrypted totals: ΣC1, ΣC2 per project, and how many ballots were added."""

    context: BallotContext
    c1: bytes
    c2: tuple[bytes, ...]
    ballots: int

    def __post_init__(self):
        if len(self.c2) != len(self.context.projects):
            raise MalformedInput("malformed", "one summed encryption per project")
        if isinstance(self.ballots, bool) or not isinstance(self.ballots, int) or self.ballots < 0:
            raise MalformedInput("malformed", "the number of ballots is a count")

    @cached_property
    def digest(self) -> bytes:
        t = Transcript("summed").append("context", self.context.to_bytes())
        t.append_int("ballots", self.ballots).append("C1", self.c1)
        for point in self.c2:
            t.append("C2", point)
        return t.digest()[:32]

    def to_json(self) -> dict:
        return {
            "round": self.context.round_id,
            "commune": self.context.commune_id,
            "projects": list(self.context.projects),
            "ballots": self.ballots,
            "c1": b64(self.c1),
            "c2": [b64(p) for p in self.c2],
        }

    @classmethod
    def from_json(cls, data) -> "SummedBallots":
        if not isinstance(data, dict):
            raise MalformedInput("malformed", "summed encryptions are a JSON object")
        try:
            if not isinstance(data["projects"], list) or not isinstance(data["c2"], list):
                raise MalformedInput("malformed", "projects and c2 are lists")
            context = BallotContext(data["round"], data["commune"], tuple(data["projects"]))
            return cls(
                context,
                group.point_check(unb64(data["c1"], 32), allow_identity=True),
                tuple(group.point_check(unb64(p, 32), allow_identity=True) for p in data["c2"]),
                data["ballots"],
            )
        except KeyError as error:
            raise MalformedInput("malformed", f"missing {error.args[0]!r}") from error


class Tally:
    """Adds a commune's ballots (or other tallies of it: shards, a worker's part)."""

    def __init__(self, context: BallotContext):
        self.context = context
        self._c1 = Accumulator()
        self._c2 = [Accumulator() for _ in context.projects]
        self.ballots = 0

    def add(self, ballot: Ballot) -> None:
        if ballot.context != self.context:
            raise UrnCryptoError("wrong_context", "the ballot belongs to another commune or round")
        self._c1.add(ballot.c1)
        for acc, point in zip(self._c2, ballot.c2, strict=True):
            acc.add(point)
        self.ballots += 1

    def add_payload(self, payload: bytes) -> None:
        """A stored ballot's payload, added without building a Ballot (the count's hot loop:
        n + 1 libsodium additions)."""
        n = len(self._c2)
        self._c1.add(payload[:32])
        for s in range(n):
            self._c2[s].add(payload[32 * (s + 1) : 32 * (s + 2)])
        self.ballots += 1

    def add_summed(self, other: SummedBallots) -> None:
        if other.context != self.context:
            raise UrnCryptoError("wrong_context", "the sum belongs to another commune or round")
        self._c1.add(other.c1)
        for acc, point in zip(self._c2, other.c2, strict=True):
            acc.add(point)
        self.ballots += other.ballots

    def result(self) -> SummedBallots:
        return SummedBallots(
            self.context, self._c1.value, tuple(a.value for a in self._c2), self.ballots
        )


def tally(context: BallotContext, ballots) -> SummedBallots:
    summing = Tally(context)
    for ballot in ballots:
        summing.add(ballot)
    return summing.result()


# Key shares and partial decryptions -----------------------------------------------------


@dataclass(frozen=True)
class KeyShare:
    """Commissioner ``index``'s secret share of every slot's key, and the round's public key."""

    key: RoundKey
    index: int
    threshold: int
    secrets: tuple[bytes, ...]

    def __post_init__(self):
        if len(self.secrets) != len(self.key.slots):
            raise MalformedInput("malformed", "one secret per slot")

    @cached_property
    def verification_key(self) -> tuple[bytes, ...]:
        return tuple(group.base_mul(x) for x in self.secrets)

    def to_json(self) -> dict:
        return {
            "kind": "urn-key-share",
            "key": self.key.to_json(),
            "index": self.index,
            "threshold": self.threshold,
            "secrets": [b64(x) for x in self.secrets],
        }

    @classmethod
    def from_json(cls, data) -> "KeyShare":
        if not isinstance(data, dict) or data.get("kind") != "urn-key-share":
            raise MalformedInput("malformed", "not a key share")
        try:
            index, threshold, secrets = data["index"], data["threshold"], data["secrets"]
            if not isinstance(secrets, list):
                raise MalformedInput("malformed", "secrets are a list of scalars")
            for value in (index, threshold):
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
                    raise MalformedInput("malformed", "index and threshold are 1 to 255")
            return cls(
                RoundKey.from_json(data["key"]),
                index,
                threshold,
                tuple(group.scalar_check(unb64(x, 32)) for x in secrets),
            )
        except KeyError as error:
            raise MalformedInput("malformed", f"missing {error.args[0]!r}") from error


@dataclass(frozen=True)
class PartialDecryption:
    """Commissioner ``index``'s D_s = x_{index,s}·ΣC1 for each project of a commune, proven."""

    round_id: int
    commune_id: int
    index: int
    shares: tuple[bytes, ...]
    proofs: tuple[Proof, ...]

    def to_json(self) -> dict:
        return {
            "round": self.round_id,
            "commune": self.commune_id,
            "index": self.index,
            "d": [b64(p) for p in self.shares],
            "proofs": [[b64(p.e), b64(p.z)] for p in self.proofs],
        }

    @classmethod
    def from_json(cls, data) -> "PartialDecryption":
        if not isinstance(data, dict):
            raise MalformedInput("malformed", "a partial decryption is a JSON object")
        try:
            index = data["index"]
            if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= 255:
                raise MalformedInput("malformed", "index is 1 to 255")
            proofs = data["proofs"]
            if not isinstance(proofs, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in proofs
            ):
                raise MalformedInput("malformed", "each proof is two scalars")
            if not isinstance(data["d"], list) or len(data["d"]) != len(proofs):
                raise MalformedInput("malformed", "one proof per partial decryption")
            return cls(
                data["round"],
                data["commune"],
                index,
                tuple(group.point_check(unb64(p, 32), allow_identity=True) for p in data["d"]),
                tuple(Proof.from_scalars(unb64(e, 32), unb64(z, 32)) for e, z in proofs),
            )
        except KeyError as error:
            raise MalformedInput("malformed", f"missing {error.args[0]!r}") from error


def _partial_transcript(key: RoundKey, summed: SummedBallots, index: int, slot: int):
    t = Transcript("partial").append("key", key.fingerprint).append("summed", summed.digest)
    return t.append_int("index", index).append_int("slot", slot)


def partial_decrypt(*, share: KeyShare, summed: SummedBallots) -> PartialDecryption:
    """This commissioner's part of decrypting a commune's totals, with a proof per project."""
    if summed.context.round_id != share.key.round_id:
        raise UrnCryptoError("wrong_context", "the sums belong to another round")
    n = len(summed.context.projects)
    if n > len(share.secrets):
        raise UrnCryptoError("too_many_projects")
    parts, proofs = [], []
    for s in range(n):
        x = share.secrets[s]
        d = mul(x, summed.c1)
        t = _partial_transcript(share.key, summed, share.index, s)
        proofs.append(dleq_prove(t, share.verification_key[s], summed.c1, d, x))
        parts.append(d)
    ctx = summed.context
    return PartialDecryption(ctx.round_id, ctx.commune_id, share.index, tuple(parts), tuple(proofs))


def partial_verify(
    *, key: RoundKey, verification_key, summed: SummedBallots, partial: PartialDecryption
) -> None:
    """Refuse unless ``partial`` is commissioner ``partial.index``'s correct partial decryption of
    exactly ``summed`` (``verification_key``: that commissioner's Y_s, one per slot)."""
    ctx = summed.context
    if (partial.round_id, partial.commune_id) != (ctx.round_id, ctx.commune_id):
        raise UrnCryptoError("wrong_context", "the partial decryption is of another commune")
    n = len(ctx.projects)
    if len(partial.shares) != n or len(partial.proofs) != n:
        raise MalformedInput("malformed", "one partial decryption and proof per project")
    if n > len(verification_key):
        raise UrnCryptoError("too_many_projects")
    for s in range(n):
        t = _partial_transcript(key, summed, partial.index, s)
        if not dleq_verify(t, verification_key[s], summed.c1, partial.shares[s], partial.proofs[s]):
            raise ProofRejected(
                "proof_invalid",
                f"commissioner {partial.index}, project {s + 1}",
                index=partial.index,
                slot=s,
            )


def lagrange_at_zero(indices) -> dict[int, bytes]:
    """λ_j = Π_{m≠j} m / (m - j) over the given commissioner indices (libsodium scalars)."""
    indices = list(indices)
    if len(set(indices)) != len(indices):
        raise UrnCryptoError("duplicate", "a commissioner's partial decryption appears twice")
    coefficients = {}
    for j in indices:
        numerator, denominator = group.ONE, group.ONE
        for m in indices:
            if m == j:
                continue
            numerator = group.scalar_mul(numerator, group.scalar_from_int(m))
            difference = group.scalar_sub(group.scalar_from_int(m), group.scalar_from_int(j))
            denominator = group.scalar_mul(denominator, difference)
        coefficients[j] = group.scalar_mul(numerator, group.scalar_invert(denominator))
    return coefficients


def combine(*, summed: SummedBallots, partials, threshold: int) -> tuple[bytes, ...]:
    """t_s·G for each project from ``threshold`` checked partial decryptions (the first ones
    given: any k valid ones give the same result)."""
    chosen = list(partials)[:threshold]
    if len(chosen) < threshold:
        raise UrnCryptoError("not_enough_partials", f"{len(chosen)} of {threshold}")
    weights = lagrange_at_zero(p.index for p in chosen)
    results = []
    for s, c2 in enumerate(summed.c2):
        acc = Accumulator()
        for partial in chosen:
            acc.add(mul(weights[partial.index], partial.shares[s]))
        results.append(sub(c2, acc.value))
    return tuple(results)


class DiscreteLog:
    """t from t·G for 0 ≤ t ≤ a bound: a table of the first ``table_size`` multiples of G
    (baby steps, built once by additions), then steps of table_size·G down (giant steps)."""

    def __init__(self, table_size: int = 4096):
        self.size = table_size
        self.table = {}
        acc = Accumulator()
        for i in range(table_size):
            self.table[acc.value] = i
            acc.add(BASE)
        self.giant = group.base_mul(group.scalar_from_int(table_size))

    def solve(self, point: bytes, bound: int) -> int:
        steps = bound // self.size + 1
        for step in range(steps):
            found = self.table.get(point)
            if found is not None and step * self.size + found <= bound:
                return step * self.size + found
            point = sub(point, self.giant)
        raise UrnCryptoError("total_out_of_range", f"not between 0 and {bound}")


def totals_decrypt(
    *,
    summed: SummedBallots,
    partials,
    threshold: int,
    dlog: DiscreteLog | None = None,
    bound: int | None = None,
) -> dict[int, int]:
    """Project id → votes, from checked partial decryptions. No total exceeds ``bound``, by
    default the sum's own number of ballots (a verifier passes the number it counted, so a
    published count cannot make it search for ever)."""
    bound = summed.ballots if bound is None else bound
    dlog = dlog or DiscreteLog(min(4096, bound + 1))
    points = combine(summed=summed, partials=partials, threshold=threshold)
    return {
        project: dlog.solve(point, bound)
        for project, point in zip(summed.context.projects, points, strict=True)
    }
