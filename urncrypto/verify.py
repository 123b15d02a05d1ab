"""The public verifier's core: from a round's open data, redo everything the count did.

Given, per commune, the stored ballots (receipt, encryptions, proofs), the summed encryptions,
the commissioners' partial decryptions with proofs and the published totals, and for the round
its public key, threshold and verification keys (or the key generation's public transcript to
derive them from), ``round_verify``:

- recomputes each ballot's receipt and checks it belongs to its commune and round;
- checks every ballot's proofs and that its points are in the group, or only those of a
  random sample of ``sample`` ballots (the report lists the receipts checked): a sample of N
  of B ballots misses all of k invalid ones with probability at most (1 - N/B)^k;
- re-adds every ballot and compares with the published sums and number of ballots;
- checks every partial decryption's proof against its commissioner's verification key;
- combines k valid partial decryptions and recomputes each project's total;

and returns every disagreement found, each named (``Disagreement.kind``) with the commune and
what it concerns. Proof checks run in worker processes (``workers``, one per core by default).
"""

import multiprocessing
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from . import dkg, group
from .ballot import Ballot, BallotContext, RoundKey, ballot_verify
from .errors import MalformedInput, UrnCryptoError
from .tally import (
    DiscreteLog,
    PartialDecryption,
    SummedBallots,
    Tally,
    partial_verify,
    totals_decrypt,
)

KINDS = {
    "key_mismatch": "The round's published key is not the one its key generation made.",
    "ballot_malformed": "A stored ballot cannot be read.",
    "ballot_receipt_mismatch": "A ballot's published receipt is not the hash of the ballot.",
    "ballot_wrong_commune": "A ballot was made for another commune, round or project list.",
    "ballot_duplicate": "The same ballot appears more than once.",
    "ballot_proof_invalid": "A ballot's proofs do not hold.",
    "ballot_point_invalid": "A ballot holds a value outside the group.",
    "sum_malformed": "A commune's summed encryptions cannot be read.",
    "sum_mismatch": "A commune's summed encryptions are not the sum of its ballots.",
    "sum_count_mismatch": "A commune's number of ballots is not the number published.",
    "partial_malformed": "A partial decryption cannot be read.",
    "partial_unknown_commissioner": "A partial decryption names no commissioner of the round.",
    "partial_duplicate": "A commissioner's partial decryption appears twice.",
    "partial_proof_invalid": "A partial decryption's proof does not hold.",
    "not_enough_partials": "Fewer valid partial decryptions than the threshold.",
    "total_undecryptable": "A total does not decrypt to a number of votes.",
    "total_mismatch": "A published total is not the decrypted one.",
}


@dataclass(frozen=True)
class Disagreement:
    kind: str
    commune: int | None
    detail: str = ""
    receipt: str | None = None
    index: int | None = None
    project: int | None = None

    def __str__(self) -> str:
        where = f"commune {self.commune}: " if self.commune is not None else ""
        what = [KINDS[self.kind]]
        if self.receipt:
            what.append(f"receipt {self.receipt}")
        if self.index is not None:
            what.append(f"commissioner {self.index}")
        if self.project is not None:
            what.append(f"project {self.project}")
        if self.detail:
            what.append(self.detail)
        return f"{self.kind}: {where}" + "; ".join(what)


@dataclass
class CommuneRecord:
    """One commune's open data, as downloaded (JSON values, parsed here)."""

    commune_id: int
    projects: tuple[int, ...]
    ballots: list  # ballot JSON objects, each with its "receipt"
    summed: dict  # SummedBallots JSON
    partials: list  # PartialDecryption JSON objects
    totals: dict  # project id → published online votes


@dataclass
class Report:
    disagreements: list[Disagreement] = field(default_factory=list)
    ballots: int = 0
    proofs_checked: int = 0
    sampled: list[str] | None = None  # receipts whose proofs were checked, when sampling
    seconds: float = 0.0
    totals: dict = field(default_factory=dict)  # commune id → {project id: votes}, recomputed

    @property
    def ok(self) -> bool:
        return not self.disagreements

    @property
    def ballots_per_second(self) -> float:
        return self.ballots / self.seconds if self.seconds else 0.0


