"""Reads of the accounts pages."""

import datetime

from django.utils import timezone

from audit.models import AuditEntry

SIGNIN_ALARM_DAYS = 30
SIGNIN_ALARMS_SHOWN = 200


def signin_alarms_recent(*, now=None) -> list[dict]:
    """The sign-in alarms of the last 30 days, newest first (one query): when, the address, how
    many accounts failed from it, how many failures, whether it is a trusted network."""
    since = (now or timezone.now()) - datetime.timedelta(days=SIGNIN_ALARM_DAYS)
    entries = AuditEntry.objects.filter(action="signin.alarm", at__gte=since).values(
        "seq", "at", "after"
    )[:SIGNIN_ALARMS_SHOWN]
    return [{"seq": entry["seq"], "at": entry["at"], **(entry["after"] or {})} for entry in entries]
