"""The public money trail: a funded project's page, the round's tracker by funder and state
(who is late), the downloads, and their fixed number of queries."""

import csv
import datetime
import io
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts.models import StaffRole
from consultations.models import Consultation
from cycle import services as cycle
from funding import public_selectors, services
from funding.models import LedgerEntry
from voting.models import ProjectResult

from ..builders import PUBLISHED_AT, make_spokesperson, make_staff, tiny_pdf

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
# 30 days after the results (2027-01-09): the tracker's "today" in these tests.
LOOKED_AT = PUBLISHED_AT + 30 * DAY


def at(days: float) -> datetime.datetime:
    return PUBLISHED_AT + days * DAY


def png(name="foto.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 60)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def pdf(name="factura.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, tiny_pdf(), content_type="application/pdf")


def request_paid(allocation, *, by, payer, amount, day: int, transfer_day: int):
    """A request approved and transferred (the transfer recorded on ``transfer_day``)."""
    disbursement = services.disbursement_request(
        allocation=allocation, amount=amount, purpose="Tubos y cemento", by=by, now=at(day)
    )
    services.disbursement_approve(disbursement=disbursement, by=payer, now=at(day) + HOUR)
    return services.disbursement_transfer_record(
        disbursement=disbursement,
        by=payer,
        transferred_on=at(transfer_day).date(),
        bank_reference=f"BDV-{amount}",
        rate_ves_per_usd="36.5",
        now=at(transfer_day),
    )


def receipt(project, *, by, amount, supplier, upload, day: int):
    return services.receipt_add(
        project=project,
        upload=upload,
        supplier=supplier,
        spent_on=at(day).date(),
        amount=amount,
        category="materials",
        by=by,
        now=at(day),
    )


@pytest.fixture
def trail(published, commune_a, commune_b, council_b, fina, olga, mina):
    """On the published round (results on 2027-01-09), allocated an hour later:

    Commune A, "Agua potable" (national fund, 10,000): 3,000 transferred on day 3; receipts of
    2,000 (a photo) and 500 (a PDF); 4,000 transferred on day 6 and reversed on day 7 (the bank
    returned it); 1,000 requested and rejected; two progress updates (the last one stalled);
    a flag on the photo receipt, answered, and one on the stalled update, not answered.

    Commune B's winner (national fund, 10,000): nothing transferred. The government of Lara
    pledges 2,000 on day 5 and transfers it on day 20; B receipts 500 on day 21."""
    cycle.round_allocate(consultation_id=published.pk, now=PUBLISHED_AT + HOUR)
    agua = published.projects.get(commune=commune_a, title="Agua potable")
    b_winner = ProjectResult.objects.get(commune=commune_b, is_winner=True).project
    national_a = agua.allocations.get(kind="allocation")

    request_paid(national_a, by=fina, payer=mina, amount="3000", day=2, transfer_day=3)
    photo_receipt = receipt(
        agua, by=fina, amount="2000", supplier="Ferretería El Progreso", upload=png(), day=4
    )
    pdf_receipt = receipt(agua, by=fina, amount="500", supplier="Fletes Lara", upload=pdf(), day=4)
    returned = request_paid(national_a, by=fina, payer=mina, amount="4000", day=5, transfer_day=6)
    transfer = LedgerEntry.objects.get(disbursement=returned, kind="transfer")
    reversal = services.ledger_reverse(
        entry=transfer, reason="Transferencia devuelta por el banco", by=mina, now=at(7)
    )
    rejected = services.disbursement_request(
        allocation=national_a, amount="1000", purpose="Pintura", by=fina, now=at(8)
    )
    services.disbursement_reject(
        disbursement=rejected, by=mina, reason="Falta el presupuesto del proveedor", now=at(8.5)
    )
    services.progress_add(
        project=agua,
        percent=40,
        status="in_progress",
        text="Zanjas abiertas",
        by=fina,
        photos=[png("zanja.png")],
        now=at(9),
    )
    stalled = services.progress_add(
        project=agua,
        percent=40,
        status="stalled",
        text="Obra detenida",
        stalled_reason="Lluvias",
        by=fina,
        now=at(10),
    )
    answered = services.flag_raise(
        by=olga, comment="¿Precio del cemento?", receipt=photo_receipt, now=at(11)
    )
    services.flag_answer(flag=answered, answer="Precio según factura", by=mina, now=at(12))
    unanswered = services.flag_raise(by=olga, comment="¿Desde cuándo?", update=stalled, now=at(11))

    lara = services.source_for("state", b_winner)
    cofi = make_staff("cofi@example.org", StaffRole.Kind.COFUNDER_STAFF, state=lara.state)
    lara.staff.add(cofi)
    pledge = services.pledge_create(
        project=b_winner, source=lara, amount="2000", reason="Cofinanciamiento", by=cofi, now=at(5)
    )
    bruno = make_spokesperson(council_b, "V-55555555", "Bruno Mora", "bruno@example.org", "finance")
    request_paid(pledge, by=bruno, payer=cofi, amount="2000", day=10, transfer_day=20)
    receipt(b_winner, by=bruno, amount="500", supplier="Bloques Lara", upload=pdf(), day=21)
    return {
        "round": published,
        "agua": agua,
        "b_winner": b_winner,
        "lara": lara,
        "cofi": cofi,
        "transfer": transfer,
        "reversal": reversal,
        "rejected": rejected,
        "photo_receipt": photo_receipt,
        "pdf_receipt": pdf_receipt,
        "answered": answered,
        "unanswered": unanswered,
    }


