from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from . import permissions


@login_required
def home_for_user(request):
    """After signing in, take each person to the page their role works from."""
    user = request.user
    if permissions.can(user, "communes.see_spokesperson_dashboard"):
        return redirect("communes:my-communes")
    if permissions.can(user, "communes.see_claims_queue"):
        return redirect("communes:claims-queue")
    if permissions.can(user, "consultations.manage_cycle"):
        return redirect("consultations:round-list")
    return redirect("communes:my-participation")
