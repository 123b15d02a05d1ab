"""The count: totals that agree, ranking and tie-breaks anyone can recompute, run twice alike."""

import hashlib

import pytest
from django.core.exceptions import ValidationError

from consultations.models import Consultation, Problem
from cycle import services as cycle
from voting import closing, counting, services, urn
from voting.models import CommuneResult, Count, ProjectResult

from ..builders import DURING_VOTING, close_voting, hours, make_voter, slipped_ballot


def vote(consultation, voter, project):
    return services.vote_cast(
        consultation=consultation, user=voter, project_id=project.pk, now=DURING_VOTING
    )


def cast(consultation, council, choices: list[int], start=0):
    """Voters of the council vote: choices[i] is the index of the project voter i picks."""
    projects = list(consultation.projects.filter(commune=council.commune).order_by("pk"))
    for number, choice in enumerate(choices, start=start):
        vote(consultation, make_voter(council, number), projects[choice])
    return projects


def results(consultation):
    return list(
        ProjectResult.objects.filter(consultation=consultation)
        .order_by("commune", "rank")
        .values_list("project__title", "votes", "rank", "is_winner", "tie_broken", "lot")
    )


def test_votes_ranked_and_winner_marked(voting_round, council_a, council_b):
    cast(voting_round, council_a, [0, 1, 1, 2, 1])
    cast(voting_round, council_b, [2, 2], start=100)
    close_voting(voting_round)
    count = cycle.round_count(consultation_id=voting_round.pk)
    assert (count.status, count.ballots, count.problems) == ("done", 7, [])
    a = [
        row[:4]
        for row in results(voting_round)
        if row[0] in ("Agua potable", "Cancha", "Alumbrado")
    ]
    assert a[0] == ("Cancha", 3, 1, True)
    # The two with one vote each are tied: no assembly priorities here, so the lot orders them.
    tied = sorted(a[1:], key=lambda row: row[2])
    assert [row[1] for row in tied] == [1, 1]
    lots = [ProjectResult.objects.get(project__title=row[0]).lot for row in tied]
    assert lots == sorted(lots)
    b = CommuneResult.objects.get(commune=council_b.commune)
    assert (b.voting_book, b.urn, b.counted, b.votes) == (2, 2, 2, 2)
    assert ProjectResult.objects.get(project__title="Vialidad").is_winner


def test_the_three_totals_agree_after_many_voters(voting_round, council_a, council_b):
    cast(voting_round, council_a, [n % 3 for n in range(40)])
    cast(voting_round, council_b, [n % 2 for n in range(25)], start=100)
    close_voting(voting_round)
    cycle.round_count(consultation_id=voting_round.pk)
    for result in CommuneResult.objects.filter(consultation=voting_round):
        assert result.voting_book == result.urn == result.counted == result.votes
    assert sorted(CommuneResult.objects.values_list("votes", flat=True)) == [25, 40]


def test_run_twice_gives_the_same_result(voting_round, council_a):
    cast(voting_round, council_a, [0, 1, 2, 0])
    close_voting(voting_round)
    cycle.round_count(consultation_id=voting_round.pk)
    first = results(voting_round)
    cycle.round_count(consultation_id=voting_round.pk)
    assert results(voting_round) == first
    assert Count.objects.count() == 1


def test_tie_broken_by_the_assemblys_priority(voting_round, council_a, alice):
    projects = list(voting_round.projects.filter(commune=council_a.commune).order_by("pk"))
    # The assembly ranked the problem of the third project first.
    from consultations.models import Assembly

    assembly = Assembly.objects.create(
        consultation=voting_round,
        commune=council_a.commune,
        held_on="2027-01-04",
        place="Casa comunal",
        attendance=3,
        eligible=3,
        quorum_required=1,
        quorum_reached=True,
        minutes=_minutes(council_a.commune, alice),
        recorded_by=make_voter(council_a, 900),
    )
    for priority, project in zip((2, 3, 1), projects, strict=True):
        project.problem = Problem.objects.create(
            assembly=assembly, title=f"P{priority}", priority=priority
        )
        project.save(update_fields=["problem"])
    cast(voting_round, council_a, [0, 2])  # one vote each for the first and the third
    close_voting(voting_round)
    cycle.round_count(consultation_id=voting_round.pk)
    winner = ProjectResult.objects.get(consultation=voting_round, is_winner=True)
    assert winner.project == projects[2]
    assert winner.tie_broken
    assert winner.priority == 1


