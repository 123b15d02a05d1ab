from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from . import access, permissions

# Pages a staff member without a second factor may still open: setting one up, signing out.
_SETUP_PREFIXES = ("account_", "mfa_")


class StaffSecurityMiddleware:
    """For staff: sessions end after a short inactivity, and no staff page opens before TOTP
    two-factor authentication is set up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        permissions.roles_from_session(request)
        if not permissions.needs_two_factor(user):
            return None
        # A sliding window: each request pushes the expiry back.
        request.session.set_expiry(settings.STAFF_SESSION_IDLE_SECONDS)
        url_name = request.resolver_match.view_name if request.resolver_match else None
        if url_name is None or access.is_public(url_name) or url_name.startswith(_SETUP_PREFIXES):
            return None
        if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            return None
        messages.warning(
            request,
            _("For the security of public money and votes, set up two-step verification first."),
        )
        return redirect("mfa_activate_totp")
