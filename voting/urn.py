"""The urn's key as the app holds it, the ballots' context, and making a ballot at the vote.

The cryptography is ``urncrypto`` (see its README: the scheme, its proofs and its threat model).
This module is what the app adds around it:

- the round's key comes from its commissioners' key generation (``voting.commissioners``), or,
  for a round with no commissioners (the demo's and the tests' 1 of 1), from a key generation
  the server runs alone, keeping the only key share in a file outside the database;
- a ballot's context is the round, the commune and the commune's projects on the ballot;
- each process keeps a pool of precomputed ballots per ballot length, so a vote spends about
  0.5 ms of CPU on cryptography instead of 4 (the rest is done while the process is idle).
"""

import hashlib
import json
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from django.conf import settings

from urncrypto import BallotPrecomputation, KeyShare, RoundKey, ballot_precompute, dkg


def lot_seed() -> str:
    return secrets.token_hex(32)


def lot_key(seed: str, project_id) -> str:
    """The lot that breaks a tie: SHA-256 of "<seed>:<project id>" in hex, lowest first."""
    return hashlib.sha256(f"{seed}:{project_id}".encode()).hexdigest()


def normalise_receipt(text: str) -> str:
    """What a person typed, as the receipt is stored: base32 capitals, no spaces or dashes."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def format_receipt(receipt: str) -> str:
    """Groups of four for reading aloud or copying by hand: ABCD-EFGH-…"""
    return "-".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


# The server's own key share (a round without commissioners) --------------------------------


def key_dir() -> Path:
    return Path(settings.URN_KEY_DIR)


def server_share_path(consultation_id: int) -> Path:
    return key_dir() / f"round-{consultation_id}.share.json"


def server_key_generation(consultation_id: int, slots: int) -> dkg.PublicResult:
    """The key generation of a round without commissioners: the server is commissioner 1 of 1.
    Its key share goes to a file only this system user can read, never the database; the
    returned public result is what the urn keeps."""
    me = dkg.commissioner_keygen(1)
    ceremony = dkg.Ceremony(consultation_id, 1, slots, (me.public(),))
    contribution, _dealer_secret = dkg.contribution_make(ceremony, me)
    share, result = dkg.key_share_combine(ceremony, me, [contribution])
    path = server_share_path(consultation_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(share.to_json(), handle)
    return result


def server_share_load(consultation_id: int) -> KeyShare | None:
    try:
        return KeyShare.from_json(json.loads(server_share_path(consultation_id).read_text()))
    except FileNotFoundError:
        return None


# Round keys, read once per process ----------------------------------------------------------

_KEYS: dict[int, tuple[bytes, RoundKey]] = {}


def round_key(urn) -> RoundKey:
    """The urn's key as urncrypto's RoundKey, parsed (and its points checked) once per process."""
    kept = _KEYS.get(urn.consultation_id)
    fingerprint = bytes(urn.public_key)
    if kept is None or kept[0] != fingerprint:
        kept = (fingerprint, RoundKey.from_json(urn.key["key"]))
        _KEYS[urn.consultation_id] = kept
    return kept[1]


# The pool of precomputed ballots ------------------------------------------------------------
#
# A precomputation holds the ballot's randomness: as secret as the vote it will carry, so it
# lives in this process's memory only, is used once, and is lost on restart. A vote takes one
# for its ballot's length, or makes its own when the pool is empty; a thread per process tops
# the pool up while no vote has come for a moment.

_POOL: dict[tuple[bytes, int], deque] = defaultdict(deque)
_POOL_LOCK = threading.Lock()
_WANTED: dict[tuple[bytes, int], RoundKey] = {}
_LAST_TAKEN = [0.0]
_FILLER: list[threading.Thread] = []
IDLE_SECONDS = 0.05


def precomputation_take(key: RoundKey, n: int) -> BallotPrecomputation:
    """A precomputed ballot of ``n`` projects for ``key``, from the pool or made now."""
    slot = (key.fingerprint, n)
    _LAST_TAKEN[0] = time.monotonic()
    with _POOL_LOCK:
        _WANTED[slot] = key
        pool = _POOL[slot]
        taken = pool.popleft() if pool else None
    if settings.URN_POOL_SIZE and not _FILLER:
        _filler_start()
    return taken if taken is not None else ballot_precompute(key, n)


def pool_fill(key: RoundKey, lengths, count: int) -> int:
    """Make ``count`` precomputations for each ballot length now (the bench's and a process's
    warm-up before the peak); returns how many were made."""
    made = 0
    for n in lengths:
        slot = (key.fingerprint, n)
        with _POOL_LOCK:
            _WANTED[slot] = key
        for _ in range(count):
            pre = ballot_precompute(key, n)
            with _POOL_LOCK:
                _POOL[slot].append(pre)
            made += 1
    return made


def pool_sizes() -> dict[int, int]:
    with _POOL_LOCK:
        return {n: len(pool) for (_fingerprint, n), pool in _POOL.items()}


def pool_forget() -> None:
    with _POOL_LOCK:
        _POOL.clear()
        _WANTED.clear()


def _filler_start() -> None:
    with _POOL_LOCK:
        if _FILLER:
            return
        thread = threading.Thread(target=_fill_when_idle, name="ballot-pool", daemon=True)
        _FILLER.append(thread)
    thread.start()


def _fill_when_idle() -> None:
    while True:
        if time.monotonic() - _LAST_TAKEN[0] < IDLE_SECONDS:
            time.sleep(IDLE_SECONDS)
            continue
        with _POOL_LOCK:
            short = [
                (slot, key)
                for slot, key in _WANTED.items()
                if len(_POOL[slot]) < settings.URN_POOL_SIZE
            ]
        if not short:
            time.sleep(1)
            continue
        for slot, key in short:
            pre = ballot_precompute(key, slot[1])
            with _POOL_LOCK:
                _POOL[slot].append(pre)
