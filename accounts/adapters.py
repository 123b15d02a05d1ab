from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from audit.middleware import client_ip

from . import permissions, services, signin_limits


class AccountAdapter(DefaultAccountAdapter):
    """Sign-ins limited per account and slowed, never refused, per address (issue 18;
    accounts/signin_limits.py)."""

    def get_client_ip(self, request) -> str:
        # One reading of the client's address for every limit and the audit trail: the
        # connection's, or the one TRUSTED_PROXY_HOPS proxies saw. allauth's own would trust no
        # proxy (every resident behind the load balancer sharing its address) or any.
        return client_ip(request) or super().get_client_ip(request)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # The account alone: allauth adds the site's domain, which comes from the Host header,
        # so each allowed host name would give a guesser ten more tries at the same account.
        return credentials.get("email", credentials.get("username", "")).strip().lower()

    def pre_authenticate(self, request, **credentials) -> None:
        signin_limits.signin_slow_down(address=self.get_client_ip(request))
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request, **credentials) -> None:
        account = credentials.get("email", credentials.get("username", ""))
        alarm = signin_limits.signin_failure_count(
            address=self.get_client_ip(request), account=account
        )
        if alarm is not None:
            services.signin_alarm_raise(alarm=alarm)


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        # Staff must keep their second factor; a lost device is reset by an admin (audited).
        if permissions.needs_two_factor(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
