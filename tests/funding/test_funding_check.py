"""`manage.py funding_check`: money written through the services passes; breaches planted straight
in the database, past the services, are each reported and make it exit non-zero. The ledger
itself refuses to be edited or deleted."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import StaffRole
from funding import services
from funding.checks import funding_breaches
from funding.models import (
    Disbursement,
    DisbursementApproval,
    FundingSource,
    LedgerEntry,
    SpendingReceipt,
)
from funding.services import usd

from ..builders import MONEY_DAY, MONEY_NOW, allocation_of, make_staff, paid, receipt, request_money


@pytest.fixture
def clean(agua, fina, mina, mateo):
    """Agua potable's money in every state, all through the services: a transfer approved by two
    people, receipts (one reversed as a duplicate), a rejected request, an approved one rejected
    afterwards, one waiting, and a state government's pledge."""
    paid(agua, fina, mina, "6000", mateo)
    kept = receipt(agua, fina, "3000")
    duplicate = receipt(agua, fina, "2000")
    rejected = request_money(agua, fina, "1000")
    services.disbursement_reject(
        disbursement=rejected, by=mina, reason="Sin presupuesto", now=MONEY_NOW
    )
    withdrawn = request_money(agua, fina, "500")
    services.disbursement_approve(disbursement=withdrawn, by=mina, now=MONEY_NOW)
    services.disbursement_reject(disbursement=withdrawn, by=mina, reason="Duplicada", now=MONEY_NOW)
    waiting = request_money(agua, fina, "200")
    state = agua.commune.parish.municipality.state
    cofunder = make_staff("cof@example.org", StaffRole.Kind.COFUNDER_STAFF, state=state)
    source = services.source_for(FundingSource.Kind.STATE, agua)
    source.staff.add(cofunder)
    pledge = services.pledge_create(
        project=agua,
        source=source,
        amount="2000",
        reason="Subió el cemento",
        by=cofunder,
        now=MONEY_NOW,
    )
    services.ledger_reverse(
        entry=LedgerEntry.objects.get(receipt=duplicate),
        reason="Factura duplicada",
        by=mina,
        now=MONEY_NOW,
    )
    return {"kept": kept, "waiting": waiting, "pledge": pledge}


def run_check() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("funding_check", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def test_money_moved_through_the_services_breaks_nothing(clean, agua):
    assert LedgerEntry.objects.filter(kind="reversal").count() == 2
    assert funding_breaches() == []
    code, printed = run_check()
    assert code == 0 and printed.strip()
    balance = services.project_balance(agua.pk)
    assert balance.allocated == Decimal("12000.00") and balance.spent == Decimal("3000.00")


def test_the_check_runs_in_a_fixed_number_of_queries(clean, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        funding_breaches()


def _insert_transfer_without_disbursement(agua, clean):
    source = allocation_of(agua).source
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LedgerEntry._meta.db_table} "  # noqa: S608 -- a table name, no input
            "(project_id, source_id, kind, amount_usd, at, reason) "
            "VALUES (%s, %s, 'transfer', 50000, %s, 'a mano')",
            [agua.pk, source.pk, MONEY_NOW],
        )
    entry = LedgerEntry.objects.latest("pk")
    return [
        f"{entry.pk} (",  # the entry tied to no disbursement
        usd(Decimal("56000")),  # disbursed, now above allocated
    ]


def _receipt_without_its_entry(agua, clean):
    kept = clean["kept"]
    planted = SpendingReceipt.objects.create(
        project=agua,
        file=kept.file,
        supplier="Ferretería Fantasma",
        spent_on=MONEY_DAY,
        amount_usd=Decimal("700.00"),
        category="materials",
        uploaded_by=kept.uploaded_by,
        uploaded_at=MONEY_NOW,
    )
    return [f" {planted.pk} ", usd(Decimal("700"))]


def _waiting_request_marked_approved(agua, clean):
    waiting = clean["waiting"]
    Disbursement.objects.filter(pk=waiting.pk).update(status="approved", decided_at=MONEY_NOW)
    return [f" {waiting.pk} "]  # no approval entry, none of the approval it needs


