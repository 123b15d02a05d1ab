"""Who may do what to which object: the one place that answers it.

Views and services ask ``can`` / ``require``; nobody re-derives a rule. A user's roles come from
three sources: the census record they claimed (resident), the spokesperson terms recorded for
that record (spokesperson of a commune, by unit), and StaffRole grants (ministry, co-funder,
cycle admin, polling officer). They are read once per request and kept on the user object.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from communes.models import CommunalCouncil, Resident, Spokesperson
from voting.models import Commissioner, OfficerAssignment

from .models import StaffRole, User


@dataclass(frozen=True)
class Roles:
    resident_id: int | None = None
    resident_commune_id: int | None = None
    # commune id → units served there (usually one).
    spokesperson_units: dict[int, frozenset[str]] = field(default_factory=dict)
    # kind → state ids (None meaning the whole nation).
    staff_scopes: dict[str, frozenset[int | None]] = field(default_factory=dict)

    @property
    def is_verified_resident(self) -> bool:
        return self.resident_id is not None

    @property
    def is_spokesperson(self) -> bool:
        return bool(self.spokesperson_units)

    def has_staff_role(self, kind: str) -> bool:
        return kind in self.staff_scopes

    def staff_covers_state(self, kind: str, state_id: int) -> bool:
        scopes = self.staff_scopes.get(kind, frozenset())
        return None in scopes or state_id in scopes

    def as_json(self) -> dict:
        return {
            "resident": [self.resident_id, self.resident_commune_id],
            "units": [
                [commune, sorted(units)] for commune, units in self.spokesperson_units.items()
            ],
            "staff": [[kind, list(states)] for kind, states in self.staff_scopes.items()],
        }

    @classmethod
    def from_json(cls, data: dict) -> Roles:
        return cls(
            resident_id=data["resident"][0],
            resident_commune_id=data["resident"][1],
            spokesperson_units={commune: frozenset(units) for commune, units in data["units"]},
            staff_scopes={kind: frozenset(states) for kind, states in data["staff"]},
        )


# The three sources of a person's roles in one round trip: this runs on nearly every request
# (the navigation shows role links), and three ORM queries cost more CPU than the rest of a vote.
_ROLES_SQL = """
SELECT 'resident', r.id, cc.commune_id, NULL
FROM {resident} r JOIN {council} cc ON cc.id = r.council_id
WHERE r.user_id = %(user)s AND r.verification = %(verified)s
UNION ALL
SELECT 'spokesperson', s.commune_id, NULL, s.unit
FROM {spokesperson} s JOIN {resident} r ON r.id = s.resident_id
WHERE r.user_id = %(user)s AND r.verification = %(verified)s
  AND s.term_start <= %(today)s AND s.term_end >= %(today)s
  AND (s.ended_on IS NULL OR s.ended_on >= %(today)s)
UNION ALL
SELECT 'staff', st.state_id, NULL, st.kind FROM {staff} st WHERE st.user_id = %(user)s
"""


def _roles_sql() -> str:
    return _ROLES_SQL.format(
        resident=Resident._meta.db_table,
        council=CommunalCouncil._meta.db_table,
        spokesperson=Spokesperson._meta.db_table,
        staff=StaffRole._meta.db_table,
    )


def roles_of(user, *, today: datetime.date | None = None) -> Roles:
    """The roles a user holds today (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return Roles()
    cached = getattr(user, "_comunas_roles", None)
    if cached is not None and today is None:
        return cached

    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            _roles_sql(),
            {"user": user.pk, "today": today, "verified": Resident.Verification.VERIFIED.value},
        )
        rows = cursor.fetchall()
    resident_id = resident_commune_id = None
    spokesperson_units: dict[int, set[str]] = {}
    staff_scopes: dict[str, set[int | None]] = {}
    for source, first, second, label in rows:
        if source == "resident":
            resident_id, resident_commune_id = first, second
        elif source == "spokesperson":
            spokesperson_units.setdefault(first, set()).add(label)
        else:
            staff_scopes.setdefault(label, set()).add(first)
    roles = Roles(
        resident_id=resident_id,
        resident_commune_id=resident_commune_id,
        spokesperson_units={k: frozenset(v) for k, v in spokesperson_units.items()},
        staff_scopes={k: frozenset(v) for k, v in staff_scopes.items()},
    )
    user._comunas_roles = roles
    return roles


