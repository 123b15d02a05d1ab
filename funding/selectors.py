"""Shared reads of the money: the job's rounds to allocate, the commune's money pages, the
payers' queue and pages, the co-funders' pledge search and the ministry's oversight. Each runs in
a fixed number of queries, however many projects, allocations or movements there are; those
that fetch one object for a person ask accounts.permissions and answer 404 or 403.
"""

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts import permissions
from communes.models import Commune
from consultations.models import Consultation, Project
from voting.models import ProjectResult

from . import services
from .models import (
    Allocation,
    ClosingReport,
    Disbursement,
    DisbursementApproval,
    Flag,
    FundingSource,
    LedgerEntry,
    ProjectStatus,
)


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


# The commune's side --------------------------------------------------------------------------


def _funded(projects: QuerySet[Project]) -> QuerySet[Project]:
    return projects.filter(Exists(Allocation.objects.filter(project=OuterRef("pk"))))


def commune_for_money(*, user, code: str) -> Commune:
    """The commune whose money pages these are; to anyone but its spokespeople, not found."""
    commune = get_object_or_404(
        Commune.objects.select_related("parish__municipality__state"), code=code
    )
    if not permissions.can(user, "funding.see_commune_money", commune):
        raise Http404
    return commune


def commune_funded_projects(*, commune: Commune) -> list[Project]:
    """The commune's funded projects, newest round first, each with its ``balance`` and its
    ``current_status`` (the label): two queries, however many projects."""
    projects = list(
        _funded(Project.objects.filter(commune=commune))
        .select_related("consultation")
        .annotate(progress=services.progress_status())
        .order_by("-consultation__year", "-consultation__quarter", "title")
    )
    balances = services.project_balances(project.pk for project in projects) if projects else {}
    for project in projects:
        project.balance = balances[project.pk]
        project.current_status = ProjectStatus(project.progress).label
    return projects


def workspace_project(*, user, pk: int) -> Project:
    """A funded project, for its commune's spokespeople; to anyone else, not found."""
    project = get_object_or_404(
        _funded(
            Project.objects.select_related("consultation", "commune__parish__municipality__state")
        ),
        pk=pk,
    )
    if not permissions.can(user, "funding.see_commune_money", project.commune):
        raise Http404
    return project


def project_allocations(project: Project) -> QuerySet[Allocation]:
    """The money promised to a project (its allocation, then pledges), with their sources."""
    return project.allocations.select_related("source").order_by("created_at", "pk")


def project_workspace(*, project: Project) -> dict:
    """What the project's page for its commune shows: its balance and status, each allocation
    with what is left to request, its requests, receipts, progress and closing reports. A fixed
    number of queries, however many of each."""
    allocations = list(project_allocations(project))
    available = services.allocations_available(allocations)
    for allocation in allocations:
        allocation.available = available[allocation.pk]
    balance = services.project_balance(project.pk)
    return {
        "balance": balance,
        "receipts_missing": balance.receipts_missing,
        "status": services.project_status(project.pk),
        "allocations": allocations,
        "disbursements": project.disbursements.select_related("allocation__source")
        .annotate(approval_count=Count("approvals"))
        .order_by("-requested_at", "-pk"),
        "receipts": list(
            project.receipts.select_related("file").prefetch_related("flags").order_by("-spent_on")
        ),
        "updates": list(project.progress_updates.prefetch_related("photos", "flags")),
        "closing_reports": list(project.closing_reports.select_related("minutes")),
    }


# The payers' side ----------------------------------------------------------------------------


def payments_queue(*, user) -> dict[str, QuerySet[Disbursement]]:
    """The requests a payer pays: waiting for approval (with the approvals so far and whether
    this person gave one), approved and waiting for the transfer, and the transferred ones,
    newest first. Each list is one query, however long."""
    mine = DisbursementApproval.objects.filter(disbursement=OuterRef("pk"), by=user)
    payable = (
        Disbursement.objects.filter(permissions.disbursements_payable_q(user))
        .select_related(
            "project__commune__parish__municipality__state", "allocation__source", "requested_by"
        )
        .annotate(approval_count=Count("approvals"), approved_by_me=Exists(mine))
    )
    return {
        "waiting": payable.filter(status=Disbursement.Status.REQUESTED).order_by(
            "requested_at", "pk"
        ),
        "approved": payable.filter(status=Disbursement.Status.APPROVED).order_by(
            "decided_at", "pk"
        ),
        "transferred": payable.filter(status=Disbursement.Status.TRANSFERRED).order_by(
            "-transfer_recorded_at", "-pk"
        ),
    }


