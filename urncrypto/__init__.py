"""The urn's cryptography, free of Django: importable by a script with only Python and PyNaCl.

- ``group``: the prime-order subgroup of Ed25519 through libsodium, and encodings.
- ``proofs``: Schnorr, Chaum-Pedersen (DLEQ) and disjunctive 0-or-1 proofs (Fiat-Shamir).
- ``ballot``: a ballot as one exponential-ElGamal encryption per project, with its proofs,
  canonical bytes and receipt.
- ``tally``: adding ballots, partial decryptions with proofs, combining k of them, totals.
- ``dkg``: the commissioners' distributed key generation (joint-Feldman, k of n).
- ``verify``: the public verifier's core.
- ``errors``: typed refusals with stable reason codes.

See README.md beside this file for the scheme and its threat model.
"""

from .ballot import (
    Ballot,
    BallotContext,
    BallotPrecomputation,
    RoundKey,
    ballot_encrypt,
    ballot_precompute,
    ballot_verify,
)
from .errors import REASONS, MalformedInput, ProofRejected, ShareRejected, UrnCryptoError
from .tally import (
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

__all__ = [
    "REASONS",
    "Ballot",
    "BallotContext",
    "BallotPrecomputation",
    "DiscreteLog",
    "KeyShare",
    "MalformedInput",
    "PartialDecryption",
    "ProofRejected",
    "RoundKey",
    "ShareRejected",
    "SummedBallots",
    "Tally",
    "UrnCryptoError",
    "ballot_encrypt",
    "ballot_precompute",
    "ballot_verify",
    "combine",
    "partial_decrypt",
    "partial_verify",
    "tally",
    "totals_decrypt",
]
