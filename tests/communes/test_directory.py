import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from communes.models import CommunalCouncil, Commune, Parish

from ..builders import make_commune

URL = reverse("communes:directory")


@pytest.fixture
def spread(db):
    """Communes in three states, of both kinds."""
    make_commune("COM-0101-001", "010101", "Comuna Cacique Tiuna")
    make_commune("COM-0101-002", "010102", "Circuito Comunal Antímano", kind="circuit")
    make_commune("COM-1303-001", "130301", "Comuna El Maizal")
    make_commune("COM-2313-001", "231301", "Comuna Guaicaipuro", status="suspended")


def names(response):
    return [commune.name for commune in response.context["page"].object_list]


def test_lists_every_commune_by_name(client, spread):
    assert names(client.get(URL)) == [
        "Circuito Comunal Antímano",
        "Comuna Cacique Tiuna",
        "Comuna El Maizal",
        "Comuna Guaicaipuro",
    ]


def test_search_matches_name_or_code_or_parish(client, spread):
    assert names(client.get(URL, {"q": "maizal"})) == ["Comuna El Maizal"]
    assert names(client.get(URL, {"q": "COM-2313-001"})) == ["Comuna Guaicaipuro"]
    assert names(client.get(URL, {"q": "altagracia"})) == ["Comuna Cacique Tiuna"]


def test_filters_by_state_municipality_and_kind(client, spread):
    assert names(client.get(URL, {"state": "13"})) == ["Comuna El Maizal"]
    assert names(client.get(URL, {"state": "01", "kind": "circuit"})) == [
        "Circuito Comunal Antímano"
    ]
    assert names(client.get(URL, {"state": "23", "municipality": "2313"})) == ["Comuna Guaicaipuro"]


def test_municipality_of_another_state_is_ignored(client, spread):
    assert len(names(client.get(URL, {"state": "01", "municipality": "1303"}))) == 2


def test_nonsense_filters_do_not_break_the_page(client, spread):
    response = client.get(URL, {"state": "<b>", "kind": "x" * 500, "per_page": "-3", "page": "zz"})
    assert response.status_code == 200
    assert len(names(response)) == 4


def test_htmx_gets_only_the_results_fragment(client, spread):
    response = client.get(URL, {"q": "maizal", "state": "13"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body
    assert "Comuna El Maizal" in body
    # The municipality choices follow the chosen state (swapped out of band).
    assert 'hx-swap-oob="true"' in body and "Iribarren" in body


def test_without_javascript_the_page_paginates_with_links(client, db):
    parish = Parish.objects.get(code="010101")
    Commune.objects.bulk_create(
        Commune(
            code=f"COM-{n:03d}", name=f"Comuna {n:03d}", parish=parish, registered_on="2020-01-01"
        )
        for n in range(45)
    )
    first = client.get(URL, {"q": "comuna"})
    assert len(names(first)) == 20
    assert "q=comuna&amp;page=2" in first.content.decode()
    third = client.get(URL, {"q": "comuna", "page": 3})
    assert names(third) == [f"Comuna {n:03d}" for n in range(40, 45)]


def _communes(count):
    parish = Parish.objects.get(code="130301")
    communes = Commune.objects.bulk_create(
        Commune(
            code=f"Q-{n:04d}", name=f"Comuna {n:04d}", parish=parish, registered_on="2020-01-01"
        )
        for n in range(count)
    )
    CommunalCouncil.objects.bulk_create(
        CommunalCouncil(commune=commune, code=f"QC-{commune.code}", name="CC", families=150)
        for commune in communes
    )


def _queries_for_page(client, size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"state": "13", "per_page": size})
    assert len(names(response)) == size
    return len(queries)


def test_query_count_does_not_grow_with_the_page(client, db):
    _communes(100)
    assert _queries_for_page(client, 10) == _queries_for_page(client, 100)


def test_query_count_is_small_for_signed_in_people_too(client, alice, db):
    _communes(100)
    client.force_login(alice)
    client.get(URL)  # warm the session
    # Session, user, the user's roles (3), count, page, states, municipalities.
    assert _queries_for_page(client, 10) == _queries_for_page(client, 100) <= 10
