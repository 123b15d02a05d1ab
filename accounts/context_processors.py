from . import permissions


def navigation(request):
    """What the header shows a signed-in person (roles are cached on the user per request)."""
    user = request.user
    if not user.is_authenticated:
        return {"can_manage_cycle": False, "can_validate": False}
    return {
        "can_manage_cycle": permissions.can(user, "consultations.manage_cycle"),
        "can_validate": permissions.can(user, "consultations.see_validation_queue"),
        "can_review_sheets": permissions.can(user, "voting.review_tally_sheets"),
        "runs_a_table": permissions.can(user, "voting.see_own_tables"),
        "pays_disbursements": permissions.can(user, "funding.see_payments"),
        "sees_signin_alarms": permissions.can(user, "accounts.see_signin_alarms"),
    }
