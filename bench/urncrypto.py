"""Benchmark: the urn's cryptography (urncrypto), measured, then projected to a national round.

Measures on this machine, with libsodium through PyNaCl:
- making a ballot for 7 projects (encryptions and proofs): all at once, and split into the
  part that does not depend on the choice (precomputable) and the part that does;
- checking a ballot's proofs;
- adding ballots: per point addition and per ballot;
- decrypting: a commissioner's partial decryption of a commune, checking one, and combining k of
  them into the totals, per total;
- the verifier's core on a round of ``--verify-ballots`` ballots with ``--workers`` processes;
- adding points in 2 processes at once (does the count scale with cores here?).

Then projects the issue's bars: the national round (6.5 M voters, 60 % online, 36,500 projects
over 5,340 communes) counted on 2 cores by re-adding every ballot at the count, or from running
subtotals kept during the day; the vote bench's ceiling with proofs made at vote time; the
verifier on 100,000 ballots. Figures are CPU seconds of this process (``time.process_time``),
which hold on a shared machine better than wall time; the load average at the start is printed
because the machine is shared. The last line is one JSON object.

    .venv/bin/python bench/urncrypto.py [--ballots 300] [--verify-ballots 4000] [--workers 2]
"""

import argparse
import json
import multiprocessing
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urncrypto import dkg, group
from urncrypto.ballot import (
    Ballot,
    BallotContext,
    ballot_encrypt,
    ballot_precompute,
    ballot_verify,
)
from urncrypto.tally import (
    DiscreteLog,
    Tally,
    partial_decrypt,
    partial_verify,
    totals_decrypt,
)
from urncrypto.verify import CommuneRecord, round_verify

NATIONAL = {
    "voters": 6_500_000,
    "online_share": 0.6,
    "projects": 36_500,
    "communes": 5_340,
}
COUNT_TARGET_S = 120
VOTES_TARGET = 300
VERIFY_TARGET_S = 120
VERIFY_BALLOTS = 100_000
CORES = 2
# The vote bench's ceiling before proofs (README, `make bench-votes`: 327-378 votes/s on these
# 2 cores, load client included): the machine's CPU per vote today, in ms.
VOTE_CPU_MS_TODAY = (2000 / 378, 2000 / 327)
PROJECTS = 7


def log(message: str) -> None:
    print(message, flush=True)


def _cpu_of_self_and_children() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def cpu_timed(function, repeat: int) -> float:
    """CPU seconds per call of ``function``, over ``repeat`` calls."""
    started = time.process_time()
    for _ in range(repeat):
        function()
    return (time.process_time() - started) / repeat


def make_round(commissioners=3, threshold=2, slots=PROJECTS, round_id=1):
    secrets = [dkg.commissioner_keygen(i) for i in range(1, commissioners + 1)]
    ceremony = dkg.Ceremony(round_id, threshold, slots, tuple(s.public() for s in secrets))
    contributions = [dkg.contribution_make(ceremony, s)[0] for s in secrets]
    public = dkg.public_result(ceremony, contributions)
    shares = {s.index: dkg.key_share_combine(ceremony, s, contributions)[0] for s in secrets}
    return public, shares


def _make_ballots(task):
    key_json, commune_id, projects, count, seed = task
    from urncrypto.ballot import RoundKey

    key = RoundKey.from_json(key_json)
    context = BallotContext.of(key.round_id, commune_id, projects)
    draw = random.Random(seed)
    return commune_id, [
        ballot_encrypt(key=key, context=context, choice=draw.choice(context.projects)).to_json()
        for _ in range(count)
    ]


