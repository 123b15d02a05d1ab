"""The urn's open data of a published round (issue 14): an index with the round's key and rules,
and per commune a gzip-compressed file that urncrypto's verifier reads and finds in agreement."""

import pytest
from django.urls import reverse

from urncrypto import verify
from voting.models import SealedBallot

from ..builders import by_title, cast, count_and_publish, file_of, index_of, queries_of


def test_the_index_gives_the_round_s_key_rules_and_every_commune_s_file(
    client, published, commune_a, commune_b
):
    index = index_of(client, published)
    urn = published.urn
    assert index["round"] == published.pk
    assert index["public"] == urn.key
    assert index["key_generation"] == {}  # the tests' 1-of-1 round: the server's own key
    assert index["lot_seed"] == urn.lot_seed
    assert index["tie_break"] == published.tie_break
    assert index["counting_rule"] == "top_n"
    assert index["winners_per_commune"] == published.winners_per_commune
    assert index["commune_budget"] is None
    assert [c["code"] for c in index["communes"]] == sorted([commune_a.code, commune_b.code])
    for entry in index["communes"]:
        assert entry["url"] == "http://testserver" + reverse(
            "voting:results-urn-commune", args=[published.pk, entry["code"]]
        )


def test_a_commune_s_file_holds_its_ballots_sums_partials_totals_and_ranking(
    client, published, commune_a
):
    file = file_of(client, published, commune_a.code)
    stored = sorted(
        SealedBallot.objects.filter(consultation=published, commune=commune_a).values_list(
            "receipt", flat=True
        )
    )
    assert [b["receipt"] for b in file["ballots"]] == stored
    assert file["commune"] == commune_a.pk
    assert file["summed"]["ballots"] == 5
    assert [p["index"] for p in file["partials"]] == [1]
    agua = by_title(published, commune_a)["Agua potable"]
    assert file["totals"][str(agua.pk)] == 3
    row = next(p for p in file["project_results"] if p["project"] == agua.pk)
    assert row | {"lot": "-"} == {
        "project": agua.pk,
        "online_votes": 3,
        "table_votes": 0,
        "votes": 3,
        "rank": 1,
        "is_winner": True,
        "award": "",
        "priority": None,
        "lot": "-",
        "tie_broken": False,
        "cost": "10000.00",  # no estimated cost: the most a project may cost
    }
    assert file["result"]["voting_book"] == file["result"]["urn"] == 5
    assert file["tally_sheets"] == []


def test_urncrypto_s_verifier_finds_the_published_round_in_agreement(
    client, published, commune_a, commune_b
):
    index = index_of(client, published)
    data = {
        "round": index["round"],
        "public": index["public"],
        "communes": [file_of(client, published, c["code"]) for c in index["communes"]],
    }
    public, communes, _transcript = verify.round_from_json(data)
    report = verify.round_verify(public=public, communes=communes, workers=1)
    assert report.ok, report.disagreements
    assert report.ballots == 7


def test_a_changed_ballot_is_published_with_its_stored_receipt_so_the_verifier_names_it(
    client, published, commune_a
):
    """The file publishes what is stored: a ballot changed in storage keeps the receipt the
    voter holds, which is no longer its hash."""
    from django.db import connection

    receipt, sealed = (
        SealedBallot.objects.filter(consultation=published, commune=commune_a)
        .values_list("receipt", "sealed")
        .first()
    )
    changed = bytearray(sealed)
    changed[40] ^= 1  # a byte of the first project's encryption
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL comunas.urn_rewrite = 'on'")
        SealedBallot.objects.filter(receipt=receipt).delete()
        cursor.execute("SET LOCAL comunas.urn_rewrite = 'off'")
    SealedBallot.objects.create(
        receipt=receipt, consultation=published, commune=commune_a, sealed=bytes(changed)
    )
    file = file_of(client, published, commune_a.code)
    record = verify.CommuneRecord(
        file["commune"],
        tuple(file["projects"]),
        file["ballots"],
        file["summed"],
        file["partials"],
        file["totals"],
    )
    public = verify.dkg.PublicResult.from_json(published.urn.key)
    report = verify.round_verify(public=public, communes=[record], workers=1)
    kinds = {(d.kind, d.receipt) for d in report.disagreements}
    assert ("ballot_receipt_mismatch", receipt) in kinds


