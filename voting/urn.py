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

from django.conf import settings
from nacl import bindings
from nacl.exceptions import CryptoError

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


def unseal(sealed: bytes, public_key: bytes, private_key: bytes) -> int | None:
    """The project id inside a sealed ballot, or None when it does not open with this key."""
    try:
        plaintext = bindings.crypto_box_seal_open(sealed, public_key, private_key)
    except CryptoError:
        return None
    if len(plaintext) != PLAINTEXT.size:
        return None
    return PLAINTEXT.unpack(plaintext)[0]


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
