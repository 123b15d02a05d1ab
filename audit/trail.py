"""Recording to the audit trail: the one function every audited write calls.

Usage, inside the service's transaction, after the change:

    audit.record(actor=user, action="claim.approve", obj=claim, before=..., after=...)

The request's IP address reaches here through ``request_context`` (set by AuditContextMiddleware),
so services need no request argument.
"""

import contextvars
import datetime
import hashlib
import json
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.permissions import roles_of

from .models import AuditEntry

GENESIS_HASH = "0" * 64
# Any constant identifies the lock; it serialises appends so the chain has one order.
_ADVISORY_LOCK_KEY = 0x_A0D17

_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_ip", default=None)


@contextmanager
def request_context(*, ip: str | None):
    token = _request_ip.set(ip)
    try:
        yield
    finally:
        _request_ip.reset(token)


def _json_default(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _plain(data: dict | None) -> dict | None:
    """JSON-safe copy, so what is hashed is exactly what is stored."""
    if data is None:
        return None
    return json.loads(json.dumps(data, default=_json_default, sort_keys=True))


def entry_hash(*, prev_hash: str, fields: dict) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "actor_roles": entry.actor_roles,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "before": entry.before,
        "after": entry.after,
        "ip": entry.ip,
    }


def _roles_label(actor) -> str:
    if actor is None:
        return "system"
    roles = roles_of(actor)
    labels = [
        f"spokesperson:{unit}@commune:{commune_id}"
        for commune_id, units in sorted(roles.spokesperson_units.items())
        for unit in sorted(units)
    ]
    for kind, states in sorted(roles.staff_scopes.items()):
        labels += [f"{kind}@{'nation' if state is None else f'state:{state}'}" for state in states]
    if roles.is_verified_resident:
        labels.append(f"resident@commune:{roles.resident_commune_id}")
    if getattr(actor, "is_superuser", False):
        labels.append("superuser")
    return ",".join(labels)[:500]


@transaction.atomic
def record(
    *,
    actor,
    action: str,
    obj=None,
    before: dict | None = None,
    after: dict | None = None,
    object_type: str = "",
    object_id: str = "",
) -> AuditEntry:
    """Append one entry. ``actor=None`` means the system (a scheduled job)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
    last = AuditEntry.objects.order_by("-seq").values("seq", "hash").first()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    entry = AuditEntry(
        seq=(last["seq"] + 1) if last else 1,
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor=getattr(actor, "email", "") or "system",
        actor_roles=_roles_label(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:200] if obj is not None else "",
        before=_plain(before),
        after=_plain(after),
        ip=_request_ip.get() or "",
        prev_hash=last["hash"] if last else GENESIS_HASH,
    )
    entry.hash = entry_hash(prev_hash=entry.prev_hash, fields=hashed_fields(entry))
    entry.save(force_insert=True)
    return entry


def verify() -> list[str]:
    """Walk the chain; return one line per problem found (empty when the trail is intact)."""
    problems = []
    expected_seq, prev_hash = 1, GENESIS_HASH
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            problems.append(f"gap: entries {expected_seq}..{entry.seq - 1} are missing")
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {entry.seq}: does not follow the entry before it")
        if entry_hash(prev_hash=entry.prev_hash, fields=hashed_fields(entry)) != entry.hash:
            problems.append(f"entry {entry.seq}: its content was changed after it was written")
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return problems


def snapshot(obj, fields: list[str] | None = None) -> dict:
    """The values of an object's concrete fields (or of ``fields``), for before/after."""
    names = fields or [field.attname for field in obj._meta.concrete_fields]
    return {name: getattr(obj, name) for name in names}
