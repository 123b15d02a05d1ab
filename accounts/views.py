from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import permissions, selectors, services


@login_required
def home_for_user(request):
    """After signing in, take each person to the page their role works from."""
    user = request.user
    if permissions.can(user, "communes.see_spokesperson_dashboard"):
        return redirect("communes:my-communes")
    if permissions.can(user, "communes.see_claims_queue"):
        return redirect("communes:claims-queue")
    if permissions.can(user, "consultations.manage_cycle"):
        return redirect("cycle:round-list")
    return redirect("communes:my-participation")


@login_required
@require_POST
def voting_notice(request):
    enabled = request.POST.get("enabled") == "on"
    services.user_voting_notice_set(user=request.user, enabled=enabled)
    if enabled:
        messages.success(request, _("We will email you when voting opens in your commune."))
    else:
        messages.success(request, _("We will not email you when voting opens."))
    return redirect("communes:my-participation")


@login_required
def signin_alarms(request):
    """Addresses that failed to sign in to many accounts (accounts/signin_limits.py)."""
    permissions.require(request.user, "accounts.see_signin_alarms")
    return render(
        request,
        "accounts/signin_alarms.html",
        {"alarms": selectors.signin_alarms_recent(), "days": selectors.SIGNIN_ALARM_DAYS},
    )
