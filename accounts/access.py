"""The access table: for every URL name, which roles may use it.

This is a declaration, checked by a test that walks every URL the project registers and, for each
role below, with real objects of commune A and commune B, requires that nobody gets more than the
table allows (and that every URL has a row). The views themselves enforce access through
``accounts.permissions``; this table is what an auditor reads.

A new URL needs its row here, or the test fails.
"""

ANONYMOUS = "anonymous"
RESIDENT_A = "resident_a"
RESIDENT_B = "resident_b"
SPOKESPERSON_A_EXECUTIVE = "spokesperson_a_executive"
SPOKESPERSON_A_FINANCE = "spokesperson_a_finance"
SPOKESPERSON_A_SOCIAL_OVERSIGHT = "spokesperson_a_social_oversight"
SPOKESPERSON_A_ELECTORAL = "spokesperson_a_electoral"
SPOKESPERSON_B = "spokesperson_b"
POLLING_OFFICER = "polling_officer"
MINISTRY_STAFF = "ministry_staff"
COFUNDER_STAFF = "cofunder_staff"
CYCLE_ADMIN = "cycle_admin"

ROLES = (
    ANONYMOUS,
    RESIDENT_A,
    RESIDENT_B,
    SPOKESPERSON_A_EXECUTIVE,
    SPOKESPERSON_A_FINANCE,
    SPOKESPERSON_A_SOCIAL_OVERSIGHT,
    SPOKESPERSON_A_ELECTORAL,
    SPOKESPERSON_B,
    POLLING_OFFICER,
    MINISTRY_STAFF,
    COFUNDER_STAFF,
    CYCLE_ADMIN,
)
STAFF_ROLES = frozenset({POLLING_OFFICER, MINISTRY_STAFF, COFUNDER_STAFF, CYCLE_ADMIN})

EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
SPOKESPEOPLE_OF_A = frozenset(
    {
        SPOKESPERSON_A_EXECUTIVE,
        SPOKESPERSON_A_FINANCE,
        SPOKESPERSON_A_SOCIAL_OVERSIGHT,
        SPOKESPERSON_A_ELECTORAL,
    }
)
SPOKESPEOPLE = SPOKESPEOPLE_OF_A | {SPOKESPERSON_B}
# Verified residents of commune A, the commune on the walk's round in voting (B has no ballot).
VOTERS_OF_A = SPOKESPEOPLE_OF_A | {RESIDENT_A}

