"""The proposal pages: autosave, the conflict message, the validation queue and the public pages."""

from decimal import Decimal

from django.urls import reverse

from consultations import services
from consultations.models import Consultation, Project

from ..builders import complete, make_staff, proposal


def test_autosave_saves_a_change_and_returns_the_new_version(client, alice, council_a, commune_a):
    project = proposal(alice, council_a, commune_a)
    client.force_login(alice)
    response = client.post(
        reverse("consultations:project-edit", args=[project.pk]),
        {"title": "Agua potable", "version": project.version, "category": "water"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Guardado." in body and f'value="{project.version + 1}"' in body
    assert Project.objects.get().title == "Agua potable"


def test_a_stale_page_gets_the_conflict_message_and_overwrites_nothing(
    client, alice, dora, council_a, commune_a
):
    project = proposal(alice, council_a, commune_a)
    stale = project.version
    services.project_update(
        project=project, by=dora, version=stale, changes={"place": "Sector La Ceiba"}
    )
    client.force_login(alice)
    response = client.post(
        reverse("consultations:project-edit", args=[project.pk]),
        {"title": "Mi versión", "place": "Otro lugar", "version": stale},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Alguien más cambió esta propuesta" in body
    assert f'value="{stale}"' in body  # the page keeps its stale version: no silent overwrite later
    assert Project.objects.get().place == "Sector La Ceiba"


def test_another_communes_spokesperson_sees_no_proposal(client, alice, bob, council_a, commune_a):
    project = proposal(alice, council_a, commune_a)
    client.force_login(bob)
    assert client.get(reverse("consultations:project-edit", args=[project.pk])).status_code == 404


def _submitted_projects(alice, council_a, commune_a, count):
    project = proposal(alice, council_a, commune_a, title="P0")
    projects = [project] + [
        services.project_create(
            consultation=project.consultation, commune=commune_a, by=alice, title=f"P{n}"
        )
        for n in range(1, count)
    ]
    for item in projects:
        services.project_submit(project=complete(item, alice), by=alice)
    Consultation.objects.filter(pk=project.consultation_id).update(
        phase=Consultation.Phase.VALIDATION
    )
    return projects


def test_staff_decide_inline_and_the_queue_filters(client, alice, council_a, commune_a, mina):
    projects = _submitted_projects(alice, council_a, commune_a, 2)
    client.force_login(mina)
    queue = client.get(reverse("consultations:validation-queue")).content.decode()
    assert "<h2>P0</h2>" in queue and "<h2>P1</h2>" in queue and "Acta de la asamblea" in queue
    response = client.post(
        reverse("consultations:project-decide", args=[projects[0].pk]),
        {"decision": "reject", "note": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422 and "Indica por qué" in response.content.decode()
    client.post(
        reverse("consultations:project-decide", args=[projects[0].pk]),
        {"decision": "approve"},
        headers={"HX-Request": "true"},
    )
    assert Project.objects.get(pk=projects[0].pk).status == Project.Status.APPROVED
    filtered = client.get(
        reverse("consultations:validation-queue"), {"category": "health"}
    ).content.decode()
    assert "<h2>P1</h2>" not in filtered
    approved = client.get(
        reverse("consultations:validation-queue"), {"status": "approved"}
    ).content.decode()
    assert "<h2>P0</h2>" in approved and "<h2>P1</h2>" not in approved


def test_the_queue_reads_in_a_constant_number_of_queries(
    client, alice, council_a, commune_a, mina, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    projects = _submitted_projects(alice, council_a, commune_a, 2)
    client.force_login(mina)
    client.get(reverse("consultations:validation-queue"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("consultations:validation-queue"))
    for number in range(2, 7):
        Project.objects.create(
            consultation=projects[0].consultation,
            commune=commune_a,
            title=f"Extra {number}",
            status=Project.Status.SUBMITTED,
            problem=projects[0].problem,
            estimated_cost_usd=Decimal("100"),
        )
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("consultations:validation-queue"))
    assert len(few) == len(many)


def test_staff_of_another_state_do_not_see_the_proposals(
    client, alice, council_a, commune_a, commune_b
):
    _submitted_projects(alice, council_a, commune_a, 1)
    lara = make_staff(
        "lara@example.org", "ministry_staff", state=commune_b.parish.municipality.state
    )
    client.force_login(lara)
    queue = client.get(reverse("consultations:validation-queue")).content.decode()
    assert "<h2>P0</h2>" not in queue


def test_public_pages_show_the_ballot_and_the_rounds_figures(
    client, alice, council_a, commune_a, mina
):
    projects = _submitted_projects(alice, council_a, commune_a, 3)
    for project, decision in zip(projects, ["approve", "approve", "reject"], strict=True):
        services.project_decide(project=project, by=mina, decision=decision, note="Sin respaldo")
    round_ = projects[0].consultation
    page = client.get(
        reverse("consultations:commune-round", args=[commune_a.code, round_.pk])
    ).content.decode()
    ballot = page.split('id="ballot-heading"')[1].split("</section>")[0]
    assert ballot.count('class="card"') == 2
    assert "Quórum alcanzado" in page and "Acta firmada" in page
    stats = client.get(reverse("consultations:round-public", args=[round_.pk])).content.decode()
    assert "Distrito Capital" in stats and "Agua" in stats
    detail = client.get(reverse("communes:detail", args=[commune_a.code])).content.decode()
    assert round_.name in detail


def test_a_proposal_takes_photos_but_not_documents(client, alice, council_a, commune_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ..builders import jpeg_with_gps, tiny_pdf

    project = proposal(alice, council_a, commune_a)
    client.force_login(alice)
    url = reverse("consultations:project-photo-add", args=[project.pk])
    client.post(url, {"photo": SimpleUploadedFile("calle.jpg", jpeg_with_gps())})
    assert project.photos.count() == 1
    page = client.post(url, {"photo": SimpleUploadedFile("foto.jpg", tiny_pdf())}, follow=True)
    assert "no es un JPEG, PNG" in page.content.decode()
    assert project.photos.count() == 1
    for number in range(5):
        client.post(url, {"photo": SimpleUploadedFile(f"{number}.jpg", jpeg_with_gps())})
    assert project.photos.count() == 5  # the sixth was refused


def test_the_submit_button_saves_the_whole_form_then_submits(client, alice, council_a, commune_a):
    project = proposal(alice, council_a, commune_a)
    problem = services.problem_add(
        assembly=project.commune.assemblies.get(), title="Falta de agua", by=alice
    )
    client.force_login(alice)
    response = client.post(
        reverse("consultations:project-edit", args=[project.pk]),
        {
            "version": project.version,
            "title": "Agua",
            "description": "Tubería nueva",
            "category": "water",
            "estimated_cost_usd": "9000",
            "beneficiaries": "700",
            "place": "Sector La Ceiba",
            "problem": problem.pk,
            "action": "submit",
        },
        follow=True,
    )
    assert "Propuesta enviada" in response.content.decode()
    assert Project.objects.get().status == Project.Status.SUBMITTED


def test_the_queues_pages_keep_its_filters(client, alice, council_a, commune_a, mina):
    projects = _submitted_projects(alice, council_a, commune_a, 1)
    for number in range(35):
        Project.objects.create(
            consultation=projects[0].consultation,
            commune=commune_a,
            title=f"Extra {number}",
            status=Project.Status.SUBMITTED,
            category="water",
        )
    client.force_login(mina)
    page = client.get(reverse("consultations:validation-queue"), {"category": "water"})
    assert "category=water&amp;page=2" in page.content.decode()