def _transferred_request_marked_waiting(agua, clean):
    transferred = Disbursement.objects.get(status="transferred")
    Disbursement.objects.filter(pk=transferred.pk).update(status="requested")
    return [f" {transferred.pk} ", usd(Decimal("6000"))]  # a transfer it should not have


def _second_allocation_entry(agua, clean):
    allocation = allocation_of(agua)
    LedgerEntry.objects.create(
        project=agua,
        source=allocation.source,
        kind="allocation",
        amount_usd=allocation.amount_usd,
        allocation=allocation,
        at=MONEY_NOW,
        reason="Otra vez",
    )
    return [f" {allocation.pk} ", usd(Decimal("20000"))]


def _reversal_not_the_opposite(agua, clean):
    entry = LedgerEntry.objects.get(receipt=clean["kept"])
    reversal = LedgerEntry.objects.create(
        project=agua,
        kind="reversal",
        amount_usd=Decimal("-1.00"),
        reverses=entry,
        receipt=clean["kept"],
        at=MONEY_NOW,
        reason="Error",
    )
    return [f" {reversal.pk} ", usd(Decimal("-1"))]


def _requests_above_the_pledge(agua, clean):
    pledge = clean["pledge"]
    Disbursement.objects.create(
        allocation=pledge,
        project=agua,
        amount_usd=Decimal("2500.00"),
        purpose="Cemento",
        requested_by=clean["waiting"].requested_by,
        requested_at=MONEY_NOW,
    )
    return [f" {pledge.pk} ", usd(Decimal("2500"))]


def _approved_by_its_requester(agua, clean):
    waiting = clean["waiting"]
    DisbursementApproval.objects.create(disbursement=waiting, by=waiting.requested_by, at=MONEY_NOW)
    return [f" {waiting.pk} "]


@pytest.mark.parametrize(
    "plant",
    [
        _insert_transfer_without_disbursement,
        _receipt_without_its_entry,
        _waiting_request_marked_approved,
        _transferred_request_marked_waiting,
        _second_allocation_entry,
        _reversal_not_the_opposite,
        _requests_above_the_pledge,
        _approved_by_its_requester,
    ],
)
def test_a_breach_planted_in_the_database_is_reported_and_the_check_fails(clean, agua, plant):
    assert funding_breaches() == []
    expected = plant(agua, clean)
    breaches = funding_breaches()
    assert breaches
    assert all(str(agua.pk) in line and agua.title in line for line in breaches)
    for part in expected:
        assert any(part in line for line in breaches), (part, breaches)
    code, printed = run_check()
    assert code == 1
    assert printed.splitlines() == breaches


def test_a_transfer_without_its_disbursement_is_reported_twice(clean, agua):
    _insert_transfer_without_disbursement(agua, clean)
    breaches = funding_breaches()
    assert len(breaches) == 2  # the entry itself, and disbursed above allocated
    assert services.project_balance(agua.pk).disbursed == Decimal("56000.00")


def test_spending_above_disbursed_is_reported(agua, fina, mina):
    paid(agua, fina, mina, "1000")
    spent = receipt(agua, fina, "900")
    LedgerEntry.objects.create(
        project=agua,
        kind="receipt",
        amount_usd=Decimal("900.00"),
        receipt=spent,
        at=MONEY_NOW,
        reason="Copia",
    )
    breaches = funding_breaches()
    assert any(usd(Decimal("1800")) in line and usd(Decimal("1000")) in line for line in breaches)
    assert any(f" {spent.pk} " in line for line in breaches)  # two entries for one receipt


def test_the_command_exits_with_status_one_when_run_from_the_shell(clean, agua, capsys):
    _second_allocation_entry(agua, clean)
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "funding_check"]).execute()
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert agua.title in captured.out and captured.err


def test_the_ledger_refuses_updates_and_deletes(clean):
    entry = LedgerEntry.objects.filter(kind="transfer").get()
    table = LedgerEntry._meta.db_table
    for sql in (
        f"UPDATE {table} SET amount_usd = 1 WHERE id = %s",  # noqa: S608
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(reason="editado")
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.amount_usd == Decimal("6000.00") and entry.reason == "BDV-000123"
    assert funding_breaches() == []
