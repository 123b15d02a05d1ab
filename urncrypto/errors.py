"""Typed refusals with stable reason codes.

Every refusal the core raises is an ``UrnCryptoError`` with a ``code`` from ``REASONS``: the
app maps each code to a message in the user's language, the commissioner's tool prints the
English one. ``context`` names what was refused (a dealer's index, a slot, a receipt).
"""

REASONS = {
    "malformed": "The data is not in the expected format.",
    "point_invalid": "A value is not a point of the group's prime-order subgroup.",
    "scalar_invalid": "A number is not a canonical scalar of the group.",
    "not_on_ballot": "The choice is not one of the commune's projects on this ballot.",
    "too_many_projects": "The ballot lists more projects than the round's key has slots.",
    "wrong_context": "The data belongs to another round, commune, ballot or commissioner.",
    "proof_invalid": "A proof does not hold.",
    "signature_invalid": "A commissioner's signature does not match their published key.",
    "unknown_commissioner": "The index does not name one of the round's commissioners.",
    "duplicate": "The same commissioner or ballot appears twice.",
    "share_undecryptable": "An encrypted share does not open with this commissioner's key.",
    "share_replayed": "The share was made for another round, ceremony or commissioner.",
    "share_mismatch": "A share does not match the dealer's published commitments.",
    "missing_contribution": "A commissioner's contribution to the key is missing.",
    "threshold_invalid": "The threshold must be between 1 and the number of commissioners.",
    "not_enough_partials": "Fewer valid partial decryptions than the threshold.",
    "total_out_of_range": "A decrypted total is larger than the number of ballots.",
    "precomputation_used": "Precomputed randomness may be used for one ballot only.",
    "sum_mismatch": "The summed encryptions are not the sum of the ballots.",
    "already_decrypted": "This commissioner already decrypted a different sum for the commune.",
}


class UrnCryptoError(ValueError):
    """A refusal: ``code`` is stable (a key of REASONS), ``context`` says what was refused."""

    def __init__(self, code: str, detail: str = "", **context):
        if code not in REASONS:
            raise KeyError(f"unknown reason code {code!r}")
        self.code = code
        self.detail = detail
        self.context = context
        message = REASONS[code]
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message)


class MalformedInput(UrnCryptoError):
    """Data that cannot even be read as what it claims to be."""


class ProofRejected(UrnCryptoError):
    """Data that reads well but whose proof or signature does not hold."""


class ShareRejected(UrnCryptoError):
    """A key share in the distributed key generation that a commissioner must complain about."""
