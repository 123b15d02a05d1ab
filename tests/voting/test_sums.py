"""The urn's running sums during voting (voting.sums): a vote queues its ballot in the same
statement; folds add the queue into the sums in batches, each ballot exactly once however many
folds run at once; the close of voting adds what is left."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

import outbox
from cycle import services as cycle
from voting import closing, services, sums
from voting.models import CommuneResult, UrnPending, UrnShard

from ..builders import close_now, live_round_for, make_voter
from ..concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _votes(consultation, council, projects, how_many, first=0):
    chosen = {}
    for number in range(first, first + how_many):
        project = projects[number % len(projects)]
        services.vote_cast(
            consultation=consultation, user=make_voter(council, number), project_id=project.pk
        )
        chosen[project.pk] = chosen.get(project.pk, 0) + 1
    return chosen


def test_a_vote_queues_its_ballot_and_folds_add_the_queue(
    commune_a, commune_b, council_a, monkeypatch
):
    consultation = live_round_for(commune_a, commune_b)
    projects = list(consultation.projects.filter(commune=commune_a).order_by("pk"))
    chosen = _votes(consultation, council_a, projects, 9)
    assert UrnPending.objects.filter(consultation=consultation).count() == 9
    untouched = set(UrnShard.objects.values_list("c1", flat=True))
    assert {bytes(c) for c in untouched} == {b"\x01" + bytes(31)}  # all still empty sums

    assert sums.rounds_to_fold() == [consultation.pk]
    sent = []
    monkeypatch.setattr(outbox, "send", lambda task, *args: sent.append((task.name, args)))
    cycle.rounds_advance_due()  # the minute tick queues the fold
    assert ("cycle.jobs.urn_fold_task", (consultation.pk,)) in sent
    monkeypatch.undo()
    assert sums.urn_fold(consultation_id=consultation.pk, limit=4) == 4
    assert UrnPending.objects.count() == 5
    assert sums.urn_fold_all(consultation_id=consultation.pk) == 5
    assert not UrnPending.objects.exists()
    assert sums.urn_fold(consultation_id=consultation.pk) == 0
    assert sums.rounds_to_fold() == []

    close_now(consultation)
    cycle.round_count(consultation_id=consultation.pk)
    result = CommuneResult.objects.get(consultation=consultation, commune=commune_a)
    assert (result.voting_book, result.urn, result.counted) == (9, 9, 9)
    votes = dict(consultation.project_results.values_list("project_id", "online_votes"))
    assert {p: votes[p] for p in chosen} == chosen


def test_folds_at_once_add_every_ballot_exactly_once(commune_a, commune_b, council_a, council_b):
    consultation = live_round_for(commune_a, commune_b)
    a = list(consultation.projects.filter(commune=commune_a).order_by("pk"))
    b = list(consultation.projects.filter(commune=commune_b).order_by("pk"))
    chosen = _votes(consultation, council_a, a, 30)
    chosen.update(_votes(consultation, council_b, b, 20, first=100))

    def fold():
        return sums.urn_fold(consultation_id=consultation.pk, limit=7)

    folded = []
    while UrnPending.objects.exists():
        folded += run_at_once([fold, fold, fold])
    assert sum(folded) == 50  # no ballot taken twice
    close_now(consultation)
    cycle.round_count(consultation_id=consultation.pk)
    totals = {
        r.commune_id: (r.voting_book, r.urn, r.counted)
        for r in CommuneResult.objects.filter(consultation=consultation)
    }
    assert totals == {commune_a.pk: (30, 30, 30), commune_b.pk: (20, 20, 20)}
    votes = dict(consultation.project_results.values_list("project_id", "online_votes"))
    assert {p: votes[p] for p in chosen} == chosen


def test_the_close_of_voting_adds_what_is_still_queued(commune_a, commune_b, council_a):
    consultation = live_round_for(commune_a, commune_b)
    projects = list(consultation.projects.filter(commune=commune_a).order_by("pk"))
    _votes(consultation, council_a, projects, 4)
    sums.urn_fold(consultation_id=consultation.pk, limit=1)
    close_now(consultation)
    assert sums.rounds_to_fold() == []  # a closed round's queue is the rewrite's
    cycle.round_count(consultation_id=consultation.pk)
    assert not UrnPending.objects.exists() and not UrnShard.objects.exists()
    result = CommuneResult.objects.get(consultation=consultation, commune=commune_a)
    assert (result.voting_book, result.urn, result.counted) == (4, 4, 4)


def test_the_close_of_voting_waits_for_a_fold_in_flight(commune_a, commune_b, council_a):
    """A fold that has taken a batch but not committed when voting closes: the close waits for
    it, so the commune sums it writes hold every ballot."""
    consultation = live_round_for(commune_a, commune_b)
    projects = list(consultation.projects.filter(commune=commune_a).order_by("pk"))
    _votes(consultation, council_a, projects, 6)
    close_now(consultation)
    folding = threading.Event()

    def slow_fold():
        try:
            with transaction.atomic():
                folded = sums.urn_fold(consultation_id=consultation.pk, limit=4)
                folding.set()
                time.sleep(1.0)  # still holding its batch and the sums it changed
            return folded
        finally:
            connection.close()

    def close():
        try:
            folding.wait(10)
            return closing.urn_rewrite(consultation_id=consultation.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        folded, rewritten = pool.submit(slow_fold), pool.submit(close)
        assert (folded.result(), rewritten.result()) == (4, True)
    cycle.round_count(consultation_id=consultation.pk)
    result = CommuneResult.objects.get(consultation=consultation, commune=commune_a)
    assert (result.voting_book, result.urn, result.counted) == (6, 6, 6)
