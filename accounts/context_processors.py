from . import permissions


def navigation(request):
    """What the header shows a signed-in person (roles are cached on the user per request)."""
    user = request.user
    return {
        "can_manage_cycle": user.is_authenticated
        and permissions.can(user, "consultations.manage_cycle")
    }
