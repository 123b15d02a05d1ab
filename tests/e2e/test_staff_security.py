"""Staff set up two-step verification before their first staff page, in real Chromium, and no
page (ours, allauth's or the admin's) breaks the Content Security Policy."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole

from ..builders import PASSWORD, make_staff
from ..builders.browser import current_code, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def watch_csp(page) -> list[str]:
    violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and violations.append(message.text)
        ),
    )
    return violations


def test_ministry_staff_set_up_totp_then_reach_the_queue(phone, commune_a):
    make_staff("nadia@example.org", StaffRole.Kind.MINISTRY_STAFF, totp=False)
    violations = watch_csp(phone)
    sign_in(phone, "nadia@example.org")
    # allauth asks for the password once more before a second factor is added.
    expect(phone).to_have_url(re.compile(r"/cuentas/reauthenticate/"))
    expect(phone.locator(".messages")).to_contain_text("verificación en dos pasos")
    phone.get_by_label("Contraseña").fill(PASSWORD)
    phone.get_by_role("button", name="Confirmar").click()
    expect(phone).to_have_url(re.compile(r"/cuentas/2fa/totp/activate/"))
    screenshot(phone, "totp-setup")
    secret = phone.locator("#authenticator_secret").input_value()
    phone.get_by_label("Código del autenticador").fill(current_code(secret))
    phone.get_by_role("button", name=re.compile("Activar")).click()
    phone.goto("/verificaciones/")
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Solicitudes de registro por verificar"
    )
    assert violations == []


def test_admin_pages_keep_to_the_content_security_policy(browser, live_server, adam, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    context = browser.new_context(locale="es-VE", base_url=live_server.url)
    page = context.new_page()
    violations = watch_csp(page)
    page.goto("/cuentas/login/")
    page.get_by_label("Correo electrónico").fill("adam@example.org")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page).to_have_url(re.compile(r"/cuentas/2fa/authenticate/"))
    context.close()
    assert violations == []
