"""The cycle admin creates next quarter's round from the last one, schedules it and reads its
timeline, in real Chromium, signing in with two-step verification."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import StaffRole

from ..builders import PASSWORD, give_totp, make_user
from ..builders.browser import current_code, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_round_from_the_last_schedules_it_and_sees_its_timeline(phone, commune_a):
    from consultations.models import Consultation
    from consultations.services import proposed_dates, quarter_of

    admin = make_user("ciclo@example.org", is_staff=True, is_superuser=True)
    StaffRole.objects.create(user=admin, kind=StaffRole.Kind.CYCLE_ADMIN)
    secret = give_totp(admin)
    today = timezone.localdate()
    year, quarter = quarter_of(today)
    Consultation.objects.create(
        name="Consulta Juvenil anterior",
        year=year,
        quarter=quarter,
        phase=Consultation.Phase.PUBLISHED,
        max_age=35,
        funder_by_rank=["national"],
        **proposed_dates(year, quarter),
    )

    phone.goto("/cuentas/login/")
    phone.get_by_label("Correo electrónico").fill("ciclo@example.org")
    phone.get_by_label("Contraseña").fill(PASSWORD)
    phone.get_by_role("button", name="Iniciar sesión").click()
    phone.get_by_label(re.compile("Código")).fill(current_code(secret))
    phone.get_by_role("button", name=re.compile("Iniciar sesión|Entrar")).click()
    expect(phone).to_have_url(re.compile(r"/ciclo/consultas/$"))

    phone.get_by_role(
        "button", name="Crear la consulta del próximo trimestre a partir de la última"
    ).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"Consulta Popular \d{4}-I")
    )
    expect(phone.locator(".messages")).to_contain_text("Borrador creado")
    expect(phone.locator("main")).to_contain_text(re.compile(r"15.35"))  # the last round's rule

    phone.get_by_role("button", name="Programar").click()
    expect(phone.locator(".messages")).to_contain_text("Consulta programada")
    timeline = phone.locator(".timeline")
    expect(timeline).to_contain_text("Programada")
    expect(timeline).to_contain_text("ciclo@example.org")
    expect(timeline.locator(".upcoming").first).to_contain_text("Asambleas")
    expect(phone.locator("main")).to_contain_text("La consulta pasará sola a «Asambleas»")
    screenshot(phone, "round-timeline")
    assert Consultation.objects.filter(phase="scheduled").count() == 1
