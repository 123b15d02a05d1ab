"""The count: encryptions added per project, only totals decrypted, from any k of the n
commissioners' proven partial decryptions; k - 1 of them decrypt nothing."""

import dataclasses
import itertools
from collections import Counter

import pytest

from urncrypto import group
from urncrypto.ballot import BallotContext
from urncrypto.errors import MalformedInput, ProofRejected, UrnCryptoError
from urncrypto.tally import (
    DiscreteLog,
    KeyShare,
    PartialDecryption,
    SummedBallots,
    Tally,
    combine,
    partial_decrypt,
    partial_verify,
    tally,
    totals_decrypt,
)

from ..builders.urncrypto import cast, make_round, random_choices

CONTEXT = BallotContext.of(7, 41, [301, 302, 303, 304, 305])


@pytest.fixture(scope="module")
def round_3_of_5():
    return make_round(commissioners=5, threshold=3, slots=7)


@pytest.fixture(scope="module")
def counted(round_3_of_5):
    choices = random_choices(CONTEXT, 60, seed=14)
    ballots = cast(round_3_of_5.key, CONTEXT, choices)
    summed = tally(CONTEXT, ballots)
    partials = {
        index: partial_decrypt(share=share, summed=summed)
        for index, share in round_3_of_5.shares.items()
    }
    return choices, ballots, summed, partials


def _expected(choices):
    counts = Counter(choices)
    return {project: counts[project] for project in CONTEXT.projects}


def test_every_set_of_k_commissioners_gives_the_totals(round_3_of_5, counted):
    choices, _ballots, summed, partials = counted
    for index, partial in partials.items():
        partial_verify(
            key=round_3_of_5.key,
            verification_key=round_3_of_5.public.verification_keys[index],
            summed=summed,
            partial=partial,
        )
    for chosen in itertools.combinations(sorted(partials), 3):
        totals = totals_decrypt(summed=summed, partials=[partials[i] for i in chosen], threshold=3)
        assert totals == _expected(choices), chosen


def test_k_minus_one_commissioners_cannot_decrypt(round_3_of_5, counted):
    _choices, _ballots, summed, partials = counted
    two = [partials[1], partials[4]]
    with pytest.raises(UrnCryptoError) as refused:
        totals_decrypt(summed=summed, partials=two, threshold=3)
    assert refused.value.code == "not_enough_partials"
    # Interpolating two shares as if the threshold were two gives nothing near the totals: the
    # result is not a small multiple of G.
    with pytest.raises(UrnCryptoError) as refused:
        totals_decrypt(summed=summed, partials=two, threshold=2)
    assert refused.value.code == "total_out_of_range"


def test_the_key_is_never_rebuilt_only_x_times_the_sum(round_3_of_5, counted):
    # What combining yields is t·G per project: with all five shares too.
    choices, _ballots, summed, partials = counted
    points = combine(summed=summed, partials=list(partials.values()), threshold=3)
    expected = _expected(choices)
    for project, point in zip(CONTEXT.projects, points, strict=True):
        assert point == group.base_mul(group.scalar_from_int(expected[project]))


def test_a_project_nobody_chose_decrypts_to_zero(round_3_of_5):
    choices = [301] * 4
    summed = tally(CONTEXT, cast(round_3_of_5.key, CONTEXT, choices))
    partials = [partial_decrypt(share=round_3_of_5.shares[i], summed=summed) for i in (2, 3, 5)]
    assert totals_decrypt(summed=summed, partials=partials, threshold=3) == {
        301: 4,
        302: 0,
        303: 0,
        304: 0,
        305: 0,
    }


def test_a_commune_with_no_ballots_decrypts_to_zeros(round_3_of_5):
    summed = Tally(CONTEXT).result()
    assert summed.c1 == group.IDENTITY
    partials = [partial_decrypt(share=round_3_of_5.shares[i], summed=summed) for i in (1, 2, 3)]
    assert set(totals_decrypt(summed=summed, partials=partials, threshold=3).values()) == {0}


def test_a_tampered_partial_decryption_is_refused(round_3_of_5, counted):
    _choices, _ballots, summed, partials = counted
    partial = partials[2]
    vk = round_3_of_5.public.verification_keys[2]
    shares = list(partial.shares)
    shares[1] = group.add(shares[1], group.BASE)  # would add one vote to project 302
    bad = [
        dataclasses.replace(partial, shares=tuple(shares)),
        dataclasses.replace(
            partial,
            proofs=(
                dataclasses.replace(
                    partial.proofs[0], z=group.scalar_add(partial.proofs[0].z, group.ONE)
                ),
                *partial.proofs[1:],
            ),
        ),
    ]
    for partial_bad in bad:
        with pytest.raises(ProofRejected) as refused:
            partial_verify(
                key=round_3_of_5.key, verification_key=vk, summed=summed, partial=partial_bad
            )
        assert refused.value.code == "proof_invalid"


