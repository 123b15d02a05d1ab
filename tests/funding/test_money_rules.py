"""Who may decide a disbursement request, see a commune's money and pledge, answered by
accounts.permissions alone; and the money pages' reads (funding.selectors) in a fixed number of
queries, however many projects or allocations a commune has."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import StaffRole
from communes.models import Spokesperson
from consultations.models import Project
from funding import selectors, services
from funding.models import Allocation, FundingSource, LedgerEntry, ProjectStatus

from ..builders import make_staff, make_user

# The named people of the money pages: Fina asks for the money (finance, commune A), Mina and
# Mateo pay it (national ministry staff), Carla pays for Distrito Capital's government and Luis
# for Lara's.


@pytest.fixture
def carla_cofunder(agua):
    state = agua.commune.parish.municipality.state
    user = make_staff("carla.cofinanciadora@example.org", StaffRole.Kind.COFUNDER_STAFF, state)
    services.source_for(FundingSource.Kind.STATE, agua).staff.add(user)
    return user


@pytest.fixture
def luis_cofunder(agua, commune_b):
    lara = commune_b.parish.municipality.state
    user = make_staff("luis.cofinanciador@example.org", StaffRole.Kind.COFUNDER_STAFF, lara)
    project = agua.consultation.projects.get(commune=commune_b, title="Escuela")
    services.source_for(FundingSource.Kind.STATE, project).staff.add(user)
    return user


def request_of(agua, fina, amount="1000"):
    return services.disbursement_request(
        allocation=agua.allocations.get(kind="allocation"), amount=amount, purpose="Tubos", by=fina
    )


def fresh(disbursement):
    disbursement.refresh_from_db()
    return disbursement


# Deciding a request -----------------------------------------------------------------------------


def test_a_payer_approves_a_waiting_request_once(agua, fina, mina, mateo):
    disbursement = request_of(agua, fina, "6000")  # two approvals needed
    assert permissions.can(mina, "funding.approve", disbursement)
    services.disbursement_approve(disbursement=disbursement, by=mina)
    assert permissions.approval_refusal(mina, fresh(disbursement)) == permissions.APPROVED_TWICE
    assert not permissions.can(mina, "funding.approve", disbursement)
    assert permissions.can(mateo, "funding.approve", disbursement)


def test_nobody_approves_or_rejects_their_own_request_even_as_a_payer(agua, fina):
    # Fina also works for the ministry: she still may not decide what she asked for.
    StaffRole.objects.create(user=fina, kind=StaffRole.Kind.MINISTRY_STAFF)
    permissions.forget_roles(fina)
    disbursement = request_of(agua, fina)
    assert permissions.can(fina, "funding.pay", disbursement.allocation)
    assert permissions.approval_refusal(fina, disbursement) == permissions.OWN_REQUEST
    assert permissions.rejection_refusal(fina, disbursement) == permissions.OWN_REQUEST
    assert not permissions.can(fina, "funding.approve", disbursement)
    assert not permissions.can(fina, "funding.reject", disbursement)


def test_a_request_is_rejected_until_it_is_transferred(agua, fina, mina):
    disbursement = request_of(agua, fina)
    assert permissions.can(mina, "funding.reject", disbursement)
    assert not permissions.can(mina, "funding.transfer", disbursement)
    services.disbursement_approve(disbursement=disbursement, by=mina)
    approved = fresh(disbursement)
    assert permissions.approval_refusal(mina, approved) == permissions.NOT_PENDING
    assert permissions.can(mina, "funding.reject", approved)
    assert permissions.can(mina, "funding.transfer", approved)
    services.disbursement_transfer_record(
        disbursement=approved,
        by=mina,
        transferred_on=timezone.localdate(),
        bank_reference="BDV-9",
        rate_ves_per_usd="36.5",
    )
    transferred = fresh(disbursement)
    assert permissions.rejection_refusal(mina, transferred) == permissions.NOT_PENDING
    assert permissions.transfer_refusal(mina, transferred) == permissions.NOT_APPROVED
    assert not permissions.can(mina, "funding.reject", transferred)
    assert not permissions.can(mina, "funding.transfer", transferred)


def test_only_a_payer_of_the_source_decides(agua, fina, mina, carla_cofunder, luis_cofunder):
    national = request_of(agua, fina)
    pledge = services.pledge_create(
        project=agua,
        source=services.source_for(FundingSource.Kind.STATE, agua),
        amount="2000",
        reason="Sobrecosto",
        by=carla_cofunder,
    )
    pledged = services.disbursement_request(
        allocation=pledge, amount="500", purpose="Cemento", by=fina
    )
    for action in ("funding.approve", "funding.reject"):
        assert permissions.can(mina, action, national)
        assert not permissions.can(carla_cofunder, action, national)
        assert permissions.can(carla_cofunder, action, pledged)
        assert not permissions.can(luis_cofunder, action, pledged)
        assert not permissions.can(mina, action, pledged)


def test_the_payer_page_shows_the_buttons_the_rules_allow(client, agua, fina, mina, mateo):
    disbursement = request_of(agua, fina, "6000")
    services.disbursement_approve(disbursement=disbursement, by=mina)
    page = reverse("funding:disbursement", args=[disbursement.pk])
    client.force_login(mina)
    mine = client.get(page)
    client.force_login(mateo)
    theirs = client.get(page)
    assert mine.context["approved_by_me"] and not mine.context["may_approve"]
    assert not theirs.context["approved_by_me"] and theirs.context["may_approve"]
    assert mine.context["may_reject"] and theirs.context["may_reject"]
    assert not mine.context["may_transfer"]


# The commune's money and the pledges ------------------------------------------------------------


def test_every_spokesperson_of_the_commune_and_nobody_else_sees_its_money(
    agua, fina, alice, bob, mina, adam
):
    commune = agua.commune
    assert permissions.can(fina, "funding.see_commune_money", commune)
    assert permissions.can(alice, "funding.see_commune_money", commune)
    for other in (bob, mina, adam):
        assert not permissions.can(other, "funding.see_commune_money", commune)
    Spokesperson.objects.filter(resident__user=alice).update(ended_on=datetime.date(2025, 6, 1))
    permissions.forget_roles(alice)
    assert not permissions.can(alice, "funding.see_commune_money", commune)


def test_a_co_funder_pledges_for_its_own_sources_only(agua, mina, carla_cofunder, luis_cofunder):
    capital = services.source_for(FundingSource.Kind.STATE, agua)
    national = services.source_for(FundingSource.Kind.NATIONAL, agua)
    national.staff.add(carla_cofunder)  # listed there by mistake: the national fund never pledges
    assert list(selectors.pledge_sources(user=carla_cofunder)) == [capital]
    assert capital not in selectors.pledge_sources(user=luis_cofunder)
    assert not selectors.pledge_sources(user=mina).exists()
    for source in selectors.pledge_sources(user=carla_cofunder):
        assert permissions.can(carla_cofunder, "funding.act_for_source", source)
    StaffRole.objects.filter(user=carla_cofunder).delete()
    permissions.forget_roles(carla_cofunder)
    assert not selectors.pledge_sources(user=carla_cofunder).exists()


# Reads in a fixed number of queries -----------------------------------------------------------


def fund(project: Project, source: FundingSource, amount: str = "10000") -> Allocation:
    """Give a project an allocation, as the publication's job does."""
    now = timezone.now()
    allocation = Allocation.objects.create(
        project=project, source=source, kind="allocation", amount_usd=amount, created_at=now
    )
    LedgerEntry.objects.create(
        project=project,
        source=source,
        kind="allocation",
        amount_usd=amount,
        allocation=allocation,
        at=now,
    )
    return allocation


