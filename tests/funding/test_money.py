"""The money's rules: allocation on publication, pledges, requests against the allocation,
approvals, transfers, the receipts rule, spent never above disbursed, reversals, and who may."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction

from accounts.models import StaffRole
from audit.models import AuditEntry
from communes.models import State
from cycle import services as cycle
from funding import services
from funding.models import Allocation, Disbursement, FundingSource, LedgerEntry
from funding.selectors import rounds_awaiting_allocations

from ..builders import (
    MONEY_DAY,
    MONEY_NOW,
    PUBLISHED_AT,
    make_spokesperson,
    make_staff,
    make_user,
    paid,
    receipt,
    request_money,
)

LATER = PUBLISHED_AT + datetime.timedelta(days=3)


def error_code(call) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.code


def test_a_published_rounds_winners_get_their_allocation_once(funded, commune_a, commune_b):
    allocations = Allocation.objects.filter(kind="allocation")
    assert sorted(allocations.values_list("project__commune__code", "amount_usd")) == [
        (commune_a.code, Decimal("10000.00")),
        (commune_b.code, Decimal("10000.00")),
    ]
    assert {a.source.kind for a in allocations} == {"national"}
    assert cycle.round_allocate(consultation_id=funded.pk) == 0
    assert allocations.count() == 2 and LedgerEntry.objects.count() == 2
    assert rounds_awaiting_allocations() == []
    agua = funded.projects.get(commune=commune_a, title="Agua potable")
    assert services.project_balance(agua.pk).allocated == Decimal("10000.00")


def test_the_rounds_rule_names_the_funder_of_each_rank(published, commune_a):
    from consultations.models import Consultation
    from voting.models import ProjectResult

    Consultation.objects.filter(pk=published.pk).update(
        winners_per_commune=2, funder_by_rank=["national", "state"]
    )
    second = ProjectResult.objects.get(consultation=published, commune=commune_a, rank=2)
    ProjectResult.objects.filter(pk=second.pk).update(is_winner=True)
    cycle.round_allocate(consultation_id=published.pk)
    allocation = Allocation.objects.get(project_id=second.project_id)
    assert allocation.source.kind == "state"
    assert allocation.source.state == commune_a.parish.municipality.state


def test_pledges_have_limits(agua, commune_a, mina):
    state = commune_a.parish.municipality.state
    source = services.source_for(FundingSource.Kind.STATE, agua)
    cofunder = make_staff("gobernacion@example.org", StaffRole.Kind.COFUNDER_STAFF, state=state)
    source.staff.add(cofunder)

    def pledge(amount, reason="Sobrecosto del tubo", by=cofunder, project=agua, to=source):
        return services.pledge_create(
            project=project, source=to, amount=amount, reason=reason, by=by, now=MONEY_NOW
        )

    assert error_code(lambda: pledge("0")) == "amount"
    assert error_code(lambda: pledge("-5")) == "amount"
    assert error_code(lambda: pledge("12.345")) == "amount"
    assert error_code(lambda: pledge("abc")) == "amount"
    assert error_code(lambda: pledge("10000.01")) == "too_much"
    assert error_code(lambda: pledge("500", reason="  ")) == "reason"
    elsewhere = services.source_for(FundingSource.Kind.STATE, agua)
    other_state = State.objects.exclude(pk=state.pk).first()
    far = FundingSource.objects.create(kind="state", name="Otra", state=other_state)
    far.staff.add(cofunder)
    make_staff("otro@example.org", StaffRole.Kind.COFUNDER_STAFF, state=other_state)
    assert error_code(lambda: pledge("500", to=far)) == "territory"
    with pytest.raises(PermissionDenied):
        pledge("500", by=mina)  # ministry staff do not act for a state's government
    outsider = make_staff("ajeno@example.org", StaffRole.Kind.COFUNDER_STAFF, state=state)
    with pytest.raises(PermissionDenied):
        pledge("500", by=outsider)  # a co-funder not of this source
    assert not Allocation.objects.filter(kind="pledge").exists()
    made = pledge("2500.50")
    assert made.source == elsewhere and made.created_by == cofunder
    assert services.project_balance(agua.pk).allocated == Decimal("12500.50")


def test_requests_count_pending_ones_against_the_allocation(agua, fina, mina):
    request_money(agua, fina, "6000")
    assert error_code(lambda: request_money(agua, fina, "4000.01")) == "over_allocation"
    second = request_money(agua, fina, "4000")
    services.disbursement_reject(
        disbursement=second, by=mina, reason="Falta presupuesto", now=MONEY_NOW
    )
    request_money(agua, fina, "4000")  # a rejected request frees its amount
    assert error_code(lambda: request_money(agua, fina, "0.01")) == "over_allocation"
    assert Disbursement.objects.exclude(status="rejected").count() == 2


def test_nobody_approves_their_own_request(agua, fina, commune_a):
    StaffRole.objects.create(user=fina, kind=StaffRole.Kind.MINISTRY_STAFF)
    disbursement = request_money(agua, fina, "1000")
    assert (
        error_code(lambda: services.disbursement_approve(disbursement=disbursement, by=fina))
        == "own_request"
    )
    assert (
        error_code(
            lambda: services.disbursement_reject(disbursement=disbursement, by=fina, reason="x")
        )
        == "own_request"
    )
    disbursement.refresh_from_db()
    assert disbursement.status == "requested" and not disbursement.approvals.exists()


def test_above_the_threshold_two_people_must_approve(agua, fina, mina, mateo):
    big = request_money(agua, fina, "6000")
    small = request_money(agua, fina, "4000")
    assert (big.approvals_needed, small.approvals_needed) == (2, 1)
    services.disbursement_approve(disbursement=big, by=mina, now=MONEY_NOW)
    big.refresh_from_db()
    assert big.status == "requested"
    assert (
        error_code(lambda: services.disbursement_approve(disbursement=big, by=mina))
        == "approved_twice"
    )
    services.disbursement_approve(disbursement=big, by=mateo, now=MONEY_NOW)
    big.refresh_from_db()
    assert big.status == "approved"
    assert services.project_balance(agua.pk).approved == Decimal("6000.00")
    services.disbursement_approve(disbursement=small, by=mina, now=MONEY_NOW)
    small.refresh_from_db()
    assert small.status == "approved"


def test_only_a_transfer_makes_money_disbursed(agua, fina, mina):
    disbursement = request_money(agua, fina, "2000")

    def transfer(on=MONEY_DAY, reference="BDV-1", rate="36.5"):
        return services.disbursement_transfer_record(
            disbursement=disbursement,
            by=mina,
            transferred_on=on,
            bank_reference=reference,
            rate_ves_per_usd=rate,
            now=MONEY_NOW,
        )

    assert error_code(transfer) == "not_approved"
    services.disbursement_approve(disbursement=disbursement, by=mina, now=MONEY_NOW)
    assert services.project_balance(agua.pk).disbursed == 0
    assert error_code(lambda: transfer(rate="0")) == "rate"
    assert error_code(lambda: transfer(reference=" ")) == "reference"
    assert error_code(lambda: transfer(on=MONEY_DAY + datetime.timedelta(days=1))) == "date"
    done = transfer()
    assert (done.status, done.amount_ves, done.rate_ves_per_usd) == (
        "transferred",
        Decimal("73000.00"),
        Decimal("36.5000"),
    )
    assert services.project_balance(agua.pk).disbursed == Decimal("2000.00")


def test_a_new_request_needs_receipts_for_most_of_what_was_disbursed(agua, fina, mina):
    paid(agua, fina, mina, "4000")
    receipt(agua, fina, "2000")
    with pytest.raises(ValidationError) as caught:
        request_money(agua, fina, "1000")
    assert caught.value.code == "receipts_missing"
    assert "1\xa0200,00 USD" in caught.value.messages[0]  # 80 % of 4,000 less 2,000
    receipt(agua, fina, "1200")
    request_money(agua, fina, "1000")


def test_spent_never_goes_above_disbursed(agua, fina, mina):
    assert error_code(lambda: receipt(agua, fina, "1")) == "over_disbursed"
    paid(agua, fina, mina, "1000")
    receipt(agua, fina, "600")
    assert error_code(lambda: receipt(agua, fina, "400.01")) == "over_disbursed"
    receipt(agua, fina, "400")
    balance = services.project_balance(agua.pk)
    assert (balance.disbursed, balance.spent) == (Decimal("1000.00"), Decimal("1000.00"))


def test_a_file_that_is_not_what_it_claims_is_refused_and_nothing_is_written(agua, fina, mina):
    paid(agua, fina, mina, "1000")
    before = LedgerEntry.objects.count()
    with pytest.raises(ValidationError):
        services.receipt_add(
            project=agua,
            upload=SimpleUploadedFile("factura.pdf", b"MZ\x90\x00" + b"\x00" * 100),
            supplier="X",
            spent_on=MONEY_DAY,
            amount="10",
            category="materials",
            by=fina,
            now=MONEY_NOW,
        )
    assert LedgerEntry.objects.count() == before


def test_corrections_are_reversing_entries(agua, fina, mina):
    paid(agua, fina, mina, "1000")
    spent = receipt(agua, fina, "300")
    transfer = LedgerEntry.objects.get(kind="transfer")
    assert (
        error_code(lambda: services.ledger_reverse(entry=transfer, reason="Error", by=mina))
        == "breaks_balance"
    )
    entry = LedgerEntry.objects.get(receipt=spent)
    assert error_code(lambda: services.ledger_reverse(entry=entry, reason="", by=mina)) == "reason"
    with pytest.raises(PermissionDenied):
        services.ledger_reverse(entry=entry, reason="Duplicada", by=fina)
    reversal = services.ledger_reverse(
        entry=entry, reason="Factura duplicada", by=mina, now=MONEY_NOW
    )
    assert reversal.amount_usd == Decimal("-300.00") and reversal.reverses == entry
    assert services.project_balance(agua.pk).spent == 0
    assert (
        error_code(lambda: services.ledger_reverse(entry=entry, reason="Otra vez", by=mina))
        == "reversed"
    )
    # The ledger itself refuses edits and deletions.
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_usd=Decimal("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()


def test_who_may_do_what_with_the_money(agua, fina, olga, alice, bob, mina, commune_a, council_a):
    paid(agua, fina, mina, "1000")
    spent = receipt(agua, fina, "800")
    resident = make_user("vecina@example.org")
    other_state = State.objects.exclude(pk=commune_a.parish.municipality.state_id).first()
    far_ministry = make_staff("lejos@example.org", StaffRole.Kind.MINISTRY_STAFF, state=other_state)
    cofunder = make_staff(
        "cof@example.org", StaffRole.Kind.COFUNDER_STAFF, state=commune_a.parish.municipality.state
    )
    audit_before = AuditEntry.objects.count()
    for person in (alice, olga, bob, resident, mina):
        with pytest.raises(PermissionDenied):
            request_money(agua, person, "10")
    for person in (olga, bob, resident, mina):
        with pytest.raises(PermissionDenied):
            receipt(agua, person, "10")
    for person in (fina, alice, bob):
        with pytest.raises(PermissionDenied):
            services.flag_raise(by=person, comment="¿Y esto?", receipt=spent)
    flag = services.flag_raise(by=olga, comment="El monto no cuadra con la foto", receipt=spent)
    for person in (olga, fina, far_ministry, cofunder):
        with pytest.raises(PermissionDenied):
            services.flag_answer(flag=flag, answer="Revisado", by=person)
    services.flag_answer(flag=flag, answer="Se verificó con el proveedor.", by=mina)
    assert AuditEntry.objects.count() == audit_before + 2
    waiting = request_money(agua, fina, "100")  # receipts cover 80 % of what was disbursed
    for person in (fina, olga, far_ministry, cofunder, resident):
        with pytest.raises(PermissionDenied):
            services.disbursement_approve(disbursement=waiting, by=person)
    assert Disbursement.objects.get(pk=waiting.pk).status == "requested"


def test_every_change_of_a_request_is_emailed_to_whom_it_concerns(
    agua, fina, mina, mateo, django_capture_on_commit_callbacks, eager_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        disbursement = request_money(agua, fina, "6000")
    to = sorted(address for message in mail.outbox for address in message.to)
    assert "mina@example.org" in to and "mateo@example.org" in to and "fina@example.org" not in to
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.disbursement_approve(disbursement=disbursement, by=mina, now=MONEY_NOW)
        services.disbursement_approve(disbursement=disbursement, by=mateo, now=MONEY_NOW)
    assert any("fina@example.org" in message.to for message in mail.outbox)
    count = len(mail.outbox)
    # A retried notice sends nothing twice.
    from funding.notifications import disbursement_notify

    assert disbursement_notify(disbursement_id=disbursement.pk, status="approved", approvals=2) == 0
    assert len(mail.outbox) == count


def test_a_spokesperson_of_another_commune_cannot_touch_this_projects_money(agua, council_b, mina):
    other_finance = make_spokesperson(
        council_b, "V-55555555", "Otra", "otra@example.org", "finance"
    )
    with pytest.raises(PermissionDenied):
        request_money(agua, other_finance, "10")
    assert not Disbursement.objects.exists()


def test_the_beat_allocates_a_newly_published_round(published, eager_tasks):
    from cycle.tasks import round_allocate_task, rounds_advance_due_task

    assert rounds_awaiting_allocations() == [published.pk]
    rounds_advance_due_task.delay().get()
    assert rounds_awaiting_allocations() == []
    assert round_allocate_task.delay(published.pk).get() == 0
    rounds_advance_due_task.delay().get()
    assert Allocation.objects.count() == 2