def test_a_partial_decryption_claimed_for_another_commissioner_is_refused(round_3_of_5, counted):
    _choices, _ballots, summed, partials = counted
    stolen = dataclasses.replace(partials[2], index=3)
    with pytest.raises(ProofRejected):
        partial_verify(
            key=round_3_of_5.key,
            verification_key=round_3_of_5.public.verification_keys[3],
            summed=summed,
            partial=stolen,
        )


def test_a_partial_decryption_of_another_sum_is_refused(round_3_of_5, counted):
    _choices, ballots, summed, partials = counted
    smaller = tally(CONTEXT, ballots[:-1])
    with pytest.raises(ProofRejected):
        partial_verify(
            key=round_3_of_5.key,
            verification_key=round_3_of_5.public.verification_keys[2],
            summed=smaller,
            partial=partials[2],
        )
    other_commune = dataclasses.replace(summed, context=BallotContext.of(7, 99, CONTEXT.projects))
    with pytest.raises(UrnCryptoError) as refused:
        partial_verify(
            key=round_3_of_5.key,
            verification_key=round_3_of_5.public.verification_keys[2],
            summed=other_commune,
            partial=partials[2],
        )
    assert refused.value.code == "wrong_context"


def test_the_same_commissioner_twice_does_not_count_as_two(round_3_of_5, counted):
    _choices, _ballots, summed, partials = counted
    with pytest.raises(UrnCryptoError) as refused:
        combine(summed=summed, partials=[partials[1], partials[1], partials[2]], threshold=3)
    assert refused.value.code == "duplicate"


def test_adding_in_shards_gives_the_same_sum(round_3_of_5, counted):
    _choices, ballots, summed, _partials = counted
    merged = Tally(CONTEXT)
    for start in range(0, len(ballots), 7):
        merged.add_summed(tally(CONTEXT, ballots[start : start + 7]))
    assert merged.result() == summed
    by_payload = Tally(CONTEXT)
    for ballot in ballots:
        by_payload.add_payload(ballot.payload_bytes())
    assert by_payload.result() == summed


def test_a_ballot_of_another_commune_cannot_be_added(round_3_of_5, counted):
    _choices, ballots, _summed, _partials = counted
    elsewhere = Tally(BallotContext.of(7, 42, CONTEXT.projects))
    with pytest.raises(UrnCryptoError) as refused:
        elsewhere.add(ballots[0])
    assert refused.value.code == "wrong_context"


@pytest.mark.parametrize("table_size", [1, 3, 16, 4096])
def test_the_discrete_log_finds_every_total_up_to_its_bound(table_size):
    dlog = DiscreteLog(table_size)
    for t in [0, 1, 2, 15, 16, 17, 47, 48]:
        assert dlog.solve(group.base_mul(group.scalar_from_int(t)), 48) == t


def test_a_total_above_the_number_of_ballots_is_refused():
    with pytest.raises(UrnCryptoError) as refused:
        DiscreteLog(16).solve(group.base_mul(group.scalar_from_int(49)), 48)
    assert refused.value.code == "total_out_of_range"


def test_sums_and_partials_round_trip_through_json(counted):
    _choices, _ballots, summed, partials = counted
    assert SummedBallots.from_json(summed.to_json()) == summed
    assert PartialDecryption.from_json(partials[1].to_json()) == partials[1]


def test_a_key_share_round_trips_through_json(round_3_of_5):
    share = round_3_of_5.shares[4]
    assert KeyShare.from_json(share.to_json()) == share
    with pytest.raises(MalformedInput):
        KeyShare.from_json({**share.to_json(), "kind": "something else"})


def test_a_malformed_partial_decryption_is_refused(counted):
    _choices, _ballots, _summed, partials = counted
    data = partials[1].to_json()
    for change in (
        {"index": 0},
        {"d": data["d"][:-1]},
        {"proofs": [["x"]]},
        {"d": ["not base64!"] * len(data["d"])},
    ):
        with pytest.raises(MalformedInput):
            PartialDecryption.from_json({**data, **change})
