"""Builders for the urn's cryptography tests: no database, no Django objects, only the package.

A "round" here is what the key generation leaves behind: the ceremony, each commissioner's
secret keys, their contributions, the public key and verification keys, and each key share.
"""

import random
from dataclasses import dataclass

from urncrypto import dkg
from urncrypto.ballot import BallotContext, ballot_encrypt
from urncrypto.tally import KeyShare, tally


@dataclass
class Round:
    ceremony: dkg.Ceremony
    secrets: list[dkg.CommissionerSecret]
    contributions: list[dkg.Contribution]
    dealer_secrets: list[dkg.DealerSecret]
    public: dkg.PublicResult
    shares: dict[int, KeyShare]

    @property
    def key(self):
        return self.public.key


def make_round(*, round_id=7, commissioners=3, threshold=2, slots=7) -> Round:
    secrets = [dkg.commissioner_keygen(i) for i in range(1, commissioners + 1)]
    ceremony = dkg.Ceremony(round_id, threshold, slots, tuple(s.public() for s in secrets))
    made = [dkg.contribution_make(ceremony, s) for s in secrets]
    contributions = [c for c, _secret in made]
    public = dkg.public_result(ceremony, contributions)
    shares = {s.index: dkg.key_share_combine(ceremony, s, contributions)[0] for s in secrets}
    return Round(ceremony, secrets, contributions, [d for _c, d in made], public, shares)


def cast(key, context: BallotContext, choices: list[int]):
    return [ballot_encrypt(key=key, context=context, choice=c) for c in choices]


def random_choices(context: BallotContext, count: int, seed: int) -> list[int]:
    draw = random.Random(seed)
    return [draw.choice(context.projects) for _ in range(count)]


def summed_of(key, context, choices):
    return tally(context, cast(key, context, choices))


# Points of small order, which every check must refuse.
ORDER_8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
ORDER_2 = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
