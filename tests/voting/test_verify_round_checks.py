"""scripts/verify_round.py's own checks (the count's part: tables, ranking, lots, winners, the
three totals), run in-process on the files the app publishes: each agrees with the count, and
each catches the figure it checks when that figure is changed."""

import copy
import gzip
import importlib.util
import json
from pathlib import Path

import pytest
from django.urls import reverse

from voting.models import ProjectResult

from ..builders import by_title, index_of

ROOT = Path(__file__).resolve().parents[2]
TOOL = importlib.util.spec_from_file_location("verify_round", ROOT / "scripts" / "verify_round.py")
tool = importlib.util.module_from_spec(TOOL)
TOOL.loader.exec_module(tool)


def files_of(client, consultation) -> tuple[dict, dict[str, dict]]:
    index = index_of(client, consultation)
    files = {}
    for entry in index["communes"]:
        url = reverse("voting:results-urn-commune", args=[consultation.pk, entry["code"]])
        response = client.get(url)
        files[entry["code"]] = json.loads(gzip.decompress(b"".join(response.streaming_content)))
    return index, files


def checked(index, file) -> list[str]:
    online = {int(project): n for project, n in file["totals"].items()}
    return [problem.kind for problem in tool.count_checks(index, file, online, file["code"])]


def row_of(file, project):
    return next(row for row in file["project_results"] if row["project"] == project.pk)


def test_the_count_s_figures_agree_under_top_n_with_a_tie_the_lot_breaks(
    client, published, commune_b
):
    index, files = files_of(client, published)
    for file in files.values():
        assert checked(index, file) == []
    b = by_title(published, commune_b)
    # Escuela and Mercado tie at one vote each: the tie-break placed them.
    assert row_of(files[commune_b.code], b["Escuela"])["tie_broken"]


def test_tied_projects_in_each_other_s_place_are_named(client, published, commune_b):
    index, files = files_of(client, published)
    file = files[commune_b.code]
    b = by_title(published, commune_b)
    first, second = row_of(file, b["Escuela"]), row_of(file, b["Mercado"])
    first["rank"], second["rank"] = second["rank"], first["rank"]
    first["is_winner"], second["is_winner"] = second["is_winner"], first["is_winner"]
    assert checked(index, file) == ["rank_mismatch", "rank_mismatch"] + ["winner_mismatch"] * 2


def test_a_lot_that_is_not_the_seed_s_hash_is_named(client, published, commune_a):
    index, files = files_of(client, published)
    file = files[commune_a.code]
    row_of(file, by_title(published, commune_a)["Cancha"])["lot"] = "0" * 64
    assert checked(index, file) == ["lot_mismatch"]
    # A seed other than the one published before the vote changes every lot.
    other = {**index, "lot_seed": "f" * 64}
    assert set(checked(other, files[commune_a.code])) >= {"lot_mismatch"}


def test_the_budget_rule_is_redone_from_each_project_s_cost(client, greedy_published, commune_a):
    """Agua potable (6,000, 3 votes) and Alumbrado (4,000, 1 vote) fit 10,000; Cancha (5,000,
    2 votes) no longer fits after Agua potable and is skipped."""
    index, files = files_of(client, greedy_published)
    assert index["counting_rule"] == "greedy_budget" and index["commune_budget"] == "10000.00"
    file = files[commune_a.code]
    a = by_title(greedy_published, commune_a)
    assert [row_of(file, a[t])["is_winner"] for t in ("Agua potable", "Cancha", "Alumbrado")] == [
        True,
        False,
        True,
    ]
    assert checked(index, file) == []
    cheaper = copy.deepcopy(file)
    row_of(cheaper, a["Alumbrado"])["cost"] = "4000.01"  # no longer fits what is left
    assert checked(index, cheaper) == ["winner_mismatch"]


def test_an_award_makes_a_winner_whatever_its_rank_and_a_missing_one_is_named(
    client,
    awarded,
    commune_a,
):
    consultation, _commune_c = awarded
    index, files = files_of(client, consultation)
    for file in files.values():
        assert checked(index, file) == []
    file = files[commune_a.code]
    alumbrado = row_of(file, by_title(consultation, commune_a)["Alumbrado"])
    assert (alumbrado["votes"], alumbrado["is_winner"], alumbrado["award"]) == (0, True, "state")
    alumbrado["is_winner"] = False
    assert checked(index, file) == ["winner_mismatch"]


def test_tables_add_their_accepted_sheets_and_a_changed_table_figure_is_named(
    client,
    round_with_tables,
    commune_a,
):
    """Commune A: table 1's accepted sheet gives Agua potable 2, Cancha 1; table 2's sheet is
    under review, so it adds nothing and the commune has no winner yet."""
    consultation = round_with_tables["round"]
    index, files = files_of(client, consultation)
    file = files[commune_a.code]
    assert [sheet["table_code"] for sheet in file["tally_sheets"]] == ["CE-0101-1"]
    assert file["result"]["pending_sheets"] == 1
    assert checked(index, file) == []
    agua = row_of(file, by_title(consultation, commune_a)["Agua potable"])
    assert (agua["online_votes"], agua["table_votes"], agua["is_winner"]) == (2, 2, False)

    agua["table_votes"], agua["votes"] = 3, 5
    assert checked(index, file) == ["table_votes_mismatch", "votes_mismatch"]
    agua["table_votes"], agua["votes"] = 2, 4
    file["result"]["blank"] = 1
    assert checked(index, file) == ["sheets_mismatch"]


@pytest.mark.parametrize("field", ["voting_book", "urn", "counted"])
def test_a_commune_total_other_than_the_ballots_published_is_named(
    client, published, commune_a, field
):
    index, files = files_of(client, published)
    file = files[commune_a.code]
    file["result"][field] += 1
    assert "count_mismatch" in checked(index, file)


def test_a_published_total_is_compared_with_the_decrypted_one(client, published, commune_a):
    index, files = files_of(client, published)
    file = files[commune_a.code]
    agua = by_title(published, commune_a)["Agua potable"]
    ProjectResult.objects.filter(project=agua).update(online_votes=4, votes=4)
    decrypted = {int(p): n for p, n in file["totals"].items()}
    _index, files = files_of(client, published)
    problems = tool.count_checks(index, files[commune_a.code], decrypted, commune_a.code)
    assert {p.kind for p in problems} >= {"online_votes_mismatch", "votes_mismatch"}
    assert any(f"project {agua.pk}: published 4, decrypted 3" in p.detail for p in problems)


def test_the_sample_s_miss_chance_is_the_hypergeometric_one():
    # Drawing 3 of 7 misses the one invalid ballot 4 times in 7; misses 2 of them 4·3 / 7·6.
    assert tool.miss_chance(3, 7, 1) == pytest.approx(4 / 7)
    assert tool.miss_chance(3, 7, 2) == pytest.approx(12 / 42)
    assert tool.miss_chance(3, 7, 5) == 0
    assert tool.miss_chance(30_000, 100_000, 10) < 0.7**10
