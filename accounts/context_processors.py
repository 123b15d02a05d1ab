from . import permissions


def navigation(request):
    """What the header shows a signed-in person (roles are cached on the user per request)."""
    user = request.user
    if not user.is_authenticated:
        return {"can_manage_cycle": False, "can_validate": False}
    roles = permissions.roles_of(user)
    return {
        "can_manage_cycle": permissions.can(user, "consultations.manage_cycle"),
        "can_validate": permissions.can(user, "consultations.see_validation_queue"),
        "can_review_sheets": roles.has_staff_role("ministry_staff"),
        "runs_a_table": roles.has_staff_role("polling_officer"),
        # Payers: ministry staff (the national fund) and co-funder staff (their government's).
        "pays_disbursements": roles.has_staff_role("ministry_staff")
        or roles.has_staff_role("cofunder_staff"),
    }
