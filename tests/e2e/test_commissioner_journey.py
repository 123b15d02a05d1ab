"""An electoral commissioner uploads their public keys file from a phone (issue 14)."""

import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from urncrypto import dkg
from voting.models import Commissioner

from ..builders import make_round, make_user
from ..builders.browser import serious_violations, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_a_commissioner_uploads_their_public_keys_from_a_phone(phone, commune_a, tmp_path):
    consultation = make_round(key_shares_needed=2, key_shares_total=3)
    person = make_user("comisionada@example.org")
    Commissioner.objects.create(
        consultation=consultation, index=2, user=person, appointed_at=timezone.now()
    )
    # What `scripts/commissioner.py keygen --index 2` writes on her own machine.
    public_file = tmp_path / "commissioner-2.public.json"
    public_file.write_text(json.dumps(dkg.commissioner_keygen(2).public().to_json()))

    sign_in(phone, person.email)
    phone.goto(f"/ronda/{consultation.pk}/comisionado/")
    expect(phone.get_by_role("heading", name="Paso 1: tus claves")).to_be_visible()
    expect(phone.get_by_text("python scripts/commissioner.py keygen --index 2")).to_be_visible()
    phone.get_by_label("Tu archivo de claves públicas (.public.json)").set_input_files(
        str(public_file)
    )
    phone.get_by_role("button", name="Subir mis claves públicas").click()
    expect(phone.get_by_text("Se guardaron tus claves públicas.")).to_be_visible()
    expect(phone.get_by_text("1 de 3 comisionados entregaron sus claves públicas")).to_be_visible()
    assert serious_violations(phone) == []
    # Nothing on the page is wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "commissioner-keys-uploaded.png"), full_page=True)
    seat = Commissioner.objects.get(consultation=consultation, index=2)
    assert seat.keys == json.loads(public_file.read_text())
