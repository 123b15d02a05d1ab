"""A resident votes from a phone and, once voting closes, checks the receipt."""

import re

import pytest
from playwright.sync_api import expect

from cycle import services as cycle

from ..builders import close_now, live_round_for, make_voter
from ..builders.browser import screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_resident_votes_and_checks_the_receipt(phone, commune_a, commune_b, council_a):
    consultation = live_round_for(commune_a, commune_b)
    make_voter(council_a, 1)
    sign_in(phone, "votante1@example.org")

    phone.goto(f"/consultas/{consultation.pk}/")
    phone.get_by_role("link", name="Votar").click()
    expect(phone.get_by_role("heading", name="Tu boleta")).to_be_visible()
    screenshot(phone, "vote-ballot")
    phone.get_by_label("Cancha").check()
    phone.get_by_role("button", name="Continuar").click()
    expect(phone.get_by_role("heading", name="Confirma tu voto")).to_be_visible()
    expect(phone.get_by_text("Cancha")).to_be_visible()
    screenshot(phone, "vote-confirm")
    phone.get_by_role("button", name="Confirmar mi voto").click()
    expect(phone.get_by_role("heading", name="Tu voto quedó registrado")).to_be_visible()
    receipt = phone.locator("[data-receipt]").get_attribute("data-receipt")
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{1,4})+", receipt)
    screenshot(phone, "vote-receipt")

    close_now(consultation)
    cycle.round_count(consultation_id=consultation.pk)

    phone.goto(f"/consultas/{consultation.pk}/")
    phone.get_by_role("link", name="Verifica el comprobante de tu voto").click()
    phone.get_by_label("Código del comprobante").fill(receipt)
    phone.get_by_role("button", name="Verificar").click()
    status = phone.get_by_role("status")
    expect(status).to_contain_text(commune_a.name)
    expect(status).to_contain_text("Fue contada.")
    expect(status).not_to_contain_text("Cancha")
    screenshot(phone, "vote-receipt-check")
