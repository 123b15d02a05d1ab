"""The pages where people work with money: the commune's money and project workspace (request,
receipts, progress, closing report, flags), the payers' queue (approve, reject, transfer), the
co-funders' pledges and the ministry's oversight (flags, closing reports, reversals).

Each form works, refuses bad input with its message (the service's code in `data-refusal`) and
status 422 without changing anything, and keeps out everyone it is not for."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.models import StaffRole
from audit.models import AuditEntry
from communes.models import CommuneFile, State
from funding import services
from funding.models import (
    Allocation,
    ClosingReport,
    Disbursement,
    Flag,
    FundingSource,
    LedgerEntry,
    ProgressUpdate,
    SpendingReceipt,
)

from ..builders import make_resident, make_staff, make_user, tiny_pdf

# A program renamed to look like a receipt.
EXE = b"MZ\x90\x00\x03\x00\x00\x00 This program cannot be run in DOS mode." * 8


@pytest.fixture
def rosa(council_a):
    """Rosa, a verified resident of commune A (no spokesperson)."""
    user = make_user("rosa@example.org")
    make_resident(council_a, "V-55555555", "Rosa Blanco", user=user)
    return user


@pytest.fixture
def lara_staff(db):
    """Ministry staff of Lara only (commune B's state, not A's)."""
    return make_staff(
        "lara@example.org", StaffRole.Kind.MINISTRY_STAFF, state=State.objects.get(code="13")
    )


def state_source(project) -> FundingSource:
    return services.source_for(FundingSource.Kind.STATE, project)


def url(name, *args):
    return reverse(f"funding:{name}", args=list(args))


def allocation_of(project) -> Allocation:
    return project.allocations.get(kind="allocation")


def requested(project, fina, amount="1000"):
    return services.disbursement_request(
        allocation=allocation_of(project), amount=amount, purpose="Tubos", by=fina
    )


def transferred(project, fina, mina, amount="1000"):
    disbursement = requested(project, fina, amount)
    services.disbursement_approve(disbursement=disbursement, by=mina)
    return services.disbursement_transfer_record(
        disbursement=disbursement,
        by=mina,
        transferred_on=timezone.localdate(),
        bank_reference="BDV-1",
        rate_ves_per_usd="36.5",
    )


def receipted(project, fina, amount="1000"):
    return services.receipt_add(
        project=project,
        upload=SimpleUploadedFile("factura.pdf", tiny_pdf()),
        supplier="Ferretería El Progreso",
        spent_on=timezone.localdate(),
        amount=amount,
        category="materials",
        by=fina,
    )


def picture(kind="PNG", name="foto.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 40)).save(out, kind)
    return SimpleUploadedFile(name, out.getvalue())


def refusals(response) -> list[str]:
    return re.findall(r'data-refusal="([^"]+)"', response.content.decode())


def as_user(client, user):
    client.force_login(user)
    return client


def nothing_written(before: int) -> bool:
    return AuditEntry.objects.count() == before


# Money of my commune ---------------------------------------------------------------------------


def test_the_commune_money_page_lists_its_funded_projects_with_their_balance(
    client, agua, fina, mina
):
    transferred(agua, fina, mina, "1000")
    receipted(agua, fina, "800")
    response = as_user(client, fina).get(url("commune-money", agua.commune.code))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-project="{agua.pk}"' in html
    assert 'data-allocated="10000.00"' in html
    assert 'data-disbursed="1000.00"' in html
    assert 'data-spent="800.00"' in html
    assert url("project-workspace", agua.pk) in html
    # Only funded projects: Cancha lost and has no allocation.
    cancha = agua.consultation.projects.get(commune=agua.commune, title="Cancha")
    assert f'data-project="{cancha.pk}"' not in html


def test_every_spokesperson_of_the_commune_opens_its_money_pages(client, agua, fina, olga, alice):
    for person in (fina, olga, alice):
        as_user(client, person)
        assert client.get(url("commune-money", agua.commune.code)).status_code == 200
        assert client.get(url("project-workspace", agua.pk)).status_code == 200


@pytest.mark.parametrize("who", ["bob", "rosa", "mina", "adam", "carlos"])
def test_the_commune_money_pages_do_not_exist_for_others(client, request, agua, who):
    as_user(client, request.getfixturevalue(who))
    assert client.get(url("commune-money", agua.commune.code)).status_code == 404
    assert client.get(url("project-workspace", agua.pk)).status_code == 404


def test_a_visitor_is_sent_to_sign_in(client, agua):
    response = client.get(url("project-workspace", agua.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_project_without_money_has_no_workspace(client, agua, fina):
    cancha = agua.consultation.projects.get(commune=agua.commune, title="Cancha")
    assert as_user(client, fina).get(url("project-workspace", cancha.pk)).status_code == 404


def test_the_spokesperson_dashboard_links_to_the_money(client, agua, fina):
    response = as_user(client, fina).get(reverse("communes:my-communes"))
    assert url("commune-money", agua.commune.code) in response.content.decode()


def test_each_spokesperson_sees_the_forms_of_their_unit(client, agua, fina, olga, alice, mina):
    transferred(agua, fina, mina)
    receipted(agua, fina)
    forms = {}
    for person in (fina, alice, olga):
        html = as_user(client, person).get(url("project-workspace", agua.pk)).content.decode()
        forms[person.email] = {
            name
            for name in ("request-form", "receipt-form", "progress-form")
            if f'id="{name}"' in html
        } | ({"flag"} if url("flag-raise", agua.pk) in html else set())
    assert forms == {
        fina.email: {"request-form", "receipt-form", "progress-form"},
        alice.email: {"receipt-form", "progress-form"},
        olga.email: {"flag"},
    }


# Requesting money ------------------------------------------------------------------------------


def test_a_finance_spokesperson_requests_money(client, agua, fina):
    response = as_user(client, fina).post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": "1500,50", "purpose": "Tubos"},
    )
    assert response.status_code == 302
    disbursement = Disbursement.objects.get()
    assert disbursement.amount_usd == Decimal("1500.50")
    assert disbursement.requested_by == fina and disbursement.approvals_needed == 1
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert f'data-disbursement="{disbursement.pk}" data-status="requested"' in page
    assert 'data-available="8499.50"' in page


def test_a_large_request_needs_two_approvals(client, agua, fina):
    as_user(client, fina).post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": "6000", "purpose": "Bomba"},
    )
    assert Disbursement.objects.get().approvals_needed == 2


@pytest.mark.parametrize(
    ("amount", "purpose", "refusal"),
    [
        ("10000.01", "Tubos", "over_allocation"),
        ("abc", "Tubos", "amount"),
        ("-5", "Tubos", "amount"),
        ("10.005", "Tubos", "amount"),
        ("100", "", "fields"),
    ],
)
def test_a_bad_request_is_refused_and_nothing_changes(client, agua, fina, amount, purpose, refusal):
    before = AuditEntry.objects.count()
    response = as_user(client, fina).post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": amount, "purpose": purpose},
    )
    assert response.status_code == 422
    assert refusals(response) == [refusal]
    assert not Disbursement.objects.exists()
    assert nothing_written(before)


def test_a_missing_purpose_is_explained_in_spanish(client, agua, fina):
    response = as_user(client, fina).post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": "100", "purpose": ""},
    )
    assert "Este campo es obligatorio." in response.content.decode()


def test_a_new_request_waits_for_the_receipts_of_the_last_transfer(client, agua, fina, mina):
    transferred(agua, fina, mina, "1000")
    as_user(client, fina)
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert 'data-receipts-missing="800.00"' in page
    response = client.post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": "100", "purpose": "Más"},
    )
    assert response.status_code == 422
    assert refusals(response) == ["receipts_missing"]
    assert Disbursement.objects.count() == 1


@pytest.mark.parametrize("who", ["alice", "olga"])
def test_only_finance_spokespeople_request_money(client, request, agua, who):
    response = as_user(client, request.getfixturevalue(who)).post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": "100", "purpose": "Tubos"},
    )
    assert response.status_code == 403
    assert not Disbursement.objects.exists()


@pytest.mark.parametrize("who", ["bob", "rosa", "mina", "carlos", "adam"])
def test_nobody_else_requests_money_for_the_commune(client, request, agua, who):
    response = as_user(client, request.getfixturevalue(who)).post(
        url("disbursement-request", agua.pk),
        {"allocation": allocation_of(agua).pk, "amount": "100", "purpose": "Tubos"},
    )
    assert response.status_code in (403, 404)
    assert not Disbursement.objects.exists()


def test_a_finance_spokesperson_cannot_touch_another_communes_project(
    client, funded, commune_b, fina
):
    escuela_or_mercado = Allocation.objects.get(project__commune=commune_b).project
    response = as_user(client, fina).post(
        url("disbursement-request", escuela_or_mercado.pk),
        {"allocation": allocation_of(escuela_or_mercado).pk, "amount": "100", "purpose": "x"},
    )
    assert response.status_code == 404
    assert not Disbursement.objects.exists()


def test_an_allocation_of_another_project_is_not_a_choice(client, agua, commune_b, fina):
    other = Allocation.objects.get(project__commune=commune_b)
    response = as_user(client, fina).post(
        url("disbursement-request", agua.pk),
        {"allocation": other.pk, "amount": "100", "purpose": "Tubos"},
    )
    assert response.status_code == 422
    assert not Disbursement.objects.exists()


# Receipts --------------------------------------------------------------------------------------


def receipt_form(file, amount="400", **extra):
    return {
        "file": file,
        "supplier": "Ferretería El Progreso",
        "spent_on": timezone.localdate().isoformat(),
        "amount": amount,
        "category": "materials",
        **extra,
    }


def test_an_executive_spokesperson_uploads_a_receipt(client, agua, fina, alice, mina):
    transferred(agua, fina, mina, "1000")
    response = as_user(client, alice).post(
        url("receipt-add", agua.pk), receipt_form(SimpleUploadedFile("f.pdf", tiny_pdf()))
    )
    assert response.status_code == 302
    receipt = SpendingReceipt.objects.get()
    assert receipt.amount_usd == Decimal("400.00") and receipt.uploaded_by == alice
    assert receipt.file.is_public
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert f'data-receipt="{receipt.pk}"' in page
    assert reverse("communes:file-download", args=[receipt.file_id]) in page


def test_a_renamed_program_is_not_a_receipt(client, agua, fina, mina):
    transferred(agua, fina, mina, "1000")
    files_before = CommuneFile.objects.count()
    response = as_user(client, fina).post(
        url("receipt-add", agua.pk), receipt_form(SimpleUploadedFile("factura.pdf", EXE))
    )
    assert response.status_code == 422
    assert refusals(response) == ["wrong_kind"]
    assert "diga lo que diga su nombre" in response.content.decode()
    assert not SpendingReceipt.objects.exists()
    assert CommuneFile.objects.count() == files_before


def test_receipts_cannot_add_up_to_more_than_was_transferred(client, agua, fina, mina):
    transferred(agua, fina, mina, "1000")
    response = as_user(client, fina).post(
        url("receipt-add", agua.pk),
        receipt_form(SimpleUploadedFile("f.pdf", tiny_pdf()), amount="1000.01"),
    )
    assert response.status_code == 422
    assert refusals(response) == ["over_disbursed"]
    assert not SpendingReceipt.objects.exists()


def test_a_receipt_without_a_file_or_supplier_is_refused(client, agua, fina, mina):
    transferred(agua, fina, mina, "1000")
    response = as_user(client, fina).post(
        url("receipt-add", agua.pk), receipt_form("", supplier="")
    )
    assert response.status_code == 422
    assert refusals(response) == ["fields"]
    assert not SpendingReceipt.objects.exists()


@pytest.mark.parametrize("who", ["olga", "rosa", "bob", "mina"])
def test_only_finance_and_executive_spokespeople_add_receipts(
    client, request, agua, fina, mina, who
):
    transferred(agua, fina, mina, "1000")
    response = as_user(client, request.getfixturevalue(who)).post(
        url("receipt-add", agua.pk), receipt_form(SimpleUploadedFile("f.pdf", tiny_pdf()))
    )
    assert response.status_code in (403, 404)
    assert not SpendingReceipt.objects.exists()


# Progress and the closing report ---------------------------------------------------------------


def test_a_progress_update_with_photos(client, agua, fina):
    response = as_user(client, fina).post(
        url("progress-add", agua.pk),
        {
            "percent": "40",
            "status": "in_progress",
            "text": "Zanjas abiertas",
            "photos": [picture(), picture("JPEG", "foto.jpg")],
        },
    )
    assert response.status_code == 302
    update = ProgressUpdate.objects.get()
    assert (update.percent, update.status, update.photos.count()) == (40, "in_progress", 2)
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert f'data-update="{update.pk}" data-percent="40"' in page


@pytest.mark.parametrize(
    ("data", "photos", "refusal"),
    [
        ({"percent": "30", "status": "stalled", "text": "Parado"}, 0, "stalled_reason"),
        ({"percent": "80", "status": "completed", "text": "Casi"}, 0, "percent"),
        ({"percent": "10", "status": "in_progress", "text": "Fotos"}, 6, "photos"),
        ({"percent": "101", "status": "in_progress", "text": "Más"}, 0, "fields"),
    ],
)
def test_a_bad_progress_update_is_refused(client, agua, fina, data, photos, refusal):
    data = {**data, "photos": [picture() for _ in range(photos)]}
    response = as_user(client, fina).post(url("progress-add", agua.pk), data)
    assert response.status_code == 422
    assert refusals(response) == [refusal]
    assert not ProgressUpdate.objects.exists()


def test_a_photo_that_is_a_pdf_is_refused(client, agua, fina):
    response = as_user(client, fina).post(
        url("progress-add", agua.pk),
        {
            "percent": "10",
            "status": "in_progress",
            "text": "Inicio",
            "photos": [SimpleUploadedFile("foto.jpg", tiny_pdf())],
        },
    )
    assert response.status_code == 422
    assert refusals(response) == ["wrong_kind"]
    assert not ProgressUpdate.objects.exists()


def test_only_finance_and_executive_spokespeople_report_progress(client, agua, olga, bob):
    for person, status in ((olga, 403), (bob, 404)):
        response = as_user(client, person).post(
            url("progress-add", agua.pk),
            {"percent": "10", "status": "in_progress", "text": "x"},
        )
        assert response.status_code == status
    assert not ProgressUpdate.objects.exists()


def closing(minutes):
    return {
        "text": "Se instalaron 300 m de tubería.",
        "assembly_held_on": timezone.localdate().isoformat(),
        "minutes": minutes,
    }


def test_the_closing_report_comes_once_the_project_is_completed(client, agua, fina):
    as_user(client, fina)
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert 'id="closing-form"' not in page
    response = client.post(
        url("closing-report-submit", agua.pk), closing(SimpleUploadedFile("a.pdf", tiny_pdf()))
    )
    assert response.status_code == 422
    assert refusals(response) == ["open"]
    services.progress_add(project=agua, percent=100, status="completed", text="Listo", by=fina)
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert 'id="closing-form"' in page
    response = client.post(
        url("closing-report-submit", agua.pk), closing(SimpleUploadedFile("a.pdf", tiny_pdf()))
    )
    assert response.status_code == 302
    report = ClosingReport.objects.get()
    assert report.status == "submitted" and report.minutes.is_public
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert f'data-closing-report="{report.pk}" data-status="submitted"' in page
    assert 'id="closing-form"' not in page


def test_closing_minutes_must_be_a_real_document(client, agua, fina):
    services.progress_add(project=agua, percent=100, status="completed", text="Listo", by=fina)
    response = as_user(client, fina).post(
        url("closing-report-submit", agua.pk), closing(SimpleUploadedFile("acta.pdf", EXE))
    )
    assert response.status_code == 422
    assert refusals(response) == ["wrong_kind"]
    assert not ClosingReport.objects.exists()


def test_social_oversight_does_not_submit_the_closing_report(client, agua, fina, olga):
    services.progress_add(project=agua, percent=100, status="completed", text="Listo", by=fina)
    response = as_user(client, olga).post(
        url("closing-report-submit", agua.pk), closing(SimpleUploadedFile("a.pdf", tiny_pdf()))
    )
    assert response.status_code == 403
    assert not ClosingReport.objects.exists()


# Flags -----------------------------------------------------------------------------------------


def test_social_oversight_flags_a_receipt_and_an_update(client, agua, fina, olga, mina):
    transferred(agua, fina, mina)
    receipt = receipted(agua, fina)
    update = services.progress_add(
        project=agua, percent=20, status="in_progress", text="Inicio", by=fina
    )
    as_user(client, olga)
    assert (
        client.post(
            url("flag-raise", agua.pk), {"receipt": receipt.pk, "comment": "¿Precio real?"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            url("flag-raise", agua.pk), {"update": update.pk, "comment": "No se ve avance"}
        ).status_code
        == 302
    )
    assert Flag.objects.filter(receipt=receipt, by=olga).exists()
    assert Flag.objects.filter(update=update, by=olga).exists()
    page = client.get(url("project-workspace", agua.pk)).content.decode()
    assert page.count('data-answered="no"') == 2


def test_a_flag_needs_a_comment_and_one_target(client, agua, fina, olga, mina):
    transferred(agua, fina, mina)
    receipt = receipted(agua, fina)
    as_user(client, olga)
    response = client.post(url("flag-raise", agua.pk), {"receipt": receipt.pk, "comment": ""})
    assert response.status_code == 422
    response = client.post(url("flag-raise", agua.pk), {"comment": "¿Y esto?"})
    assert response.status_code == 422
    assert not Flag.objects.exists()


def test_a_flag_on_another_projects_receipt_is_not_found(client, agua, fina, olga, mina):
    transferred(agua, fina, mina)
    receipt = receipted(agua, fina)
    other = agua.consultation.projects.get(commune=agua.commune, title="Cancha")
    Allocation.objects.create(
        project=other,
        source=allocation_of(agua).source,
        kind="allocation",
        amount_usd=100,
        created_at=timezone.now(),
    )
    response = as_user(client, olga).post(
        url("flag-raise", other.pk), {"receipt": receipt.pk, "comment": "x"}
    )
    assert response.status_code == 404
    assert not Flag.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("fina", 403), ("alice", 403), ("bob", 404)])
def test_only_social_oversight_flags(client, request, agua, fina, mina, who, status):
    transferred(agua, fina, mina)
    receipt = receipted(agua, fina)
    response = as_user(client, request.getfixturevalue(who)).post(
        url("flag-raise", agua.pk), {"receipt": receipt.pk, "comment": "x"}
    )
    assert response.status_code == status
    assert not Flag.objects.exists()


# The payers' queue -----------------------------------------------------------------------------


def test_the_queue_shows_approvals_so_far_and_when_two_are_needed(client, agua, fina, mina):
    small = requested(agua, fina, "1000")
    large = requested(agua, fina, "6000")
    html = as_user(client, mina).get(url("payments")).content.decode()
    assert (
        f'data-disbursement="{small.pk}" data-status="requested" data-approvals="0" '
        'data-approvals-needed="1"' in html
    )
    assert f'data-disbursement="{large.pk}" data-status="requested"' in html
    assert 'data-approvals-needed="2"' in html
    assert url("payments") in html  # the header link


def test_payers_only_see_the_requests_they_pay(client, agua, fina, carlos, lara_staff):
    requested(agua, fina, "1000")
    for payer in (carlos, lara_staff):  # the state government; ministry staff of another state
        response = as_user(client, payer).get(url("payments"))
        assert response.status_code == 200
        assert "data-disbursement=" not in response.content.decode()


@pytest.mark.parametrize("who", ["fina", "rosa", "adam", "bob"])
def test_the_payments_queue_is_for_payers(client, request, agua, who):
    response = as_user(client, request.getfixturevalue(who)).get(url("payments"))
    assert response.status_code == 403
    assert url("payments") not in client.get(reverse("home")).content.decode()


def test_the_queue_runs_in_a_fixed_number_of_queries(client, agua, fina, mina):
    requested(agua, fina, "100")
    as_user(client, mina).get(url("payments"))
    with CaptureQueriesContext(connection) as one:
        client.get(url("payments"))
    for _ in range(4):
        requested(agua, fina, "100")
    paid = transferred(agua, fina, mina, "50")
    assert paid.status == "transferred"
    with CaptureQueriesContext(connection) as many:
        client.get(url("payments"))
    assert len(many) == len(one)


def test_ministry_staff_approve_and_record_the_transfer(client, agua, fina, mina):
    disbursement = requested(agua, fina, "1000")
    as_user(client, mina)
    page = client.get(url("disbursement", disbursement.pk)).content.decode()
    assert 'id="approve-form"' in page and 'id="transfer-form"' not in page
    assert client.post(url("disbursement-approve", disbursement.pk)).status_code == 302
    disbursement.refresh_from_db()
    assert disbursement.status == "approved"
    response = client.post(
        url("disbursement-transfer", disbursement.pk),
        {
            "transferred_on": timezone.localdate().isoformat(),
            "bank_reference": "BDV-778899",
            "rate_ves_per_usd": "36,5",
        },
    )
    assert response.status_code == 302
    disbursement.refresh_from_db()
    assert disbursement.status == "transferred"
    assert disbursement.amount_ves == Decimal("36500.00")
    page = client.get(response["Location"]).content.decode()
    assert 'data-amount-ves="36500.00"' in page
    # In the message and on the page, formatted for Spanish (a no-break space groups thousands).
    assert page.count("36\xa0500,00 VES") == 2
    assert services.project_balance(agua.pk).disbursed == Decimal("1000.00")


def test_a_large_request_needs_two_different_approvers(client, agua, fina, mina, mateo):
    disbursement = requested(agua, fina, "6000")
    as_user(client, mina)
    assert client.post(url("disbursement-approve", disbursement.pk)).status_code == 302
    disbursement.refresh_from_db()
    assert disbursement.status == "requested"
    page = client.get(url("disbursement", disbursement.pk)).content.decode()
    assert 'data-approvals="1" data-approvals-needed="2"' in page
    assert 'id="approve-form"' not in page
    response = client.post(url("disbursement-approve", disbursement.pk))
    assert response.status_code == 422
    assert refusals(response) == ["approved_twice"]
    assert disbursement.approvals.count() == 1
    as_user(client, mateo).post(url("disbursement-approve", disbursement.pk))
    disbursement.refresh_from_db()
    assert disbursement.status == "approved"


def test_a_rejection_needs_its_reason(client, agua, fina, mina):
    disbursement = requested(agua, fina, "1000")
    as_user(client, mina)
    response = client.post(url("disbursement-reject", disbursement.pk), {"reason": "  "})
    assert response.status_code == 422
    disbursement.refresh_from_db()
    assert disbursement.status == "requested"
    response = client.post(
        url("disbursement-reject", disbursement.pk), {"reason": "Falta el presupuesto"}
    )
    assert response.status_code == 302
    disbursement.refresh_from_db()
    assert disbursement.status == "rejected"
    assert disbursement.rejection_reason == "Falta el presupuesto"
    page = as_user(client, fina).get(url("project-workspace", agua.pk)).content.decode()
    assert "Falta el presupuesto" in page


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        ({"bank_reference": "R-1", "rate_ves_per_usd": "abc"}, "rate"),
        ({"bank_reference": "R-1", "rate_ves_per_usd": "0"}, "rate"),
        ({"bank_reference": "R-1", "rate_ves_per_usd": "36.5", "future": True}, "date"),
        ({"bank_reference": "", "rate_ves_per_usd": "36.5"}, "fields"),
    ],
)
def test_a_bad_transfer_is_refused(client, agua, fina, mina, data, refusal):
    disbursement = requested(agua, fina, "1000")
    services.disbursement_approve(disbursement=disbursement, by=mina)
    day = timezone.localdate() + datetime.timedelta(days=1 if data.pop("future", False) else 0)
    response = as_user(client, mina).post(
        url("disbursement-transfer", disbursement.pk), {"transferred_on": day.isoformat(), **data}
    )
    assert response.status_code == 422
    assert refusals(response) == [refusal]
    disbursement.refresh_from_db()
    assert disbursement.status == "approved" and disbursement.amount_ves is None


def test_a_request_not_yet_approved_cannot_be_transferred(client, agua, fina, mina):
    disbursement = requested(agua, fina, "1000")
    response = as_user(client, mina).post(
        url("disbursement-transfer", disbursement.pk),
        {
            "transferred_on": timezone.localdate().isoformat(),
            "bank_reference": "R",
            "rate_ves_per_usd": "36.5",
        },
    )
    assert response.status_code == 422
    assert refusals(response) == ["not_approved"]


@pytest.mark.parametrize("who", ["fina", "olga", "rosa", "bob", "carlos", "adam", "lara_staff"])
def test_only_the_payers_of_the_source_decide_a_request(client, request, agua, fina, who):
    disbursement = requested(agua, fina, "1000")
    before = AuditEntry.objects.count()
    as_user(client, request.getfixturevalue(who))
    assert client.get(url("disbursement", disbursement.pk)).status_code == 403
    assert client.post(url("disbursement-approve", disbursement.pk)).status_code == 403
    assert (
        client.post(url("disbursement-reject", disbursement.pk), {"reason": "No"}).status_code
        == 403
    )
    disbursement.refresh_from_db()
    assert disbursement.status == "requested" and nothing_written(before)


def test_a_co_funder_pays_what_its_government_pledged(client, agua, fina, carlos):
    pledge = services.pledge_create(
        project=agua,
        source=services.source_for(FundingSource.Kind.STATE, agua),
        amount="2000",
        reason="Sobrecosto",
        by=carlos,
    )
    disbursement = services.disbursement_request(
        allocation=pledge, amount="500", purpose="Cemento", by=fina
    )
    html = as_user(client, carlos).get(url("payments")).content.decode()
    assert f'data-disbursement="{disbursement.pk}"' in html
    assert client.post(url("disbursement-approve", disbursement.pk)).status_code == 302
    disbursement.refresh_from_db()
    assert disbursement.status == "approved"


# Pledges ---------------------------------------------------------------------------------------


def test_a_co_funder_finds_a_runner_up_and_pledges_to_it(client, agua, carlos):
    cancha = agua.consultation.projects.get(commune=agua.commune, title="Cancha")
    as_user(client, carlos)
    html = client.get(url("pledge"), {"q": agua.commune.code}).content.decode()
    assert f'data-candidate="{cancha.pk}"' in html and f'data-candidate="{agua.pk}"' in html
    assert (
        f'data-pledge-project="{cancha.pk}"'
        in client.get(url("pledge"), {"project": cancha.pk}).content.decode()
    )
    response = client.post(
        url("pledge"),
        {"project": cancha.pk, "source": state_source(agua).pk, "amount": "3000", "reason": "2º"},
    )
    assert response.status_code == 302
    pledge = Allocation.objects.get(kind="pledge")
    assert (pledge.project, pledge.amount_usd, pledge.created_by) == (
        cancha,
        Decimal("3000.00"),
        carlos,
    )
    assert LedgerEntry.objects.filter(allocation=pledge, kind="pledge").exists()


def test_a_co_funder_does_not_find_projects_outside_its_territory(client, agua, carlos, commune_b):
    html = as_user(client, carlos).get(url("pledge"), {"q": commune_b.code}).content.decode()
    assert "data-candidate=" not in html


@pytest.mark.parametrize(
    ("project", "amount", "reason", "refusal"),
    [
        ("cancha", "3000", "", "fields"),
        ("cancha", "10000.01", "Mucho", "too_much"),
        ("cancha", "abc", "Mal", "amount"),
        ("escuela", "1000", "Fuera", "territory"),
    ],
)
def test_a_bad_pledge_is_refused(client, agua, commune_b, carlos, project, amount, reason, refusal):
    target = {
        "cancha": agua.consultation.projects.get(commune=agua.commune, title="Cancha"),
        "escuela": agua.consultation.projects.get(commune=commune_b, title="Escuela"),
    }[project]
    response = as_user(client, carlos).post(
        url("pledge"),
        {"project": target.pk, "source": state_source(agua).pk, "amount": amount, "reason": reason},
    )
    assert response.status_code == 422
    assert refusals(response) == [refusal]
    assert not Allocation.objects.filter(kind="pledge").exists()


@pytest.mark.parametrize("who", ["mina", "fina", "rosa", "adam"])
def test_only_co_funders_pledge(client, request, agua, who):
    as_user(client, request.getfixturevalue(who))
    assert client.get(url("pledge")).status_code == 403
    response = client.post(url("pledge"), {"project": agua.pk, "amount": "1", "reason": "x"})
    assert response.status_code == 403
    assert not Allocation.objects.filter(kind="pledge").exists()


def test_a_co_funder_of_no_source_is_told_so(client, agua):
    state = agua.commune.parish.municipality.state
    lone = make_staff("lone@example.org", StaffRole.Kind.COFUNDER_STAFF, state=state)
    html = as_user(client, lone).get(url("pledge")).content.decode()
    assert "data-no-sources" in html


# Oversight ------------------------------------------------------------------------------------


@pytest.fixture
def reported(agua, fina, olga, mina):
    """Agua potable completed: a receipt flagged and a closing report waiting."""
    transferred(agua, fina, mina, "1000")
    receipt = receipted(agua, fina, "900")
    flag = services.flag_raise(by=olga, comment="¿Es ese el precio?", receipt=receipt)
    services.progress_add(project=agua, percent=100, status="completed", text="Listo", by=fina)
    report = services.closing_report_submit(
        project=agua,
        text="Informe",
        assembly_held_on=timezone.localdate(),
        minutes=SimpleUploadedFile("acta.pdf", tiny_pdf()),
        by=fina,
    )
    return {"receipt": receipt, "flag": flag, "report": report}


def test_ministry_staff_answer_a_flag(client, reported, mina, fina, agua):
    flag = reported["flag"]
    as_user(client, mina)
    html = client.get(url("oversight")).content.decode()
    assert f'data-flag="{flag.pk}"' in html
    response = client.post(url("flag-answer", flag.pk), {"answer": ""})
    assert response.status_code == 422
    flag.refresh_from_db()
    assert flag.answered_at is None
    response = client.post(url("flag-answer", flag.pk), {"answer": "Factura verificada"})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.answer == "Factura verificada" and flag.answered_by == mina
    page = as_user(client, fina).get(url("project-workspace", agua.pk)).content.decode()
    assert 'data-answered="yes"' in page and "Factura verificada" in page


def test_ministry_staff_decide_a_closing_report(client, reported, mina):
    report = reported["report"]
    as_user(client, mina)
    response = client.post(url("closing-report-decide", report.pk), {"decision": "returned"})
    assert response.status_code == 422
    assert refusals(response) == ["note"]
    report.refresh_from_db()
    assert report.status == "submitted"
    response = client.post(url("closing-report-decide", report.pk), {"decision": "accepted"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "accepted" and report.decided_by == mina


def test_ministry_staff_reverse_a_ledger_entry_with_a_reason(client, reported, mina, agua):
    entry = LedgerEntry.objects.get(receipt=reported["receipt"])
    as_user(client, mina)
    page = client.get(url("project-ledger", agua.pk)).content.decode()
    assert f'data-entry="{entry.pk}" data-kind="receipt"' in page
    response = client.post(url("ledger-reverse", entry.pk), {"reason": ""})
    assert response.status_code == 422
    assert not LedgerEntry.objects.filter(kind="reversal").exists()
    response = client.post(url("ledger-reverse", entry.pk), {"reason": "Factura duplicada"})
    assert response.status_code == 302
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert reversal.reverses == entry and reversal.amount_usd == Decimal("-900.00")
    assert services.project_balance(agua.pk).spent == Decimal("0.00")


def test_a_reversal_that_would_break_the_balance_is_refused(client, reported, mina, agua):
    transfer = LedgerEntry.objects.get(kind="transfer")
    response = as_user(client, mina).post(url("ledger-reverse", transfer.pk), {"reason": "Error"})
    assert response.status_code == 422
    assert refusals(response) == ["breaks_balance"]
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


@pytest.mark.parametrize("who", ["fina", "olga", "rosa", "carlos", "adam", "lara_staff", "bob"])
def test_only_ministry_staff_of_the_state_oversee(client, request, reported, agua, who):
    flag, report = reported["flag"], reported["report"]
    entry = LedgerEntry.objects.get(receipt=reported["receipt"])
    before = AuditEntry.objects.count()
    as_user(client, request.getfixturevalue(who))
    if who != "lara_staff":  # Lara's staff have the page, with nothing of A on it
        assert client.get(url("oversight")).status_code == 403
    else:
        assert f'data-flag="{flag.pk}"' not in client.get(url("oversight")).content.decode()
    assert client.get(url("project-ledger", agua.pk)).status_code == 403
    assert client.post(url("flag-answer", flag.pk), {"answer": "x"}).status_code == 403
    assert (
        client.post(url("closing-report-decide", report.pk), {"decision": "accepted"}).status_code
        == 403
    )
    assert client.post(url("ledger-reverse", entry.pk), {"reason": "x"}).status_code == 403
    flag.refresh_from_db()
    report.refresh_from_db()
    assert flag.answered_at is None and report.status == "submitted"
    assert not LedgerEntry.objects.filter(kind="reversal").exists()
    assert nothing_written(before)
