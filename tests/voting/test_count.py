"""The count: totals that agree, ranking and tie-breaks anyone can recompute, run twice alike,
and shared among workers in ranges of communes with one reduce."""

import hashlib
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

from audit.models import AuditEntry
from consultations.models import Consultation, Problem
from cycle import jobs
from cycle import services as cycle
from urncrypto import group
from voting import closing, counting, services, urn
from voting.models import (
    CommuneResult,
    CommuneSum,
    Count,
    CountChunk,
    PartialDecryption,
    ProjectResult,
)

from ..builders import DURING_VOTING, close_voting, hours, make_voter, slipped_ballot
from ..concurrency import run_at_once


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
    share_file = urn.server_share_path(voting_round.pk)
    share = share_file.read_bytes()
    share_file.unlink()
    count = cycle.round_count(consultation_id=voting_round.pk)
    assert count.status == "waiting_for_key"
    assert not CountChunk.objects.exists()  # no range is made before the sums can be decrypted
    assert counting.rounds_awaiting_count() == [voting_round.pk]
    with pytest.raises(ValidationError) as refused:
        cycle.round_publish(consultation=voting_round, by=adam, reason="ya", now=hours(121))
    assert refused.value.code == "count_not_done"
    share_file.write_bytes(share)
    assert cycle.round_count(consultation_id=voting_round.pk).status == "done"
    assert counting.rounds_awaiting_count() == []
    cycle.rounds_advance_due(now=hours(121))
    voting_round.refresh_from_db()
    assert voting_round.phase == "published"


def test_only_a_round_in_counting_is_counted(voting_round):
    with pytest.raises(ValidationError):
        counting.consultation_count(consultation_id=voting_round.pk)


def test_a_ballot_slipped_into_the_urn_breaks_the_agreement(voting_round, council_a):
    """An urn row with no voting-book row (and outside the commune's sum) is caught: the
    totals disagree."""
    cast(voting_round, council_a, [0])
    close_voting(voting_round)
    assert cycle.round_count(consultation_id=voting_round.pk).status == "done"
    slipped_ballot(voting_round, voting_round.projects.filter(commune=council_a.commune).first())
    count = cycle.round_count(consultation_id=voting_round.pk)  # counted again, from scratch
    assert count.status == "discrepancy"
    a = CommuneResult.objects.get(commune=council_a.commune)
    assert (a.voting_book, a.urn, a.counted) == (1, 2, 1)


def test_a_sum_that_does_not_decrypt_breaks_the_agreement(voting_round, council_a):
    cast(voting_round, council_a, [0, 1])
    close_voting(voting_round)
    closing.urn_rewrite(consultation_id=voting_round.pk)
    summed = CommuneSum.objects.get(commune=council_a.commune)
    summed.c2 = bytes(summed.c2)[32:] + group.base_mul(group.scalar_from_int(10**9))
    summed.save()
    count = cycle.round_count(consultation_id=voting_round.pk)
    assert count.status == "discrepancy"
    a = CommuneResult.objects.get(commune=council_a.commune)
    assert (a.voting_book, a.urn, a.counted) == (2, 2, 0)


# The count in ranges of communes, shared among workers -------------------------------------


def counted_in_ranges(consultation, *, size):
    """The round's count as the workers do it: the ranges one by one, then the reduce."""
    closing.urn_rewrite(consultation_id=consultation.pk)
    chunks = counting.count_plan(consultation_id=consultation.pk, size=size)
    last = [
        counting.count_chunk(consultation_id=consultation.pk, first_commune=c.first_commune)
        for c in chunks
    ]
    assert last == [False] * (len(chunks) - 1) + [True]
    return counting.count_reduce(consultation_id=consultation.pk, again=False)


def everything_counted(consultation):
    return (
        results(consultation),
        sorted(
            CommuneResult.objects.filter(consultation=consultation).values_list(
                "commune", "voting_book", "urn", "counted", "votes"
            )
        ),
    )


def test_ranges_and_the_reduce_give_the_same_results_as_one_range(
    voting_round, council_a, council_b
):
    cast(voting_round, council_a, [0, 1, 1, 2, 1])
    cast(voting_round, council_b, [2, 2, 0], start=100)
    close_voting(voting_round)
    count = counted_in_ranges(voting_round, size=1)
    assert (count.status, count.ballots) == ("done", 8)
    ranges = list(CountChunk.objects.order_by("first_commune"))
    a, b = sorted([council_a.commune_id, council_b.commune_id])
    assert [(c.first_commune, c.last_commune) for c in ranges] == [
        (0, b - 1),
        (b, counting.LAST_COMMUNE),
    ]
    assert [list(c.totals) for c in ranges] == [[str(a)], [str(b)]]
    in_ranges = everything_counted(voting_round)

    counting.consultation_count(consultation_id=voting_round.pk)  # one range of 250 communes
    assert CountChunk.objects.count() == 1
    assert everything_counted(voting_round) == in_ranges
    assert [row[1] for row in in_ranges[0] if row[3]] == [3, 2]  # Cancha 3, Vialidad 2


