"""A round whose urn key is split among electoral commissioners: k of n shares count it."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from consultations.services import rules_problems
from cycle import services as cycle
from voting import services, urn
from voting.models import Count

from ..builders import DURING_VOTING, ballot_of, close_voting, make_round, make_voter, open_voting


@pytest.fixture
def split_round(adam, commune_a, council_a):
    consultation = make_round(key_shares_needed=2, key_shares_total=3)
    ballot_of(consultation, commune_a)
    open_voting(consultation, adam)
    project = consultation.projects.get(title="Cancha")
    for number in range(3):
        services.vote_cast(
            consultation=consultation,
            user=make_voter(council_a, number),
            project_id=project.pk,
            now=DURING_VOTING,
        )
    return close_voting(consultation)


def shares_of(consultation) -> list[str]:
    folder = urn.key_dir() / f"round-{consultation.pk}-shares"
    return [path.read_text().strip() for path in sorted(folder.iterdir())]


def test_the_key_is_split_and_never_kept_whole(split_round):
    assert not urn.private_key_path(split_round.pk).exists()
    assert len(shares_of(split_round)) == 3
    count = cycle.round_count(consultation_id=split_round.pk)
    assert count.status == "waiting_for_key"
    assert "0 de las 2" in count.problems[0]


def test_two_shares_of_three_count_the_round(split_round, adam, client, eager_tasks):
    shares = shares_of(split_round)
    client.force_login(adam)
    detail = reverse("cycle:round-detail", args=[split_round.pk])
    enter = reverse("cycle:urn-share", args=[split_round.pk])
    cycle.round_count(consultation_id=split_round.pk)
    assert 'data-shares-entered="0"' in client.get(detail).content.decode()

    mistyped = shares[0][:-1] + ("0" if shares[0][-1] != "0" else "1")
    page = client.post(enter, {"share": mistyped}, follow=True).content.decode()
    assert "error de tipeo" in page
    assert 'data-shares-entered="0"' in page

    client.post(enter, {"share": shares[0].lower()})
    page = client.post(enter, {"share": shares[0]}, follow=True).content.decode()
    assert "ya fue ingresada" in page
    assert 'data-shares-entered="1"' in page

    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(enter, {"share": f"  {shares[2]}\n"})
    count = Count.objects.get(consultation=split_round)
    assert (count.status, count.ballots) == ("done", 3)
    assert split_round.project_results.get(is_winner=True).project.title == "Cancha"
    # The shares leave the cache once they have served.
    assert urn.shares_kept(split_round.pk, 3) == {}


def test_a_share_of_another_round_is_refused(split_round, adam):
    _other_public, other_private = urn.keypair()
    foreign = urn.shares_split(split_round.pk + 1, other_private, 2, 3)[0]
    with pytest.raises(ValidationError) as refused:
        cycle.round_key_share_add(consultation=split_round, text=foreign, by=adam)
    assert refused.value.code == "share_round"


def test_shares_that_do_not_rebuild_the_key_are_discarded(split_round, adam):
    _public, wrong = urn.keypair()
    forged = urn.shares_split(split_round.pk, wrong, 2, 3)
    for share in forged[:2]:
        cycle.round_key_share_add(consultation=split_round, text=share, by=adam)
    count = cycle.round_count(consultation_id=split_round.pk)
    assert count.status == "waiting_for_key"
    assert "no reconstruyen" in count.problems[0]
    assert urn.shares_kept(split_round.pk, 3) == {}


def test_only_the_cycle_admin_enters_shares(split_round, alice):
    with pytest.raises(Exception) as refused:
        cycle.round_key_share_add(
            consultation=split_round, text=shares_of(split_round)[0], by=alice
        )
    assert refused.type.__name__ == "PermissionDenied"
    assert cache.get(f"urn-share:{split_round.pk}:1") is None


@pytest.mark.parametrize(
    ("needed", "total", "ok"),
    [(0, 0, True), (2, 3, True), (3, 3, True), (1, 3, False), (4, 3, False), (2, 11, False)],
)
def test_k_of_n_rule(db, needed, total, ok):
    problems = rules_problems(make_round(key_shares_needed=0, key_shares_total=0))
    assert problems == []
    from consultations.models import Consultation

    draft = Consultation(
        name="x",
        year=2027,
        quarter=2,
        funder_by_rank=["national"],
        key_shares_needed=needed,
        key_shares_total=total,
    )
    found = any("comisionados" in problem for problem in rules_problems(draft))
    assert found is not ok
