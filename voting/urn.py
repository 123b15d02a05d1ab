"""The sealed urn's cryptography and the private key's home outside the database.

A ballot's plaintext is the project id and eight random bytes, fixed length, so its size says
nothing; it is sealed with libsodium's sealed box (an ephemeral X25519 key per ballot), so two
ballots for the same project look unrelated. The receipt is BLAKE2b-128 of the sealed bytes in
base32: anyone holding it can find the ballot in the published urn, and no one can tell from it
what was chosen.
"""

import base64
import hashlib
import os
import secrets
import struct
from pathlib import Path

from Crypto.Protocol.SecretSharing import Shamir
from django.conf import settings
from django.core.cache import cache
from nacl import bindings
from nacl._sodium import ffi, lib  # the binding PyNaCl itself wraps; see Opener

PLAINTEXT = struct.Struct(">QQ")  # project id, random filler


def keypair() -> tuple[bytes, bytes]:
    """A new (public, private) X25519 key pair for a round's urn."""
    return bindings.crypto_box_keypair()


def lot_seed() -> str:
    return secrets.token_hex(32)


def receipt_of(sealed: bytes) -> str:
    digest = hashlib.blake2b(sealed, digest_size=16).digest()
    return base64.b32encode(digest).decode().rstrip("=")


def seal(public_key: bytes, project_id: int) -> tuple[str, bytes]:
    """Seal a choice to the urn's public key: (receipt, sealed bytes)."""
    plaintext = PLAINTEXT.pack(project_id, secrets.randbits(64))
    sealed = bindings.crypto_box_seal(plaintext, public_key)
    return receipt_of(sealed), sealed


class Opener:
    """Opens sealed ballots with one key pair, as the count does millions of times.

    It calls libsodium through the binding PyNaCl is built on, with one output buffer, because
    PyNaCl's per-call checks and allocations cost 2.4 µs a ballot beside the 31 µs of the X25519
    exchange itself: 8 s of a national count (bench/count.py).
    """

    def __init__(self, public_key: bytes, private_key: bytes):
        self.public_key, self.private_key = bytes(public_key), bytes(private_key)
        self.size = PLAINTEXT.size + bindings.crypto_box_SEALBYTES
        self.plaintext = ffi.new("unsigned char[]", PLAINTEXT.size)

    def __call__(self, sealed: bytes) -> int | None:
        """The project id inside a sealed ballot, or None when it does not open with this key."""
        if len(sealed) != self.size:
            return None
        opened = lib.crypto_box_seal_open(
            self.plaintext, sealed, len(sealed), self.public_key, self.private_key
        )
        if opened != 0:
            return None
        return PLAINTEXT.unpack(ffi.buffer(self.plaintext))[0]


def unseal(sealed: bytes, public_key: bytes, private_key: bytes) -> int | None:
    """The project id inside a sealed ballot, or None when it does not open with this key."""
    return Opener(public_key, private_key)(bytes(sealed))


def lot_key(seed: str, project_id: int) -> str:
    """The lot that breaks a tie: SHA-256 of "<seed>:<project id>" in hex, lowest first."""
    return hashlib.sha256(f"{seed}:{project_id}".encode()).hexdigest()


def normalise_receipt(text: str) -> str:
    """What a person typed, as the receipt is stored: base32 capitals, no spaces or dashes."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def format_receipt(receipt: str) -> str:
    """Groups of four for reading aloud or copying by hand: ABCD-EFGH-…"""
    return "-".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


# The private key ---------------------------------------------------------------------------


def key_dir() -> Path:
    return Path(settings.URN_KEY_DIR)


def private_key_path(consultation_id: int) -> Path:
    return key_dir() / f"round-{consultation_id}.key"


def private_key_store(consultation_id: int, private_key: bytes) -> Path:
    """Write the private key where only this system user can read it; never in the database."""
    path = private_key_path(consultation_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(private_key.hex())
    return path


def private_key_load(consultation_id: int) -> bytes | None:
    path = private_key_path(consultation_id)
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        return None


# The private key split among commissioners -------------------------------------------------
#
# Shamir's scheme works on 16-byte secrets, so each half of the 32-byte key is split with the
# same k and n; commissioner i holds both halves' i-th shares as one line of text:
# "R<round>-<i>-<n>-<64 hex digits>-<4-digit checksum>". The checksum catches a mistyped share
# before it is combined. Shares typed in at counting time wait in the cache (never the database)
# until enough have come.

SHARE_TTL = 3 * 24 * 3600


def public_key_of(private_key: bytes) -> bytes:
    return bindings.crypto_scalarmult_base(private_key)


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:4]


def shares_split(consultation_id: int, private_key: bytes, needed: int, total: int) -> list[str]:
    halves = [
        Shamir.split(needed, total, private_key[:16]),
        Shamir.split(needed, total, private_key[16:]),
    ]
    shares = []
    for (index, first), (_same, second) in zip(*halves, strict=True):
        body = f"R{consultation_id}-{index}-{total}-{(first + second).hex()}"
        shares.append(f"{body}-{_checksum(body)}")
    return shares


class ShareError(ValueError):
    pass


def share_parse(consultation_id: int, text: str) -> tuple[int, bytes]:
    """(index, 32 bytes) of a share as typed in, or ShareError naming what is wrong with it."""
    parts = "".join((text or "").split()).lower().split("-")
    if len(parts) != 5 or not parts[0].startswith("r"):
        raise ShareError("format")
    round_part, index, total, data, checksum = parts
    if _checksum(f"R{round_part[1:]}-{index}-{total}-{data}") != checksum:
        raise ShareError("checksum")
    if round_part[1:] != str(consultation_id):
        raise ShareError("round")
    try:
        index, data = int(index), bytes.fromhex(data)
    except ValueError as error:
        raise ShareError("format") from error
    if len(data) != 32:
        raise ShareError("format")
    return index, data


def _share_key(consultation_id: int, index: int) -> str:
    return f"urn-share:{consultation_id}:{index}"


def share_keep(consultation_id: int, index: int, data: bytes) -> bool:
    """Keep a share until the count; False when that commissioner's share is already in."""
    return cache.add(_share_key(consultation_id, index), data.hex(), SHARE_TTL)


def shares_kept(consultation_id: int, total: int) -> dict[int, bytes]:
    found = cache.get_many([_share_key(consultation_id, i) for i in range(1, total + 1)])
    return {int(key.rsplit(":", 1)[1]): bytes.fromhex(value) for key, value in found.items()}


def shares_forget(consultation_id: int, total: int) -> None:
    cache.delete_many([_share_key(consultation_id, i) for i in range(1, total + 1)])


def shares_combine(shares: dict[int, bytes]) -> bytes:
    first = Shamir.combine([(i, data[:16]) for i, data in shares.items()])
    second = Shamir.combine([(i, data[16:]) for i, data in shares.items()])
    return first + second


def share_files_store(consultation_id: int, shares: list[str]) -> Path:
    """Write each share to its own file, for the operator to hand to one commissioner each and
    then delete from the server."""
    folder = key_dir() / f"round-{consultation_id}-shares"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for number, share in enumerate(shares, start=1):
        path = folder / f"share-{number}-of-{len(shares)}.txt"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(share + "\n")
    return folder
