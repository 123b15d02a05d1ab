"""Sign-in limits that stop guessing, not crowds (issue 18).

Many residents sign in from one address: an infocentro, a school's lab, a voting centre, a phone
company's shared address. So:

- Failed sign-ins are limited per account, wherever they come from: allauth's "login_failed"
  rate, keyed by the email address alone (ACCOUNT_RATE_LIMITS; accounts/adapters.py), locks an
  account after ten wrong passwords for fifteen minutes. That is what stops guessing one
  account's password; the address plays no part in it.
- Per address, sign-ins are counted and never refused: past the address's allowance in a minute,
  or past its allowance of failures in ten minutes, each further sign-in from it waits a moment
  before the password is checked (a delay growing with the excess, capped), which costs a crowd
  a second and a password sprayer most of its speed.
- Addresses in TRUSTED_NETWORKS (the infocentros and voting centres the operator knows) have
  allowances of their own.
- One address failing for many different accounts within ten minutes is someone trying
  passwords across accounts: it is recorded in the audit trail once per window and shown to
  staff (accounts.services.signin_alarm_raise), without stopping anyone.

The address is the one the audit trail records (audit.middleware.client_ip): the connection's,
or behind TRUSTED_PROXY_HOPS proxies the one they saw, so a client's own X-Forwarded-For moves
nothing. Counters live in the cache (Redis in deployment): fixed windows, one atomic increment
each; a cache that cannot count lets people through.
"""

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache

FAILURE_WINDOW_SECONDS = 10 * 60
ATTEMPT_WINDOW_SECONDS = 60

# Where the pause happens, so the tests can watch it instead of waiting.
pause = time.sleep


@dataclass(frozen=True)
class Allowance:
    """What one address may do before it is slowed or trips the alarm."""

    trusted: bool
    signins_per_minute: int
    failures_per_window: int
    alarm_accounts: int


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False) for network in spec)


def is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_NETWORKS)))


def allowance_for(address: str) -> Allowance:
    trusted = is_trusted(address)
    limits = settings.SIGNIN_LIMITS["trusted" if trusted else "address"]
    return Allowance(trusted=trusted, **limits)


def _window(seconds: int) -> int:
    return int(time.time() // seconds)


def _count(key: str, timeout: int) -> int:
    """Add one to a counter; its new value (1 when the cache cannot count)."""
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key) or 1
    except ValueError:  # it expired between the two calls
        cache.set(key, 1, timeout)
        return 1


def _read(key: str) -> int:
    return cache.get(key) or 0


def _key(*parts) -> str:
    return ":".join(["signin", *map(str, parts)])


def signin_delay(*, address: str) -> float:
    """Count a sign-in from ``address``; the seconds it waits before its password is checked."""
    allowance = allowance_for(address)
    attempts = _count(
        _key("attempts", address, _window(ATTEMPT_WINDOW_SECONDS)), ATTEMPT_WINDOW_SECONDS
    )
    failures = _read(_key("failures", address, _window(FAILURE_WINDOW_SECONDS)))
    excess = max(
        (attempts - allowance.signins_per_minute) / allowance.signins_per_minute,
        (failures - allowance.failures_per_window) / allowance.failures_per_window,
    )
    if excess <= 0:
        return 0.0
    step = settings.SIGNIN_SLOWDOWN_SECONDS
    return min(settings.SIGNIN_SLOWDOWN_MAX_SECONDS, step + step * excess)


def signin_slow_down(*, address: str) -> float:
    """Count the sign-in, and wait as long as the address's allowance says; the seconds waited."""
    delay = signin_delay(address=address)
    if delay:
        pause(delay)
    return delay


@dataclass(frozen=True)
class Alarm:
    address: str
    accounts: int
    failures: int
    trusted: bool
    window_minutes: int


def signin_failure_count(*, address: str, account: str) -> Alarm | None:
    """Count a failed sign-in of ``account`` from ``address``. Returns the alarm when the
    address's count of different accounts has reached its threshold, once per window (whoever
    adds the window's alarm key first raises it)."""
    allowance = allowance_for(address)
    window = _window(FAILURE_WINDOW_SECONDS)
    failures = _count(_key("failures", address, window), FAILURE_WINDOW_SECONDS)
    # The account is kept as a hash: the cache holds no email addresses.
    account_hash = hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]
    if not cache.add(_key("failed", address, window, account_hash), 1, FAILURE_WINDOW_SECONDS):
        return None  # an account already counted in this window
    accounts = _count(_key("accounts", address, window), FAILURE_WINDOW_SECONDS)
    if accounts < allowance.alarm_accounts:
        return None
    if not cache.add(_key("alarm", address, window), 1, FAILURE_WINDOW_SECONDS):
        return None  # raised already in this window
    return Alarm(
        address=address,
        accounts=accounts,
        failures=failures,
        trusted=allowance.trusted,
        window_minutes=FAILURE_WINDOW_SECONDS // 60,
    )