def page(client, name, *args, **query):
    response = client.get(reverse(f"funding:{name}", args=list(args)), query)
    return response, response.content.decode()


def attr(html: str, element_id: str, name: str) -> str:
    """The value of attribute ``name`` of the element whose id is ``element_id``."""
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', html).group(0)
    return re.search(rf'\b{name}="([^"]*)"', tag).group(1)


def field(html: str, scope: str, name: str) -> str:
    """data-amount (or data-value) of the data-field ``name`` inside the element ``scope``."""
    start = html.index(scope)
    match = re.search(rf'data-field="{name}" data-(?:amount|value)="([^"]*)"', html[start:])
    return match.group(1)


# The project's page --------------------------------------------------------------------------


def test_the_project_page_shows_the_money_and_every_document(client, trail):
    agua = trail["agua"]
    response, html = page(client, "money-project", agua.pk)
    assert response.status_code == 200
    # Allocated, disbursed (the 4,000 returned is reversed), spent.
    assert field(html, 'id="balance"', "allocated") == "10000.00"
    assert field(html, 'id="balance"', "disbursed") == "3000.00"
    assert field(html, 'id="balance"', "spent") == "2500.00"
    assert attr(html, "project-status", "data-status") == "stalled"
    assert attr(html, "project-status", "data-percent") == "40"
    assert attr(html, "vote-result", "data-rank") == "1"
    assert attr(html, "vote-result", "data-votes") == "3"
    assert 'role="img"' in html and '<title id="balance-chart-title">' in html
    # The allocation with its source and reason.
    assert 'data-kind="allocation" data-amount="10000.00"' in html
    assert agua.allocations.get().source.name in html
    # The requests: transferred with its reference, rate and bolívars; the rejected one's reason.
    statuses = re.findall(r'data-disbursement="\d+" data-status="(\w+)"', html)
    assert statuses == ["transferred", "transferred", "rejected"]
    assert "BDV-3000" in html and 'data-field="amount_ves" data-amount="109500.00"' in html
    assert 'data-field="rate" data-value="36.5000"' in html
    assert "Falta el presupuesto del proveedor" in html
    assert html.count('data-transfer-reversed="true"') == 1  # the 4,000 the bank returned
    # Receipts: the photo shown as an image, the PDF as a link, both served from the file view.
    photo, document = trail["photo_receipt"], trail["pdf_receipt"]
    assert f'<img src="{reverse("communes:file-download", args=[photo.file_id])}"' in html
    assert f'href="{reverse("communes:file-download", args=[document.file_id])}"' in html
    assert f'data-receipt="{photo.pk}" data-amount="2000.00"' in html
    # Progress: both updates, the stalled one's reason, the photo.
    assert re.findall(r'data-update="\d+" data-percent="40" data-status="(\w+)"', html) == [
        "stalled",
        "in_progress",
    ]
    assert "Lluvias" in html and "Zanjas abiertas" in html
    assert html.count("data-photo=") == 1
    # Flags stay visible: the answered one with its answer, the other marked as waiting.
    assert attr(html, f"flag-{trail['answered'].pk}", "data-answered") == "true"
    assert "Precio según factura" in html
    assert attr(html, f"flag-{trail['unanswered'].pk}", "data-answered") == "false"
    assert attr(html, "flags-open", "data-open") == "1"


