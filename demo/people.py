"""The demo's named accounts: one per role (all with the same printed password, the staff with
the same printed TOTP secret), linked to their census records as a verified claim would, and a
few residents whose claims wait in the spokesperson's queue."""

import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext as _

from accounts.models import StaffRole, User
from accounts.services import staff_role_grant
from communes import services as communes
from communes.models import Commune, Resident, ResidentClaim, Spokesperson, State

from .names import GIVEN, SURNAMES

PASSWORD = "demo-comunas-2026"  # noqa: S105 -- printed for the demo; never a real account
# Staff need two-step verification; the demo staff accounts share this TOTP secret (base32), which
# is printed so that whoever tries the demo can add it to an authenticator app.
TOTP_SECRET = "JBSWY3DPEHPK3PXPCOMUNAS2"  # noqa: S105 -- demo only
EMAIL_DOMAIN = "demo.comunas.test"

ROLE_ACCOUNTS = [
    # (email local part, first name, last name, staff role or None, state code); the ministry
    # account comes first because it verifies the others' census claims.
    ("ministerio", "Héctor", "Salazar", StaffRole.Kind.MINISTRY_STAFF, None),
    ("admin", "Beatriz", "Urdaneta", StaffRole.Kind.CYCLE_ADMIN, None),
    ("cofinanciador", "Zulay", "Parra", StaffRole.Kind.COFUNDER_STAFF, "13"),
    ("mesa", "Wilmer", "Briceño", StaffRole.Kind.POLLING_OFFICER, None),
    ("vocera", "Yelitza", "Colmenares", None, None),
    ("residente", "Rosa", "Quintero", None, None),
]
CLAIMANTS = 3  # demo accounts with a claim waiting in the spokesperson's queue


def email(local: str) -> str:
    return f"{local}@{EMAIL_DOMAIN}"


def account(local: str) -> User:
    """One of the demo's accounts, by the local part of its address (``ministerio``, ``admin``)."""
    return User.objects.get(email=email(local))


def user_with_password(local: str, first: str, last: str) -> User:
    """An account to sign in to with the demo's password, its address verified."""
    user, created = User.objects.get_or_create(
        email=email(local), defaults={"first_name": first, "last_name": last}
    )
    if created:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def user_without_password(local: str, first: str, last: str) -> User:
    """An account that only acted in the demo's past: nobody signs in to it."""
    user, _created = User.objects.get_or_create(
        email=email(local),
        defaults={"first_name": first, "last_name": last, "password": make_password(None)},
    )
    return user


def resident_link(resident: Resident, user: User) -> None:
    """Link a demo account to its census record as if a spokesperson had verified it."""
    if resident.user_id == user.pk:
        return
    claim = communes.resident_claim_create(
        user=user, cedula=resident.cedula, birth_date=resident.birth_date
    )
    communes.resident_claim_approve(claim=claim, by=account("ministerio"))


def accounts_seed(home: Commune) -> list[tuple[str, str]]:
    """One account per role (the spokesperson and the resident in the ``home`` commune), and the
    residents waiting for verification there. Returns (email, role) lines to print."""
    printed = []
    for local, first, last, kind, state_code in ROLE_ACCOUNTS:
        user = user_with_password(local, first, last)
        if kind is not None:
            state = State.objects.get(code=state_code) if state_code else None
            staff_role_grant(user=user, kind=kind, state=state, by=None)
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, TOTP_SECRET)
            label = StaffRole.Kind(kind).label
            if kind == StaffRole.Kind.CYCLE_ADMIN:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
        elif local == "vocera":
            resident = Spokesperson.objects.filter(commune=home, unit="executive").first().resident
            resident_link(resident, user)
            label = _("Executive spokesperson, %(commune)s") % {"commune": home.name}
        else:
            resident = (
                Resident.objects.get(user=user)
                if Resident.objects.filter(user=user).exists()
                else Resident.objects.filter(
                    council__commune=home,
                    birth_date__lte=datetime.date(2000, 1, 1),
                    spokesperson_terms__isnull=True,
                    user__isnull=True,
                )
                .order_by("cedula")
                .first()
            )
            resident_link(resident, user)
            label = _("Verified resident, %(commune)s") % {"commune": home.name}
        printed.append((user.email, str(label)))
    waiting = (
        Resident.objects.filter(council__commune=home, user__isnull=True)
        .exclude(claims__status__in=["pending", "approved"])
        .order_by("-cedula")
    )
    for number in range(1, CLAIMANTS + 1):
        user = user_with_password(f"solicitante{number}", GIVEN[number], SURNAMES[number])
        if ResidentClaim.objects.filter(user=user).exists():
            continue
        resident = waiting.first()
        communes.resident_claim_create(
            user=user, cedula=resident.cedula, birth_date=resident.birth_date
        )
    printed.append(
        (f"solicitante1..{CLAIMANTS}@{EMAIL_DOMAIN}", _("Residents with a claim to verify"))
    )
    return printed


def spokesperson_account(commune: Commune, unit: str, local: str, *, password: bool = True) -> User:
    """The account of the commune's spokesperson of that unit (appointed if the commune has
    none), linked to their census record as a verified claim would."""
    term = (
        Spokesperson.objects.filter(commune=commune, unit=unit, ended_on__isnull=True)
        .select_related("resident__user")
        .order_by("term_start", "pk")
        .first()
    )
    if term is None:
        resident = (
            Resident.objects.filter(
                council__commune=commune,
                birth_date__lte=datetime.date(2000, 1, 1),
                spokesperson_terms__isnull=True,
                user__isnull=True,
                claims__isnull=True,
            )
            .order_by("cedula")
            .first()
        )
        term = communes.spokesperson_appoint(
            resident=resident,
            commune=commune,
            unit=unit,
            term_start=datetime.date(2025, 3, 1),
            by=None,
        )
    resident = term.resident
    if resident.user_id is not None:
        return resident.user
    first, *rest = resident.full_name.split(" ")
    make = user_with_password if password else user_without_password
    user = make(local, first, " ".join(rest))
    resident_link(resident, user)
    return User.objects.get(pk=user.pk)  # with the roles it holds now