def test_a_range_done_twice_changes_nothing(voting_round, council_a, council_b):
    cast(voting_round, council_a, [0, 1])
    cast(voting_round, council_b, [2], start=100)
    close_voting(voting_round)
    closing.urn_rewrite(consultation_id=voting_round.pk)
    first, second = counting.count_plan(consultation_id=voting_round.pk, size=1)
    assert counting.count_chunk(consultation_id=voting_round.pk, first_commune=0) is False
    done = CountChunk.objects.get(pk=first.pk)
    partials = list(PartialDecryption.objects.order_by("commune").values_list("commune", "data"))
    assert counting.count_chunk(consultation_id=voting_round.pk, first_commune=0) is False
    again = CountChunk.objects.get(pk=first.pk)
    assert (again.totals, again.done_at) == (done.totals, done.done_at)
    assert (
        list(PartialDecryption.objects.order_by("commune").values_list("commune", "data"))
        == partials
    )
    # The plan asked again gives the same ranges, and makes none.
    assert counting.count_plan(consultation_id=voting_round.pk, size=5) == [first, second]
    assert counting.count_chunk(consultation_id=voting_round.pk, first_commune=second.first_commune)


def test_a_worker_killed_mid_range_leaves_nothing_and_the_tick_does_it_again(
    voting_round, council_a, council_b, settings, monkeypatch, request
):
    settings.COUNT_CHUNK_COMMUNES = 1
    cast(voting_round, council_a, [0, 1, 1])
    cast(voting_round, council_b, [2], start=100)
    close_voting(voting_round)
    closing.urn_rewrite(consultation_id=voting_round.pk)
    first, _second = counting.count_plan(consultation_id=voting_round.pk)

    def killed(**kwargs):  # the worker dies once the server's partials are made, mid-range
        raise SystemExit("worker killed")

    monkeypatch.setattr(counting, "totals_decrypt", killed)
    with pytest.raises(SystemExit):
        counting.count_chunk(consultation_id=voting_round.pk, first_commune=0)
    left = CountChunk.objects.get(pk=first.pk)
    assert (left.done_at, left.totals) == (None, {})
    assert not PartialDecryption.objects.exists()  # the range's own writes went with it
    assert not Count.objects.exists()
    monkeypatch.undo()
    request.getfixturevalue("eager_tasks")  # from now on, jobs run as they are queued

    # The tick queues the count job, which queues the ranges not done; the last one the reduce.
    with TestCase.captureOnCommitCallbacks(execute=True):
        cycle.rounds_advance_due(now=hours(58))
    assert counting.chunks_pending(voting_round.pk) == []
    count = Count.objects.get(consultation=voting_round)
    assert (count.status, count.ballots) == ("done", 4)
    assert ProjectResult.objects.get(project__title="Cancha").votes == 2
    assert ProjectResult.objects.get(project__title="Vialidad").votes == 1


def test_the_count_job_shares_the_ranges_among_workers(
    voting_round, council_a, council_b, settings, monkeypatch
):
    settings.COUNT_CHUNK_COMMUNES = 1
    cast(voting_round, council_a, [0])
    cast(voting_round, council_b, [2], start=100)
    close_voting(voting_round)
    sent = []
    monkeypatch.setattr(jobs.outbox, "send", lambda task, *args: sent.append((task.name, args)))
    assert jobs.round_count_task(voting_round.pk) == "2 of 2 ranges queued"
    firsts = [c.first_commune for c in CountChunk.objects.order_by("first_commune")]
    assert sent == [("cycle.jobs.round_count_chunk_task", (voting_round.pk, f)) for f in firsts]
    sent.clear()
    assert jobs.round_count_chunk_task(voting_round.pk, firsts[1]) is None
    assert sent == []
    assert jobs.round_count_chunk_task(voting_round.pk, firsts[0]) == "last"
    assert sent == [("cycle.jobs.round_count_reduce_task", (voting_round.pk,))]
    assert jobs.round_count_reduce_task(voting_round.pk) == "done"
    # Queued again by the tick, the count job finds the count finished and writes nothing.
    audited = AuditEntry.objects.count()
    assert jobs.round_count_task(voting_round.pk) == "done"
    assert jobs.round_count_reduce_task(voting_round.pk) == "done"
    assert AuditEntry.objects.count() == audited


