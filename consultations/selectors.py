"""Reads about rounds that pages share, in a fixed number of queries."""

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from communes.models import Commune

from .models import Consultation, Exclusion, PhaseTransition, Project
from .services import NEXT_PHASE, PHASE_STARTS, participating_communes

Phase = Consultation.Phase
LIVE_PHASES = [Phase.SCHEDULED, Phase.ASSEMBLIES, Phase.VALIDATION, Phase.VOTING, Phase.COUNTING]


def consultation_current() -> Consultation | None:
    """The round people are living through, if any (the most recent live one)."""
    return Consultation.objects.filter(phase__in=LIVE_PHASES).order_by("-year", "-quarter").first()


def consultations_for_cycle_admin() -> QuerySet[Consultation]:
    return Consultation.objects.annotate(
        transition_count=Count("transitions"),
        exclusion_count=Count("exclusions", distinct=True),
    ).order_by("-year", "-quarter", "-pk")


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