def test_the_timeline_holds_every_movement_and_a_reversal_names_what_it_reverses(client, trail):
    _response, html = page(client, "money-project", trail["agua"].pk)
    ledger = html[html.index('id="ledger"') :]
    kinds = re.findall(r'data-kind="(\w+)" data-amount="(-?[\d.]+)" data-by="(\w+)"', ledger)
    assert kinds == [
        ("allocation", "10000.00", "system"),
        ("approval", "3000.00", "source"),
        ("transfer", "3000.00", "source"),
        ("receipt", "2000.00", "commune"),
        ("receipt", "500.00", "commune"),
        ("approval", "4000.00", "source"),
        ("transfer", "4000.00", "source"),
        ("reversal", "-4000.00", "ministry"),
    ]
    transfer, reversal = trail["transfer"], trail["reversal"]
    assert attr(html, f"entry-{reversal.pk}", "data-reverses") == str(transfer.pk)
    assert attr(html, f"entry-{transfer.pk}", "data-reversed-by") == str(reversal.pk)
    assert f'href="#entry-{transfer.pk}"' in html
    assert "Transferencia devuelta por el banco" in html


def test_the_project_page_names_nobody(client, trail):
    _response, html = page(client, "money-project", trail["agua"].pk)
    for email in ["fina@", "olga@", "mina@", "cofi@", "bruno@", "adam@"]:
        assert email not in html
    for name in ["Fina Contreras", "Olga Rivas"]:
        assert name not in html


def test_a_project_without_money_has_no_money_page(client, trail, commune_a):
    cancha = trail["round"].projects.get(commune=commune_a, title="Cancha")
    assert page(client, "money-project", cancha.pk)[0].status_code == 404
    assert page(client, "money-project", 999_999)[0].status_code == 404


def test_the_commune_results_link_each_winner_to_its_money(client, trail, commune_a):
    html = client.get(
        reverse("voting:results-commune", args=[trail["round"].pk, commune_a.code])
    ).content.decode()
    agua = trail["agua"]
    assert f'href="{reverse("funding:money-project", args=[agua.pk])}"' in html
    assert html.count("data-money=") == 1  # the winner only


# The tracker ---------------------------------------------------------------------------------


def test_the_tracker_adds_up_each_funder_and_state_and_says_who_is_late(trail, commune_a):
    consultation = public_selectors.money_round_get(pk=trail["round"].pk)
    tracker = public_selectors.money_tracker(consultation=consultation, now=LOOKED_AT)
    funders = [
        (
            f["kind"],
            f["promised"],
            f["transferred"],
            f["receipted"],
            f["projects"],
            f["transfers"],
            f["median_days"],
            f["average_days"],
            f["waiting"],
            f["longest_wait"],
        )
        for f in tracker["funders"]
    ]
    # The national fund is latest: B's winner has waited 30 days. Its only transfer (A's) came
    # 3 days after the result. Lara took 15 days from its pledge (day 5) to its transfer.
    assert funders == [
        ("national", Decimal("20000"), Decimal("3000"), Decimal("2500"), 2, 1, 3, 3.0, 1, 30),
        ("state", Decimal("2000"), Decimal("2000"), Decimal("500"), 1, 1, 15, 15.0, 0, None),
    ]
    states = [
        (s["code"], s["promised"], s["transferred"], s["receipted"], s["projects"], s["waiting"])
        for s in tracker["states"]
    ]
    assert states == [
        ("01", Decimal("10000"), Decimal("3000"), Decimal("2500"), 1, 0),
        ("13", Decimal("12000"), Decimal("2000"), Decimal("500"), 1, 1),
    ]
    assert tracker["totals"] == {
        "promised": Decimal("22000"),
        "transferred": Decimal("5000"),
        "receipted": Decimal("3000"),
        "projects": 2,
    }
    # Filtered to a state, and to a funder.
    lara = public_selectors.money_tracker(consultation=consultation, now=LOOKED_AT, state="13")
    assert [(f["kind"], f["promised"]) for f in lara["funders"]] == [
        ("national", Decimal("10000")),
        ("state", Decimal("2000")),
    ]
    national = public_selectors.money_tracker(
        consultation=consultation, now=LOOKED_AT, source=trail["agua"].allocations.get().source_id
    )
    assert [(s["code"], s["promised"], s["receipted"]) for s in national["states"]] == [
        ("01", Decimal("10000"), Decimal("2500")),
        ("13", Decimal("10000"), Decimal("0")),
    ]