@pytest.mark.django_db(transaction=True)
def test_two_reduces_at_once_write_the_results_once(
    adam, commune_a, commune_b, council_a, council_b, monkeypatch
):
    from ..builders import ballot_of, make_round, open_voting

    monkeypatch.setattr(jobs.round_count_task, "apply_async", lambda *a, **k: None)
    consultation = make_round()
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    open_voting(consultation, adam)
    cast(consultation, council_a, [1, 1, 2])
    close_voting(consultation)
    closing.urn_rewrite(consultation_id=consultation.pk)
    for chunk in counting.count_plan(consultation_id=consultation.pk, size=1):
        counting.count_chunk(consultation_id=consultation.pk, first_commune=chunk.first_commune)
    known_totals = counting._known_totals

    def slow(consultation):  # the reduce's reading takes a while: the other one arrives meanwhile
        time.sleep(0.5)
        return known_totals(consultation)

    monkeypatch.setattr(counting, "_known_totals", slow)
    counts = run_at_once(
        [lambda: counting.count_reduce(consultation_id=consultation.pk, again=False)] * 3
    )
    assert sorted(c.status if c else "" for c in counts) == ["", "", "done"]
    assert AuditEntry.objects.filter(action="consultation.count").count() == 1
    assert ProjectResult.objects.filter(consultation=consultation).count() == 6
    # A reduce queued late (the last range and the tick both queue one) writes nothing either.
    assert counting.count_reduce(consultation_id=consultation.pk, again=False).status == "done"
    assert AuditEntry.objects.filter(action="consultation.count").count() == 1


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


def test_a_round_with_commissioners_is_counted_in_ranges_from_their_partials(
    adam, commune_a, commune_b, council_a, council_b, settings
):
    """k of n: the ranges combine the partial decryptions two of the three commissioners
    uploaded (made with their own key shares, as their tool does); none is made by the server."""
    from urncrypto import dkg, partial_decrypt
    from voting import commissioners
    from voting.models import Commissioner

    from ..builders import NOW, ballot_of, make_round, make_user, open_voting

    settings.COUNT_CHUNK_COMMUNES = 1
    consultation = make_round(key_shares_needed=2, key_shares_total=3)
    ballot_of(consultation, commune_a)
    ballot_of(consultation, commune_b, titles=("Escuela", "Mercado", "Vialidad"))
    secrets = [dkg.commissioner_keygen(index) for index in (1, 2, 3)]
    people = [make_user(f"comisionada{s.index}@example.org") for s in secrets]
    for secret, person in zip(secrets, people, strict=True):
        Commissioner.objects.create(
            consultation=consultation,
            index=secret.index,
            user=person,
            keys=secret.public().to_json(),
            appointed_at=NOW,
        )
    ceremony = commissioners.ceremony_of(consultation)
    contributions = [dkg.contribution_make(ceremony, secret)[0] for secret in secrets]
    for contribution, secret in zip(contributions, secrets, strict=True):
        Commissioner.objects.filter(consultation=consultation, index=secret.index).update(
            contribution=contribution.to_json()
        )
    open_voting(consultation, adam)
    cast(consultation, council_a, [1, 1, 0])
    cast(consultation, council_b, [2, 2], start=100)
    close_voting(consultation)

    count = cycle.round_count(consultation_id=consultation.pk)
    assert count.status == "waiting_for_key"
    assert not CountChunk.objects.exists()
    for secret, person in [(secrets[0], people[0]), (secrets[2], people[2])]:
        share = dkg.key_share_combine(ceremony, secret, contributions)[0]
        commissioners.partials_add(
            consultation=consultation,
            by=person,
            data={
                "round": consultation.pk,
                "index": secret.index,
                "partials": [
                    partial_decrypt(share=share, summed=summed).to_json()
                    for summed in commissioners.sums_of(consultation.pk).values()
                ],
            },
        )
    count = cycle.round_count(consultation_id=consultation.pk)
    assert (count.status, count.ballots) == ("done", 5)
    assert CountChunk.objects.filter(consultation=consultation).count() == 2
    assert sorted(PartialDecryption.objects.values_list("index", flat=True)) == [1, 1, 3, 3]
    assert ProjectResult.objects.get(project__title="Cancha").votes == 2
    assert ProjectResult.objects.get(project__title="Vialidad").is_winner
