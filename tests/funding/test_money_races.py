"""Requests that race each other cannot take more than the allocation, nor two approvers make
two approvals count twice. Committed for real, each on its own connection."""

from decimal import Decimal

import pytest

from funding import services
from funding.models import Disbursement, LedgerEntry

from ..builders import MONEY_NOW, allocation_of, request_money
from ..concurrency import attempt, run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_requests_that_together_exceed_the_allocation_pass_only_as_far_as_it_goes(agua, fina):
    results = run_at_once([attempt(lambda: request_money(agua, fina, "3000")) for _ in range(5)])
    assert sorted(results) == ["ok"] * 3 + ["over_allocation"] * 2
    total = sum(d.amount_usd for d in Disbursement.objects.all())
    assert total == Decimal("9000.00") <= allocation_of(agua).amount_usd


def test_two_approvers_at_once_make_one_approval_entry(agua, fina, mina, mateo):
    big = request_money(agua, fina, "6000")
    results = run_at_once(
        [
            attempt(
                lambda: services.disbursement_approve(disbursement=big, by=mina, now=MONEY_NOW)
            ),
            attempt(
                lambda: services.disbursement_approve(disbursement=big, by=mateo, now=MONEY_NOW)
            ),
            attempt(
                lambda: services.disbursement_approve(disbursement=big, by=mina, now=MONEY_NOW)
            ),
        ]
    )
    # The third, by someone who already approved, is refused (as a repeat, or as too late).
    assert sorted(results)[1:] == ["ok", "ok"]
    assert sorted(results)[0] in ("approved_twice", "not_pending")
    big.refresh_from_db()
    assert big.status == "approved"
    assert LedgerEntry.objects.filter(kind="approval").count() == 1
