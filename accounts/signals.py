"""Account changes made through django-allauth's own pages reach the audit trail here.

allauth performs these writes itself, so its signals are the one place to observe them; our own
writes are recorded by their services, never by signals.
"""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.dispatch import receiver

import audit


def _record(user, action: str, after: dict | None = None) -> None:
    audit.record(actor=user, action=action, obj=user, after=after)


@receiver(account_signals.password_changed)
@receiver(account_signals.password_set)
@receiver(account_signals.password_reset)
def _password(sender, request, user, **kwargs):
    _record(user, "account.password_changed")


@receiver(account_signals.email_added)
@receiver(account_signals.email_removed)
@receiver(account_signals.email_changed)
def _email(sender, request, user, **kwargs):
    address = kwargs.get("email_address") or kwargs.get("to_email_address")
    _record(user, "account.email_changed", {"email": getattr(address, "email", "")})


@receiver(mfa_signals.authenticator_added)
@receiver(mfa_signals.authenticator_removed)
@receiver(mfa_signals.authenticator_reset)
def _authenticator(sender, request, user, authenticator, signal, **kwargs):
    what = {
        mfa_signals.authenticator_added: "added",
        mfa_signals.authenticator_removed: "removed",
        mfa_signals.authenticator_reset: "reset",
    }[signal]
    _record(user, f"account.authenticator_{what}", {"type": authenticator.type})
