"""The vote as a person makes it: ballot, confirmation, receipt; the receipt check afterwards."""

import re

from django.urls import reverse

from cycle import services as cycle
from voting.models import SealedBallot, VotingBookEntry

from ..builders import close_now, close_response, make_voter


def receipt_in(response) -> str:
    return re.search(r'data-receipt="([A-Z2-7-]+)"', response.content.decode()).group(1)


def test_ballot_shuffled_confirmation_and_receipt(client, live_round, council_a):
    client.force_login(make_voter(council_a, 1))
    url = reverse("voting:ballot", args=[live_round.pk])
    orders = set()
    for _ in range(12):
        page = client.get(url).content.decode()
        orders.add(tuple(re.findall(r'name="project" value="(\d+)"', page)))
    assert len(orders) > 1, "the ballot's order must change between visits"
    assert {len(order) for order in orders} == {3}
    titles = set(
        live_round.projects.filter(commune=council_a.commune).values_list("title", flat=True)
    )
    assert all(title in page for title in titles)
    assert "Escuela" not in page  # commune B's ballot

    project = live_round.projects.get(title="Cancha")
    confirm = client.post(url, {"project": project.pk})
    assert confirm.status_code == 200
    assert "Cancha" in confirm.content.decode()
    assert VotingBookEntry.objects.count() == 0  # choosing is not voting

    voted = client.post(
        reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk}
    )
    assert voted.status_code == 200
    receipt = receipt_in(voted)
    assert SealedBallot.objects.filter(receipt=receipt.replace("-", "")).exists()
    assert voted["Cache-Control"].startswith("max-age=0")

    again = client.post(
        reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk}
    )
    assert again.status_code == 409
    assert 'data-refusal="already_voted"' in again.content.decode()
    assert (VotingBookEntry.objects.count(), SealedBallot.objects.count()) == (1, 1)
    assert client.get(url).status_code == 403


def test_choosing_nothing_says_so(client, live_round, council_a):
    client.force_login(make_voter(council_a, 2))
    page = client.post(reverse("voting:ballot", args=[live_round.pk]), {"project": ""})
    assert page.status_code == 422
    assert 'role="alert"' in page.content.decode()


def test_a_forged_post_for_another_communes_project_changes_nothing(client, live_round, council_a):
    client.force_login(make_voter(council_a, 3))
    other = live_round.projects.get(title="Escuela")
    for data in ({"project": other.pk}, {"project": "1; DROP TABLE"}, {}):
        response = client.post(reverse("voting:vote-confirm", args=[live_round.pk]), data)
        assert response.status_code in (400, 403)
    assert (VotingBookEntry.objects.count(), SealedBallot.objects.count()) == (0, 0)


def test_signing_in_is_needed(client, live_round):
    response = client.get(reverse("voting:ballot", args=[live_round.pk]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_receipt_check_and_the_urns_receipts(client, live_round, council_a):
    voter = make_voter(council_a, 4)
    client.force_login(voter)
    project = live_round.projects.get(title="Cancha")
    receipt = receipt_in(
        client.post(reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk})
    )
    client.logout()
    check = reverse("voting:receipt-check", args=[live_round.pk])
    assert "data-found" not in client.get(check, {"codigo": receipt}).content.decode()
    urn_csv = reverse("voting:urn-receipts", args=[live_round.pk, council_a.commune.code])
    assert client.get(urn_csv).status_code == 404  # not before voting closes

    close_now(live_round)
    found = client.get(check, {"codigo": receipt.lower().replace("-", " ")}).content.decode()
    assert f'data-found="{council_a.commune.code}"' in found
    cycle.round_count(consultation_id=live_round.pk)
    found = client.get(check, {"codigo": receipt}).content.decode()
    assert 'data-found="' in found
    assert "Cancha" not in found  # the receipt says nothing about the choice
    missing = client.get(check, {"codigo": "AAAA-BBBB"})
    assert "data-found" not in missing.content.decode()
    assert 'id="receipt-error"' in missing.content.decode()

    response = client.get(urn_csv)
    body = b"".join(response.streaming_content).decode()
    close_response(response)
    assert body.splitlines() == ["receipt", receipt.replace("-", "")]


def test_a_process_that_saw_the_round_open_cannot_vote_after_it_closed(
    client, live_round, council_a
):
    from voting.selectors import consultation_in_voting

    client.force_login(make_voter(council_a, 5))
    assert consultation_in_voting(live_round.pk).phase == "voting"  # kept for a few seconds
    close_now(live_round)
    project = live_round.projects.get(title="Cancha")
    response = client.post(
        reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk}
    )
    assert response.status_code == 403
    assert 'data-refusal="closed"' in response.content.decode()
    assert (VotingBookEntry.objects.count(), SealedBallot.objects.count()) == (0, 0)


