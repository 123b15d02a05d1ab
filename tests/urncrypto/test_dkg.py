"""The commissioners make the round's key among themselves: no dealer, k of n; a cheating
dealer, a replayed or altered share, a wrong proof or signature are caught and named."""

import dataclasses

import pytest
from nacl.public import PublicKey, SealedBox

from urncrypto import dkg, group
from urncrypto.ballot import BallotContext
from urncrypto.errors import MalformedInput, ProofRejected, ShareRejected, UrnCryptoError
from urncrypto.tally import partial_decrypt, partial_verify, totals_decrypt

from ..builders.urncrypto import make_round, random_choices, summed_of

CONTEXT = BallotContext.of(7, 41, [301, 302, 303])


def _resigned(contribution, secret: dkg.CommissionerSecret, **changes):
    """A contribution changed by its own dealer and signed again (a cheating dealer)."""
    changed = dataclasses.replace(contribution, signature=b"", **changes)
    return dataclasses.replace(changed, signature=secret.sign(changed.signed_bytes()))


def _count(rnd, indices, choices):
    summed = summed_of(rnd.key, CONTEXT, choices)
    partials = []
    for index in indices:
        partial = partial_decrypt(share=rnd.shares[index], summed=summed)
        partial_verify(
            key=rnd.key,
            verification_key=rnd.public.verification_keys[index],
            summed=summed,
            partial=partial,
        )
        partials.append(partial)
    return totals_decrypt(summed=summed, partials=partials, threshold=rnd.ceremony.threshold)


def test_one_of_one_is_the_same_code_path():
    rnd = make_round(commissioners=1, threshold=1, slots=3)
    assert rnd.public.qualified == (1,)
    assert _count(rnd, [1], [301, 303, 303]) == {301: 1, 302: 0, 303: 2}


def test_every_commissioners_share_matches_the_verification_key_from_public_commitments():
    rnd = make_round(commissioners=4, threshold=3, slots=3)
    for index, share in rnd.shares.items():
        assert share.verification_key == rnd.public.verification_keys[index]
    # Everyone derives the same public key from the commitments alone.
    again = dkg.public_result(rnd.ceremony, list(reversed(rnd.contributions)))
    assert again.key == rnd.key
    choices = random_choices(CONTEXT, 25, seed=3)
    expected = {p: choices.count(p) for p in CONTEXT.projects}
    assert _count(rnd, [1, 2, 4], choices) == expected
    assert _count(rnd, [2, 3, 4], choices) == expected


def test_the_key_is_the_sum_of_every_dealers_secret_and_no_one_holds_it():
    rnd = make_round(commissioners=3, threshold=2, slots=2)
    # The dealers' constant terms add up to the key; each alone is a different point.
    for s in range(2):
        constants = [d.coefficients[s][0] for d in rnd.dealer_secrets]
        total = group.ZERO
        for a in constants:
            total = group.scalar_add(total, a)
        assert group.base_mul(total) == rnd.key.slots[s]
        assert all(group.base_mul(a) != rnd.key.slots[s] for a in constants)
        # No commissioner's share is the key.
        assert all(share.secrets[s] != total for share in rnd.shares.values())


def test_a_cheating_dealer_is_caught_by_the_commissioner_it_cheated():
    rnd = make_round(commissioners=3, threshold=2, slots=3)
    dealer, victim = rnd.secrets[0], rnd.secrets[2]
    wrong = [group.scalar_random() for _slot in range(3)]
    plaintext = dkg._share_plaintext(rnd.ceremony, dealer.index, victim.index, wrong)
    box = SealedBox(PublicKey(victim.public().encryption_key)).encrypt(plaintext)
    shares = tuple((j, box if j == victim.index else b) for j, b in rnd.contributions[0].shares)
    cheating = _resigned(rnd.contributions[0], dealer, shares=shares)
    contributions = [cheating, *rnd.contributions[1:]]
    # Everything public about it still checks: only the victim can tell.
    dkg.contribution_check(rnd.ceremony, cheating)
    dkg.share_open(rnd.ceremony, rnd.secrets[1], cheating)
    with pytest.raises(ShareRejected) as refused:
        dkg.key_share_combine(rnd.ceremony, victim, contributions)
    assert refused.value.code == "share_mismatch"
    assert refused.value.context["dealer"] == dealer.index

    # The victim complains; the dealer's answer reveals the bad share, and the dealer is out.
    complaint = dkg.complaint_make(rnd.ceremony, victim, dealer.index)
    answer = dkg.complaint_answer(
        rnd.ceremony, dealer, dataclasses.replace(rnd.dealer_secrets[0]), complaint
    )
    bad_answer = dataclasses.replace(answer, values=tuple(wrong), signature=b"")
    bad_answer = dataclasses.replace(bad_answer, signature=dealer.sign(bad_answer.signed_bytes()))
    assert dkg.complaint_judge(rnd.ceremony, cheating, complaint, bad_answer) == "dealer"
    assert dkg.complaint_judge(rnd.ceremony, cheating, complaint, None) == "dealer"

    # Without the disqualified dealer, everyone's share still matches the key, which counts.
    kept = {}
    for secret in rnd.secrets:
        share, public = dkg.key_share_combine(
            rnd.ceremony, secret, contributions, disqualified=[dealer.index]
        )
        kept[secret.index] = share
    assert public.qualified == (2, 3)
    rest = dataclasses.replace(rnd, public=public, shares=kept)
    assert _count(rest, [1, 3], [301, 302, 302]) == {301: 1, 302: 2, 303: 0}


