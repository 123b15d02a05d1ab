"""Voting day at a table, on two officers' phones in Chromium: marks in the voting book, the offline
queue and its conflict, the double-entered tally sheet, and the commune's published result."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import StaffRole
from consultations.models import Consultation
from cycle import services as cycle
from voting import services, tables
from voting.models import BookConflict, ProjectResult, TallySheet, VotingBookEntry

from ..builders import (
    give_totp,
    live_round_for,
    make_resident,
    make_table,
    make_user,
    make_voter,
    tiny_pdf,
)
from ..builders.browser import screenshot, sign_in_with_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def officer(email):
    user = make_user(email)
    StaffRole.objects.create(user=user, kind=StaffRole.Kind.POLLING_OFFICER)
    return user, give_totp(user)


def staffed_table(commune_a, commune_b, *emails):
    consultation = live_round_for(commune_a, commune_b)
    admin = make_user("ciclo@example.org", is_superuser=True)
    StaffRole.objects.create(user=admin, kind=StaffRole.Kind.CYCLE_ADMIN)
    table = make_table(commune_a)
    people = []
    for email in emails:
        user, secret = officer(email)
        tables.officer_assign(
            consultation=consultation,
            table=table,
            officer=user,
            by=admin,
            now=timezone.now() - datetime.timedelta(hours=2),
        )
        people.append((email, secret))
    return consultation, admin, people


def enter_sheet(page, figures, scan_path):
    for title, votes in figures.items():
        page.get_by_label(title).fill(str(votes))
    page.get_by_label("Votos en blanco").fill("0")
    page.get_by_label("Votos nulos").fill("0")
    page.get_by_label("Foto o escaneo del acta firmada").set_input_files(scan_path)
    page.get_by_role("button", name="Guardar mi carga").click()


def test_officers_mark_three_voters_enter_the_sheet_twice_and_it_is_published(
    phone, browser, live_server, commune_a, commune_b, council_a, tmp_path
):
    consultation, admin, people = staffed_table(
        commune_a, commune_b, "uno@example.org", "dos@example.org"
    )
    voters = [make_resident(council_a, f"V-{31_000_000 + n}", f"Elector {n}") for n in range(1, 4)]

    (first_email, first_secret), (second_email, second_secret) = people
    sign_in_with_code(phone, first_email, first_secret)
    phone.goto("/mesa/")
    expect(phone.get_by_role("heading", name="Mesa 1")).to_be_visible()
    for number, voter in enumerate(voters, start=1):
        phone.get_by_label("Cédula", exact=True).fill(voter.cedula.lower().replace("-", ""))
        phone.get_by_role("button", name="Buscar").click()
        expect(phone.locator("[data-voter=may_vote]")).to_contain_text(voter.full_name)
        if number == 1:
            screenshot(phone, "table-lookup")
        phone.get_by_role("button", name="Marcar que votó").click()
        expect(phone.locator("[data-voter=marked]")).to_contain_text("Entrégale su papeleta")
        expect(phone.locator("#marks")).to_have_text(str(number))
    # A second look-up of a marked voter says so, loudly.
    phone.get_by_label("Cédula", exact=True).fill(voters[0].cedula)
    phone.get_by_role("button", name="Buscar").click()
    expect(phone.locator("[data-voter=already_voted]")).to_contain_text("YA VOTÓ")
    screenshot(phone, "table-already-voted")
    assert VotingBookEntry.objects.filter(channel="table").count() == 3

    # The table closes; both officers copy the signed sheet, each on their own phone.
    Consultation.objects.filter(pk=consultation.pk).update(
        phase=Consultation.Phase.COUNTING,
        voting_closes_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    scan = tmp_path / "acta.pdf"
    scan.write_bytes(tiny_pdf())
    figures = {"Agua potable": 2, "Cancha": 1, "Alumbrado": 0}
    phone.reload()
    enter_sheet(phone, figures, scan)
    expect(phone.locator(".messages")).to_contain_text("Carga guardada")
    screenshot(phone, "table-sheet-entered")

    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-VE", base_url=live_server.url
    )
    second = context.new_page()
    sign_in_with_code(second, second_email, second_secret)
    second.goto("/mesa/")
    enter_sheet(second, figures, scan)
    expect(second.locator(".messages")).to_contain_text("el acta queda aceptada")
    expect(second.locator("[data-sheet-status=accepted]")).to_be_visible()
    context.close()
    assert TallySheet.objects.get().status == "accepted"

    # Counted and published: the commune's result includes the table.
    cycle.round_count(consultation_id=consultation.pk)
    cycle.round_publish(
        consultation=consultation, by=admin, reason="Actas verificadas", now=timezone.now()
    )
    agua = ProjectResult.objects.get(consultation=consultation, project__title="Agua potable")
    assert (agua.online_votes, agua.table_votes, agua.votes, agua.is_winner) == (0, 2, 2, True)
    phone.goto(f"/resultados/{consultation.pk}/comunas/{commune_a.code}/")
    main = phone.locator("main")
    expect(main).to_contain_text("Escuela Bolivariana")
    expect(main).to_contain_text("Aceptada")
    screenshot(phone, "results-commune-with-tables")


def test_marks_made_offline_are_sent_when_the_connection_returns_and_a_conflict_is_shown(
    phone, commune_a, commune_b, council_a
):
    consultation, _admin, [(email, secret)] = staffed_table(commune_a, commune_b, "uno@example.org")
    walk_in = make_resident(council_a, "V-31000001", "Elector Sin Cuenta")
    online = make_voter(council_a, 7)

    sign_in_with_code(phone, email, secret)
    phone.goto("/mesa/")
    expect(phone.get_by_role("heading", name="Mesa 1")).to_be_visible()
    phone.context.set_offline(True)
    expect(phone.locator("#offline-banner")).to_be_visible()
    queue = phone.locator("#queue")
    expect(queue).to_be_visible()
    for cedula in (walk_in.cedula, online.resident.cedula):
        phone.get_by_label("Cédula del elector que recibió papeleta").fill(cedula)
        phone.get_by_role("button", name="Marcar sin conexión").click()
    expect(queue.locator("[data-outcome=waiting]")).to_have_count(2)
    screenshot(phone, "table-offline-queue")
    assert not VotingBookEntry.objects.exists()

    # Meanwhile, one of them votes online.
    project = consultation.projects.filter(commune=commune_a).first()
    services.vote_cast(consultation=consultation, user=online, project_id=project.pk)

    phone.context.set_offline(False)
    expect(queue.locator("[data-outcome=sent]")).to_have_count(1)
    expect(queue.locator("[data-outcome=conflict]")).to_contain_text("CONFLICTO")
    expect(queue.locator("[data-outcome=waiting]")).to_have_count(0)
    screenshot(phone, "table-offline-conflict")
    entry = VotingBookEntry.objects.get(resident=walk_in)
    assert entry.channel == "table"
    conflict = BookConflict.objects.get()
    assert conflict.resident == online.resident and conflict.existing_channel == "online"
    assert VotingBookEntry.objects.filter(resident=online.resident).count() == 1
    # Reloading sends nothing twice: the queue is empty and the page lists the conflict.
    phone.reload()
    expect(phone.locator("[data-conflict]")).to_have_count(1)
    assert VotingBookEntry.objects.count() == 2
