from functools import partial

from . import permissions


def navigation(request):
    """What the header shows a signed-in person (roles are cached on the user per request)."""
    user = request.user
    if not user.is_authenticated:
        return {"can_manage_cycle": False, "can_validate": False}
    # Callables: a template calls each only if it shows the link (the voter's pages show none).
    return {
        name: partial(permissions.can, user, rule)
        for name, rule in (
            ("can_manage_cycle", "consultations.manage_cycle"),
            ("can_validate", "consultations.see_validation_queue"),
            ("can_review_sheets", "voting.review_tally_sheets"),
            ("runs_a_table", "voting.see_own_tables"),
            ("pays_disbursements", "funding.see_payments"),
            ("sees_signin_alarms", "accounts.see_signin_alarms"),
        )
    }