def _add_points(task):
    points, repeat = task
    started = time.process_time()
    wall = time.perf_counter()
    acc = group.Accumulator()
    for _ in range(repeat):
        for point in points:
            acc.add(point)
    return len(points) * repeat, time.process_time() - started, time.perf_counter() - wall


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=300, help="ballots made and checked")
    parser.add_argument("--verify-ballots", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=CORES)
    args = parser.parse_args()
    figures = {"load_average_at_start": os.getloadavg()[0]}
    log(f"load average at start: {figures['load_average_at_start']:.2f} (the machine is shared)")

    public, shares = make_round()
    key = public.key
    context = BallotContext.of(1, 1, range(101, 101 + PROJECTS))
    draw = random.Random(14)

    # Making a ballot ---------------------------------------------------------------------
    encrypt = cpu_timed(
        lambda: ballot_encrypt(key=key, context=context, choice=draw.choice(context.projects)),
        args.ballots,
    )
    pres = []
    precompute = cpu_timed(lambda: pres.append(ballot_precompute(key, PROJECTS)), args.ballots)
    ballots = []
    at_vote = cpu_timed(
        lambda: ballots.append(
            ballot_encrypt(
                key=key,
                context=context,
                choice=draw.choice(context.projects),
                precomputed=pres[len(ballots)],
            )
        ),
        args.ballots,
    )
    figures.update(
        encrypt_prove_ms=encrypt * 1e3,
        precompute_ms=precompute * 1e3,
        encrypt_online_ms=at_vote * 1e3,
        ballot_bytes=len(ballots[0].to_bytes()),
        ballot_stored_bytes=len(ballots[0].payload_bytes()),
    )
    log(
        f"make a 7-project ballot with its proofs: {encrypt * 1e3:.2f} ms CPU "
        f"(precomputable part {precompute * 1e3:.2f} ms + at the vote {at_vote * 1e3:.3f} ms)"
    )
    log(
        f"a ballot is {figures['ballot_stored_bytes']} bytes stored "
        f"({figures['ballot_bytes']} with its context)"
    )

    tracemalloc.start()
    pool = [ballot_precompute(key, PROJECTS) for _ in range(200)]
    pool_bytes = tracemalloc.get_traced_memory()[0] / len(pool)
    tracemalloc.stop()
    del pool
    figures["precomputation_kb"] = pool_bytes / 1024
    log(
        f"one precomputed ballot holds {pool_bytes / 1024:.1f} KB of memory "
        f"({pool_bytes * 10_000 / 2**20:.0f} MB for a pool of 10,000)"
    )

    # Checking a ballot -------------------------------------------------------------------
    verify_ballots = iter(ballots * 2)
    verify = cpu_timed(lambda: ballot_verify(key, next(verify_ballots), context), args.ballots)
    figures["verify_ms"] = verify * 1e3
    log(f"check a 7-project ballot's proofs: {verify * 1e3:.2f} ms CPU")

    # A ballot outside the verifier's sample: read from JSON, its receipt, added.
    published = [b.to_json() for b in ballots]
    outside = iter(published * 3)

    def read_and_add():
        data = next(outside)
        ballot = Ballot.from_json({k: v for k, v in data.items() if k != "receipt"})
        _receipt = ballot.receipt == data["receipt"]
        sample_tally.add(ballot)

    sample_tally = Tally(context)
    unsampled = cpu_timed(read_and_add, len(published))
    figures["verify_outside_sample_ms"] = unsampled * 1e3
    log(f"a ballot outside the verifier's sample (read, receipt, added): {unsampled * 1e3:.2f} ms")

    # Adding ------------------------------------------------------------------------------
    payloads = [b.payload_bytes() for b in ballots]
    repeat = max(1, 20_000 // len(payloads))

    def add_all():
        summing = Tally(context)
        for payload in payloads:
            summing.add_payload(payload)

    per_pass = cpu_timed(add_all, repeat)
    per_ballot = per_pass / len(payloads)
    per_point = per_ballot / (PROJECTS + 1)
    figures.update(add_point_us=per_point * 1e6, add_ballot_us=per_ballot * 1e6)
    log(
        f"add: {per_point * 1e6:.1f} µs per point, {per_ballot * 1e6:.0f} µs per 7-project "
        f"ballot (8 points: one shared C1 and one C2 per project)"
    )

    points = [b.c1 for b in ballots][:200]
    rounds = max(1, 100_000 // len(points))
    with multiprocessing.get_context("spawn").Pool(CORES) as pool:
        started = time.perf_counter()
        results = pool.map(_add_points, [(points, rounds)] * CORES)
        wall = time.perf_counter() - started
    added = sum(n for n, _cpu, _wall in results)
    parallel_rate = added / max(w for _n, _cpu, w in results)
    cpu_rate = added / sum(c for _n, c, _w in results)
    figures["parallel_add_points_per_s_wall"] = parallel_rate
    figures["parallel_add_points_per_cpu_s"] = cpu_rate
    log(
        f"add in {CORES} processes at once: {parallel_rate:,.0f} points/s of wall time "
        f"(depends on what else runs), {cpu_rate:,.0f} per CPU second "
        f"({added:,} points, {wall:.1f} s with the processes' start)"
    )

    # Decrypting --------------------------------------------------------------------------
    summing = Tally(context)
    for ballot in ballots:
        summing.add(ballot)
    summed = summing.result()
    partial_ms = cpu_timed(lambda: partial_decrypt(share=shares[1], summed=summed), 20) * 1e3
    partials = [partial_decrypt(share=shares[i], summed=summed) for i in (1, 2)]
    check_ms = (
        cpu_timed(
            lambda: partial_verify(
                key=key,
                verification_key=public.verification_keys[1],
                summed=summed,
                partial=partials[0],
            ),
            20,
        )
        * 1e3
    )
    dlog = DiscreteLog()
    combine_ms = (
        cpu_timed(
            lambda: totals_decrypt(summed=summed, partials=partials, threshold=2, dlog=dlog), 20
        )
        * 1e3
    )
    figures.update(
        partial_decrypt_ms_per_commune=partial_ms,
        partial_check_ms_per_commune=check_ms,
        combine_ms_per_total=combine_ms / PROJECTS,
    )
    log(
        f"decrypt (k = 2), per 7-project commune: a commissioner's partial decryption "
        f"{partial_ms:.1f} ms, checking one {check_ms:.1f} ms, combining 2 and finding the "
        f"totals {combine_ms:.1f} ms ({combine_ms / PROJECTS:.2f} ms per total)"
    )

    # The verifier's core -----------------------------------------------------------------
    communes = max(1, args.verify_ballots // 200)
    per_commune = args.verify_ballots // communes
    log(f"building a round of {communes * per_commune} ballots for the verifier...")
    tasks = [
        (key.to_json(), commune_id, list(context.projects), per_commune, commune_id)
        for commune_id in range(1, communes + 1)
    ]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        made = dict(pool.map(_make_ballots, tasks))
    records = []
    for commune_id, stored in sorted(made.items()):
        commune_context = BallotContext.of(1, commune_id, context.projects)
        summing = Tally(commune_context)
        for data in stored:
            summing.add(Ballot.from_json({k: v for k, v in data.items() if k != "receipt"}))
        summed_commune = summing.result()
        commune_partials = [partial_decrypt(share=shares[i], summed=summed_commune) for i in (1, 2)]
        totals = totals_decrypt(
            summed=summed_commune, partials=commune_partials, threshold=2, dlog=dlog
        )
        records.append(
            CommuneRecord(
                commune_id,
                commune_context.projects,
                stored,
                summed_commune.to_json(),
                [p.to_json() for p in commune_partials],
                {str(p): v for p, v in totals.items()},
            )
        )
    before = _cpu_of_self_and_children()
    report = round_verify(public=public, communes=records, workers=args.workers)
    verifier_cpu = _cpu_of_self_and_children() - before
    if not report.ok:
        log("the verifier found disagreements in an honest round: " + str(report.disagreements[0]))
        return 1
    rate = report.ballots_per_second
    figures["verify_round_cpu_ms_per_ballot"] = verifier_cpu / report.ballots * 1e3
    log(
        f"verifier's CPU (its process and workers): {verifier_cpu:.1f} s, "
        f"{verifier_cpu / report.ballots * 1e3:.2f} ms a ballot"
    )
    figures.update(
        verify_round_ballots=report.ballots, verify_round_s=report.seconds, verify_round_rate=rate
    )
    log(
        f"verifier, {args.workers} processes: {report.ballots} ballots in {report.seconds:.1f} s "
        f"= {rate:.0f} ballots/s"
    )

    # Projections -------------------------------------------------------------------------
    online_ballots = NATIONAL["voters"] * NATIONAL["online_share"]
    mean_projects = NATIONAL["projects"] / NATIONAL["communes"]
    points_shared_r = online_ballots * (1 + mean_projects)
    points_separate_r = online_ballots * 2 * mean_projects
    readd_s = points_shared_r * per_point / CORES
    totals = NATIONAL["projects"]
    decrypt_s = totals * combine_ms / PROJECTS / 1e3 / CORES
    partial_checks_s = NATIONAL["communes"] * 2 * check_ms * mean_projects / PROJECTS / 1e3 / CORES
    figures.update(
        national_online_ballots=online_ballots,
        national_point_additions=points_shared_r,
        national_point_additions_separate_r=points_separate_r,
        national_readd_s_2_cores=readd_s,
        national_decrypt_s_2_cores=decrypt_s,
        national_partial_checks_s_2_cores=partial_checks_s,
    )
    log("")
    log(
        f"national round: {online_ballots:,.0f} online ballots, {mean_projects:.2f} projects "
        f"a commune on average"
    )
    log(
        f"  point additions at the count: {points_shared_r / 1e6:.1f} M with one C1 a ballot "
        f"({points_separate_r / 1e6:.1f} M with a C1 per project)"
    )
    log(
        f"  re-adding them at the count on {CORES} cores: {readd_s:.0f} s "
        f"(target {COUNT_TARGET_S} s) -> {'meets' if readd_s < COUNT_TARGET_S else 'misses'}"
    )
    log(
        f"  from running subtotals kept during the day, the count only decrypts: "
        f"{decrypt_s:.0f} s to combine and solve {totals:,} totals, plus {partial_checks_s:.0f} s "
        f"to check 2 commissioners' partial decryptions, on {CORES} cores"
    )
    add_at_vote_ms = (1 + PROJECTS) * per_point * 1e3
    for label, extra in (
        ("proofs made at the vote", encrypt * 1e3 + add_at_vote_ms),
        ("precomputed before the peak", at_vote * 1e3 + add_at_vote_ms),
    ):
        ceilings = [2000 / (today + extra) for today in VOTE_CPU_MS_TODAY]
        verdict = "meets" if min(ceilings) >= VOTES_TARGET else "misses"
        log(
            f"  vote bench ceiling, {label} (+{extra:.2f} ms CPU a vote, subtotal added): "
            f"{min(ceilings):.0f}-{max(ceilings):.0f} votes/s (target {VOTES_TARGET}) -> {verdict}"
        )
        key_name = "votes_ceiling_" + ("inline" if "vote" in label else "precomputed")
        figures[key_name] = [min(ceilings), max(ceilings)]
    verify_100k = VERIFY_BALLOTS / rate
    verify_100k_cpu = VERIFY_BALLOTS * figures["verify_round_cpu_ms_per_ballot"] / 1e3 / CORES
    figures["verify_100k_s_measured_rate"] = verify_100k
    figures["verify_100k_s_2_free_cores"] = verify_100k_cpu
    log(
        f"  verifier on {VERIFY_BALLOTS:,} ballots: {verify_100k:.0f} s at the rate measured "
        f"above, {verify_100k_cpu:.0f} s on {CORES} free cores at the verifier's "
        f"{figures['verify_round_cpu_ms_per_ballot']:.1f} ms CPU a ballot "
        f"(target {VERIFY_TARGET_S} s) -> "
        f"{'meets' if verify_100k_cpu < VERIFY_TARGET_S else 'misses'}; "
        f"free cores needed: {verify_100k_cpu * CORES / VERIFY_TARGET_S:.1f}"
    )
    budget = VERIFY_TARGET_S * CORES - VERIFY_BALLOTS * unsampled
    fits = max(0, min(VERIFY_BALLOTS, int(budget / max(verify - unsampled, 1e-9))))
    figures["verify_100k_sample_fitting_120s"] = fits
    log(
        f"  on {CORES} free cores, checking the proofs of a sample of {fits:,} of the "
        f"{VERIFY_BALLOTS:,} ballots (and reading, hashing and adding all of them) fits in "
        f"{VERIFY_TARGET_S} s; 10 invalid ballots would all escape it with probability "
        f"{(1 - fits / VERIFY_BALLOTS) ** 10:.1%}"
    )
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log(f"peak memory of this process: {figures['peak_rss_mb']:.0f} MB")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
