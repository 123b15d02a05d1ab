"""¿Dónde voto?: a cédula gives its commune, voting centre, tables and ballot; never a name or a
birth date; one answer for a cédula nobody has and one that may not vote; limited per address."""

import datetime
import re

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from communes.models import Commune
from consultations.models import Consultation, Exclusion, Project
from voting.models import VotingTable

from ..builders import ANA_BIRTH, live_round_for, make_resident, make_round

URL = reverse("voting:where-to-vote")
# The moment a request was made, as it appears in a statement (the round still to close).
NOW_IN_SQL = re.compile(r"'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[^']*'")


def ask(client, cedula, **extra):
    return client.post(URL, {"cedula": cedula}, **extra)


def years_ago(years: int, *, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) + datetime.timedelta(days=days)


def normalised(response, *cedulas) -> str:
    """The page without what differs from one response to the next whatever was asked (the CSRF
    token, the script nonce) and without the cédula it echoes."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", html)
    html = re.sub(r'nonce="[^"]+"', "NONCE", html)
    for cedula in cedulas:
        html = html.replace(cedula, "CEDULA")
    return html


def test_a_cedula_gives_the_commune_its_centres_tables_and_ballot(
    client, live_round, ana, centres_of_a, commune_a
):
    response = ask(client, " v-14.555.666 ")
    assert response.status_code == 200
    place = response.context["place"]
    assert place.commune_code == commune_a.code
    assert [(c.name, c.tables) for c in place.centres] == [
        ("Escuela Bolivariana Lídice", [1, 2]),
        ("Casa Comunal La Ceiba", [1]),
    ]
    html = response.content.decode()
    assert 'data-answer="found"' in html
    assert "Cédula V-14555666" in html
    assert "Comuna Altos de Lídice" in html
    assert "Calle Real de Lídice, frente a la plaza" in html
    assert "Mesas 1, 2" in html and "Mesa 1" in html
    assert "Altagracia" in html and "Libertador" in html and "Distrito Capital" in html
    # Commune A's ballot, and nothing of commune B's table or ballot.
    for title in ["Agua potable", "Cancha", "Alumbrado"]:
        assert title in html
    assert "Escuela" not in html.replace("Escuela Bolivariana", "")
    assert "Mesa 3" not in html and "Mesas 3" not in html
    assert reverse("voting:ballot", args=[live_round.pk]) in html  # it may vote online too
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_answer_never_shows_a_name_or_a_birth_date(client, live_round, ana, centres_of_a):
    with CaptureQueriesContext(connection) as queries:
        response = ask(client, ana.cedula)
    html = response.content.decode()
    assert 'data-answer="found"' in html
    for word in ["Ana", "Teresa", "Rangel"]:
        assert word not in html
    with translation.override("es"):
        long_date = formats.date_format(ANA_BIRTH, "DATE_FORMAT")
    for shown in [
        ANA_BIRTH.isoformat(),
        ANA_BIRTH.strftime("%d/%m/%Y"),
        ANA_BIRTH.strftime("%d-%m-%Y"),
        long_date,
        "1988",
    ]:
        assert shown not in html, shown
    # Not even read: no query selects the name or the birth date.
    selected = [query["sql"].split(" FROM ")[0] for query in queries.captured_queries]
    assert not any("full_name" in columns or "birth_date" in columns for columns in selected)


def _not_on_the_vote(council_a, council_b, commune_b, live_round):
    """Residents on a census who may not vote in the round, each for another reason."""
    too_young = make_resident(council_a, "V-30111222", "Luis Niño", birth=years_ago(14))
    left_off = make_resident(council_b, "V-16777888", "Berta Lara")
    Exclusion.objects.create(
        consultation=live_round, commune=commune_b, kind="no_ballot", reason="Sin boleta"
    )
    return {"too young": too_young.cedula, "commune left off the vote": left_off.cedula}


def test_unknown_and_not_on_the_register_get_one_identical_answer(
    client, live_round, ana, centres_of_a, council_a, council_b, commune_b
):
    unknown = "V-19999999"
    answers = {"unknown": (unknown, ask(client, unknown))}
    for why, cedula in _not_on_the_vote(council_a, council_b, commune_b, live_round).items():
        answers[why] = (cedula, ask(client, cedula))
    expected = normalised(answers["unknown"][1], unknown)
    assert 'data-answer="none"' in expected
    assert "Esta cédula no tiene lugar de votación en esta consulta." in expected
    for why, (cedula, response) in answers.items():
        assert response.status_code == 200, why
        assert response.templates[0].name == "voting/where_to_vote.html", why
        assert response.context["place"] is None, why
        assert normalised(response, cedula) == expected, why
    # And they do differ from an answer.
    assert normalised(ask(client, ana.cedula), ana.cedula) != expected


def test_a_suspended_commune_and_an_age_cap_answer_as_unknown_too(
    client, commune_a, commune_b, council_a, ana, centres_of_a
):
    youth_round = live_round_for(commune_a, commune_b, max_age=35)
    unknown, over_35 = "V-19999999", ana.cedula
    assert youth_round.max_age == 35
    assert ANA_BIRTH.year < timezone.localdate().year - 36  # over 35 on voting day
    expected = normalised(ask(client, unknown), unknown)
    assert normalised(ask(client, over_35), over_35) == expected
    assert "entre 15 y 35 años" in expected
    young = make_resident(council_a, "V-25000111", "Joven", birth=years_ago(20))
    assert 'data-answer="found"' in ask(client, young.cedula).content.decode()
    Commune.objects.filter(pk=commune_a.pk).update(status=Commune.Status.SUSPENDED)
    assert normalised(ask(client, young.cedula), young.cedula) == expected


def test_unknown_and_not_on_the_register_run_the_same_queries(
    client, live_round, council_a, council_b, commune_b
):
    """The same statements, so nothing but the database's own lookup can tell them apart in
    time (and that lookup is one index probe on the cédula either way)."""
    cedulas = {
        "unknown": "V-19999999",
        **_not_on_the_vote(council_a, council_b, commune_b, live_round),
    }
    statements = {}
    for why, cedula in cedulas.items():
        with CaptureQueriesContext(connection) as queries:
            ask(client, cedula)
        statements[why] = [
            NOW_IN_SQL.sub("NOW", query["sql"].replace(cedula, "CEDULA")) for query in queries
        ]
    assert len(statements["unknown"]) == 2  # the round, then the cédula's commune
    for why, sql in statements.items():
        assert sql == statements["unknown"], why


def test_an_answer_takes_a_fixed_number_of_queries(
    client, live_round, ana, centres_of_a, commune_a
):
    def queries_for(cedula):
        cache.clear()  # the ballot of a round in voting is cached: measure the uncached answer
        with CaptureQueriesContext(connection) as queries:
            assert 'data-answer="found"' in ask(client, cedula).content.decode()
        return len(queries)

    before = queries_for(ana.cedula)
    school, _house = centres_of_a
    for number in range(4, 12):
        VotingTable.objects.create(
            code=f"T-{number}", centre=school, number=number, commune=commune_a
        )
    for number in range(5):
        Project.objects.create(
            consultation=live_round,
            commune=commune_a,
            title=f"Proyecto {number}",
            status=Project.Status.APPROVED,
        )
    assert queries_for(ana.cedula) == before == 4  # round, commune, tables, ballot


def test_a_malformed_cedula_gets_a_clear_message_and_no_lookup(client, live_round, ana):
    for typed, message in [
        (None, "Escribe una cédula, por ejemplo V-12345678."),  # nothing sent at all
        ("", "Escribe una cédula, por ejemplo V-12345678."),
        ("14555666", "no es una cédula válida"),
        ("X-14555666", "no es una cédula válida"),
        ("V-123", "tiene entre 6 y 9 dígitos"),
        ("V-0145556", "no empieza por 0"),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(URL) if typed is None else ask(client, typed)
        assert response.status_code == 422, typed
        html = response.content.decode()
        assert message in html, typed
        assert "data-answer" not in html, typed
        assert len(queries) == 1, typed  # the round; nobody looked up


def test_lookups_are_limited_per_address(client, live_round, ana):
    statuses = [ask(client, ana.cedula).status_code for _ in range(10)]
    assert statuses == [200] * 10
    with CaptureQueriesContext(connection) as queries:
        refused = ask(client, ana.cedula)
    assert refused.status_code == 429
    html = refused.content.decode()
    assert "Demasiadas consultas desde esta conexión" in html
    assert "data-answer" not in html
    assert len(queries) == 1  # the round; the cédula was not looked up
    # A malformed cédula counts too, so mistyping on purpose does not get around the limit.
    assert ask(client, "nada").status_code == 429
    # Another address is not held back.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert 'data-answer="found"' in ask(other, ana.cedula).content.decode()


def test_behind_the_load_balancer_the_limit_is_per_client_address(live_round, ana, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    balancer = {"REMOTE_ADDR": "10.0.0.2"}
    first = Client(HTTP_X_FORWARDED_FOR="200.44.1.1", **balancer)
    second = Client(HTTP_X_FORWARDED_FOR="200.44.1.2", **balancer)
    assert [ask(first, ana.cedula).status_code for _ in range(11)][-1] == 429
    assert ask(second, ana.cedula).status_code == 200


def test_the_limiter_trusts_as_many_proxies_as_the_rest_of_the_site():
    from django.conf import settings

    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TRUSTED_PROXY_HOPS


def test_before_voting_the_next_round_answers_and_says_the_ballot_is_not_ready(
    client, ana, centres_of_a, commune_a
):
    now = timezone.now()
    day = datetime.timedelta(days=1)
    upcoming = make_round(
        phase=Consultation.Phase.ASSEMBLIES,
        assemblies_open_at=now - day,
        validation_opens_at=now + 5 * day,
        voting_opens_at=now + 10 * day,
        voting_closes_at=now + 11 * day,
    )
    Project.objects.create(consultation=upcoming, commune=commune_a, title="Propuesta en borrador")
    page = client.get(URL)
    assert page.status_code == 200 and page.context["consultation"] == upcoming
    html = ask(client, ana.cedula).content.decode()
    assert 'data-answer="found"' in html
    assert "Escuela Bolivariana Lídice" in html
    assert "La boleta todavía no está lista" in html
    assert "Propuesta en borrador" not in html  # only approved projects are on a ballot
    assert reverse("voting:ballot", args=[upcoming.pk]) not in html


def test_a_round_in_voting_comes_before_the_next_one(client, commune_a, commune_b, ana):
    now = timezone.now()
    day = datetime.timedelta(days=1)
    make_round(
        name="Siguiente",
        year=2032,
        phase=Consultation.Phase.SCHEDULED,
        voting_opens_at=now + 30 * day,
        voting_closes_at=now + 31 * day,
    )
    voting = live_round_for(commune_a, commune_b)
    assert client.get(URL).context["consultation"] == voting


def test_an_online_only_round_shows_no_tables(client, commune_a, commune_b, ana, centres_of_a):
    live_round_for(commune_a, commune_b, channels=Consultation.Channels.ONLINE)
    response = ask(client, ana.cedula)
    html = response.content.decode()
    assert 'data-answer="found"' in html
    assert "Escuela Bolivariana Lídice" not in html
    assert "solo en línea" in html


def test_a_commune_without_tables_is_told_so(client, live_round, ana):
    html = ask(client, ana.cedula).content.decode()
    assert 'data-answer="found"' in html
    assert "Todavía no se ha instalado ninguna mesa de votación para esta comuna" in html


def test_without_a_round_there_is_nothing_to_look_up(client, ana):
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ninguna consulta está abierta a votación ni programada" in html
    assert 'name="cedula"' not in html
    response = ask(client, ana.cedula)
    assert response.status_code == 200
    assert "data-answer" not in response.content.decode()