# Worker processes ------------------------------------------------------------------------

_KEY: RoundKey | None = None
_DLOG: DiscreteLog | None = None


def _init(key_json) -> None:
    global _KEY, _DLOG
    _KEY = RoundKey.from_json(key_json)
    _DLOG = None


def _ballots_task(task):
    """Check a chunk of one commune's ballots; return their sum and what is wrong with them."""
    commune_id, round_id, projects, ballots, check = task
    context = BallotContext(round_id, commune_id, tuple(projects))
    summing = Tally(context)
    problems, receipts = [], []
    for data, with_proofs in zip(ballots, check, strict=True):
        published = data.get("receipt") if isinstance(data, dict) else None
        try:
            ballot = Ballot.from_json({k: v for k, v in data.items() if k != "receipt"})
        except (UrnCryptoError, AttributeError, TypeError) as error:
            problems.append(Disagreement("ballot_malformed", commune_id, str(error), published))
            continue
        receipts.append(ballot.receipt)
        # Name a ballot by the receipt its voter holds (the published one) where there is one.
        named = published if isinstance(published, str) else ballot.receipt
        if published != ballot.receipt:
            problems.append(
                Disagreement(
                    "ballot_receipt_mismatch", commune_id, f"computed {ballot.receipt}", published
                )
            )
        if ballot.context != context:
            problems.append(Disagreement("ballot_wrong_commune", commune_id, "", named))
            continue
        try:
            if with_proofs:
                for point in (ballot.c1, *ballot.c2):
                    group.point_check(point)
            # Outside the sample, libsodium's addition still refuses a point off the curve;
            # what such a ballot encrypts is what the sample vouches for, statistically.
            summing.add(ballot)
        except UrnCryptoError as error:
            problems.append(
                Disagreement("ballot_point_invalid", commune_id, str(error), named)
            )
            continue
        # A ballot whose proofs fail is still in the urn: it was added, so the sums are compared
        # with what is stored, and its proofs are reported.
        if with_proofs:
            try:
                ballot_verify(_KEY, ballot, context, points_checked=True)
            except UrnCryptoError as error:
                problems.append(
                    Disagreement("ballot_proof_invalid", commune_id, str(error), named)
                )
    total = summing.result()
    return commune_id, (total.c1, total.c2, total.ballots), problems, receipts


def _partials_task(task):
    """Check one commune's partial decryptions and decrypt its totals from k valid ones."""
    global _DLOG
    commune_id, summed_json, partials, verification_keys, threshold, stored = task
    problems = []
    try:
        summed = SummedBallots.from_json(summed_json)
    except (UrnCryptoError, AttributeError, TypeError) as error:
        return commune_id, None, [Disagreement("sum_malformed", commune_id, str(error))]
    valid, seen = [], set()
    for data in partials:
        try:
            partial = PartialDecryption.from_json(data)
        except (UrnCryptoError, AttributeError, TypeError) as error:
            problems.append(Disagreement("partial_malformed", commune_id, str(error)))
            continue
        if partial.index not in verification_keys:
            problems.append(
                Disagreement("partial_unknown_commissioner", commune_id, index=partial.index)
            )
            continue
        if partial.index in seen:
            problems.append(Disagreement("partial_duplicate", commune_id, index=partial.index))
            continue
        seen.add(partial.index)
        try:
            partial_verify(
                key=_KEY,
                verification_key=verification_keys[partial.index],
                summed=summed,
                partial=partial,
            )
        except UrnCryptoError as error:
            problems.append(
                Disagreement("partial_proof_invalid", commune_id, str(error), index=partial.index)
            )
            continue
        valid.append(partial)
    if len(valid) < threshold:
        problems.append(
            Disagreement("not_enough_partials", commune_id, f"{len(valid)} of {threshold}")
        )
        return commune_id, None, problems
    if _DLOG is None:
        _DLOG = DiscreteLog()
    valid.sort(key=lambda p: p.index)
    try:
        totals = totals_decrypt(
            summed=summed, partials=valid, threshold=threshold, dlog=_DLOG, bound=stored
        )
    except UrnCryptoError as error:
        problems.append(Disagreement("total_undecryptable", commune_id, str(error)))
        return commune_id, None, problems
    return commune_id, totals, problems


