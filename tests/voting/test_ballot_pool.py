"""Each process keeps precomputed ballots ready (voting.urn): a vote takes one, never one twice,
and makes its own when the pool is empty; the pool refills itself while no vote comes."""

import time

from urncrypto import BallotContext, RoundKey, UrnCryptoError, ballot_encrypt, ballot_verify, group
from voting import urn


def _key(round_id=77, slots=4) -> RoundKey:
    return RoundKey.checked(round_id, [group.base_mul(group.scalar_random()) for _ in range(slots)])


def test_a_vote_takes_a_precomputed_ballot_once_then_makes_its_own(settings):
    settings.URN_POOL_SIZE = 0  # no refilling thread in this test
    urn.pool_forget()
    key = _key()
    assert urn.pool_fill(key, [3], 2) == 2
    assert urn.pool_sizes() == {3: 2}
    taken = [urn.precomputation_take(key, 3) for _ in range(3)]
    assert urn.pool_sizes() == {3: 0}
    assert len({id(pre) for pre in taken}) == 3
    assert len({pre.r for pre in taken}) == 3  # fresh randomness each, the pool's and the own
    context = BallotContext.of(77, 5, [11, 12, 13])
    ballot = ballot_encrypt(key=key, context=context, choice=12, precomputed=taken[0])
    ballot_verify(key=key, ballot=ballot)
    try:
        ballot_encrypt(key=key, context=context, choice=11, precomputed=taken[0])
    except UrnCryptoError as error:
        assert error.code == "precomputation_used"
    else:
        raise AssertionError("a precomputed ballot was used twice")
    urn.pool_forget()


def test_the_pool_refills_while_no_vote_comes(settings):
    settings.URN_POOL_SIZE = 3
    urn.pool_forget()
    key = _key(round_id=78)
    urn.precomputation_take(key, 2)  # the first vote of this length: the pool is wanted now
    deadline = time.monotonic() + 20
    while urn.pool_sizes().get(2, 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert urn.pool_sizes()[2] == 3  # filled up to the size, no further
    time.sleep(0.3)
    assert urn.pool_sizes()[2] == 3
    urn.pool_forget()