def test_tie_broken_by_the_lot_anyone_can_recompute(adam, commune_a, council_a):
    from ..builders import ballot_of, make_round, open_voting

    consultation = make_round(tie_break=Consultation.TieBreak.LOT)
    ballot_of(consultation, commune_a)
    open_voting(consultation, adam)
    projects = cast(consultation, council_a, [0, 1, 2])  # a three-way tie
    close_voting(consultation)
    cycle.round_count(consultation_id=consultation.pk)
    seed = consultation.urn.lot_seed  # published on the round's page when voting opened

    def lot(project):  # what anyone can compute from the seed, without our code
        return hashlib.sha256(f"{seed}:{project.pk}".encode()).hexdigest()

    expected = sorted(projects, key=lot)
    ranked = ProjectResult.objects.filter(consultation=consultation).order_by("rank")
    assert [r.project for r in ranked] == expected
    assert [r.lot for r in ranked] == [lot(p) for p in expected]
    assert all(r.tie_broken for r in ranked)


def test_rank_orders_by_votes_then_priority_then_lot():
    c = counting.Candidate
    ranked = counting.rank(
        [c(1, 5, None, "b"), c(2, 7, 3, "z"), c(3, 5, 2, "c"), c(4, 5, 2, "a")],
        tie_break=Consultation.TieBreak.PRIORITY_THEN_LOT,
    )
    assert [(cand.project_id, broken) for cand, broken in ranked] == [
        (2, False),
        (4, True),
        (3, True),
        (1, True),
    ]


def test_no_winner_below_the_minimum_turnout(voting_round, council_a):
    Consultation.objects.filter(pk=voting_round.pk).update(min_turnout_percent=60)
    from ..builders import make_resident

    make_resident(council_a, "V-30000001", "No votó")
    cast(voting_round, council_a, [0])  # 1 of the 2 residents of A: 50 %
    close_voting(voting_round)
    cycle.round_count(consultation_id=voting_round.pk)
    result = CommuneResult.objects.get(commune=council_a.commune)
    assert result.void_reason
    assert not ProjectResult.objects.filter(commune=council_a.commune, is_winner=True).exists()


def test_the_count_waits_for_the_key_and_publishing_waits_for_the_count(
    voting_round, council_a, adam
):
    cast(voting_round, council_a, [1])
    close_voting(voting_round)
    key_file = urn.server_share_path(voting_round.pk)
    key = key_file.read_bytes()
    key_file.unlink()
    count = cycle.round_count(consultation_id=voting_round.pk)
    assert count.status == "waiting_for_key"
    assert counting.rounds_awaiting_count() == [voting_round.pk]
    with pytest.raises(ValidationError) as refused:
        cycle.round_publish(consultation=voting_round, by=adam, reason="ya", now=hours(121))
    assert refused.value.code == "count_not_done"
    key_file.write_bytes(key)
    assert cycle.round_count(consultation_id=voting_round.pk).status == "done"
    assert counting.rounds_awaiting_count() == []
    cycle.rounds_advance_due(now=hours(121))
    voting_round.refresh_from_db()
    assert voting_round.phase == "published"


def test_only_a_round_in_counting_is_counted(voting_round):
    with pytest.raises(ValidationError):
        counting.consultation_count(consultation_id=voting_round.pk)


def test_a_ballot_slipped_into_the_urn_breaks_the_agreement(voting_round, council_a):
    """A well-formed ballot written into the urn behind the vote's back (no voting-book row, not
    in the running sums) is caught: the urn holds more than the book and than was counted."""
    cast(voting_round, council_a, [0])
    slipped_ballot(voting_round, voting_round.projects.filter(commune=council_a.commune).first())
    close_voting(voting_round)
    count = cycle.round_count(consultation_id=voting_round.pk)
    assert count.status == "discrepancy"
    assert "1 en el cuaderno de votación, 2 en la urna, 1 contadas" in count.problems[0]


def test_a_sum_that_does_not_decrypt_is_named(voting_round, council_a):
    """A commune sum altered after voting (its first project's sum moved by one G) decrypts to
    no number of votes within the ballots: the commune's totals disagree and the problem says
    why."""
    from urncrypto import group
    from voting.models import CommuneSum

    cast(voting_round, council_a, [0])
    close_voting(voting_round)
    closing.urn_rewrite(consultation_id=voting_round.pk)
    row = CommuneSum.objects.get(consultation=voting_round)
    c2 = bytes(row.c2)
    moved = group.add(c2[:32], group.base_mul(group.scalar_from_int(5)))
    CommuneSum.objects.filter(pk=row.pk).update(c2=moved + c2[32:])
    count = cycle.round_count(consultation_id=voting_round.pk)
    assert count.status == "discrepancy"
    assert "no se descifraron" in " ".join(count.problems)


def test_the_tick_counts_a_round_entering_counting(voting_round, council_a, eager_tasks):
    cast(voting_round, council_a, [2, 2])
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        cycle.rounds_advance_due(now=hours(58))
    assert Count.objects.get(consultation=voting_round).status == "done"


def _minutes(commune, spokesperson):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from communes.services import commune_file_store

    from ..builders import tiny_pdf

    return commune_file_store(
        commune=commune, uploaded=SimpleUploadedFile("acta.pdf", tiny_pdf()), by=spokesperson
    )
