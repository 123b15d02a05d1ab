"""The public results of a published round: pages by place, charts, downloads, queries, cache."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils.html import escape

from communes.models import CommunalCouncil
from consultations.models import Consultation
from cycle import services as cycle
from voting.models import Count, ProjectResult

from ..builders import (
    ballot_of,
    by_title,
    cast,
    close_voting,
    count_and_publish,
    hours,
    make_commune,
    make_round,
    non_voters,
    open_voting,
    queries_of,
    read_csv,
    read_json,
    voting_page,
)


def test_a_round_has_no_results_page_before_it_is_published(client, voting_round, commune_a):
    pk = voting_round.pk
    assert voting_page(client, "results-round", pk).status_code == 404
    close_voting(voting_round)
    cycle.round_count(consultation_id=pk, now=hours(59))
    for name, args in [
        ("results-round", [pk]),
        ("results-state", [pk, "01"]),
        ("results-municipality", [pk, "0101"]),
        ("results-commune", [pk, commune_a.code]),
        ("results-projects-csv", [pk]),
        ("results-communes-json", [pk]),
    ]:
        assert voting_page(client, name, *args).status_code == 404, name
    assert voting_round.pk not in [
        row["consultation"].pk for row in voting_page(client, "results-list").context["rounds"]
    ]


def test_the_list_links_each_published_round_to_its_national_page(client, published):
    response = voting_page(client, "results-list")
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("voting:results-round", args=[published.pk]) in html
    assert published.name in html


def test_the_national_page_shows_turnout_by_state_and_winners_by_category(client, published):
    response = voting_page(client, "results-round", published.pk)
    assert response.status_code == 200
    states = {row["code"]: row for row in response.context["states"]}
    # Commune A is in Distrito Capital (01), commune B in Lara (13).
    assert states["01"]["votes"] == 5 and states["01"]["eligible"] == 8
    assert states["01"]["turnout"] == 62.5
    assert states["13"]["votes"] == 2 and states["13"]["eligible"] == 4
    assert states["13"]["turnout"] == 50.0
    assert response.context["totals"] == {
        "communes": 2,
        "eligible": 12,
        "voters": 7,
        "votes": 7,
        "turnout": 58.33,
    }
    categories = {row["category"]: row["winners"] for row in response.context["categories"]}
    # Agua potable (water) won in A; in B, Escuela (water) or Mercado (sport), as the lot fell.
    b_winner = ProjectResult.objects.get(
        consultation=published, is_winner=True, rank=1, project__title__in=["Escuela", "Mercado"]
    ).project
    expected = {"water": 2} if b_winner.category == "water" else {"water": 1, "sport": 1}
    assert categories == expected
    html = response.content.decode()
    assert reverse("voting:results-state", args=[published.pk, "01"]) in html
    assert reverse("voting:results-state", args=[published.pk, "13"]) in html
    # Turnout by state is a tile map of links (tests/voting/test_tile_map.py); winners, bars.
    assert html.count('role="img"') == 1
    assert '<title id="turnout-map-title">' in html
    assert published.urn.lot_seed in html
    for name in ["projects-csv", "projects-json", "communes-csv", "communes-json"]:
        assert reverse(f"voting:results-{name}", args=[published.pk]) in html
    # Every downloaded field is documented.
    for field in ["round_id", "commune_code", "online_votes", "is_winner", "tie_broken", "lot"]:
        assert f"<code>{field}</code>" in html
    for field in ["eligible", "voting_book", "urn", "counted", "turnout", "void_reason"]:
        assert f"<code>{field}</code>" in html
    assert "CC BY 4.0" in html


def test_the_state_and_municipality_pages_show_their_communes_turnout_and_winners(
    client, published, commune_a
):
    state = voting_page(client, "results-state", published.pk, "01")
    assert state.status_code == 200
    assert [(m["code"], m["votes"], m["turnout"]) for m in state.context["municipalities"]] == [
        ("0101", 5, 62.5)
    ]
    assert [w["title"] for w in state.context["winners"]] == ["Agua potable"]
    assert reverse("voting:results-municipality", args=[published.pk, "0101"]) in (
        state.content.decode()
    )
    municipality = voting_page(client, "results-municipality", published.pk, "0101")
    assert municipality.status_code == 200
    (row,) = municipality.context["communes"]
    assert (row["code"], row["votes"], row["eligible"], row["turnout"]) == (
        commune_a.code,
        5,
        8,
        62.5,
    )
    assert [w["title"] for w in row["winners"]] == ["Agua potable"]
    html = municipality.content.decode()
    assert reverse("voting:results-commune", args=[published.pk, commune_a.code]) in html
    assert "62,5 %" in html  # Spanish by default
    assert voting_page(client, "results-state", published.pk, "99").status_code == 404
    assert voting_page(client, "results-municipality", published.pk, "9999").status_code == 404


def test_the_commune_page_shows_every_project_rank_winner_and_the_three_totals(
    client, published, commune_a
):
    response = voting_page(client, "results-commune", published.pk, commune_a.code)
    assert response.status_code == 200
    rows = [
        (p["rank"], p["title"], p["votes"], p["is_winner"]) for p in response.context["projects"]
    ]
    assert rows == [
        (1, "Agua potable", 3, True),
        (2, "Cancha", 2, False),
        (3, "Alumbrado", 0, False),
    ]
    result = response.context["result"]
    assert (result["voting_book"], result["urn"], result["counted"]) == (5, 5, 5)
    assert result["turnout"] == 62.5
    html = response.content.decode()
    assert 'role="img"' in html and "<desc" in html
    assert "Agua potable" in html and "62,5 %" in html
    assert reverse("voting:urn-receipts", args=[published.pk, commune_a.code]) in html
    assert reverse("voting:receipt-check", args=[published.pk]) in html
    assert voting_page(client, "results-commune", published.pk, "COM-NONE").status_code == 404


def test_a_tie_is_marked_and_the_lowest_lot_wins(client, published, commune_b):
    response = voting_page(client, "results-commune", published.pk, commune_b.code)
    projects = response.context["projects"]
    tied = [p for p in projects if p["votes"] == 1]
    assert all(p["tie_broken"] for p in tied)
    assert tied[0]["lot"] < tied[1]["lot"] and tied[0]["is_winner"]
    assert not tied[1]["is_winner"]
    assert "tie_broken" not in [p["title"] for p in projects]
    html = response.content.decode()
    assert tied[0]["lot"] in html  # the keys are shown, to recompute
    import hashlib

    seed = published.urn.lot_seed
    expected = hashlib.sha256(f"{seed}:{tied[0]['project_id']}".encode()).hexdigest()
    assert tied[0]["lot"] == expected


def test_a_void_commune_says_why_it_has_no_winner(client, adam, commune_a, council_a, commune_b):
    consultation = make_round(min_turnout_percent=50)
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado"))
    open_voting(consultation, adam)
    cast(consultation, council_a, by_title(consultation, commune_a)["Cancha"], 1, first=1)
    non_voters(council_a, 3, first=1)
    count_and_publish(consultation, adam)
    response = voting_page(client, "results-commune", consultation.pk, commune_a.code)
    assert response.context["result"]["void_reason"]
    assert escape(response.context["result"]["void_reason"]) in response.content.decode()
    assert not any(p["is_winner"] for p in response.context["projects"])


def test_the_project_downloads_hold_every_project_exactly(client, published, commune_a, commune_b):
    a, b = by_title(published, commune_a), by_title(published, commune_b)
    lots = dict(ProjectResult.objects.values_list("project_id", "lot"))
    b_first = ProjectResult.objects.get(project__commune=commune_b, rank=1).project
    b_second = ProjectResult.objects.get(project__commune=commune_b, rank=2).project
    place_a = {
        "round_id": published.pk,
        "round": "Consulta Popular 2027-I",
        "state_code": "01",
        "state": "Distrito Capital",
        "municipality_code": "0101",
        "municipality": commune_a.parish.municipality.name,
        "parish_code": "010101",
        "parish": commune_a.parish.name,
        "commune_code": "COM-0101-901",
        "commune": "Comuna Altos de Lídice",
    }
    place_b = {
        **place_a,
        "state_code": "13",
        "state": "Lara",
        "municipality_code": "1303",
        "municipality": commune_b.parish.municipality.name,
        "parish_code": "130301",
        "parish": commune_b.parish.name,
        "commune_code": "COM-1303-902",
        "commune": "Comuna Negra Hipólita",
    }

    def row(place, project, category, votes, rank, winner, tie):
        return {
            **place,
            "project_id": project.pk,
            "project": project.title,
            "category": category,
            "online_votes": votes,
            "table_votes": 0,
            "votes": votes,
            "rank": rank,
            "is_winner": winner,
            "tie_broken": tie,
            "priority": None,
            "lot": lots[project.pk],
            "award": "",
        }

    expected = [
        row(place_a, a["Agua potable"], "water", 3, 1, True, False),
        row(place_a, a["Cancha"], "sport", 2, 2, False, False),
        row(place_a, a["Alumbrado"], "sport", 0, 3, False, False),
        row(place_b, b_first, b_first.category, 1, 1, True, True),
        row(place_b, b_second, b_second.category, 1, 2, False, True),
        row(place_b, b["Vialidad"], "sport", 0, 3, False, False),
    ]
    as_json = read_json(voting_page(client, "results-projects-json", published.pk))
    assert as_json == expected
    as_csv = read_csv(voting_page(client, "results-projects-csv", published.pk))
    as_text = [
        {
            key: (
                ""
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
            for key, value in line.items()
        }
        for line in expected
    ]
    assert as_csv == as_text
    assert list(as_csv[0]) == list(expected[0])  # the columns, in order


def test_the_commune_downloads_hold_every_commune_exactly(client, published, commune_a, commune_b):
    as_json = read_json(voting_page(client, "results-communes-json", published.pk))
    picked = [
        {
            key: line[key]
            for key in [
                "commune_code",
                "eligible",
                "voting_book",
                "urn",
                "counted",
                "votes",
                "turnout",
                "void_reason",
            ]
        }
        for line in as_json
    ]
    assert picked == [
        {
            "commune_code": commune_a.code,
            "eligible": 8,
            "voting_book": 5,
            "urn": 5,
            "counted": 5,
            "votes": 5,
            "turnout": 62.5,
            "void_reason": "",
        },
        {
            "commune_code": commune_b.code,
            "eligible": 4,
            "voting_book": 2,
            "urn": 2,
            "counted": 2,
            "votes": 2,
            "turnout": 50.0,
            "void_reason": "",
        },
    ]
    response = voting_page(client, "results-communes-csv", published.pk)
    assert response["Content-Disposition"] == (
        f'attachment; filename="resultados-{published.pk}-comunas.csv"'
    )
    as_csv = read_csv(response)
    assert [line["commune_code"] for line in as_csv] == [commune_a.code, commune_b.code]
    assert as_csv[0]["turnout"] == "62.5" and as_csv[1]["eligible"] == "4"
    assert list(as_csv[0]) == list(as_json[0])


def test_a_download_is_not_sent_again_to_a_client_that_holds_it(client, published):
    url = reverse("voting:results-projects-csv", args=[published.pk])
    first = client.get(url)
    b"".join(first.streaming_content)
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304


# Speed: a fixed number of queries, whatever the size; cached until the next publication. ---


def grow(consultation, communes: int) -> None:
    """``communes`` more communes on the ballot of ``consultation`` (a draft), each with four
    projects and a council of voters: spread over two states."""
    for number in range(communes):
        parish = "010102" if number % 2 else "130302"
        commune = make_commune(f"COM-X-{number}", parish, f"Comuna Extra {number}")
        CommunalCouncil.objects.create(
            commune=commune, code=f"CC-X-{number}", name=f"Consejo {number}", families=100
        )
        ballot_of(consultation, commune, titles=("Uno", "Dos", "Tres", "Cuatro"))


def published_of_size(adam, commune_a, council_a, commune_b, council_b, extra: int):
    consultation = make_round()
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    grow(consultation, extra)
    open_voting(consultation, adam)
    n = 1
    for council in CommunalCouncil.objects.all():
        projects = list(consultation.projects.filter(commune=council.commune).order_by("pk"))
        n = cast(consultation, council, projects[0], 2, first=n)
        n = cast(consultation, council, projects[1], 1, first=n)
    return count_and_publish(consultation, adam)


def page_urls(consultation):
    commune = consultation.commune_results.select_related("commune").first().commune
    return {
        "list": reverse("voting:results-list"),
        "round": reverse("voting:results-round", args=[consultation.pk]),
        "state": reverse("voting:results-state", args=[consultation.pk, "01"]),
        "municipality": reverse("voting:results-municipality", args=[consultation.pk, "0101"]),
        "commune": reverse("voting:results-commune", args=[consultation.pk, commune.code]),
        "projects.csv": reverse("voting:results-projects-csv", args=[consultation.pk]),
        "projects.json": reverse("voting:results-projects-json", args=[consultation.pk]),
        "communes.csv": reverse("voting:results-communes-csv", args=[consultation.pk]),
        "communes.json": reverse("voting:results-communes-json", args=[consultation.pk]),
    }


# Queries of each page: the first request (figures built and cached), then the next ones.
EXPECTED_QUERIES = {
    "list": (2, 2),
    "round": (4, 1),  # the tile map reads every state once, cached with the figures
    "state": (4, 1),
    "municipality": (4, 1),
    "commune": (5, 1),  # 7 with tally sheets: test_results_tables.py
    "projects.csv": (2, 2),
    "projects.json": (2, 2),
    "communes.csv": (2, 2),
    "communes.json": (2, 2),
}


@pytest.mark.parametrize("extra", [0, 12])
def test_every_results_page_runs_in_a_fixed_number_of_queries(
    client, adam, commune_a, council_a, commune_b, council_b, extra
):
    consultation = published_of_size(adam, commune_a, council_a, commune_b, council_b, extra)
    assert consultation.commune_results.count() == 2 + extra
    cache.clear()
    measured = {}
    for name, url in page_urls(consultation).items():
        measured[name] = (queries_of(client, url), queries_of(client, url))
    assert measured == EXPECTED_QUERIES


def test_pages_are_cached_until_the_results_change(client, published, commune_a):
    url = reverse("voting:results-commune", args=[published.pk, commune_a.code])
    assert (
        voting_page(client, "results-commune", published.pk, commune_a.code).context["projects"][0][
            "votes"
        ]
        == 3
    )
    # A change the cache does not know about is not shown: the page is served from the cache.
    ProjectResult.objects.filter(project__title="Agua potable").update(votes=4, online_votes=4)
    assert client.get(url).context["projects"][0]["votes"] == 3
    # A recount writes new results and a new finish time: the next request shows them.
    Count.objects.filter(consultation=published).update(finished_at=hours(121))
    assert client.get(url).context["projects"][0]["votes"] == 4


def test_a_new_publication_shows_at_once(client, published):
    """The list of rounds, and the figures under a round's new phase transition, are never stale."""
    list_url = reverse("voting:results-list")
    assert len(client.get(list_url).context["rounds"]) == 1
    second = make_round(name="Consulta Popular 2027-II", year=2027, quarter=2)
    # Another round published later is listed on the next request.
    Consultation.objects.filter(pk=second.pk).update(phase=Consultation.Phase.PUBLISHED)
    assert len(client.get(list_url).context["rounds"]) == 2
    # A round published without a count (nothing to vote on) still has its pages.
    assert voting_page(client, "results-round", second.pk).status_code == 200