SESSION_ROLES = "_comunas_roles"


def roles_from_session(request) -> Roles:
    """The signed-in person's roles, kept in their session for the day they were read.

    Every change of someone's roles goes through ``roles_changed``, which ends all their sessions
    (the session epoch is part of the session's hash), so a kept copy can only go stale with the
    date (a spokesperson's term starting or ending); it is read again each day. Saves a query on
    every page a signed-in person opens.
    """
    user = request.user
    kept = request.session.get(SESSION_ROLES)
    today = timezone.localdate().isoformat()
    if kept and kept.get("day") == today and kept.get("epoch") == user.session_epoch:
        roles = Roles.from_json(kept["roles"])
        user._comunas_roles = roles
        return roles
    roles = roles_of(user)
    request.session[SESSION_ROLES] = {
        "day": today,
        "epoch": user.session_epoch,
        "roles": roles.as_json(),
    }
    return roles


def forget_roles(user) -> None:
    """Drop the cached roles (a test or a service that changed them reads them afresh)."""
    user.__dict__.pop("_comunas_roles", None)


def roles_changed(user) -> None:
    """A person's roles changed: end every session they have, so none keeps the old roles."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    forget_roles(user)


def is_ministry_staff(user) -> bool:
    return roles_of(user).has_staff_role(StaffRole.Kind.MINISTRY_STAFF)


def is_cycle_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or roles_of(user).has_staff_role(
        StaffRole.Kind.CYCLE_ADMIN
    )


def needs_two_factor(user) -> bool:
    """Staff (ministry, co-funders, cycle admins, polling officers, admin users) must use TOTP."""
    return bool(getattr(user, "is_staff", False)) or bool(roles_of(user).staff_scopes)


def commune_ids_spoken_for(user) -> frozenset[int]:
    return frozenset(roles_of(user).spokesperson_units)


def _may_verify_residents_of(user, commune) -> bool:
    roles = roles_of(user)
    if commune.pk in roles.spokesperson_units:
        return True
    return roles.staff_covers_state(
        StaffRole.Kind.MINISTRY_STAFF, commune.parish.municipality.state_id
    )


def _may_decide_claim(user, claim) -> bool:
    if claim.user_id == user.pk:
        return False  # nobody vouches for themselves
    return _may_verify_residents_of(user, claim.resident.council.commune)


def claims_decidable_q(user) -> Q:
    """The same rule as "communes.decide_claim", as a filter for listing claims."""
    roles = roles_of(user)
    ministry_states = roles.staff_scopes.get(StaffRole.Kind.MINISTRY_STAFF, frozenset())
    if None in ministry_states:
        scope = Q()
    else:
        scope = Q(resident__council__commune_id__in=list(roles.spokesperson_units)) | Q(
            resident__council__commune__parish__municipality__state_id__in=list(ministry_states)
        )
    return scope & ~Q(user=user)


def _keeps_files_of(user, commune) -> bool:
    roles = roles_of(user)
    return commune.pk in roles.spokesperson_units or roles.staff_covers_state(
        StaffRole.Kind.MINISTRY_STAFF, commune.parish.municipality.state_id
    )


def _may_upload_file(user, commune) -> bool:
    # Officers upload the photo or scan of their table's signed tally sheet (a public file); they
    # do not see the commune's private files.
    return _keeps_files_of(user, commune) or _runs_a_table_of(user, commune)


def _runs_a_table_of(user, commune) -> bool:
    if not roles_of(user).has_staff_role(StaffRole.Kind.POLLING_OFFICER):
        return False
    return OfficerAssignment.objects.filter(officer=user, table__commune=commune).exists()


def _may_run_table(user, assignment) -> bool:
    """An officer runs only the table they were assigned (the dates are the view's business)."""
    return assignment.officer_id == user.pk and roles_of(user).has_staff_role(
        StaffRole.Kind.POLLING_OFFICER
    )


def _ministry_states_q(user, commune: str) -> Q:
    """Rows whose commune (at the path ``commune``) lies in a state the user serves as ministry
    staff: every row for national staff, none for anyone without the role."""
    states = roles_of(user).staff_scopes.get(StaffRole.Kind.MINISTRY_STAFF, frozenset())
    if None in states:
        return Q()
    return Q(**{f"{commune}__parish__municipality__state_id__in": list(states)})


def tally_sheets_reviewable_q(user) -> Q:
    """The same rule as "voting.review_tally_sheets", as a filter on sheets and conflicts."""
    if is_cycle_admin(user):
        return Q()
    return _ministry_states_q(user, "table__commune")


def _is_commissioner_of(user, consultation) -> bool:
    """A round's commissioner's page and uploads: only the person appointed to it (a cycle
    admin included: appointing is theirs, acting as a commissioner is not)."""
    if consultation is None:
        return False
    return Commissioner.objects.filter(consultation=consultation, user_id=user.pk).exists()


def _may_see_own_tables(user, _obj=None) -> bool:
    return roles_of(user).has_staff_role(StaffRole.Kind.POLLING_OFFICER)


def _may_review_tally_sheets(user, sheet=None) -> bool:
    """Ministry staff of the table's state, and cycle admins (who decide what is left at the
    tally-sheet deadline)."""
    if is_cycle_admin(user):
        return True
    if sheet is None:
        return roles_of(user).has_staff_role(StaffRole.Kind.MINISTRY_STAFF)
    return roles_of(user).staff_covers_state(
        StaffRole.Kind.MINISTRY_STAFF, sheet.table.commune.parish.municipality.state_id
    )


def _may_view_file(user, stored_file) -> bool:
    if stored_file.is_public:
        return True
    return is_cycle_admin(user) or _keeps_files_of(user, stored_file.commune)


def _may_see_claims_queue(user, _obj=None) -> bool:
    roles = roles_of(user)
    return roles.is_spokesperson or roles.has_staff_role(StaffRole.Kind.MINISTRY_STAFF)


def _may_see_spokesperson_dashboard(user, _obj=None) -> bool:
    return roles_of(user).is_spokesperson


def _may_claim_census_record(user, _obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _may_write_for_commune(user, commune) -> bool:
    """Assemblies and proposals are entered by the commune's own spokespeople."""
    return commune.pk in roles_of(user).spokesperson_units


def _may_decide_projects(user, project) -> bool:
    return roles_of(user).staff_covers_state(
        StaffRole.Kind.MINISTRY_STAFF, project.commune.parish.municipality.state_id
    )


def projects_decidable_q(user) -> Q:
    """The same rule as "consultations.decide_projects", as a filter on projects (the
    validation queue)."""
    return _ministry_states_q(user, "commune")


def _may_see_validation_queue(user, _obj=None) -> bool:
    return roles_of(user).has_staff_role(StaffRole.Kind.MINISTRY_STAFF)


def _may_manage_cycle(user, _obj=None) -> bool:
    return is_cycle_admin(user)


def _may_see_commune_money(user, commune) -> bool:
    """A commune's money pages (its funded projects, each one's workspace) are its
    spokespeople's, whatever their unit; what each may do there has a rule of its own."""
    return commune.pk in roles_of(user).spokesperson_units


def _may_see_signin_alarms(user, _obj=None) -> bool:
    """Sign-in alarms (an address trying passwords across accounts): ministry staff and cycle
    admins, who watch the site."""
    return is_cycle_admin(user) or is_ministry_staff(user)


def _speaks_for(user, commune_id: int, units: set[str]) -> bool:
    return bool(roles_of(user).spokesperson_units.get(commune_id, frozenset()) & units)


def _may_request_disbursement(user, project) -> bool:
    """The commune's finance spokespeople ask for the money."""
    return _speaks_for(user, project.commune_id, {"finance"})


def _may_report_spending(user, project) -> bool:
    """Receipts, progress and the closing report: the commune's finance or executive
    spokespeople."""
    return _speaks_for(user, project.commune_id, {"finance", "executive"})


def _may_flag(user, project) -> bool:
    """Social oversight (contraloría social) questions what the commune reports."""
    return _speaks_for(user, project.commune_id, {"social_oversight"})


def _may_act_for_source(user, source) -> bool:
    """Co-funder staff act for their own source only; the national fund's are ministry staff."""
    roles = roles_of(user)
    if source.kind == "national":
        return roles.has_staff_role(StaffRole.Kind.MINISTRY_STAFF)
    return (
        roles.has_staff_role(StaffRole.Kind.COFUNDER_STAFF)
        and source.staff.filter(pk=user.pk).exists()
    )


def _may_pay(user, allocation) -> bool:
    """Approve and transfer: staff of the paying source; for the national fund, ministry staff
    of the project's state (or of the whole nation)."""
    source = allocation.source
    if source.kind == "national":
        state = allocation.project.commune.parish.municipality.state_id
        return roles_of(user).staff_covers_state(StaffRole.Kind.MINISTRY_STAFF, state)
    return _may_act_for_source(user, source)


def payers_of(allocation):
    """The people "funding.pay" allows for this allocation, the other way round (who to tell)."""
    source = allocation.source
    if source.kind == "national":
        state = allocation.project.commune.parish.municipality.state_id
        ministry = Q(staff_roles__kind=StaffRole.Kind.MINISTRY_STAFF)
        people = User.objects.filter(
            ministry & (Q(staff_roles__state__isnull=True) | Q(staff_roles__state_id=state))
        )
    else:
        people = source.staff.filter(staff_roles__kind=StaffRole.Kind.COFUNDER_STAFF)
    return people.filter(is_active=True).distinct()


# Why one of a disbursement's payers may not decide it now; the services say each in words.
OWN_REQUEST = "own_request"
NOT_PENDING = "not_pending"
APPROVED_TWICE = "approved_twice"
NOT_APPROVED = "not_approved"


def approval_refusal(user, disbursement) -> str | None:
    """Why ``user``, a payer of ``disbursement``, may not approve it now (None: they may).

    Whoever requests money never approves it; only a request still waiting is approved; and
    each approval is a different person (reads the approvals: prefetch them for a page).
    """
    if disbursement.requested_by_id == user.pk:
        return OWN_REQUEST
    if disbursement.status != "requested":
        return NOT_PENDING
    if any(approval.by_id == user.pk for approval in disbursement.approvals.all()):
        return APPROVED_TWICE
    return None


def rejection_refusal(user, disbursement) -> str | None:
    """Why ``user``, a payer of ``disbursement``, may not reject it now (None: they may):
    nobody decides their own request, and a transferred or rejected one is decided."""
    if disbursement.requested_by_id == user.pk:
        return OWN_REQUEST
    if disbursement.status not in ("requested", "approved"):
        return NOT_PENDING
    return None


def transfer_refusal(user, disbursement) -> str | None:
    """Why ``user``, a payer of ``disbursement``, may not record its transfer now (None: they
    may): only an approved request is transferred."""
    if disbursement.status != "approved":
        return NOT_APPROVED
    return None


def _may_approve(user, disbursement) -> bool:
    return _may_pay(user, disbursement.allocation) and approval_refusal(user, disbursement) is None


def _may_reject(user, disbursement) -> bool:
    return _may_pay(user, disbursement.allocation) and rejection_refusal(user, disbursement) is None


def _may_transfer(user, disbursement) -> bool:
    return _may_pay(user, disbursement.allocation) and transfer_refusal(user, disbursement) is None


def disbursements_payable_q(user) -> Q:
    """The same rule as "funding.pay", as a filter on disbursements (the payers' queue)."""
    roles = roles_of(user)
    payable = Q(pk__in=[])
    states = roles.staff_scopes.get(StaffRole.Kind.MINISTRY_STAFF, frozenset())
    if states:
        national = Q(allocation__source__kind="national")
        if None not in states:
            national &= Q(project__commune__parish__municipality__state_id__in=list(states))
        payable |= national
    if roles.has_staff_role(StaffRole.Kind.COFUNDER_STAFF):
        payable |= Q(allocation__source__staff=user) & ~Q(allocation__source__kind="national")
    return payable


def _may_oversee(user, project=None) -> bool:
    """Answer flags, decide closing reports, reverse entries: ministry staff of the project's
    state (without a project: of any state, to see the oversight page)."""
    if project is None:
        return roles_of(user).has_staff_role(StaffRole.Kind.MINISTRY_STAFF)
    state = project.commune.parish.municipality.state_id
    return roles_of(user).staff_covers_state(StaffRole.Kind.MINISTRY_STAFF, state)


def projects_overseen_q(user, path: str = "project") -> Q:
    """The same rule as "funding.oversee", as a filter (``path``: the way to the project)."""
    return _ministry_states_q(user, f"{path}__commune")


def _may_see_payments(user, _obj=None) -> bool:
    """The payers' queue: ministry staff (the national fund) and co-funder staff (their own)."""
    roles = roles_of(user)
    return roles.has_staff_role(StaffRole.Kind.MINISTRY_STAFF) or roles.has_staff_role(
        StaffRole.Kind.COFUNDER_STAFF
    )


def _may_pledge(user, _obj=None) -> bool:
    return roles_of(user).has_staff_role(StaffRole.Kind.COFUNDER_STAFF)


def pledge_sources_q(user) -> Q:
    """The sources a co-funder pledges for, as a filter on funding sources: the same rule as
    "funding.act_for_source" for the co-funders' sources (the national fund does not pledge)."""
    if not roles_of(user).has_staff_role(StaffRole.Kind.COFUNDER_STAFF):
        return Q(pk__in=[])
    return Q(staff=user) & ~Q(kind="national")


RULES = {
    "accounts.see_signin_alarms": _may_see_signin_alarms,
    "communes.claim_census_record": _may_claim_census_record,
    "communes.see_claims_queue": _may_see_claims_queue,
    "communes.decide_claim": _may_decide_claim,
    "communes.verify_residents_of": _may_verify_residents_of,
    "communes.see_spokesperson_dashboard": _may_see_spokesperson_dashboard,
    "communes.upload_file": _may_upload_file,
    "communes.view_file": _may_view_file,
    "consultations.manage_cycle": _may_manage_cycle,
    "consultations.write_for_commune": _may_write_for_commune,
    "consultations.decide_projects": _may_decide_projects,
    "consultations.see_validation_queue": _may_see_validation_queue,
    "voting.manage_tables": _may_manage_cycle,
    "voting.run_table": _may_run_table,
    "voting.see_own_tables": _may_see_own_tables,
    "voting.review_tally_sheets": _may_review_tally_sheets,
    "voting.act_as_commissioner": _is_commissioner_of,
    "funding.see_commune_money": _may_see_commune_money,
    "funding.request_disbursement": _may_request_disbursement,
    "funding.report_spending": _may_report_spending,
    "funding.flag": _may_flag,
    "funding.act_for_source": _may_act_for_source,
    "funding.pay": _may_pay,
    "funding.approve": _may_approve,
    "funding.reject": _may_reject,
    "funding.transfer": _may_transfer,
    "funding.oversee": _may_oversee,
    "funding.see_payments": _may_see_payments,
    "funding.pledge": _may_pledge,
}


# Rules that also answer for visitors who are not signed in.
PUBLIC_RULES = {"communes.view_file"}


def can(user, action: str, obj=None) -> bool:
    """May ``user`` do ``action`` (to ``obj``)? Unknown actions are an error, never allowed."""
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"No permission rule named {action!r}")
    signed_in = getattr(user, "is_authenticated", False) and user.is_active
    if not signed_in and action not in PUBLIC_RULES:
        return False
    return rule(user, obj)


def require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied
