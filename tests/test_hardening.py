"""Headers, CSRF, escaping of hostile text, and what pages reveal about people."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from communes.models import CommunalCouncil, ResidentClaim

from .builders import make_resident, make_user

XSS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)//<svg/onload=alert(1)>",
    "{{ 7*7 }}{% debug %}",
]


def test_pages_carry_a_content_security_policy_with_a_fresh_nonce(client, db):
    first = client.get(reverse("home"))
    second = client.get(reverse("home"))
    policy = first["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'nonce="{nonce}"' in first.content.decode()
    assert nonce not in second["Content-Security-Policy"]
    assert first["X-Frame-Options"] == "DENY"
    assert first["Referrer-Policy"] == "same-origin"
    assert first["X-Content-Type-Options"] == "nosniff"


def test_session_and_csrf_cookies_are_secure_in_production(settings):
    from django.conf import settings as live

    assert live.SESSION_COOKIE_HTTPONLY is True


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(carla, carla_record, alice):
    ResidentClaim.objects.create(resident=carla_record, user=carla)
    claim = ResidentClaim.objects.get()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(
        reverse("communes:claim-decide", args=[claim.pk]),
        {"decision": "approve"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.status == ResidentClaim.Status.PENDING


def test_htmx_requests_send_the_csrf_token_from_the_page(carla, carla_record, alice):
    ResidentClaim.objects.create(resident=carla_record, user=carla)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(reverse("communes:claims-queue")).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    claim = ResidentClaim.objects.get()
    response = browser.post(
        reverse("communes:claim-decide", args=[claim.pk]),
        {"decision": "approve"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("payload", XSS)
def test_hostile_names_are_shown_escaped_everywhere(client, payload, commune_a, council_a, alice):
    commune_a.name = payload
    commune_a.save()
    CommunalCouncil.objects.filter(pk=council_a.pk).update(name=payload)
    claimant = make_user("hostile@example.org", first_name=payload)
    record = make_resident(council_a, "V-8888888", payload)
    ResidentClaim.objects.create(resident=record, user=claimant)
    pages = [
        client.get(reverse("communes:directory"), {"q": payload}),
        client.get(reverse("communes:detail", args=[commune_a.code])),
    ]
    client.force_login(alice)
    pages += [
        client.get(reverse("communes:claims-queue")),
        client.get(reverse("communes:my-communes")),
    ]
    has_markup = any(char in payload for char in "<>\"'&")
    for response in pages:
        body = response.content.decode()
        assert response.status_code == 200
        if has_markup:
            assert payload not in body, response.request["PATH_INFO"]
        assert "<script>alert" not in body and "<img src=x" not in body and "<svg" not in body
    # Text that looks like a template is shown as text, never evaluated.
    assert ">49<" not in pages[1].content.decode()


def test_a_hostile_rejection_reason_is_escaped_for_the_claimant(client, carla, carla_record, alice):
    claim = ResidentClaim.objects.create(resident=carla_record, user=carla)
    client.force_login(alice)
    client.post(
        reverse("communes:claim-decide", args=[claim.pk]),
        {"decision": "reject", "reason": XSS[1]},
    )
    client.force_login(carla)
    body = client.get(reverse("communes:my-participation")).content.decode()
    assert XSS[1] not in body and "&quot;&gt;&lt;img" in body


def test_cedulas_are_masked_and_birth_dates_never_shown(client, carla, carla_record, alice):
    ResidentClaim.objects.create(resident=carla_record, user=carla)
    client.force_login(alice)
    queue = client.get(reverse("communes:claims-queue")).content.decode()
    assert "V-****5678" in queue and "V-12345678" not in queue
    assert "1995" not in queue and "14/07" not in queue
    detail = client.get(reverse("communes:detail", args=[carla_record.council.commune.code]))
    assert "V-11111111" not in detail.content.decode()  # Alice's own cédula


def test_a_person_downloads_everything_stored_about_them(client, carla, carla_record, alice):
    claim = ResidentClaim.objects.create(resident=carla_record, user=carla)
    client.force_login(alice)
    client.post(reverse("communes:claim-decide", args=[claim.pk]), {"decision": "approve"})
    carla.refresh_from_db()  # her verification ended her sessions (a change of role)
    client.force_login(carla)
    response = client.get(reverse("communes:my-data"))
    assert response["Content-Disposition"] == 'attachment; filename="mis-datos.json"'
    data = json.loads(response.content)
    assert data["account"]["email"] == "carla@example.org"
    assert data["census_record"]["cedula"] == "V-12345678"
    assert data["census_record"]["birth_date"] == "1995-07-14"
    assert data["census_claims"][0]["status"] == "approved"
    assert "alice@example.org" not in response.content.decode()


def test_nobody_downloads_another_persons_data(client, carla, alice):
    client.force_login(alice)
    data = json.loads(client.get(reverse("communes:my-data")).content)
    assert data["account"]["email"] == "alice@example.org"
    assert data["census_record"]["cedula"] == "V-11111111"