def disbursement_for_payer(*, user, pk: int) -> Disbursement:
    """A disbursement request, for the people who pay it ("funding.pay"); 404 if there is no
    such request, 403 for anyone else."""
    disbursement = get_object_or_404(
        Disbursement.objects.select_related(
            "project__consultation",
            "project__commune__parish__municipality__state",
            "allocation__source",
            "requested_by",
            "rejected_by",
            "transfer_recorded_by",
        ),
        pk=pk,
    )
    permissions.require(user, "funding.pay", disbursement.allocation)
    return disbursement


def disbursement_page(*, disbursement: Disbursement) -> dict:
    """What a payer reads before deciding a request: who approved it so far (kept on the
    request, so the approval rule reads them without another query) and the project's balance."""
    prefetch_related_objects(
        [disbursement],
        Prefetch("approvals", queryset=DisbursementApproval.objects.select_related("by")),
    )
    balance = services.project_balance(disbursement.project_id)
    return {
        "approvals": list(disbursement.approvals.all()),
        "balance": balance,
        "receipts_missing": balance.receipts_missing,
    }


# Co-funders' pledges -------------------------------------------------------------------------


def pledge_sources(*, user) -> QuerySet[FundingSource]:
    """The sources this co-funder pledges for."""
    return FundingSource.objects.filter(permissions.pledge_sources_q(user)).order_by("name")


def pledgeable_projects() -> QuerySet[Project]:
    """Projects that may receive a pledge: ranked on the ballot of a published round."""
    return Project.objects.filter(
        consultation__phase=Consultation.Phase.PUBLISHED, result__isnull=False
    ).select_related("consultation", "commune", "result")


def pledge_search(*, sources, query: str) -> QuerySet[Project]:
    """Pledgeable projects of the communes, in the sources' territories, whose code is the query
    or whose name contains it; newest round first, by commune and rank."""
    territory = Q(pk__in=[])
    for source in sources:
        territory |= source.communes_q()
    communes = Commune.objects.filter(territory).filter(
        Q(code__iexact=query) | Q(name__icontains=query)
    )
    return (
        pledgeable_projects()
        .filter(commune__in=communes)
        .order_by("-consultation__year", "-consultation__quarter", "commune__name", "result__rank")
    )


# Ministry oversight --------------------------------------------------------------------------

OVERSIGHT_ITEMS = 100


def oversight(*, user) -> dict:
    """The open flags, the closing reports waiting for a decision (the oldest first, at most
    OVERSIGHT_ITEMS of each) and the ledger's movements, newest first, in the staff member's
    states. A fixed number of queries."""
    overseen = permissions.projects_overseen_q(user)
    return {
        "flags": list(
            Flag.objects.filter(overseen, answered_at__isnull=True)
            .select_related("project__commune", "receipt__file", "update", "by")
            .order_by("at")[:OVERSIGHT_ITEMS]
        ),
        "reports": list(
            ClosingReport.objects.filter(overseen, status=ClosingReport.Status.SUBMITTED)
            .select_related("project__commune", "minutes")
            .order_by("submitted_at")[:OVERSIGHT_ITEMS]
        ),
        "movements": LedgerEntry.objects.filter(overseen)
        .select_related("project__commune", "source", "by")
        .order_by("-at", "-pk"),
    }


def _overseen(user, queryset, pk: int, project=lambda obj: obj.project):
    found = get_object_or_404(queryset, pk=pk)
    permissions.require(user, "funding.oversee", project(found))
    return found


def flag_for_oversight(*, user, pk: int) -> Flag:
    return _overseen(
        user, Flag.objects.select_related("project__commune__parish__municipality"), pk
    )


def closing_report_for_oversight(*, user, pk: int) -> ClosingReport:
    return _overseen(
        user, ClosingReport.objects.select_related("project__commune__parish__municipality"), pk
    )


def ledger_entry_for_oversight(*, user, pk: int) -> LedgerEntry:
    return _overseen(
        user, LedgerEntry.objects.select_related("project__commune__parish__municipality"), pk
    )


def project_for_oversight(*, user, pk: int) -> Project:
    return _overseen(
        user,
        Project.objects.select_related("consultation", "commune__parish__municipality__state"),
        pk,
        project=lambda project: project,
    )


def project_ledger(*, project: Project) -> list[LedgerEntry]:
    """Every movement of a project's money in order, each saying whether it can be reversed (a
    reversal is not, nor an entry reversed already). One query."""
    entries = list(
        project.ledger.select_related(
            "source", "by", "reverses", "reversed_by", "disbursement"
        ).order_by("at", "pk")
    )
    for entry in entries:
        reversed_already = getattr(entry, "reversed_by", None) is not None
        entry.reversible = entry.kind != LedgerEntry.Kind.REVERSAL and not reversed_already
    return entries