def test_a_commune_s_file_costs_the_same_queries_whatever_its_ballots(
    client, published, commune_a, commune_b, django_assert_max_num_queries
):
    a = queries_of(
        client, reverse("voting:results-urn-commune", args=[published.pk, commune_a.code])
    )
    b = queries_of(
        client, reverse("voting:results-urn-commune", args=[published.pk, commune_b.code])
    )
    assert a == b, (a, b)  # 5 ballots and 2 ballots
    # The round; the commune's result, projects, sum, partial decryptions, sheets; its ballots.
    with django_assert_max_num_queries(7):
        file_of(client, published, commune_a.code)
    with django_assert_max_num_queries(3):
        index_of(client, published)


def test_the_urn_of_a_round_not_published_is_not_found(client, voting_round):
    url = reverse("voting:results-urn-index", args=[voting_round.pk])
    assert client.get(url).status_code == 404


def test_a_commune_s_urn_of_a_round_not_published_is_not_found(
    client, voting_round, council_a, commune_a
):
    cast(voting_round, council_a, by_title(voting_round, commune_a)["Cancha"], 1, first=1)
    url = reverse("voting:results-urn-commune", args=[voting_round.pk, commune_a.code])
    assert client.get(url).status_code == 404


def test_a_commune_without_results_in_the_round_is_not_found(client, published):
    url = reverse("voting:results-urn-commune", args=[published.pk, "COM-9999-999"])
    assert client.get(url).status_code == 404


def test_a_commune_with_no_online_ballot_publishes_no_sum(
    client, voting_round, adam, council_a, commune_a, commune_b
):
    """Nobody in commune B voted online: there is no sum to decrypt, so its file has none, no
    partial decryption and no ballot, and its online totals are zero."""
    cast(voting_round, council_a, by_title(voting_round, commune_a)["Cancha"], 2, first=1)
    consultation = count_and_publish(voting_round, adam)
    file = file_of(client, consultation, commune_b.code)
    assert "summed" not in file
    assert file["partials"] == file["ballots"] == []
    assert set(file["totals"].values()) == {0}
    assert len(file["projects"]) == 3
    assert file["result"]["urn"] == 0


@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_the_urn_s_open_data_is_read_from_the_replica(client, published, commune_a):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    import replica

    replica._down_until = 0.0
    urls = {
        reverse("voting:results-urn-index", args=[published.pk]): ["voting_communeresult"],
        reverse("voting:results-urn-commune", args=[published.pk, commune_a.code]): [
            "voting_sealedballot",
            "voting_communesum",
            "voting_partialdecryption",
            "voting_projectresult",
            "voting_tallysheet",
        ],
    }
    for url, tables in urls.items():
        with (
            CaptureQueriesContext(connections["default"]) as primary,
            CaptureQueriesContext(connections["replica"]) as mirror,
        ):
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        assert response.status_code == 200
        for table in tables:
            assert any(f'"{table}"' in q["sql"] for q in mirror.captured_queries), (url, table)
            assert not any(f'"{table}"' in q["sql"] for q in primary.captured_queries), (url, table)


def test_the_round_s_results_page_leads_to_the_urn_and_the_verifier(client, published):
    page = client.get(reverse("voting:results-round", args=[published.pk])).content.decode()
    assert reverse("voting:results-urn-index", args=[published.pk]) in page
    assert f"scripts/verify_round.py http://testserver {published.pk}" in page
    assert "no se abre ninguna boleta" in page