# URL name → roles allowed. The objects used by the walk belong to commune A, so "the spokespeople
# of A" means: of the object's own commune.
ACCESS: dict[str, frozenset[str]] = {
    # Public pages.
    "home": EVERYONE,
    # The load balancer's health probe (issue 9): no sign-in, reports services, not data.
    "healthz": EVERYONE,
    # The site's icon, which browsers ask for at this address (issue 18).
    "favicon": EVERYONE,
    # The vote: verified residents of a commune on the vote; receipts are public once it closes.
    "voting:ballot": VOTERS_OF_A,
    "voting:vote-confirm": VOTERS_OF_A,
    "voting:receipt-check": EVERYONE,
    # ¿Dónde voto? (issue 16): a cédula's voting place, for anyone, limited per address.
    "voting:where-to-vote": EVERYONE,
    "voting:urn-receipts": EVERYONE,
    # Voting tables: officers run their own table; staff review sheets; the admin sets them up.
    "voting:officer-home": frozenset({POLLING_OFFICER}),
    "voting:table": frozenset({POLLING_OFFICER}),
    "voting:table-mark": frozenset({POLLING_OFFICER}),
    "voting:table-sheet": frozenset({POLLING_OFFICER}),
    "voting:sheet-queue": frozenset({MINISTRY_STAFF, CYCLE_ADMIN}),
    "voting:sheet-review": frozenset({MINISTRY_STAFF, CYCLE_ADMIN}),
    "voting:round-tables": frozenset({CYCLE_ADMIN}),
    "voting:tables-import": frozenset({CYCLE_ADMIN}),
    "voting:officer-unassign": frozenset({CYCLE_ADMIN}),
    "communes:directory": EVERYONE,
    "communes:detail": EVERYONE,
    "set_language": EVERYONE,
    # Pages for people.
    "accounts:home-for-user": SIGNED_IN,
    "accounts:voting-notice": SIGNED_IN,
    # Addresses failing to sign in across many accounts (issue 18): the staff who watch the site.
    "accounts:signin-alarms": frozenset({MINISTRY_STAFF, CYCLE_ADMIN}),
    "communes:my-participation": SIGNED_IN,
    "communes:my-data": SIGNED_IN,
    "communes:my-communes": SPOKESPEOPLE,
    "communes:claims-queue": SPOKESPEOPLE | {MINISTRY_STAFF},
    "communes:claim-decide": SPOKESPEOPLE_OF_A | {MINISTRY_STAFF},
    # A private file of commune A (a public one is open to everyone).
    "communes:file-download": SPOKESPEOPLE_OF_A | {MINISTRY_STAFF, CYCLE_ADMIN},
    # The cycle admin's pages (the cycle app: every move of a round).
    "cycle:round-list": frozenset({CYCLE_ADMIN}),
    "cycle:round-detail": frozenset({CYCLE_ADMIN}),
    "cycle:round-edit": frozenset({CYCLE_ADMIN}),
    "cycle:round-schedule": frozenset({CYCLE_ADMIN}),
    "cycle:round-exclude": frozenset({CYCLE_ADMIN}),
    "cycle:round-move": frozenset({CYCLE_ADMIN}),
    # The round's electoral commissioners (issue 14): the cycle admin appoints and removes them.
    "cycle:commissioner-appoint": frozenset({CYCLE_ADMIN}),
    "cycle:commissioner-remove": frozenset({CYCLE_ADMIN}),
    # A commissioner's own page, its downloads and uploads: only the person appointed to that
    # round (the walk appoints resident B), nobody else, cycle admins included.
    "cycle:commissioner": frozenset({RESIDENT_B}),
    "cycle:commissioner-upload": frozenset({RESIDENT_B}),
    "cycle:commissioner-download": frozenset({RESIDENT_B}),
    # A commune in a round: public; its spokespeople write there, ministry staff validate.
    "consultations:round-public": EVERYONE,
    "consultations:commune-round": EVERYONE,
    "consultations:assembly-create": SPOKESPEOPLE_OF_A,
    "consultations:problem-add": SPOKESPEOPLE_OF_A,
    "consultations:problem-move": SPOKESPEOPLE_OF_A,
    "consultations:project-create": SPOKESPEOPLE_OF_A,
    "consultations:project-edit": SPOKESPEOPLE_OF_A,
    "consultations:project-withdraw": SPOKESPEOPLE_OF_A,
    "consultations:project-photo-add": SPOKESPEOPLE_OF_A,
    "consultations:validation-queue": frozenset({MINISTRY_STAFF}),
    "consultations:project-decide": frozenset({MINISTRY_STAFF}),
    # The results of published rounds and their open data: public.
    "voting:results-list": EVERYONE,
    "voting:results-round": EVERYONE,
    "voting:results-state": EVERYONE,
    "voting:results-municipality": EVERYONE,
    "voting:results-commune": EVERYONE,
    "voting:results-projects-csv": EVERYONE,
    "voting:results-projects-json": EVERYONE,
    "voting:results-communes-csv": EVERYONE,
    "voting:results-communes-json": EVERYONE,
    "voting:results-tables-csv": EVERYONE,
    "voting:results-tables-json": EVERYONE,
    "voting:results-pabulib-commune": EVERYONE,
    "voting:results-pabulib-zip": EVERYONE,
    # The urn of a published round, for anyone to verify the count (issue 14).
    "voting:results-urn-index": EVERYONE,
    "voting:results-urn-commune": EVERYONE,
    # The public money trail (issue 8): rounds, funders, projects and their open data.
    "funding:money-list": EVERYONE,
    "funding:money-round": EVERYONE,
    "funding:money-round-csv": EVERYONE,
    "funding:money-round-json": EVERYONE,
    "funding:money-project": EVERYONE,
    # (end of the public money trail)
    # Money (issue 8), the commune's side: its spokespeople see it; the services decide who acts.
    "funding:commune-money": SPOKESPEOPLE_OF_A,
    "funding:project-workspace": SPOKESPEOPLE_OF_A,
    "funding:disbursement-request": frozenset({SPOKESPERSON_A_FINANCE}),
    "funding:receipt-add": frozenset({SPOKESPERSON_A_FINANCE, SPOKESPERSON_A_EXECUTIVE}),
    "funding:progress-add": frozenset({SPOKESPERSON_A_FINANCE, SPOKESPERSON_A_EXECUTIVE}),
    "funding:closing-report-submit": frozenset({SPOKESPERSON_A_FINANCE, SPOKESPERSON_A_EXECUTIVE}),
    "funding:flag-raise": frozenset({SPOKESPERSON_A_SOCIAL_OVERSIGHT}),
    # Money, the payers' side: the walk's request is on the national fund (ministry staff pay it).
    "funding:payments": frozenset({MINISTRY_STAFF, COFUNDER_STAFF}),
    "funding:disbursement": frozenset({MINISTRY_STAFF}),
    "funding:disbursement-approve": frozenset({MINISTRY_STAFF}),
    "funding:disbursement-reject": frozenset({MINISTRY_STAFF}),
    "funding:disbursement-transfer": frozenset({MINISTRY_STAFF}),
    "funding:pledge": frozenset({COFUNDER_STAFF}),
    "funding:oversight": frozenset({MINISTRY_STAFF}),
    "funding:flag-answer": frozenset({MINISTRY_STAFF}),
    "funding:closing-report-decide": frozenset({MINISTRY_STAFF}),
    "funding:project-ledger": frozenset({MINISTRY_STAFF}),
    "funding:ledger-reverse": frozenset({MINISTRY_STAFF}),
    # (end of the money pages)
    # django-allauth: signing in and up is for everyone, managing an account for its owner.
    "account_login": EVERYONE,
    "account_signup": EVERYONE,
    "account_logout": EVERYONE,
    "account_inactive": EVERYONE,
    "account_email_verification_sent": EVERYONE,
    "account_confirm_email": EVERYONE,
    "account_reset_password": EVERYONE,
    "account_reset_password_done": EVERYONE,
    "account_reset_password_from_key": EVERYONE,
    "account_reset_password_from_key_done": EVERYONE,
    "account_confirm_login_code": EVERYONE,
    "account_reauthenticate": SIGNED_IN,
    "account_request_reauthentication_code": SIGNED_IN,
    "account_confirm_reauthentication_code": SIGNED_IN,
    "account_email": SIGNED_IN,
    "account_change_password": SIGNED_IN,
    "account_set_password": SIGNED_IN,
    "mfa_authenticate": EVERYONE,
    "mfa_index": SIGNED_IN,
    "mfa_reauthenticate": SIGNED_IN,
    "mfa_activate_totp": SIGNED_IN,
    "mfa_deactivate_totp": SIGNED_IN,
    "mfa_view_recovery_codes": SIGNED_IN,
    "mfa_generate_recovery_codes": SIGNED_IN,
    "mfa_download_recovery_codes": SIGNED_IN,
    # The Django admin, every page of it: cycle admins only.
    "admin:*": frozenset({CYCLE_ADMIN}),
}


def allowed_roles(url_name: str) -> frozenset[str] | None:
    """The roles a URL allows, or None when the URL has no row."""
    if url_name in ACCESS:
        return ACCESS[url_name]
    namespace = url_name.split(":", 1)[0]
    return ACCESS.get(f"{namespace}:*") if ":" in url_name else None


def is_public(url_name: str | None) -> bool:
    return url_name is not None and allowed_roles(url_name) == EVERYONE
