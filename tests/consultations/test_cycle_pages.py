"""The cycle admin's pages."""

from django.urls import reverse

from consultations.models import Consultation, Exclusion

from ..builders import form_data, make_round

Phase = Consultation.Phase


def test_the_admin_creates_next_quarters_round_edits_and_schedules_it(client, adam):
    client.force_login(adam)
    response = client.post(reverse("cycle:round-list"))
    draft = Consultation.objects.get()
    assert response["Location"] == reverse("cycle:round-detail", args=[draft.pk])
    response = client.post(reverse("cycle:round-edit", args=[draft.pk]), form_data())
    assert response.status_code == 302
    client.post(reverse("cycle:round-schedule", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.phase == Phase.SCHEDULED
    page = client.get(reverse("cycle:round-detail", args=[draft.pk])).content.decode()
    assert "Programada" in page and "La consulta pasará sola a «Asambleas»" in page
    assert adam.email in page  # the timeline says who scheduled it


def test_the_admin_chooses_the_greedy_rule_and_the_communes_budget(client, adam):
    draft = make_round()
    client.force_login(adam)
    response = client.post(
        reverse("cycle:round-edit", args=[draft.pk]),
        form_data(counting_rule="greedy_budget", commune_budget_usd="25000"),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.counting_rule, str(draft.commune_budget_usd)) == ("greedy_budget", "25000.00")
    page = client.get(reverse("cycle:round-detail", args=[draft.pk])).content.decode()
    assert "presupuesto de la comuna" in page


def test_the_admin_sets_the_awards_by_participation(client, adam):
    draft = make_round()
    client.force_login(adam)
    response = client.post(
        reverse("cycle:round-edit", args=[draft.pk]),
        form_data(award_state_most_voters="on", award_youth_communes="10"),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.award_state_most_voters, draft.award_youth_communes) == (True, 10)
    page = client.get(reverse("cycle:round-detail", args=[draft.pk])).content.decode()
    assert "Las 10 comunas con más votantes de 15 a 35 años" in page


def test_editing_explains_problems_in_spanish_and_saves_nothing(client, adam):
    draft = make_round()
    client.force_login(adam)
    response = client.post(
        reverse("cycle:round-edit", args=[draft.pk]),
        form_data(winners_per_commune=2, max_age="12"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Elige un financista para cada uno de los 2 puestos ganadores" in page
    assert Consultation.objects.get(pk=draft.pk).winners_per_commune == 1


def test_a_scheduling_refusal_is_shown_to_the_admin(client, adam):
    draft = make_round(voting_opens_at=None)
    client.force_login(adam)
    page = client.post(reverse("cycle:round-schedule", args=[draft.pk]), follow=True)
    assert "Faltan fechas: apertura de la votación" in page.content.decode()
    assert Consultation.objects.get(pk=draft.pk).phase == Phase.DRAFT


def test_moving_by_hand_asks_for_confirmation_and_a_reason(client, adam, scheduled):
    client.force_login(adam)
    url = reverse("cycle:round-move", args=[scheduled.pk, "advance"])
    confirm = client.get(url).content.decode()
    assert "¿Pasar la consulta a «Asambleas» ahora?" in confirm
    assert "Motivo" in client.post(url, {"reason": ""}).content.decode()
    assert Consultation.objects.get(pk=scheduled.pk).phase == Phase.SCHEDULED
    client.post(url, {"reason": "Decisión del ministerio"})
    assert Consultation.objects.get(pk=scheduled.pk).phase == Phase.ASSEMBLIES


def test_cancelling_needs_a_confirmation(client, adam, scheduled):
    client.force_login(adam)
    url = reverse("cycle:round-move", args=[scheduled.pk, "cancel"])
    client.post(url, {"reason": "Suspendida por lluvias"})
    assert Consultation.objects.get(pk=scheduled.pk).phase == Phase.CANCELLED


def test_the_admin_excludes_a_commune_by_its_code(client, adam, scheduled, commune_a, commune_b):
    client.force_login(adam)
    client.post(
        reverse("cycle:round-exclude", args=[scheduled.pk]),
        {"commune": commune_b.code, "reason": "Comuna suspendida por el registro"},
    )
    assert Exclusion.objects.get().commune == commune_b
    page = client.get(reverse("cycle:round-detail", args=[scheduled.pk])).content.decode()
    assert "Comuna suspendida por el registro" in page
    response = client.post(
        reverse("cycle:round-exclude", args=[scheduled.pk]),
        {"commune": "NO-EXISTE", "reason": "x"},
        follow=True,
    )
    assert "No hay ninguna comuna activa con ese código" in response.content.decode()


def test_an_unknown_action_is_404(client, adam, scheduled):
    client.force_login(adam)
    assert client.get(reverse("cycle:round-move", args=[scheduled.pk, "delete"])).status_code == 404


def test_the_home_page_shows_the_current_round(client, scheduled):
    page = client.get(reverse("home")).content.decode()
    assert "Consulta Popular 2027-I" in page and "Programada" in page


def test_readiness_is_read_in_a_constant_number_of_queries(
    client, adam, scheduled, django_assert_max_num_queries
):
    from communes.models import Commune, Parish

    parish = Parish.objects.get(code="010101")
    Commune.objects.bulk_create(
        Commune(code=f"R-{n}", name=f"Comuna {n}", parish=parish, registered_on="2020-01-01")
        for n in range(60)
    )
    client.force_login(adam)
    with django_assert_max_num_queries(16):
        client.get(reverse("cycle:round-detail", args=[scheduled.pk]))
