"""A resident follows a link to their page, signs in, finds the vote open in their commune on it,
votes from there, and finds it says they voted (issue 18). On a phone's width, in Spanish."""

import re

import pytest
from playwright.sync_api import expect

from ..builders import PASSWORD, live_round_for, make_voter
from ..builders.browser import screenshot, serious_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_resident_signs_in_from_a_link_and_votes_from_their_page(
    phone, commune_a, commune_b, council_a
):
    consultation = live_round_for(commune_a, commune_b)
    make_voter(council_a, 1)

    phone.goto("/cuentas/login/?next=/mi-participacion/")
    phone.get_by_label("Correo electrónico").fill("votante1@example.org")
    phone.get_by_label("Contraseña").fill(PASSWORD)
    phone.get_by_role("button", name="Iniciar sesión").click()

    expect(phone).to_have_url(re.compile(r"/mi-participacion/$"))
    vote = phone.locator(f'[data-open-vote="{consultation.pk}"]')
    expect(phone.get_by_role("heading", name="Votación en tu comuna")).to_be_visible()
    expect(vote.get_by_role("heading", name=consultation.name)).to_be_visible()
    expect(vote).to_contain_text("La votación cierra el")
    vote_button = vote.get_by_role("link", name="Votar")
    expect(vote_button).to_be_in_viewport()  # on a phone, without scrolling
    assert serious_violations(phone) == []
    screenshot(phone, "participation-vote-open")

    vote_button.click()
    expect(phone.get_by_role("heading", name="Tu boleta")).to_be_visible()
    phone.get_by_label("Cancha").check()
    phone.get_by_role("button", name="Continuar").click()
    phone.get_by_role("button", name="Confirmar mi voto").click()
    expect(phone.get_by_role("heading", name="Tu voto quedó registrado")).to_be_visible()

    phone.get_by_role("link", name="Mi página").click()
    expect(phone).to_have_url(re.compile(r"/mi-participacion/$"))
    expect(vote).to_contain_text("Ya votaste en línea.")
    expect(vote.get_by_role("link", name="Votar")).to_have_count(0)
    expect(vote.get_by_role("link", name="Verificar un comprobante")).to_be_visible()
    assert serious_violations(phone) == []
    screenshot(phone, "participation-voted")