def test_an_unfounded_complaint_is_judged_against_the_accuser():
    rnd = make_round(commissioners=3, threshold=2, slots=2)
    liar, dealer = rnd.secrets[1], rnd.secrets[0]
    complaint = dkg.complaint_make(rnd.ceremony, liar, dealer.index)
    answer = dkg.complaint_answer(rnd.ceremony, dealer, rnd.dealer_secrets[0], complaint)
    assert dkg.complaint_judge(rnd.ceremony, rnd.contributions[0], complaint, answer) == "accuser"
    # The accuser can build their share from the revealed values.
    share, _public = dkg.key_share_combine(
        rnd.ceremony, liar, rnd.contributions, revealed={dealer.index: answer.values}
    )
    assert share == rnd.shares[liar.index]


def test_an_answer_signed_by_someone_else_disqualifies_the_dealer():
    rnd = make_round(commissioners=3, threshold=2, slots=2)
    complaint = dkg.complaint_make(rnd.ceremony, rnd.secrets[1], 1)
    answer = dkg.complaint_answer(rnd.ceremony, rnd.secrets[0], rnd.dealer_secrets[0], complaint)
    forged = dataclasses.replace(answer, signature=rnd.secrets[2].sign(answer.signed_bytes()))
    assert dkg.complaint_judge(rnd.ceremony, rnd.contributions[0], complaint, forged) == "dealer"


def test_a_share_replayed_from_another_ceremony_is_refused():
    first = make_round(round_id=7, commissioners=2, threshold=2, slots=2)
    # The same commissioners' keys in the next round's ceremony.
    ceremony = dkg.Ceremony(8, 2, 2, first.ceremony.commissioners)
    dealer, victim = first.secrets[0], first.secrets[1]
    fresh, _secret = dkg.contribution_make(ceremony, dealer)
    old_box = first.contributions[0].share_for(victim.index)
    shares = tuple((j, old_box if j == victim.index else b) for j, b in fresh.shares)
    # Relayed by a server that swapped the box: the dealer's signature no longer holds.
    swapped = dataclasses.replace(fresh, shares=shares)
    with pytest.raises(ProofRejected) as refused:
        dkg.share_open(ceremony, victim, swapped)
    assert refused.value.code == "signature_invalid"
    # Signed again by the dealer (a cheating or confused dealer): the box names the old ceremony.
    with pytest.raises(ShareRejected) as refused:
        dkg.share_open(ceremony, victim, _resigned(fresh, dealer, shares=shares))
    assert refused.value.code == "share_replayed"
    assert refused.value.context["dealer"] == dealer.index


def test_a_share_sealed_to_another_commissioner_does_not_open():
    rnd = make_round(commissioners=3, threshold=2, slots=2)
    dealer = rnd.secrets[0]
    box_for_2 = rnd.contributions[0].share_for(2)
    shares = tuple((j, box_for_2 if j == 3 else b) for j, b in rnd.contributions[0].shares)
    with pytest.raises(ShareRejected) as refused:
        dkg.share_open(
            rnd.ceremony, rnd.secrets[2], _resigned(rnd.contributions[0], dealer, shares=shares)
        )
    assert refused.value.code == "share_undecryptable"


def test_a_share_meant_for_another_commissioner_is_refused_as_replayed():
    rnd = make_round(commissioners=3, threshold=2, slots=2)
    dealer, victim = rnd.secrets[0], rnd.secrets[2]
    values = rnd.dealer_secrets[0].shares_for(2)
    plaintext = dkg._share_plaintext(rnd.ceremony, dealer.index, 2, values)
    box = SealedBox(PublicKey(victim.public().encryption_key)).encrypt(plaintext)
    shares = tuple((j, box if j == 3 else b) for j, b in rnd.contributions[0].shares)
    with pytest.raises(ShareRejected) as refused:
        dkg.share_open(rnd.ceremony, victim, _resigned(rnd.contributions[0], dealer, shares=shares))
    assert refused.value.code == "share_replayed"


def test_a_constant_term_chosen_to_cancel_the_others_has_no_valid_proof():
    rnd = make_round(commissioners=2, threshold=1, slots=1)
    # Dealer 2 would like the key to be a point it knows the logarithm of: its constant term
    # would be a·G - A_1, whose logarithm it does not know, so it cannot prove it.
    a = group.scalar_random()
    rogue = group.sub(group.base_mul(a), rnd.contributions[0].commitments[0][0])
    cheat = _resigned(rnd.contributions[1], rnd.secrets[1], commitments=((rogue,),))
    with pytest.raises(ProofRejected) as refused:
        dkg.public_result(rnd.ceremony, [rnd.contributions[0], cheat])
    assert refused.value.code == "proof_invalid"
    assert refused.value.context["dealer"] == 2