def test_receipts_are_shared_among_funders_by_what_each_transferred():
    shares = public_selectors._share(Decimal("100.00"), {7: Decimal("1000"), 3: Decimal("2000")})
    assert shares == {3: Decimal("66.67"), 7: Decimal("33.33")}
    assert public_selectors._share(Decimal("0"), {1: Decimal("5")}) == {1: Decimal("0")}


def test_the_tracker_page_shows_the_figures_charts_and_filters(client, trail):
    pk = trail["round"].pk
    with time_machine.travel(LOOKED_AT, tick=False):
        response, html = page(client, "money-round", pk)
    assert response.status_code == 200
    assert field(html, 'id="money-totals"', "promised") == "22000.00"
    assert field(html, 'id="money-totals"', "transferred") == "5000.00"
    assert field(html, 'id="money-totals"', "receipted") == "3000.00"
    funders = html[html.index('id="funders"') :]
    assert re.findall(r'data-source="\d+" data-kind="(\w+)"', funders) == ["national", "state"]
    assert field(funders, 'data-kind="state"', "median_days") == "15"
    assert field(funders, 'data-kind="national"', "longest_wait") == "30"
    assert html.count('role="img"') == 2
    assert '<title id="funder-chart-title">' in html and '<desc id="state-chart-desc">' in html
    # Every project row links to its page.
    for project in (trail["agua"], trail["b_winner"]):
        assert f'href="{reverse("funding:money-project", args=[project.pk])}"' in html
    # A state chosen: only its projects.
    _response, lara = page(client, "money-round", pk, estado="13")
    assert 'value="13" selected' in lara
    assert field(lara, 'id="money-totals"', "promised") == "12000.00"
    rows = lara[lara.index('id="money-projects"') :]
    assert set(re.findall(r'data-project="(\d+)"', rows)) == {str(trail["b_winner"].pk)}
    # An unknown filter shows everything.
    assert field(page(client, "money-round", pk, estado="99")[1], "money-totals", "promised") == (
        "22000.00"
    )
    # The downloads are linked and their fields documented.
    for name in ["money-round-csv", "money-round-json"]:
        assert reverse(f"funding:{name}", args=[pk]) in html
    for name in public_selectors.ROW_FIELDS:
        assert f"<code>{name}</code>" in html


def test_the_list_shows_rounds_with_money_only(client, trail):
    response, html = page(client, "money-list")
    assert response.status_code == 200
    assert f'data-round="{trail["round"].pk}" data-promised="22000.00"' in html
    assert 'data-transferred="5000.00" data-receipted="3000.00" data-projects="2"' in html


def test_a_round_not_published_has_no_tracker(client, trail):
    Consultation.objects.filter(pk=trail["round"].pk).update(phase="counting")
    for name in ["money-round", "money-round-csv", "money-round-json"]:
        assert page(client, name, trail["round"].pk)[0].status_code == 404
    assert "data-round=" not in page(client, "money-list")[1]


# Downloads -----------------------------------------------------------------------------------


