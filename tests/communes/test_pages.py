import datetime

from django.urls import reverse

from communes.models import Spokesperson

from ..builders import make_resident


def test_home_explains_and_counts_the_registry(client, commune_a, council_a):
    page = client.get(reverse("home")).content.decode()
    assert "Las comunas deciden" in page
    assert '<html lang="es">' in page


def test_commune_page_shows_councils_and_serving_spokespeople(client, alice, council_a, commune_a):
    former = make_resident(council_a, "V-5555555", "Vocero Anterior")
    Spokesperson.objects.create(
        resident=former,
        commune=commune_a,
        unit=Spokesperson.Unit.FINANCE,
        term_start=datetime.date(2019, 1, 1),
        term_end=datetime.date(2022, 1, 1),
        ended_on=datetime.date(2022, 1, 1),
    )
    page = client.get(reverse("communes:detail", args=[commune_a.code])).content.decode()
    assert "Consejo Comunal La Ceiba" in page
    assert "Alicia Pérez" in page
    assert "Vocero Anterior" not in page
    assert "V-11111111" not in page  # cédulas are never public


def test_unknown_commune_is_404(client, db):
    assert client.get(reverse("communes:detail", args=["NOPE"])).status_code == 404


def test_commune_names_with_html_are_escaped(client, council_a, commune_a):
    commune_a.name = '<script>alert("x")</script>'
    commune_a.save()
    page = client.get(reverse("communes:detail", args=[commune_a.code])).content.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


def test_my_communes_lists_only_the_communes_served(client, alice, bob, commune_a, commune_b):
    client.force_login(alice)
    page = client.get(reverse("communes:my-communes")).content.decode()
    assert commune_a.name in page
    assert commune_b.name not in page


def test_my_communes_is_forbidden_to_non_spokespeople(client, carla):
    client.force_login(carla)
    assert client.get(reverse("communes:my-communes")).status_code == 403


def test_pages_for_people_ask_anonymous_visitors_to_sign_in(client, db):
    for name in ["communes:my-communes", "communes:my-participation", "communes:claims-queue"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_my_participation_shows_the_verified_record(client, alice):
    client.force_login(alice)
    page = client.get(reverse("communes:my-participation")).content.decode()
    assert "Alicia Pérez" in page and "Verificado" in page and "Ejecutiva" in page


def test_after_sign_in_each_role_lands_on_its_page(client, alice, carla, mina):
    expectations = {
        alice: reverse("communes:my-communes"),
        mina: reverse("communes:claims-queue"),
        carla: reverse("communes:my-participation"),
    }
    for user, url in expectations.items():
        client.force_login(user)
        assert client.get(reverse("accounts:home-for-user"))["Location"] == url


def test_spanish_is_shown_whatever_the_browser_asks(client, db):
    page = client.get(reverse("home"), headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="es">' in page.content.decode()
    assert page["Content-Language"] == "es"


def test_language_switcher_turns_the_site_english(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in page
    assert "The communes decide what gets built" in page


def test_cycle_admin_converts_a_circuit_from_the_admin(client, adam):
    from communes.models import Commune

    from ..builders import make_commune

    admin_user = adam
    circuit = make_commune("COM-C-1", "010101", "Circuito Comunal El Samán", kind="circuit")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:communes_commune_changelist"),
        {"action": "convert_circuits", "_selected_action": [circuit.pk]},
        follow=True,
    )
    assert response.status_code == 200
    circuit.refresh_from_db()
    assert circuit.kind == Commune.Kind.COMMUNE and circuit.became_commune_on is not None


def test_admin_lists_every_model_with_search(client, adam):
    from django.contrib import admin

    client.force_login(adam)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"accounts", "communes"}:
            continue
        assert model_admin.search_fields, model
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url, {"q": "x"}).status_code == 200, url


def test_a_resident_asks_for_an_email_when_voting_opens(client, alice):
    client.force_login(alice)
    client.post(reverse("accounts:voting-notice"), {"enabled": "on"})
    alice.refresh_from_db()
    assert alice.notify_voting_opens
    page = client.get(reverse("communes:my-participation")).content.decode()
    assert "Dejar de recibir los correos" in page
    client.post(reverse("accounts:voting-notice"), {"enabled": "off"})
    alice.refresh_from_db()
    assert not alice.notify_voting_opens
