"""A spokesperson records an assembly with its minutes and three proposals from a phone; staff
approve two and reject one; the commune's public page shows a two-project ballot."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import StaffRole
from consultations.models import Consultation, Project

from ..builders import PASSWORD, census, make_staff, open_round, tiny_pdf
from ..builders.browser import current_code, screenshot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROPOSALS = [
    ("Tubería nueva para el sector alto", "Agua", "Falta de agua"),
    ("Transformador para la calle 3", "Electricidad", "Apagones"),
    ("Bacheo de la vía principal", "Vialidad y transporte", "Vías en mal estado"),
]


def test_assembly_proposals_validation_and_ballot(
    phone, browser, live_server, alice, council_a, commune_a, tmp_path
):
    round_ = open_round()
    census(council_a, adults=19)
    minutes = tmp_path / "acta.pdf"
    minutes.write_bytes(tiny_pdf())

    sign_in(phone, "alice@example.org")
    phone.goto(f"/comunas/{commune_a.code}/consultas/{round_.pk}/")
    phone.get_by_label("Lugar").fill("Casa comunal La Ceiba")
    phone.get_by_label("Consejo Comunal La Ceiba").check()
    phone.get_by_label("Asistencia").fill("6")
    phone.get_by_label(re.compile("Acta firmada")).set_input_files(str(minutes))
    phone.get_by_role("button", name="Registrar la asamblea").click()
    expect(phone.locator(".messages")).to_contain_text("Asamblea registrada")
    expect(phone.locator("main")).to_contain_text("Quórum alcanzado")

    for _title, _category, problem in PROPOSALS:
        phone.get_by_label("Agregar un problema").fill(problem)
        phone.get_by_role("button", name="Agregar", exact=True).click()
        expect(phone.locator("main ol li", has_text=problem)).to_have_count(1)
    # The last problem becomes the most pressing, one step at a time, without a page load.
    problems = phone.locator("[id^=problems-] li")
    phone.get_by_role("button", name="Subir «Vías en mal estado»").click()
    expect(problems.nth(1)).to_contain_text("Vías en mal estado")
    phone.get_by_role("button", name="Subir «Vías en mal estado»").click()
    expect(problems.first).to_contain_text("Vías en mal estado")
    screenshot(phone, "commune-round-writing")

    for title, category, problem in PROPOSALS:
        phone.goto(f"/comunas/{commune_a.code}/consultas/{round_.pk}/")
        phone.get_by_label("Título de la nueva propuesta").fill(title)
        phone.get_by_role("button", name="Empezar la propuesta").click()
        expect(phone.get_by_role("heading", level=1)).to_have_text(title)
        phone.get_by_label("Descripción").fill(f"{title}, acordado en asamblea.")
        phone.get_by_label("Descripción").blur()
        expect(phone.locator("#autosave-status")).to_have_text("Guardado.")  # autosave works
        phone.get_by_label("Categoría").select_option(label=category)
        phone.get_by_label("Costo estimado (USD)").fill("8500")
        phone.get_by_label("Personas beneficiadas").fill("600")
        phone.get_by_label("Lugar").fill("Sector La Ceiba")
        phone.get_by_label("Problema al que responde").select_option(label=problem)
        # Submitting posts the whole form: it does not depend on the autosaves having landed.
        phone.get_by_role("button", name="Enviar a validación").click()
        expect(phone.locator(".messages")).to_contain_text("Propuesta enviada")
    screenshot(phone, "proposal-submitted")
    assert Project.objects.filter(status=Project.Status.SUBMITTED).count() == 3

    Consultation.objects.filter(pk=round_.pk).update(phase=Consultation.Phase.VALIDATION)
    staff = make_staff("nadia@example.org", StaffRole.Kind.MINISTRY_STAFF, totp=False)
    from ..builders import give_totp

    secret = give_totp(staff)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-VE", base_url=live_server.url
    )
    desk = context.new_page()
    desk.set_default_timeout(10_000)
    desk.goto("/cuentas/login/")
    desk.get_by_label("Correo electrónico").fill("nadia@example.org")
    desk.get_by_label("Contraseña").fill(PASSWORD)
    desk.get_by_role("button", name="Iniciar sesión").click()
    desk.get_by_label(re.compile("Código")).fill(current_code(secret))
    desk.get_by_role("button", name=re.compile("Iniciar sesión|Entrar")).click()
    desk.goto("/validacion/")
    for title, decision in [(PROPOSALS[0][0], "Aprobar"), (PROPOSALS[1][0], "Aprobar")]:
        card = desk.locator(".card", has_text=title)
        card.get_by_role("button", name=decision).click()
        expect(desk.locator(".card", has_text=title).locator(".decision")).to_contain_text(
            "Aprobada"
        )
    rejected = desk.locator(".card", has_text=PROPOSALS[2][0])
    rejected.get_by_label(re.compile("Motivo o nota")).fill("La alcaldía ya lo ejecuta")
    rejected.get_by_role("button", name="Rechazar").click()
    expect(desk.locator(".card", has_text=PROPOSALS[2][0]).locator(".decision")).to_contain_text(
        "Rechazada"
    )
    screenshot(desk, "validation-queue")
    context.close()

    phone.goto(f"/comunas/{commune_a.code}/consultas/{round_.pk}/")
    ballot = phone.locator("section", has=phone.get_by_role("heading", name="Boleta"))
    expect(ballot.locator(".card")).to_have_count(2)
    expect(ballot).to_contain_text(PROPOSALS[0][0])
    expect(ballot).not_to_contain_text(PROPOSALS[2][0])
    screenshot(phone, "commune-round-ballot")