def test_a_receipt_page_that_breaks_after_the_vote_still_gives_the_receipt(
    client, live_round, council_a, monkeypatch, caplog
):
    """The vote is recorded before its page is drawn: when the template layer fails (a broken
    template, a static file missing from the manifest), the voter still gets the receipt, in
    Spanish, and is told the vote is in; the log says where it broke, never the receipt."""
    from django.template.backends.django import Template

    client.force_login(make_voter(council_a, 40))
    project = live_round.projects.get(title="Cancha")

    def broken(self, context=None, request=None):
        raise ValueError("Missing staticfiles manifest entry for 'css/site.css'")

    monkeypatch.setattr(Template, "render", broken)
    voted = client.post(
        reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk}
    )
    assert voted.status_code == 200
    receipt = receipt_in(voted)
    assert SealedBallot.objects.filter(receipt=receipt.replace("-", "")).exists()
    page = voted.content.decode()
    assert "Tu voto quedó registrado" in page
    assert "tu voto está en la urna" in page
    assert voted["Cache-Control"].startswith("max-age=0")
    assert "receipt page failed (ValueError)" in caplog.text
    assert receipt not in caplog.text and receipt.replace("-", "") not in caplog.text


def test_a_missing_static_manifest_after_the_vote_still_gives_the_receipt(
    client, live_round, council_a, settings, tmp_path
):
    """The fresh-clone failure as it happened: no collected static files behind the manifest
    storage, so every page that links a stylesheet fails; the vote's answer still carries the
    receipt."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path / "never-collected"
    client.force_login(make_voter(council_a, 41))
    project = live_round.projects.get(title="Cancha")
    voted = client.post(
        reverse("voting:vote-confirm", args=[live_round.pk]), {"project": project.pk}
    )
    assert voted.status_code == 200
    assert SealedBallot.objects.filter(receipt=receipt_in(voted).replace("-", "")).exists()
    assert "tu voto está en la urna" in voted.content.decode()


def test_the_ballot_page_costs_two_queries_once_its_ballot_is_known(client, live_round, council_a):
    """Voting day's busiest pages: the ballot and the confirmation read the person (one fixed
    statement) and the voter's rules (one); the round and the commune's ballot, frozen while
    voting is open, come from memory and the cache after the first voter of the commune."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(make_voter(council_a, 42))
    url = reverse("voting:ballot", args=[live_round.pk])
    assert client.get(url).status_code == 200  # the first voter of commune A: ballot read
    project = live_round.projects.get(title="Cancha")
    client.force_login(make_voter(council_a, 43))
    client.get(reverse("accounts:home-for-user"))  # an earlier page: the session knows the roles
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
        confirm = client.post(url, {"project": project.pk})
    assert page.status_code == confirm.status_code == 200
    asked = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(asked) == 4, asked
    assert sum('FROM "accounts_user"' in sql for sql in asked) == 2
    assert sum("communes_resident r" in sql for sql in asked) == 2
    titles = re.findall(r"<strong>([^<]+)</strong>", page.content.decode())
    assert {"Agua potable", "Cancha", "Alumbrado"} <= set(titles)


def test_the_voters_pages_carry_no_script_and_no_menu(client, live_round, council_a):
    client.force_login(make_voter(council_a, 44))
    page = client.get(reverse("voting:ballot", args=[live_round.pk])).content.decode()
    assert "<script" not in page
    assert reverse("communes:directory") not in page  # the full menu is not worked out
    assert reverse("accounts:home-for-user") in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "Deporte" in page or "Agua" in page  # the category, in Spanish


def test_a_projects_category_label_is_its_display_in_the_active_language(db):
    from django.utils import translation

    from consultations.models import Project

    project = Project(category=Project.Category.WATER)
    for language in ("es", "en"):
        with translation.override(language):
            assert project.category_label == project.get_category_display()
    assert Project(category="not-a-category").category_label == "not-a-category"