# The round -------------------------------------------------------------------------------


def _chunks(communes, round_id, sampled: set | None, size: int):
    for record in communes:
        ballots = record.ballots
        for start in range(0, len(ballots), size):
            part = ballots[start : start + size]
            if sampled is None:
                check = [True] * len(part)
            else:
                check = [(record.commune_id, start + i) in sampled for i in range(len(part))]
            yield record.commune_id, round_id, record.projects, part, check


def _run(pool, function, tasks):
    if pool is None:
        return map(function, tasks)
    return pool.imap_unordered(function, tasks)


def round_verify(
    *,
    public: dkg.PublicResult,
    communes: list[CommuneRecord],
    sample: int | None = None,
    workers: int | None = None,
    transcript: tuple | None = None,
    rng: random.Random | None = None,
    chunk: int = 250,
) -> Report:
    """Every disagreement between the open data and what it should be.

    ``public``: the round's key, threshold and verification keys as published. ``transcript``:
    (ceremony, contributions, disqualified) of the key generation, to check ``public`` against.
    ``sample``: check the proofs of that many ballots chosen at random (``rng``, by default
    the operating system's randomness) instead of all.
    """
    started = time.monotonic()
    report = Report()
    key = public.key
    if transcript is not None:
        ceremony, contributions, disqualified = transcript
        try:
            derived = dkg.public_result(ceremony, contributions, disqualified=disqualified)
            if derived.key != key or derived.verification_keys != public.verification_keys:
                report.disagreements.append(Disagreement("key_mismatch", None))
        except UrnCryptoError as error:
            report.disagreements.append(Disagreement("key_mismatch", None, str(error)))

    sampled = None
    positions = [(c.commune_id, i) for c in communes for i in range(len(c.ballots))]
    if sample is not None and sample < len(positions):
        rng = rng or random.SystemRandom()
        sampled = set(rng.sample(positions, sample))
    report.ballots = len(positions)

    workers = workers or os.cpu_count() or 1
    pool = None
    if workers > 1:
        # "spawn": the workers import only this package, whatever the parent has loaded.
        pool = multiprocessing.get_context("spawn").Pool(
            workers, initializer=_init, initargs=(key.to_json(),)
        )
    else:
        _init(key.to_json())
    try:
        by_id = {c.commune_id: c for c in communes}
        sums: dict[int, list] = {}
        receipts = Counter()
        for commune_id, (c1, c2, count), problems, seen in _run(
            pool, _ballots_task, _chunks(communes, key.round_id, sampled, chunk)
        ):
            report.disagreements.extend(problems)
            receipts.update((commune_id, r) for r in seen)
            parts = sums.setdefault(commune_id, [])
            parts.append((c1, c2, count))
        for (commune_id, receipt), times in sorted(receipts.items()):
            if times > 1:
                report.disagreements.append(
                    Disagreement("ballot_duplicate", commune_id, f"{times} times", receipt)
                )
        report.proofs_checked = len(positions) if sampled is None else len(sampled)
        if sampled is not None:
            report.sampled = sorted(by_id[c].ballots[i].get("receipt", "") for c, i in sampled)

        for record in communes:
            _sum_compare(report, record, key.round_id, sums.get(record.commune_id, []))

        tasks = [
            (
                record.commune_id,
                record.summed,
                record.partials,
                public.verification_keys,
                public.threshold,
                len(record.ballots),
            )
            for record in communes
        ]
        for commune_id, totals, problems in _run(pool, _partials_task, tasks):
            report.disagreements.extend(problems)
            if totals is None:
                continue
            report.totals[commune_id] = totals
            _totals_compare(report, by_id[commune_id], totals)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    report.disagreements.sort(
        key=lambda d: (d.commune if d.commune is not None else -1, d.kind, d.receipt or "")
    )
    report.seconds = time.monotonic() - started
    return report