def download(client, name, pk) -> str:
    response = client.get(reverse(f"funding:{name}", args=[pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_the_downloads_hold_every_project_and_funder_exactly(client, trail, commune_a, commune_b):
    pk = trail["round"].pk
    with time_machine.travel(LOOKED_AT, tick=False):
        rows = json.loads(download(client, "money-round-json", pk))
    agua, b_winner, lara = trail["agua"], trail["b_winner"], trail["lara"]
    national = agua.allocations.get().source
    picked = [
        {
            key: row[key]
            for key in [
                "state_code",
                "municipality_code",
                "commune_code",
                "project_id",
                "source_id",
                "source_kind",
                "promised",
                "transferred",
                "receipted",
                "counted_from",
                "first_transfer_on",
                "days_to_first_transfer",
            ]
        }
        for row in rows
    ]
    assert picked == [
        {
            "state_code": "01",
            "municipality_code": "0101",
            "commune_code": commune_a.code,
            "project_id": agua.pk,
            "source_id": national.pk,
            "source_kind": "national",
            "promised": "10000.00",
            "transferred": "3000.00",
            "receipted": "2500.00",
            "counted_from": "2027-01-09",
            "first_transfer_on": "2027-01-12",
            "days_to_first_transfer": 3,
        },
        {
            "state_code": "13",
            "municipality_code": "1303",
            "commune_code": commune_b.code,
            "project_id": b_winner.pk,
            "source_id": national.pk,
            "source_kind": "national",
            "promised": "10000.00",
            "transferred": "0.00",
            "receipted": "0.00",
            "counted_from": "2027-01-09",
            "first_transfer_on": None,
            "days_to_first_transfer": None,
        },
        {
            "state_code": "13",
            "municipality_code": "1303",
            "commune_code": commune_b.code,
            "project_id": b_winner.pk,
            "source_id": lara.pk,
            "source_kind": "state",
            "promised": "2000.00",
            "transferred": "2000.00",
            "receipted": "500.00",
            "counted_from": "2027-01-14",
            "first_transfer_on": "2027-01-29",
            "days_to_first_transfer": 15,
        },
    ]
    assert list(rows[0]) == public_selectors.ROW_FIELDS
    assert [row["waiting_days"] for row in rows] == [None, 30, None]
    assert rows[0]["round_id"] == pk and rows[0]["project"] == "Agua potable"
    response = client.get(reverse("funding:money-round-csv", args=[pk]))
    assert response["Content-Disposition"] == f'attachment; filename="dinero-{pk}-proyectos.csv"'
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(lines[0]) == public_selectors.ROW_FIELDS
    assert [(line["project_id"], line["promised"], line["receipted"]) for line in lines] == [
        (str(agua.pk), "10000.00", "2500.00"),
        (str(b_winner.pk), "10000.00", "0.00"),
        (str(b_winner.pk), "2000.00", "500.00"),
    ]
    assert lines[1]["first_transfer_on"] == "" and lines[0]["is_winner"] == "true"


# Speed ---------------------------------------------------------------------------------------


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(captured)


def measure(client, trail) -> dict:
    pk = trail["round"].pk
    urls = {
        "list": reverse("funding:money-list"),
        "round": reverse("funding:money-round", args=[pk]),
        "round-state": reverse("funding:money-round", args=[pk]) + "?estado=13",
        "csv": reverse("funding:money-round-csv", args=[pk]),
        "json": reverse("funding:money-round-json", args=[pk]),
        "project": reverse("funding:money-project", args=[trail["agua"].pk]),
    }
    return {name: queries_of(client, url) for name, url in urls.items()}


# The round (one), then two for the ledger's sums and the projects' places; the project's page:
# one query per kind of document.
EXPECTED_QUERIES = {"list": 2, "round": 3, "round-state": 3, "csv": 3, "json": 3, "project": 11}


def test_every_money_page_runs_in_a_fixed_number_of_queries(
    client, trail, commune_a, commune_b, fina, olga, mina
):
    before = measure(client, trail)
    # More projects with money: the governments pledge to every other project on a ballot, and
    # Agua potable gets more receipts, updates with photos and flags.
    capital = services.source_for("state", trail["agua"])
    capital.staff.add(trail["cofi"])
    for project in trail["round"].projects.exclude(pk__in=[trail["agua"].pk, trail["b_winner"].pk]):
        source = capital if project.commune_id == commune_a.pk else trail["lara"]
        services.pledge_create(
            project=project,
            source=source,
            amount="100",
            reason="Apoyo",
            by=trail["cofi"],
            now=at(13),
        )
    agua = trail["agua"]
    for n in range(3):
        extra = receipt(agua, by=fina, amount="10", supplier=f"Otro {n}", upload=png(), day=13)
        services.flag_raise(by=olga, comment="¿Y esto?", receipt=extra, now=at(14))
        services.progress_add(
            project=agua,
            percent=50 + n,
            status="in_progress",
            text="Más obra",
            by=fina,
            photos=[png(), png()],
            now=at(15 + n),
        )
    after = measure(client, trail)
    assert before == EXPECTED_QUERIES
    assert 'data-projects="6"' in page(client, "money-list")[1]
    assert (
        public_selectors.money_tracker(
            consultation=public_selectors.money_round_get(pk=trail["round"].pk)
        )["totals"]["projects"]
        == trail["round"].projects.count()
    )
    assert after == before
