"""Writes to accounts and staff roles; each is audited and ends the person's other sessions."""

import logging

from allauth.mfa.models import Authenticator
from django.db import transaction

import audit

from . import permissions
from .models import StaffRole, User

logger = logging.getLogger(__name__)


@transaction.atomic
def staff_role_grant(*, user: User, kind: str, state=None, by) -> StaffRole:
    role, created = StaffRole.objects.get_or_create(user=user, kind=kind, state=state)
    if created:
        audit.record(actor=by, action="staff_role.grant", obj=role, after=audit.snapshot(role))
        permissions.roles_changed(user)
    return role


@transaction.atomic
def user_mfa_reset(*, user: User, by, reason: str) -> int:
    """A person lost their authenticator: remove it (they set up a new one at next sign-in)."""
    removed = list(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    Authenticator.objects.filter(user=user).delete()
    audit.record(
        actor=by,
        action="user.mfa_reset",
        obj=user,
        before={"authenticators": removed},
        after={"authenticators": [], "reason": reason},
    )
    permissions.roles_changed(user)  # and sign them out everywhere
    return len(removed)


def user_voting_notice_set(*, user: User, enabled: bool) -> User:
    """A person asks (or stops asking) to be emailed when voting opens in their commune."""
    User.objects.filter(pk=user.pk).update(notify_voting_opens=enabled)
    user.notify_voting_opens = enabled
    return user


@transaction.atomic
def signin_alarm_raise(*, alarm):
    """One address failed to sign in to many different accounts within a window: record it in
    the audit trail, which staff read on the sign-in alarms page (the address is not blocked:
    each account has its own lock, accounts/signin_limits.py)."""
    logger.warning(
        "sign-in alarm: %s failed for %d accounts in %d minutes",
        alarm.address,
        alarm.accounts,
        alarm.window_minutes,
    )
    return audit.record(
        actor=None,
        action="signin.alarm",
        object_type="network.address",
        object_id=alarm.address,
        after={
            "address": alarm.address,
            "accounts": alarm.accounts,
            "failures": alarm.failures,
            "trusted_network": alarm.trusted,
            "window_minutes": alarm.window_minutes,
        },
    )
