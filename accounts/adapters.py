from allauth.mfa.adapter import DefaultMFAAdapter

from . import permissions


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        # Staff must keep their second factor; a lost device is reset by an admin (audited).
        if permissions.needs_two_factor(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
