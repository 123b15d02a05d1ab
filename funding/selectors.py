"""Shared reads of the money."""

from django.db.models import Exists, OuterRef

from consultations.models import Consultation
from voting.models import ProjectResult

from .models import Allocation


def rounds_awaiting_allocations() -> list[int]:
    """Published rounds with a winner that has no allocation of the round yet (one query)."""
    unallocated = ProjectResult.objects.filter(consultation=OuterRef("pk"), is_winner=True).exclude(
        Exists(
            Allocation.objects.filter(project=OuterRef("project"), kind=Allocation.Kind.ALLOCATION)
        )
    )
    return list(
        Consultation.objects.filter(phase=Consultation.Phase.PUBLISHED)
        .filter(Exists(unallocated))
        .values_list("pk", flat=True)
    )
