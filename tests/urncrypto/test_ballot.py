"""A ballot: one encryption per project, each proven 0 or 1, the whole proven to sum to one,
bound to its round, commune, project order and key; and its receipt."""

import dataclasses

import pytest

from urncrypto import group
from urncrypto.ballot import (
    Ballot,
    BallotContext,
    RoundKey,
    ballot_encrypt,
    ballot_precompute,
    ballot_verify,
)
from urncrypto.errors import MalformedInput, ProofRejected, UrnCryptoError
from urncrypto.proofs import BitProof, Proof, bit_prove

from ..builders.urncrypto import ORDER_8

CONTEXT = BallotContext.of(7, 41, [305, 301, 303, 302, 304, 306, 307])


@pytest.fixture(scope="module")
def key(round_2_of_3):
    return round_2_of_3.key


@pytest.fixture(scope="module")
def ballot(key):
    return ballot_encrypt(key=key, context=CONTEXT, choice=303)


def test_a_ballot_for_each_project_verifies(key):
    for project in CONTEXT.projects:
        ballot_verify(key, ballot_encrypt(key=key, context=CONTEXT, choice=project), CONTEXT)


def test_projects_are_taken_in_ascending_id_order_whatever_order_they_come_in():
    assert CONTEXT.projects == (301, 302, 303, 304, 305, 306, 307)
    with pytest.raises(MalformedInput):
        BallotContext(7, 41, (302, 301))
    with pytest.raises(MalformedInput):
        BallotContext(7, 41, (301, 301))


def test_a_ballot_for_a_project_not_on_the_communes_ballot_is_refused(key):
    with pytest.raises(UrnCryptoError) as refused:
        ballot_encrypt(key=key, context=CONTEXT, choice=999)
    assert refused.value.code == "not_on_ballot"


def test_more_projects_than_the_keys_slots_are_refused(key):
    too_many = BallotContext.of(7, 41, range(1, len(key.slots) + 2))
    with pytest.raises(UrnCryptoError) as refused:
        ballot_encrypt(key=key, context=too_many, choice=1)
    assert refused.value.code == "too_many_projects"


def test_two_ballots_for_the_same_project_look_unrelated(key):
    one = ballot_encrypt(key=key, context=CONTEXT, choice=301)
    other = ballot_encrypt(key=key, context=CONTEXT, choice=301)
    assert one.c1 != other.c1
    assert not set(one.c2) & set(other.c2)
    assert one.receipt != other.receipt


def test_the_ballot_round_trips_through_json_bytes_and_the_stored_payload(ballot):
    assert Ballot.from_json(ballot.to_json()) == ballot
    assert Ballot.from_bytes(ballot.to_bytes()) == ballot
    assert Ballot.from_payload(CONTEXT, ballot.payload_bytes()) == ballot
    assert len(ballot.payload_bytes()) == 32 * 8 + 128 * 7 + 64


def test_the_receipt_is_the_hash_of_the_canonical_bytes_context_included(ballot):
    import base64
    import hashlib

    digest = hashlib.blake2b(ballot.to_bytes(), digest_size=16).digest()
    assert ballot.receipt == base64.b32encode(digest).decode().rstrip("=")
    assert len(ballot.receipt) == 26
    moved = dataclasses.replace(ballot, context=BallotContext.of(7, 42, CONTEXT.projects))
    assert moved.receipt != ballot.receipt


def test_a_published_receipt_that_is_not_the_ballots_own_is_refused(ballot):
    data = ballot.to_json()
    data["receipt"] = "A" * 26
    with pytest.raises(UrnCryptoError) as refused:
        Ballot.from_json(data)
    assert refused.value.code == "wrong_context"


def _scalar_plus_one(s: bytes) -> bytes:
    return group.scalar_add(s, group.ONE)


def _tampered_ballots(ballot):
    """Every value of the ballot changed in turn."""
    yield "c1", dataclasses.replace(ballot, c1=group.add(ballot.c1, group.BASE))
    for s in range(len(ballot.c2)):
        c2 = list(ballot.c2)
        c2[s] = group.add(c2[s], group.BASE)
        yield f"c2[{s}]", dataclasses.replace(ballot, c2=tuple(c2))
        for name in ("e0", "e1", "z0", "z1"):
            bits = list(ballot.bits)
            bits[s] = dataclasses.replace(
                bits[s], **{name: _scalar_plus_one(getattr(bits[s], name))}
            )
            yield f"bits[{s}].{name}", dataclasses.replace(ballot, bits=tuple(bits))
    for name in ("e", "z"):
        total = dataclasses.replace(
            ballot.total, **{name: _scalar_plus_one(getattr(ballot.total, name))}
        )
        yield f"sum.{name}", dataclasses.replace(ballot, total=total)
    c2 = list(ballot.c2)
    c2[0], c2[1] = c2[1], c2[0]
    yield "c2 swapped", dataclasses.replace(ballot, c2=tuple(c2))


def test_every_proof_rejects_every_tampered_value(key, ballot):
    tampered = list(_tampered_ballots(ballot))
    assert len(tampered) == 1 + 7 * 5 + 2 + 1
    for what, bad in tampered:
        with pytest.raises(ProofRejected) as refused:
            ballot_verify(key, bad)
        assert refused.value.code == "proof_invalid", what


def test_a_point_with_a_small_order_component_is_refused_before_any_proof(key, ballot):
    bad = dataclasses.replace(ballot, c1=group.add(ballot.c1, ORDER_8))
    with pytest.raises(MalformedInput) as refused:
        ballot_verify(key, bad)
    assert refused.value.code == "point_invalid"


