"""The prime-order group every scheme here works in: Ed25519's subgroup of order L, via libsodium.

Why Ed25519 and not ristretto255: libsodium has both, but PyNaCl 1.6.2 compiles and exposes
only the Ed25519 functions (``crypto_core_ed25519_*``, ``crypto_scalarmult_ed25519_*``); no
``crypto_core_ristretto255_*`` is reachable from Python without a C extension of our own. The
Ed25519 curve has cofactor 8, so a point from outside may carry a small-order component that
would let a cheater move a ciphertext or a proof outside the group the proofs speak about. Every
point that comes from outside therefore goes through ``point_check`` (libsodium's
``crypto_core_ed25519_is_valid_point``: canonical encoding, on the curve, in the prime-order
subgroup, not of small order) before any arithmetic, and only such points, sums and multiples of
them are ever used. Ristretto255 would give the same guarantees by construction; the check costs
about 50 µs a point, a tenth of a ballot's verification.

libsodium's refusals, and what this module does about them:
- ``crypto_scalarmult_ed25519_noclamp`` and ``..._base_noclamp`` refuse a zero scalar, an
  identity result and a small-order input (the identity included). ``mul`` and ``base_mul``
  return the identity for a zero scalar or the identity point (both legitimate: a project with
  no votes decrypts to the identity) and raise ``point_invalid`` on any other refusal.
- ``crypto_core_ed25519_add`` and ``..._sub`` accept any point on the curve, the identity and
  small-order points included; they are only ever given checked points or results of this module.
- ``crypto_core_ed25519_is_valid_point`` refuses the identity (it has small order). Sums and
  decryption results may legitimately be the identity, so ``point_check(allow_identity=True)``
  accepts exactly that one encoding besides the subgroup's points.

No curve or field arithmetic is written here: points are libsodium's 32-byte encodings and every
operation on them or on scalars is a libsodium call. Scalars are 32-byte little-endian, always
reduced (canonical); the only thing done to one in Python is comparing it with L.
"""

import base64
import hashlib
import os

from nacl import bindings
from nacl._sodium import ffi, lib  # the binding PyNaCl wraps: no per-call checks or copies

from .errors import MalformedInput

# The order of the prime-order subgroup (RFC 8032's L).
L = 2**252 + 27742317777372353535851937790883648493
POINT_BYTES = 32
SCALAR_BYTES = 32
IDENTITY = b"\x01" + bytes(31)
ZERO = bytes(32)
ONE = (1).to_bytes(32, "little")


def scalar_from_int(value: int) -> bytes:
    """A small non-negative integer (an index, a count) as a scalar."""
    if not 0 <= value < L:
        raise MalformedInput("scalar_invalid", f"{value} is not between 0 and L")
    return value.to_bytes(32, "little")


def scalar_check(data: bytes) -> bytes:
    """A scalar from outside: 32 bytes, canonical (below L)."""
    if not isinstance(data, bytes | bytearray) or len(data) != SCALAR_BYTES:
        raise MalformedInput("scalar_invalid", "a scalar is 32 bytes")
    if int.from_bytes(data, "little") >= L:
        raise MalformedInput("scalar_invalid", "not reduced")
    return bytes(data)


def scalar_random() -> bytes:
    """A uniformly random scalar: 64 random bytes reduced mod L by libsodium."""
    return bindings.crypto_core_ed25519_scalar_reduce(os.urandom(64))


def scalar_add(a: bytes, b: bytes) -> bytes:
    return bindings.crypto_core_ed25519_scalar_add(a, b)


def scalar_sub(a: bytes, b: bytes) -> bytes:
    return bindings.crypto_core_ed25519_scalar_sub(a, b)


def scalar_mul(a: bytes, b: bytes) -> bytes:
    return bindings.crypto_core_ed25519_scalar_mul(a, b)


def scalar_negate(a: bytes) -> bytes:
    return bindings.crypto_core_ed25519_scalar_negate(a)


def scalar_invert(a: bytes) -> bytes:
    if a == ZERO:
        raise MalformedInput("scalar_invalid", "zero has no inverse")
    return bindings.crypto_core_ed25519_scalar_invert(a)


