"""axe-core finds no serious or critical WCAG 2.2 AA issue on the pages people use."""

import pytest

from ..builders.browser import serious_violations, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_public_pages_have_no_serious_accessibility_issue(phone, commune_a, council_a, alice):
    found = []
    for url in [
        "/",
        "/comunas/",
        "/comunas/?state=01",
        f"/comunas/{commune_a.code}/",
        "/cuentas/login/",
        "/cuentas/signup/",
        "/cuentas/password/reset/",
    ]:
        phone.goto(url)
        found += serious_violations(phone)
    assert found == []


def test_pages_for_people_have_no_serious_accessibility_issue(phone, alice, carla, carla_record):
    from communes.services import resident_claim_create

    resident_claim_create(
        user=carla, cedula=carla_record.cedula, birth_date=carla_record.birth_date
    )
    sign_in(phone, "alice@example.org")
    found = []
    for url in ["/mis-comunas/", "/verificaciones/", "/mi-participacion/"]:
        phone.goto(url)
        found += serious_violations(phone)
    assert found == []


def test_assembly_and_validation_pages_have_no_serious_accessibility_issue(
    phone, alice, council_a, commune_a, browser, live_server
):
    from ..builders import proposal

    project = proposal(alice, council_a, commune_a)
    sign_in(phone, "alice@example.org")
    found = []
    for url in [
        f"/comunas/{commune_a.code}/consultas/{project.consultation_id}/",
        f"/propuestas/{project.pk}/",
        f"/consultas/{project.consultation_id}/",
    ]:
        phone.goto(url)
        found += serious_violations(phone)
    assert found == []