@pytest.mark.parametrize(
    "elsewhere",
    [
        BallotContext.of(7, 42, CONTEXT.projects),  # another commune, same project ids
        BallotContext.of(8, 41, CONTEXT.projects),  # another round
        BallotContext.of(7, 41, [*CONTEXT.projects[:-1], 308]),  # another project list
    ],
)
def test_a_ballot_replayed_into_another_commune_or_round_fails(key, ballot, elsewhere):
    replayed = dataclasses.replace(ballot, context=elsewhere)
    if elsewhere.round_id != key.round_id:
        other_key = RoundKey(elsewhere.round_id, key.slots)
        with pytest.raises(ProofRejected):
            ballot_verify(other_key, replayed)
    else:
        with pytest.raises(ProofRejected):
            ballot_verify(key, replayed)
    with pytest.raises(UrnCryptoError) as refused:
        ballot_verify(key, ballot, elsewhere)
    assert refused.value.code == "wrong_context"


def test_a_ballot_made_under_another_key_fails(key, ballot):
    other = RoundKey(key.round_id, tuple(reversed(key.slots)))
    with pytest.raises(ProofRejected):
        ballot_verify(other, ballot)


def _forged(key, context, marks):
    """A cheater's ballot encrypting ``marks`` with honest-looking proofs where it can."""
    from urncrypto.ballot import _sum_transcript, _transcript
    from urncrypto.proofs import dleq_prove

    r = group.scalar_random()
    c1 = group.base_mul(r)
    c2 = tuple(
        group.add(group.mul(r, h), group.base_mul(group.scalar_from_int(m)))
        for h, m in zip(key.slots, marks, strict=False)
    )
    t = _transcript(key, context, c1, c2)
    bits = tuple(
        bit_prove(t.copy().append_int("slot", s), c1, c2[s], key.slots[s], r, min(m, 1))
        for s, m in enumerate(marks)
    )
    acc = group.Accumulator()
    for point in c2:
        acc.add(point)
    d = group.sub(acc.value, group.BASE)
    total = dleq_prove(_sum_transcript(t), c1, key.prefix_sums[len(marks)], d, r)
    return Ballot(context, c1, c2, bits, total)


def test_the_honest_forger_helper_makes_valid_ballots(key):
    ballot_verify(key, _forged(key, CONTEXT, [0, 0, 1, 0, 0, 0, 0]))


def test_a_ballot_voting_for_two_projects_fails_the_sum_proof(key):
    with pytest.raises(ProofRejected) as refused:
        ballot_verify(key, _forged(key, CONTEXT, [1, 1, 0, 0, 0, 0, 0]))
    assert refused.value.context["slot"] == "sum"


def test_a_blank_ballot_fails_the_sum_proof(key):
    with pytest.raises(ProofRejected):
        ballot_verify(key, _forged(key, CONTEXT, [0] * 7))


def test_a_ballot_giving_two_votes_to_one_project_fails_its_bit_proof(key):
    with pytest.raises(ProofRejected) as refused:
        ballot_verify(key, _forged(key, CONTEXT, [2, 0, 0, 0, 0, 0, 0]))
    assert refused.value.context["slot"] == 0


def test_a_ballot_with_minus_one_and_two_fails_even_though_it_sums_to_one(key):
    minus_one = group.L - 1
    with pytest.raises(ProofRejected) as refused:
        ballot_verify(key, _forged(key, CONTEXT, [2, minus_one, 0, 0, 0, 0, 0]))
    assert refused.value.context["slot"] == 0


def test_a_precomputed_ballot_verifies_and_serves_once(key):
    pre = ballot_precompute(key, len(CONTEXT.projects))
    ballot_verify(key, ballot_encrypt(key=key, context=CONTEXT, choice=307, precomputed=pre))
    with pytest.raises(UrnCryptoError) as refused:
        ballot_encrypt(key=key, context=CONTEXT, choice=301, precomputed=pre)
    assert refused.value.code == "precomputation_used"


def test_precomputation_for_another_number_of_projects_is_refused(key):
    pre = ballot_precompute(key, 3)
    with pytest.raises(UrnCryptoError) as refused:
        ballot_encrypt(key=key, context=CONTEXT, choice=301, precomputed=pre)
    assert refused.value.code == "wrong_context"


def test_a_one_project_ballot_works(key):
    single = BallotContext.of(7, 41, [301])
    ballot_verify(key, ballot_encrypt(key=key, context=single, choice=301))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("c1"),
        lambda d: d.update(c2=d["c2"][:-1]),
        lambda d: d.update(bits=d["bits"][:-1]),
        lambda d: d.update(sum=[d["sum"][0]]),
        lambda d: d.update(commune=-1),
        lambda d: d.update(round=True),
        lambda d: d.update(projects="301"),
        lambda d: d.update(c1=d["c1"] + "A"),
        lambda d: d["bits"][0].__setitem__(0, group.b64(group.L.to_bytes(32, "little"))),
    ],
)
def test_malformed_ballots_are_refused_as_malformed(ballot, change):
    data = ballot.to_json()
    data.pop("receipt")
    change(data)
    with pytest.raises(MalformedInput):
        Ballot.from_json(data)


def test_bytes_of_another_length_are_refused(ballot):
    with pytest.raises(MalformedInput):
        Ballot.from_bytes(ballot.to_bytes()[:-1])
    with pytest.raises(MalformedInput):
        Ballot.from_payload(CONTEXT, ballot.payload_bytes() + b"\0")


def test_proof_objects_refuse_non_canonical_scalars():
    with pytest.raises(MalformedInput):
        Proof.from_scalars(group.L.to_bytes(32, "little"), group.ZERO)
    with pytest.raises(MalformedInput):
        BitProof.from_scalars(group.ZERO, group.ZERO, group.ZERO, b"short")