def more_funded_projects(agua, fina, count: int) -> list[Project]:
    """``count`` more funded projects of Agua potable's commune and round, each with a balance of
    its own and every other one with progress reported."""
    national = agua.allocations.get().source
    projects = []
    for number in range(count):
        project = Project.objects.create(
            consultation=agua.consultation,
            commune=agua.commune,
            title=f"Proyecto financiado {number}",
            status=Project.Status.APPROVED,
        )
        fund(project, national, amount=f"{1000 + number}.50")
        if number % 2:
            services.progress_add(
                project=project, percent=40, status="in_progress", text="Avanza", by=fina
            )
        projects.append(project)
    return projects


def queries_of(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_the_commune_money_page_costs_the_same_for_one_project_or_ten(client, agua, fina):
    page = reverse("funding:commune-money", args=[agua.commune.code])
    client.force_login(fina)
    client.get(page)  # the session's roles and the like, read once
    one = queries_of(client, page)
    more_funded_projects(agua, fina, 9)
    ten = queries_of(client, page)
    assert ten == one
    assert len(client.get(page).context["projects"]) == 10


def test_the_commune_money_page_shows_each_projects_own_balance_and_status(agua, fina, mina):
    others = more_funded_projects(agua, fina, 3)
    disbursement = request_of(agua, fina, "700")
    services.disbursement_approve(disbursement=disbursement, by=mina)
    listed = {p.pk: p for p in selectors.commune_funded_projects(commune=agua.commune)}
    assert set(listed) == {agua.pk, *(p.pk for p in others)}
    for pk, project in listed.items():
        assert project.balance == services.project_balance(pk)
        assert project.current_status == dict(ProjectStatus.choices)[services.project_status(pk)]
    assert listed[agua.pk].balance.approved == Decimal("700.00")
    assert listed[others[1].pk].balance.allocated == Decimal("1001.50")
    assert listed[others[1].pk].current_status == "En ejecución"


def test_the_workspace_costs_the_same_for_one_allocation_or_three(
    client, agua, fina, carla_cofunder
):
    page = reverse("funding:project-workspace", args=[agua.pk])
    client.force_login(fina)
    client.get(page)
    one = queries_of(client, page)
    capital = services.source_for(FundingSource.Kind.STATE, agua)
    for amount in ("1500", "2500"):
        services.pledge_create(
            project=agua, source=capital, amount=amount, reason="Sobrecosto", by=carla_cofunder
        )
    request_of(agua, fina, "400")
    three = queries_of(client, page)
    assert three == one
    available = {a.pk: a.available for a in client.get(page).context["allocations"]}
    assert sorted(available.values()) == [
        Decimal("1500.00"),
        Decimal("2500.00"),
        Decimal("9600.00"),
    ]
    for allocation in Allocation.objects.filter(project=agua):
        assert available[allocation.pk] == services.allocation_available(allocation)


def test_a_payer_without_any_role_sees_no_payments(agua, fina):
    nobody = make_user("nadie.paga@example.org")
    request_of(agua, fina)
    queue = selectors.payments_queue(user=nobody)
    assert not queue["waiting"].exists() and not queue["transferred"].exists()
