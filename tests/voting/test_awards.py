"""Awards by participation: the commune with most voters in each state gets every approved
project; the N communes with most voters aged 15 to 35 get one more project each."""

import csv
import hashlib
import io

from django.urls import reverse

from cycle import services as cycle
from funding.models import Allocation, FundingSource
from voting import counting
from voting.models import CommuneResult, ProjectResult

from ..builders import (
    OLD,
    YOUNG,
    ballot_of,
    by_title,
    count_and_publish,
    make_round,
    open_voting,
    vote_as,
)


def commune(code, state, voters, young):
    return {"code": code, "state": state, "voters": voters, "voters_15_35": young}


def test_most_voters_of_each_state_and_the_young_top_n_ties_by_lot():
    seed = "semilla"
    communes = [
        commune("A", "01", 10, 1),
        commune("B", "01", 12, 0),
        commune("C", "13", 5, 4),
        commune("D", "13", 5, 4),
        commune("E", "13", 0, 0),
    ]
    by_state, young = counting.award_winners(communes, seed=seed, state=True, youth=2)
    lot = {c: counting.commune_lot(seed, c) for c in "CD"}
    tie_winner = min("CD", key=lot.get)
    assert by_state == {"B", tie_winner}
    assert young == sorted("CD", key=lot.get)  # both have 4; A (1) comes third
    assert counting.award_winners(communes, seed=seed, state=False, youth=0) == (set(), [])


def test_the_lot_of_a_commune_is_what_anyone_computes_from_the_seed():
    expected = hashlib.sha256(b"abc:commune:COM-1").hexdigest()
    assert counting.commune_lot("abc", "COM-1") == expected


def outcome(consultation, commune):
    rows = ProjectResult.objects.filter(consultation=consultation, commune=commune)
    return {r.project.title: (r.is_winner, r.award) for r in rows}


def test_ages_are_counted_per_commune_on_voting_day(awarded, commune_a, commune_b):
    consultation, _c = awarded
    a = CommuneResult.objects.get(consultation=consultation, commune=commune_a)
    assert (a.voters_under_15, a.voters_15_35, a.voters_36_59, a.voters_60_plus) == (0, 1, 2, 1)
    b = CommuneResult.objects.get(consultation=consultation, commune=commune_b)
    assert (b.voters_15_35, b.voters_36_59, b.voters_60_plus) == (2, 0, 1)


def test_the_commune_with_most_voters_of_its_state_gets_every_project(awarded, commune_a):
    consultation, commune_c = awarded
    # Distrito Capital: A has 4 voters, C has 2. Lara: B alone.
    assert outcome(consultation, commune_a) == {
        "Agua potable": (True, ""),  # won by the vote
        "Cancha": (True, "state"),
        "Alumbrado": (True, "state"),  # nobody voted for it: it wins by the award alone
    }
    assert CommuneResult.objects.get(consultation=consultation, commune=commune_a).state_award
    assert not CommuneResult.objects.get(consultation=consultation, commune=commune_c).state_award


def test_the_commune_with_most_young_voters_gets_its_first_project_that_did_not_win(
    awarded, commune_b
):
    consultation, commune_c = awarded
    # B has 2 voters aged 15 to 35, A has 1, C none. B also has most voters of Lara, so it
    # already gets every project: the youth award is noted and adds nothing.
    result = CommuneResult.objects.get(consultation=consultation, commune=commune_b)
    assert (result.state_award, result.youth_award) == (True, True)
    assert outcome(consultation, commune_c) == {
        "Huerto": (True, ""),
        "Biblioteca": (False, ""),
        "Puente": (False, ""),
    }


def test_the_youth_award_adds_the_next_project_when_the_state_award_is_off(
    adam, commune_a, commune_b, council_a, council_b
):
    consultation = make_round(award_youth_communes=1)
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    open_voting(consultation, adam)
    a, b = by_title(consultation, commune_a), by_title(consultation, commune_b)
    n = vote_as(consultation, council_a, a["Agua potable"], [OLD, OLD, OLD], first=1)
    n = vote_as(consultation, council_b, b["Mercado"], [YOUNG, YOUNG], first=n)
    vote_as(consultation, council_b, b["Escuela"], [YOUNG], first=n)
    count_and_publish(consultation, adam)
    assert outcome(consultation, commune_b) == {
        "Mercado": (True, ""),
        "Escuela": (True, "youth"),
        "Vialidad": (False, ""),
    }
    assert outcome(consultation, commune_a)["Cancha"] == (False, "")


def test_awarded_projects_are_allocated_by_the_national_fund(awarded, commune_a):
    consultation, _c = awarded
    cycle.round_allocate(consultation_id=consultation.pk)
    allocations = Allocation.objects.filter(project__commune=commune_a)
    assert allocations.count() == 3
    assert {a.source.kind for a in allocations} == {FundingSource.Kind.NATIONAL}
    cycle.round_allocate(consultation_id=consultation.pk)  # again: nothing more
    assert allocations.count() == 3


def test_a_recount_keeps_the_awards(awarded, commune_a):
    consultation, _c = awarded
    before = outcome(consultation, commune_a)
    counting.commune_recount(consultation_id=consultation.pk, commune_id=commune_a.pk)
    assert outcome(consultation, commune_a) == before
    result = CommuneResult.objects.get(consultation=consultation, commune=commune_a)
    assert (result.state_award, result.voters_15_35) == (True, 1)


def download(client, name, consultation):
    response = client.get(reverse(f"voting:{name}", args=[consultation.pk]))
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_awards_are_recomputable_from_the_open_data(client, awarded):
    consultation, _c = awarded
    communes = download(client, "results-communes-csv", consultation)
    standing = [
        commune(
            row["commune_code"], row["state_code"], int(row["voters"]), int(row["voters_15_35"])
        )
        for row in communes
        if not row["void_reason"]
    ]
    seed = consultation.urn.lot_seed
    by_state, young = counting.award_winners(standing, seed=seed, state=True, youth=1)
    assert by_state == {row["commune_code"] for row in communes if row["state_award"] == "true"}
    assert young == [row["commune_code"] for row in communes if row["youth_award"] == "true"]
    projects = download(client, "results-projects-csv", consultation)
    awarded_projects = {row["project"] for row in projects if row["award"]}
    assert awarded_projects == {"Cancha", "Alumbrado", "Mercado", "Vialidad"}


def test_the_results_pages_state_the_awards(client, awarded, commune_a):
    consultation, _c = awarded
    page = client.get(reverse("voting:results-round", args=[consultation.pk])).content.decode()
    assert "La comuna con más votantes de cada estado recibe todos los proyectos" in page
    assert commune_a.name in page
    commune_page = client.get(
        reverse("voting:results-commune", args=[consultation.pk, commune_a.code])
    ).content.decode()
    assert 'id="state-award"' in commune_page
    assert "1 de 15 a 35 años" in commune_page