def test_an_altered_contribution_fails_its_signature():
    rnd = make_round(commissioners=2, threshold=2, slots=1)
    row = rnd.contributions[0].commitments[0]
    altered = dataclasses.replace(
        rnd.contributions[0], commitments=((row[0], group.add(row[1], group.BASE)),)
    )
    with pytest.raises(ProofRejected) as refused:
        dkg.contribution_check(rnd.ceremony, altered)
    assert refused.value.code == "signature_invalid"


def test_commitments_outside_the_group_are_refused():
    from ..builders.urncrypto import ORDER_8

    rnd = make_round(commissioners=2, threshold=2, slots=1)
    row = rnd.contributions[0].commitments[0]
    bad = _resigned(
        rnd.contributions[0], rnd.secrets[0], commitments=((row[0], group.add(row[1], ORDER_8)),)
    )
    with pytest.raises(MalformedInput) as refused:
        dkg.contribution_check(rnd.ceremony, bad)
    assert refused.value.code == "point_invalid"


def test_a_contribution_with_the_wrong_degree_is_refused():
    rnd = make_round(commissioners=2, threshold=2, slots=1)
    bad = _resigned(
        rnd.contributions[0], rnd.secrets[0], commitments=(rnd.contributions[0].commitments[0][:1],)
    )
    with pytest.raises(MalformedInput):
        dkg.contribution_check(rnd.ceremony, bad)


def test_a_missing_or_doubled_contribution_is_refused():
    rnd = make_round(commissioners=3, threshold=2, slots=1)
    with pytest.raises(UrnCryptoError) as refused:
        dkg.public_result(rnd.ceremony, rnd.contributions[:2])
    assert refused.value.code == "missing_contribution"
    with pytest.raises(UrnCryptoError) as refused:
        dkg.public_result(rnd.ceremony, [*rnd.contributions, rnd.contributions[0]])
    assert refused.value.code == "duplicate"


def test_a_contribution_for_another_ceremony_is_refused():
    rnd = make_round(commissioners=2, threshold=2, slots=1)
    other = dkg.Ceremony(9, 2, 1, rnd.ceremony.commissioners)
    with pytest.raises(UrnCryptoError) as refused:
        dkg.contribution_check(other, rnd.contributions[0])
    assert refused.value.code == "wrong_context"


@pytest.mark.parametrize("threshold", [0, 4, True])
def test_an_impossible_threshold_is_refused(threshold):
    keys = tuple(dkg.commissioner_keygen(i).public() for i in (1, 2, 3))
    with pytest.raises(UrnCryptoError) as refused:
        dkg.Ceremony(7, threshold, 2, keys)
    assert refused.value.code == "threshold_invalid"


def test_a_commissioner_not_in_the_ceremony_cannot_contribute():
    rnd = make_round(commissioners=2, threshold=1, slots=1)
    stranger = dkg.commissioner_keygen(5)
    with pytest.raises(UrnCryptoError) as refused:
        dkg.contribution_make(rnd.ceremony, stranger)
    assert refused.value.code == "unknown_commissioner"
    impostor = dkg.commissioner_keygen(1)  # index 1, but not the keys the ceremony lists
    with pytest.raises(UrnCryptoError) as refused:
        dkg.contribution_make(rnd.ceremony, impostor)
    assert refused.value.code == "wrong_context"


def test_everything_round_trips_through_json():
    rnd = make_round(commissioners=2, threshold=2, slots=2)
    assert dkg.Ceremony.from_json(rnd.ceremony.to_json()) == rnd.ceremony
    for contribution in rnd.contributions:
        assert dkg.Contribution.from_json(contribution.to_json()) == contribution
    assert dkg.PublicResult.from_json(rnd.public.to_json()) == rnd.public
    assert dkg.DealerSecret.from_json(rnd.dealer_secrets[0].to_json()) == rnd.dealer_secrets[0]
    secret = rnd.secrets[0]
    assert dkg.CommissionerSecret.from_json(secret.to_json()) == secret
    complaint = dkg.complaint_make(rnd.ceremony, rnd.secrets[1], 1)
    assert dkg.Complaint.from_json(complaint.to_json()) == complaint


def test_a_ceremony_whose_digest_does_not_match_is_refused():
    rnd = make_round(commissioners=2, threshold=2, slots=2)
    data = rnd.ceremony.to_json()
    data["threshold"] = 1
    with pytest.raises(UrnCryptoError) as refused:
        dkg.Ceremony.from_json(data)
    assert refused.value.code == "wrong_context"


@pytest.mark.parametrize(
    "change",
    [
        {"dealer": 0},
        {"shares": {"01": "AAAA"}},
        {"commitments": "x"},
        {"proofs": [["a"]]},
        {"signature": "AAAA"},
    ],
)
def test_a_malformed_contribution_is_refused(change):
    rnd = make_round(commissioners=2, threshold=1, slots=1)
    with pytest.raises(MalformedInput):
        dkg.Contribution.from_json({**rnd.contributions[0].to_json(), **change})
