"""¿Dónde voto? and the turnout map, at phone width in Chromium: found from the home page, usable
with the keyboard and without script, nothing wider than the phone, no serious accessibility
issue. Screenshots go to test-artifacts/ for a person to look at."""

import pytest
from playwright.sync_api import expect

from ..builders.browser import ARTIFACTS, screenshot, serious_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def test_where_do_i_vote_at_phone_width(phone, live_round, ana, centres_of_a):
    phone.goto("/")
    phone.get_by_role("link", name="¿Dónde voto?", exact=True).click()
    phone.wait_for_url("**/donde-voto/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("¿Dónde voto?")
    found = serious_violations(phone)

    # A typo is explained next to the field, and nothing is looked up.
    phone.get_by_role("textbox", name="Cédula").fill("14555666")
    phone.get_by_role("button", name="Buscar").click()
    expect(phone.locator(".field .error")).to_contain_text("no es una cédula válida")
    assert phone.locator("[data-answer]").count() == 0
    found += serious_violations(phone)

    # The way people write it on forms works, and the answer names places, never the person.
    phone.get_by_role("textbox", name="Cédula").fill("V-14.555.666")
    phone.get_by_role("textbox", name="Cédula").press("Enter")
    answer = phone.locator('[data-answer="found"]')
    expect(answer).to_contain_text("Comuna Altos de Lídice")
    expect(answer).to_contain_text("Escuela Bolivariana Lídice")
    expect(answer).to_contain_text("Calle Real de Lídice, frente a la plaza")
    expect(answer).to_contain_text("Mesas 1, 2")
    expect(answer).to_contain_text("Agua potable")
    assert "Rangel" not in phone.content()
    assert fits_the_phone(phone)
    screenshot(phone, "where-to-vote-found")
    answer.screenshot(path=str(ARTIFACTS / "where-to-vote-answer-close.png"))
    found += serious_violations(phone)

    # A cédula nobody has gets the one answer for "no voting place".
    phone.get_by_role("textbox", name="Cédula").fill("V-19999999")
    phone.get_by_role("button", name="Consultar otra cédula").click()
    expect(phone.locator('[data-answer="none"]')).to_contain_text(
        "Esta cédula no tiene lugar de votación en esta consulta."
    )
    assert fits_the_phone(phone)
    screenshot(phone, "where-to-vote-none")
    found += serious_violations(phone)
    assert found == []


def test_the_turnout_map_at_phone_width(phone, published):
    pk = published.pk
    phone.goto(f"/resultados/{pk}/")
    tiles = phone.locator("svg[role=group] a")
    expect(tiles).to_have_count(24)
    map_box = phone.locator("svg[role=group]").bounding_box()
    assert map_box["width"] <= 360
    # Every tile is a thumb-sized target (WCAG 2.2's minimum is 24 px).
    for index in range(24):
        box = tiles.nth(index).bounding_box()
        assert box["width"] >= 30 and box["height"] >= 30
    assert fits_the_phone(phone)
    screenshot(phone, "results-turnout-map")
    phone.locator("figure.tile-map").screenshot(path=str(ARTIFACTS / "turnout-map-close.png"))
    found = serious_violations(phone)

    # Reached with the keyboard, a tile says its state and turnout, and opens the state's page.
    caracas = phone.get_by_role("link", name="Distrito Capital: participación 62,5 %")
    caracas.focus()
    expect(caracas).to_be_focused()
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"**/resultados/{pk}/estados/01/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Distrito Capital")

    # A state with no commune on the vote is a page that says so.
    phone.goto(f"/resultados/{pk}/")
    phone.get_by_role("link", name="Zulia: ninguna comuna en la votación").click()
    phone.wait_for_url(f"**/resultados/{pk}/estados/23/")
    expect(
        phone.get_by_text("Ninguna comuna de este estado estuvo en la votación.")
    ).to_be_visible()
    assert found == []
