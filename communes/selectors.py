"""Reads that pages share, each in a fixed number of queries."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts import permissions
from audit.models import AuditEntry
from replica import public_read

from .models import CommunalCouncil, Commune, Resident, ResidentClaim, Spokesperson


def commune_directory(
    *, search: str = "", state=None, municipality=None, kind: str = ""
) -> QuerySet[Commune]:
    communes = Commune.objects.select_related("parish__municipality__state").annotate(
        council_count=Count("councils", distinct=True)
    )
    if search:
        communes = communes.filter(
            Q(name__icontains=search) | Q(code__iexact=search) | Q(parish__name__icontains=search)
        )
    if state is not None:
        communes = communes.filter(parish__municipality__state=state)
    if municipality is not None:
        communes = communes.filter(parish__municipality=municipality)
    if kind:
        communes = communes.filter(kind=kind)
    return communes.order_by("name", "code")


@public_read
def commune_directory_page(*, filters: dict, per_page: int, number) -> Page:
    """One page of the directory, read whole (its count and its communes: two queries)."""
    communes = commune_directory(
        search=(filters.get("q") or "").strip(),
        state=filters.get("state"),
        municipality=filters.get("municipality"),
        kind=filters.get("kind") or "",
    )
    page = Paginator(communes, per_page).get_page(number)
    page.object_list = list(page.object_list)
    return page


def active_spokespeople(*, today=None) -> QuerySet[Spokesperson]:
    today = today or timezone.localdate()
    return (
        Spokesperson.objects.filter(term_start__lte=today, term_end__gte=today)
        .exclude(ended_on__lt=today)
        .select_related("resident")
    )


@public_read
def commune_get_public(*, code: str) -> Commune:
    return get_object_or_404(
        Commune.objects.select_related("parish__municipality__state"), code=code
    )


def commune_councils(*, commune: Commune) -> QuerySet[CommunalCouncil]:
    return commune.councils.annotate(resident_count=Count("residents")).order_by("name")


def commune_spokespeople(*, commune: Commune) -> QuerySet[Spokesperson]:
    return active_spokespeople().filter(commune=commune).order_by("unit", "standing")


def communes_spoken_for(*, user) -> QuerySet[Commune]:
    """The communes a spokesperson serves, with what their dashboard counts."""
    return (
        Commune.objects.filter(pk__in=permissions.commune_ids_spoken_for(user))
        .select_related("parish__municipality__state")
        .annotate(
            council_count=Count("councils", distinct=True),
            resident_count=Count("councils__residents", distinct=True),
            verified_count=Count(
                "councils__residents",
                filter=Q(councils__residents__verification=Resident.Verification.VERIFIED),
                distinct=True,
            ),
            pending_claim_count=Count(
                "councils__residents__claims",
                filter=Q(councils__residents__claims__status=ResidentClaim.Status.PENDING),
                distinct=True,
            ),
        )
        .order_by("name")
    )


def claims_decidable_by(*, user) -> QuerySet[ResidentClaim]:
    """Claims the user may verify: of the communes they speak for, or of their ministry scope."""
    return (
        ResidentClaim.objects.filter(permissions.claims_decidable_q(user))
        .select_related("user", "resident__council__commune")
        .order_by("created_at", "pk")
    )


def claim_get_for_decision(*, user, pk: int) -> ResidentClaim:
    """A claim the user may decide, or 404: another commune's claim does not exist for them."""
    claim = get_object_or_404(
        ResidentClaim.objects.select_related(
            "user", "resident__council__commune__parish__municipality"
        ),
        pk=pk,
    )
    if not permissions.can(user, "communes.decide_claim", claim):
        raise Http404
    return claim


def participation_of(*, user) -> dict:
    """What a resident's "my participation" page shows."""
    resident = (
        Resident.objects.filter(user=user)
        .select_related("council__commune__parish__municipality__state")
        .first()
    )
    latest_claim = (
        ResidentClaim.objects.filter(user=user)
        .select_related("resident__council__commune")
        .order_by("-created_at", "-pk")
        .first()
    )
    terms = (
        Spokesperson.objects.filter(resident=resident).select_related("commune")
        if resident
        else Spokesperson.objects.none()
    )
    return {"resident": resident, "latest_claim": latest_claim, "spokesperson_terms": terms}


def registry_figures() -> dict:
    return {
        "communes": Commune.objects.filter(status=Commune.Status.ACTIVE).count(),
        "councils": CommunalCouncil.objects.count(),
        "states": Commune.objects.values("parish__municipality__state").distinct().count(),
    }


def personal_data_of(*, user) -> dict:
    """Everything the app stores about a person: account, census record, claims, terms, and the
    audit entries of their own actions."""
    resident = Resident.objects.filter(user=user).select_related("council__commune").first()
    return {
        "account": {
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "email_addresses": list(
                EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
            ),
            "two_factor_methods": list(
                Authenticator.objects.filter(user=user).values_list("type", flat=True)
            ),
            "staff_roles": [
                {"role": role.kind, "state": role.state.name if role.state else None}
                for role in user.staff_roles.select_related("state")
            ],
        },
        "census_record": resident
        and {
            "cedula": resident.cedula,
            "full_name": resident.full_name,
            "birth_date": resident.birth_date,
            "communal_council": resident.council.name,
            "commune": resident.council.commune.name,
            "verification": resident.verification,
            "verified_at": resident.verified_at,
        },
        "census_claims": list(
            ResidentClaim.objects.filter(user=user).values(
                "resident__cedula", "status", "created_at", "decided_at", "rejection_reason"
            )
        ),
        "spokesperson_terms": list(
            Spokesperson.objects.filter(resident__user=user).values(
                "commune__name", "unit", "standing", "term_start", "term_end", "ended_on"
            )
        ),
        "actions_recorded_in_the_audit_trail": list(
            AuditEntry.objects.filter(actor_id=user.pk)
            .order_by("seq")
            .values("at", "action", "object_type", "object_id", "ip")
        ),
    }
