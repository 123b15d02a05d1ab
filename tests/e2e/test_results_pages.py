"""The results of a published round, at phone width in Chromium: readable, charts drawn, no
serious accessibility issue. Screenshots go to test-artifacts/ for a person to look at."""

import pytest

from ..builders.browser import screenshot, serious_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_results_pages_at_phone_width(phone, published, commune_a, commune_b):
    pk = published.pk
    phone.goto(f"/consultas/{pk}/")
    phone.get_by_role("link", name="Ver los resultados").click()
    phone.wait_for_url(f"**/resultados/{pk}/")
    turnout_map = phone.locator("svg[role=group]")  # tests/e2e/test_where_and_map.py
    assert turnout_map.is_visible()
    assert "Distrito Capital" in turnout_map.text_content()
    assert phone.locator("svg[role=img]").first.is_visible()  # the winners by category
    # Nothing is wider than the phone: no sideways scrolling of the whole page.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "results-national")
    found = serious_violations(phone)

    phone.get_by_role("link", name="Distrito Capital").first.click()
    phone.wait_for_url(f"**/resultados/{pk}/estados/01/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "results-state")
    found += serious_violations(phone)

    phone.get_by_role("link", name="Libertador").first.click()
    phone.wait_for_url(f"**/resultados/{pk}/municipios/0101/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "results-municipality")
    found += serious_violations(phone)

    phone.goto(f"/resultados/{pk}/comunas/{commune_a.code}/")
    assert phone.locator("table.projects").get_by_text("Agua potable").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "results-commune")
    found += serious_violations(phone)

    phone.goto(f"/resultados/{pk}/comunas/{commune_b.code}/")
    screenshot(phone, "results-commune-tie")
    found += serious_violations(phone)

    phone.goto("/resultados/")
    screenshot(phone, "results-list")
    found += serious_violations(phone)
    assert found == []

    # The open data streams from the real server (autocommit, a server-side cursor).
    download = phone.request.get(f"/resultados/{pk}/proyectos.csv")
    assert download.ok
    lines = download.text().splitlines()
    assert lines[0].startswith("round_id,round,state_code") and len(lines) == 1 + 6
    assert len(phone.request.get(f"/resultados/{pk}/comunas.json").json()) == 2
