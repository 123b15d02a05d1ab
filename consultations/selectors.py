"""Reads about rounds that pages share, in a fixed number of queries."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts import permissions
from communes.models import Commune

from .models import (
    NEXT_PHASE,
    PHASE_STARTS,
    Assembly,
    Consultation,
    Exclusion,
    PhaseTransition,
    Project,
)

Phase = Consultation.Phase
LIVE_PHASES = [Phase.SCHEDULED, Phase.ASSEMBLIES, Phase.VALIDATION, Phase.VOTING, Phase.COUNTING]


def participating_communes(consultation: Consultation) -> QuerySet[Commune]:
    """Every active commune takes part, except those excluded from this round."""
    return Commune.objects.filter(status=Commune.Status.ACTIVE).exclude(
        exclusions__consultation=consultation
    )


def consultation_current() -> Consultation | None:
    """The round people are living through, if any (the most recent live one)."""
    return Consultation.objects.filter(phase__in=LIVE_PHASES).order_by("-year", "-quarter").first()


def published_rounds() -> QuerySet[Consultation]:
    """Published rounds, each with the moment it was published (``published_at``): the rounds
    the public results and money trail show."""
    published_at = PhaseTransition.objects.filter(
        consultation=OuterRef("pk"), to_phase=Phase.PUBLISHED
    ).values("at")[:1]
    return Consultation.objects.filter(phase=Phase.PUBLISHED).annotate(
        published_at=Subquery(published_at)
    )


def consultations_for_cycle_admin() -> QuerySet[Consultation]:
    return Consultation.objects.order_by("-year", "-quarter", "-pk")


def consultation_get(*, pk: int) -> Consultation:
    return get_object_or_404(Consultation, pk=pk)


def consultation_timeline(*, consultation: Consultation, now=None) -> dict:
    """What happened (every transition, by whom), what comes next and when."""
    now = now or timezone.now()
    past = list(
        PhaseTransition.objects.filter(consultation=consultation)
        .select_related("by")
        .order_by("at", "pk")
    )
    upcoming, phase = [], consultation.phase
    while phase in NEXT_PHASE:
        phase = NEXT_PHASE[phase]
        upcoming.append(
            {"phase": Phase(phase).label, "at": getattr(consultation, PHASE_STARTS[phase])}
        )
    next_step = upcoming[0] if upcoming else None
    overdue = bool(
        next_step
        and consultation.phase != Phase.DRAFT
        and next_step["at"]
        and next_step["at"] <= now
    )
    return {"past": past, "upcoming": upcoming, "next_step": next_step, "overdue": overdue}


def consultation_readiness(*, consultation: Consultation) -> QuerySet[Commune]:
    """Each commune taking part, with its projects submitted and approved for this round."""
    in_round = Q(projects__consultation=consultation)
    return (
        participating_communes(consultation)
        .select_related("parish__municipality__state")
        .annotate(
            submitted=Count(
                "projects",
                filter=in_round
                & Q(
                    projects__status__in=[
                        Project.Status.SUBMITTED,
                        Project.Status.APPROVED,
                        Project.Status.REJECTED,
                    ]
                ),
            ),
            approved=Count(
                "projects", filter=in_round & Q(projects__status=Project.Status.APPROVED)
            ),
        )
        .order_by("parish__municipality__state__name", "name")
    )


def consultation_exclusions(*, consultation: Consultation) -> QuerySet[Exclusion]:
    return consultation.exclusions.select_related("commune", "by").order_by("commune__name")


def commune_round(*, commune: Commune, consultation: Consultation) -> dict:
    """A commune's part in a round: its assemblies (with problems), its proposals, its ballot."""
    assemblies = list(
        Assembly.objects.filter(consultation=consultation, commune=commune)
        .select_related("minutes")
        .prefetch_related("councils", "problems")
        .order_by("held_on", "pk")
    )
    projects = list(
        Project.objects.filter(consultation=consultation, commune=commune)
        .select_related("problem")
        .order_by("problem__priority", "title")
    )
    return {
        "assemblies": assemblies,
        "projects": projects,
        "ballot": [project for project in projects if project.status == Project.Status.APPROVED],
    }


def rounds_of_commune(*, commune: Commune) -> QuerySet[Consultation]:
    """The rounds a commune's page links to (every round past its draft)."""
    return Consultation.objects.exclude(phase__in=[Phase.DRAFT, Phase.CANCELLED]).order_by(
        "-year", "-quarter"
    )


def validation_queue(*, user, filters: dict) -> QuerySet[Project]:
    """Proposals for ministry staff, in their territory, filtered; a fixed number of queries."""
    projects = Project.objects.select_related(
        "consultation", "commune__parish__municipality__state", "problem__assembly__minutes"
    ).filter(permissions.projects_decidable_q(user))
    if filters.get("state"):
        projects = projects.filter(commune__parish__municipality__state=filters["state"])
    if filters.get("municipality"):
        projects = projects.filter(commune__parish__municipality=filters["municipality"])
    if filters.get("category"):
        projects = projects.filter(category=filters["category"])
    projects = projects.filter(status=filters.get("status") or Project.Status.SUBMITTED)
    return projects.order_by("commune__name", "title")


def round_statistics(*, consultation: Consultation) -> dict:
    """How many communes held assemblies, and proposals by status, per state and per category."""
    # "total" counts every proposal that was submitted (drafts are left out).
    by_status = {
        status: Count("pk", filter=Q(status=status))
        for status in [Project.Status.APPROVED, Project.Status.REJECTED]
    }
    proposals = Project.objects.filter(consultation=consultation).exclude(
        status=Project.Status.DRAFT
    )
    per_state = (
        proposals.values("commune__parish__municipality__state__name")
        .annotate(**by_status, total=Count("pk"))
        .order_by("commune__parish__municipality__state__name")
    )
    per_category = (
        proposals.values("category").annotate(**by_status, total=Count("pk")).order_by("category")
    )
    labels = dict(Project.Category.choices)
    return {
        "communes_with_assemblies": Assembly.objects.filter(consultation=consultation)
        .values("commune")
        .distinct()
        .count(),
        "per_state": list(per_state),
        "per_category": [{**row, "label": labels[row["category"]]} for row in per_category],
    }