def _sum_compare(report: Report, record: CommuneRecord, round_id: int, parts) -> None:
    context = BallotContext(round_id, record.commune_id, tuple(record.projects))
    summing = Tally(context)
    for c1, c2, count in parts:
        summing.add_summed(SummedBallots(context, c1, c2, count))
    try:
        published = SummedBallots.from_json(record.summed)
    except (UrnCryptoError, AttributeError, TypeError) as error:
        report.disagreements.append(Disagreement("sum_malformed", record.commune_id, str(error)))
        return
    recomputed = summing.result()
    if published.context != context:
        report.disagreements.append(
            Disagreement("sum_malformed", record.commune_id, "made for another commune or round")
        )
        return
    if published.ballots != len(record.ballots):
        report.disagreements.append(
            Disagreement(
                "sum_count_mismatch",
                record.commune_id,
                f"published {published.ballots}, stored {len(record.ballots)}",
            )
        )
    if (published.c1, published.c2) != (recomputed.c1, recomputed.c2):
        report.disagreements.append(Disagreement("sum_mismatch", record.commune_id))


def _totals_compare(report: Report, record: CommuneRecord, totals: dict[int, int]) -> None:
    published = {}
    for project, votes in record.totals.items():
        if isinstance(project, str) and project.isdigit():
            project = int(project)
        published[project] = votes
    for project in sorted(set(totals) | set(published)):
        if published.get(project) != totals.get(project):
            report.disagreements.append(
                Disagreement(
                    "total_mismatch",
                    record.commune_id,
                    f"published {published.get(project)}, decrypted {totals.get(project)}",
                    project=project,
                )
            )


def round_from_json(data) -> tuple[dkg.PublicResult, list[CommuneRecord], tuple | None]:
    """The open data of a round, as ``round_verify`` takes it, from its JSON:

    {"round": id, "public": <PublicResult>, "key_generation": {"ceremony": …, "contributions":
    […], "disqualified": […]} (optional), "communes": [{"commune": id, "projects": [ids],
    "ballots": [<Ballot with "receipt">…], "summed": <SummedBallots>, "partials":
    [<PartialDecryption>…], "totals": {"<project id>": votes}}]}
    """
    if not isinstance(data, dict) or not isinstance(data.get("communes"), list):
        raise MalformedInput("malformed", "a round's open data is {round, public, communes}")
    public = dkg.PublicResult.from_json(data.get("public"))
    if data.get("round") != public.key.round_id:
        raise UrnCryptoError("wrong_context", "the key belongs to another round")
    transcript = None
    generation = data.get("key_generation")
    if generation is not None:
        if not isinstance(generation, dict):
            raise MalformedInput("malformed", "key_generation is a JSON object")
        contributions = generation.get("contributions")
        if not isinstance(contributions, list):
            raise MalformedInput("malformed", "contributions are a list")
        transcript = (
            dkg.Ceremony.from_json(generation.get("ceremony")),
            [dkg.Contribution.from_json(c) for c in contributions],
            tuple(generation.get("disqualified") or ()),
        )
    communes = []
    for item in data["communes"]:
        if not isinstance(item, dict):
            raise MalformedInput("malformed", "each commune is a JSON object")
        fields = ("commune", "projects", "ballots", "summed", "partials", "totals")
        missing = [name for name in fields if name not in item]
        if missing:
            raise MalformedInput("malformed", f"a commune lacks {', '.join(missing)}")
        if not isinstance(item["ballots"], list) or not isinstance(item["partials"], list):
            raise MalformedInput("malformed", "ballots and partials are lists")
        if not isinstance(item["totals"], dict) or not isinstance(item["projects"], list):
            raise MalformedInput("malformed", "projects is a list, totals an object")
        context = BallotContext(public.key.round_id, item["commune"], tuple(item["projects"]))
        communes.append(
            CommuneRecord(
                context.commune_id,
                context.projects,
                item["ballots"],
                item["summed"],
                item["partials"],
                item["totals"],
            )
        )
    return public, communes, transcript
