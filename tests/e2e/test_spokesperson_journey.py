"""A spokesperson signs in, filters the directory and opens a commune, in real Chromium."""

import re

import pytest
from playwright.sync_api import expect

from ..builders import make_commune
from ..builders.browser import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def more_communes(commune_a, commune_b):
    make_commune("COM-0101-903", "010103", "Comuna Cacique Tiuna")
    make_commune("COM-1303-904", "130302", "Circuito Comunal El Cují", kind="circuit")


def test_spokesperson_signs_in_filters_the_directory_and_opens_a_commune(
    phone, alice, council_a, more_communes
):
    sign_in(phone, "alice@example.org")
    expect(phone).to_have_url(re.compile(r"/mis-comunas/$"))
    expect(phone.get_by_role("heading", name="Mis comunas")).to_be_visible()
    expect(phone.get_by_role("link", name="Comuna Altos de Lídice")).to_be_visible()
    screenshot(phone, "my-communes")

    phone.get_by_role("link", name="Directorio").click()
    results = phone.locator("#results")
    expect(results.locator(".card")).to_have_count(4)

    # htmx filters as the spokesperson types and chooses, without a page load.
    phone.get_by_label("Estado").select_option(label="Lara")
    expect(results.locator(".card")).to_have_count(2)
    municipality = phone.get_by_label("Municipio")
    expect(municipality).to_be_enabled()
    expect(municipality.locator("option", has_text="Iribarren")).to_have_count(1)
    phone.get_by_label("Tipo").select_option(label="Circuito comunal")
    expect(results.locator(".card")).to_have_count(1)
    expect(results).to_contain_text("Circuito Comunal El Cují")
    expect(phone).to_have_url(re.compile(r"state=13"))

    phone.get_by_label("Estado").select_option(label="Distrito Capital")
    phone.get_by_label("Tipo").select_option(label="Comunas y circuitos")
    phone.get_by_label("Buscar", exact=True).fill("lídice")
    expect(results.locator(".card")).to_have_count(1)
    screenshot(phone, "directory-filtered")

    results.get_by_role("link", name="Comuna Altos de Lídice").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Comuna Altos de Lídice")
    expect(phone.get_by_role("cell", name="Consejo Comunal La Ceiba")).to_be_visible()
    expect(phone.locator("main")).to_contain_text("Alicia Pérez")
    screenshot(phone, "commune-page")


def test_the_directory_filters_without_javascript(browser, live_server, phone, more_communes):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        java_script_enabled=False,
        locale="es-VE",
        base_url=live_server.url,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/comunas/")
    page.get_by_label("Estado").select_option(label="Lara")
    page.get_by_role("button", name="Buscar").click()
    expect(page).to_have_url(re.compile(r"state=13"))
    expect(page.locator("#results .card")).to_have_count(2)
    # Now the municipalities of Lara can be chosen.
    page.get_by_label("Municipio").select_option(label="Iribarren")
    page.get_by_role("button", name="Buscar").click()
    expect(page.locator("#results .card")).to_have_count(2)
    context.close()


def test_a_spokesperson_verifies_a_claim_in_place(phone, alice, carla, carla_record):
    from communes.models import ResidentClaim
    from communes.services import resident_claim_create

    resident_claim_create(
        user=carla, cedula=carla_record.cedula, birth_date=carla_record.birth_date
    )
    sign_in(phone, "alice@example.org")
    phone.goto("/verificaciones/")
    card = phone.locator(".card", has_text="Carla Medina")
    card.get_by_role("button", name="Verificar").click()
    expect(card.locator(".decision")).to_have_text("Verificado.")
    expect(phone).to_have_url(re.compile(r"/verificaciones/$"))  # swapped in place, no reload
    screenshot(phone, "claims-queue")
    assert ResidentClaim.objects.get().status == ResidentClaim.Status.APPROVED
