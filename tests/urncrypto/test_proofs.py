"""Each proof on its own: it holds for a true statement, and fails when any value of the
statement or of the proof is changed, or when it is checked under another transcript."""

import dataclasses

import pytest

from urncrypto import group
from urncrypto.proofs import (
    bit_prove,
    bit_verify,
    dleq_prove,
    dleq_verify,
    schnorr_prove,
    schnorr_verify,
)


def transcript(label="context"):
    return group.Transcript("test").append("context", label.encode())


def point():
    return group.base_mul(group.scalar_random())


def bumped(scalar):
    return group.scalar_add(scalar, group.ONE)


def moved(p):
    return group.add(p, group.BASE)


def test_schnorr_holds_and_rejects_every_change():
    x = group.scalar_random()
    y = group.base_mul(x)
    proof = schnorr_prove(transcript(), y, x)
    assert schnorr_verify(transcript(), y, proof)
    assert not schnorr_verify(transcript(), moved(y), proof)
    assert not schnorr_verify(transcript("other"), y, proof)
    for name in ("e", "z"):
        changed = dataclasses.replace(proof, **{name: bumped(getattr(proof, name))})
        assert not schnorr_verify(transcript(), y, changed), name


def test_schnorr_without_the_secret_fails():
    y = point()
    assert not schnorr_verify(
        transcript(), y, schnorr_prove(transcript(), y, group.scalar_random())
    )


def test_dleq_holds_and_rejects_every_change():
    x, c = group.scalar_random(), point()
    y, d = group.base_mul(x), group.mul(x, c)
    proof = dleq_prove(transcript(), y, c, d, x)
    assert dleq_verify(transcript(), y, c, d, proof)
    assert not dleq_verify(transcript("other"), y, c, d, proof)
    for statement in ((moved(y), c, d), (y, moved(c), d), (y, c, moved(d))):
        assert not dleq_verify(transcript(), *statement, proof)
    for name in ("e", "z"):
        changed = dataclasses.replace(proof, **{name: bumped(getattr(proof, name))})
        assert not dleq_verify(transcript(), y, c, d, changed), name


def test_dleq_with_two_different_logarithms_fails():
    x, other, c = group.scalar_random(), group.scalar_random(), point()
    y, d = group.base_mul(x), group.mul(other, c)
    assert not dleq_verify(transcript(), y, c, d, dleq_prove(transcript(), y, c, d, x))


@pytest.mark.parametrize("m", [0, 1])
def test_the_0_or_1_proof_holds_and_rejects_every_change(m):
    h, r = point(), group.scalar_random()
    c1 = group.base_mul(r)
    c2 = group.mul(r, h) if m == 0 else group.add(group.mul(r, h), group.BASE)
    proof = bit_prove(transcript(), c1, c2, h, r, m)
    assert bit_verify(transcript(), c1, c2, h, proof)
    assert not bit_verify(transcript("other"), c1, c2, h, proof)
    for statement in ((moved(c1), c2, h), (c1, moved(c2), h), (c1, c2, moved(h))):
        assert not bit_verify(transcript(), *statement, proof)
    for name in ("e0", "e1", "z0", "z1"):
        changed = dataclasses.replace(proof, **{name: bumped(getattr(proof, name))})
        assert not bit_verify(transcript(), c1, c2, h, changed), name


@pytest.mark.parametrize("m", [2, 5])
def test_the_0_or_1_proof_cannot_be_made_for_another_value(m):
    h, r = point(), group.scalar_random()
    c1 = group.base_mul(r)
    c2 = group.add(group.mul(r, h), group.base_mul(group.scalar_from_int(m)))
    for claimed in (0, 1):
        assert not bit_verify(
            transcript(), c1, c2, h, bit_prove(transcript(), c1, c2, h, r, claimed)
        )