def scalar_reduce64(data: bytes) -> bytes:
    return bindings.crypto_core_ed25519_scalar_reduce(data)


def point_check(data: bytes, *, allow_identity: bool = False) -> bytes:
    """A point from outside, refused unless it is in the prime-order subgroup."""
    if not isinstance(data, bytes | bytearray) or len(data) != POINT_BYTES:
        raise MalformedInput("point_invalid", "a point is 32 bytes")
    data = bytes(data)
    if allow_identity and data == IDENTITY:
        return data
    if lib.crypto_core_ed25519_is_valid_point(data) != 1:
        raise MalformedInput("point_invalid")
    return data


def add(p: bytes, q: bytes) -> bytes:
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_core_ed25519_add(out, p, q) != 0:
        raise MalformedInput("point_invalid")
    return ffi.buffer(out, POINT_BYTES)[:]


def sub(p: bytes, q: bytes) -> bytes:
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_core_ed25519_sub(out, p, q) != 0:
        raise MalformedInput("point_invalid")
    return ffi.buffer(out, POINT_BYTES)[:]


def mul(k: bytes, p: bytes) -> bytes:
    """k·P. libsodium refuses P outside the prime-order subgroup; the identity is allowed here."""
    if k == ZERO or p == IDENTITY:
        return IDENTITY
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_scalarmult_ed25519_noclamp(out, k, p) != 0:
        raise MalformedInput("point_invalid")
    return ffi.buffer(out, POINT_BYTES)[:]


def base_mul(k: bytes) -> bytes:
    """k·G for the standard base point G."""
    if k == ZERO:
        return IDENTITY
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_scalarmult_ed25519_base_noclamp(out, k) != 0:
        raise MalformedInput("scalar_invalid")
    return ffi.buffer(out, POINT_BYTES)[:]


BASE = base_mul(ONE)


class Accumulator:
    """A running sum of points with its own output buffer: the tally's hot loop.

    Not shared between threads (libsodium runs without the GIL while it writes the buffer).
    """

    __slots__ = ("_buffer", "value")

    def __init__(self, start: bytes = IDENTITY):
        self._buffer = ffi.new("unsigned char[]", POINT_BYTES)
        self.value = start

    def add(self, point: bytes) -> None:
        if lib.crypto_core_ed25519_add(self._buffer, self.value, point) != 0:
            raise MalformedInput("point_invalid")
        self.value = ffi.buffer(self._buffer, POINT_BYTES)[:]


# Encodings ---------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    """base64url without padding: how points, scalars and digests appear in JSON."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise MalformedInput("malformed", "expected a base64url string")
    if "=" in text or not text.isascii():
        raise MalformedInput("malformed", "not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as error:
        raise MalformedInput("malformed", "not base64url") from error
    # One encoding per value: a string whose unused bits are set decodes too, so compare back.
    if b64(data) != text:
        raise MalformedInput("malformed", "not canonical base64url")
    if size is not None and len(data) != size:
        raise MalformedInput("malformed", f"expected {size} bytes")
    return data


class Transcript:
    """Fiat-Shamir: a BLAKE2b-512 hash of a domain tag and labelled, length-prefixed parts,
    reduced to a scalar. Length prefixes make every sequence of parts hash differently."""

    def __init__(self, domain: str):
        self._hash = hashlib.blake2b(digest_size=64, person=b"comunas-urn-v1")
        self.append("domain", domain.encode())

    def append(self, label: str, data: bytes) -> "Transcript":
        tag = label.encode()
        self._hash.update(len(tag).to_bytes(2, "big") + tag)
        self._hash.update(len(data).to_bytes(4, "big") + data)
        return self

    def append_int(self, label: str, value: int) -> "Transcript":
        return self.append(label, value.to_bytes(8, "big", signed=False))

    def copy(self) -> "Transcript":
        other = Transcript.__new__(Transcript)
        other._hash = self._hash.copy()
        return other

    def digest(self) -> bytes:
        return self._hash.copy().digest()

    def challenge(self) -> bytes:
        return scalar_reduce64(self._hash.copy().digest())
