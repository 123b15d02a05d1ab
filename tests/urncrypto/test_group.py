"""The group layer: only points of the prime-order subgroup get in, and libsodium's refusals
of zero scalars and the identity are handled, not leaked."""

import pytest

from urncrypto import group
from urncrypto.errors import MalformedInput

from ..builders.urncrypto import ORDER_2, ORDER_8


def a_point():
    return group.base_mul(group.scalar_random())


def test_a_multiple_of_the_base_point_is_accepted():
    point = a_point()
    assert group.point_check(point) == point


@pytest.mark.parametrize("small", [ORDER_8, ORDER_2, group.IDENTITY, bytes(32)])
def test_small_order_points_are_refused(small):
    with pytest.raises(MalformedInput) as refused:
        group.point_check(small)
    assert refused.value.code == "point_invalid"


def test_a_point_with_a_small_order_component_is_refused_though_libsodium_adds_it():
    # add() accepts any point on the curve: this is why every outside point is checked first.
    mixed = group.add(a_point(), ORDER_8)
    with pytest.raises(MalformedInput):
        group.point_check(mixed)
    with pytest.raises(MalformedInput):
        group.mul(group.scalar_random(), mixed)


def test_the_identity_is_accepted_only_where_allowed():
    assert group.point_check(group.IDENTITY, allow_identity=True) == group.IDENTITY
    with pytest.raises(MalformedInput):
        group.point_check(group.IDENTITY)


def test_a_non_canonical_encoding_is_refused():
    # y = p + 1 encodes the same point as y = 1 (the identity) but is not canonical.
    p_plus_one = (2**255 - 19 + 1).to_bytes(32, "little")
    with pytest.raises(MalformedInput):
        group.point_check(p_plus_one, allow_identity=True)


def test_zero_scalar_and_identity_give_the_identity_instead_of_libsodiums_refusal():
    point = a_point()
    assert group.mul(group.ZERO, point) == group.IDENTITY
    assert group.mul(group.scalar_random(), group.IDENTITY) == group.IDENTITY
    assert group.base_mul(group.ZERO) == group.IDENTITY
    assert group.sub(point, point) == group.IDENTITY
    assert group.add(point, group.IDENTITY) == point


def test_scalar_arithmetic_agrees_with_point_arithmetic():
    a, b = group.scalar_random(), group.scalar_random()
    assert group.base_mul(group.scalar_add(a, b)) == group.add(group.base_mul(a), group.base_mul(b))
    assert group.mul(b, group.base_mul(a)) == group.base_mul(group.scalar_mul(a, b))
    assert group.scalar_mul(a, group.scalar_invert(a)) == group.ONE


def test_a_non_reduced_scalar_is_refused():
    with pytest.raises(MalformedInput) as refused:
        group.scalar_check(group.L.to_bytes(32, "little"))
    assert refused.value.code == "scalar_invalid"
    assert group.scalar_check((group.L - 1).to_bytes(32, "little"))


@pytest.mark.parametrize("text", ["AAAA=", "AB", "ab+/", "AAB", "é"])
def test_only_canonical_base64url_is_read(text):
    with pytest.raises(MalformedInput):
        group.unb64(text, 3)


def test_base64url_round_trips():
    data = bytes(range(32))
    assert group.unb64(group.b64(data), 32) == data


def test_the_transcript_separates_its_parts():
    one = group.Transcript("x").append("a", b"bc").challenge()
    other = group.Transcript("x").append("a", b"b").append("", b"c").challenge()
    assert one != other
    assert group.Transcript("x").challenge() != group.Transcript("y").challenge()
