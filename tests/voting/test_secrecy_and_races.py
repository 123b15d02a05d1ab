"""Races cannot break the voting book, and the database joins no one to a choice.

These tests commit for real (other connections, worker processes and pg_dump must see the rows).
"""

import re
import subprocess
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cycle import services as cycle
from voting import counting, urn
from voting.models import CommuneResult, SealedBallot, VotingBookEntry

from ..builders import close_now, live_round_for, make_voter
from ..concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_client(user, address="127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def test_twenty_simultaneous_posts_by_one_voter_record_one_vote(commune_a, commune_b, council_a):
    consultation = live_round_for(commune_a, commune_b)
    voter = make_voter(council_a, 1)
    session = signed_in_client(voter).cookies
    projects = list(consultation.projects.filter(commune=commune_a))
    url = reverse("voting:vote-confirm", args=[consultation.pk])

    def post(number):
        def job():
            client = Client()
            client.cookies = session
            return client.post(url, {"project": projects[number % 3].pk}).status_code

        return job

    statuses = Counter(run_at_once([post(n) for n in range(20)]))
    # One vote; the others are told they already voted, or (past ten a minute) to slow down.
    assert statuses[200] == 1
    assert set(statuses) <= {200, 409, 429}
    assert VotingBookEntry.objects.filter(resident__user=voter).count() == 1
    assert SealedBallot.objects.count() == 1


def test_many_voters_at_once_the_three_totals_agree(
    commune_a, commune_b, council_a, council_b, settings, monkeypatch
):
    consultation = live_round_for(commune_a, commune_b)
    voters = [(make_voter(council_a, n), commune_a) for n in range(24)]
    voters += [(make_voter(council_b, 100 + n), commune_b) for n in range(16)]
    ballots = {
        commune.pk: list(consultation.projects.filter(commune=commune).order_by("pk"))
        for commune in (commune_a, commune_b)
    }
    # From many homes: the per-address rate limit is not what this test is about.
    clients = [
        (signed_in_client(user, f"10.0.{n // 200}.{n % 200 + 1}"), commune)
        for n, (user, commune) in enumerate(voters)
    ]
    url = reverse("voting:vote-confirm", args=[consultation.pk])

    def vote(number, client, commune):
        def job():
            project = ballots[commune.pk][number % 3]
            # Each voter sends twice at once from "two devices": one must be refused.
            return client.post(url, {"project": project.pk}).status_code

        return job

    jobs = [vote(n, c, commune) for n, (c, commune) in enumerate(clients)]
    statuses = run_at_once(jobs + jobs)
    assert Counter(statuses) == {200: 40, 409: 40}
    close_now(consultation)
    # Open the urn with the worker processes, as a national count would.
    monkeypatch.setattr(counting, "PARALLEL_FROM_PAGES", 0)
    settings.URN_COUNT_WORKERS = 2
    count = cycle.round_count(consultation_id=consultation.pk)
    assert (count.status, count.ballots) == ("done", 40)
    totals = {
        r.commune_id: (r.voting_book, r.urn, r.counted)
        for r in CommuneResult.objects.filter(consultation=consultation)
    }
    assert totals == {commune_a.pk: (24, 24, 24), commune_b.pk: (16, 16, 16)}
    votes = dict(consultation.project_results.values_list("project__title", "votes"))
    assert votes == {
        "Agua potable": 8,
        "Cancha": 8,
        "Alumbrado": 8,
        "Escuela": 6,
        "Mercado": 5,
        "Vialidad": 5,
    }


def _dump(tables: list[str]) -> dict[str, list[str]]:
    """The data of these tables as pg_dump writes it: table → rows."""
    db = connection.settings_dict
    command = ["pg_dump", "--data-only", "-h", db["HOST"] or "127.0.0.1", "-U", db["USER"]]
    for table in tables:
        command += ["-t", table]
    output = subprocess.run(
        [*command, db["NAME"]], capture_output=True, text=True, check=True
    ).stdout
    data, current = {}, None
    for line in output.splitlines():
        start = re.match(r"COPY public\.(\w+) ", line)
        if start:
            current = start.group(1)
            data[current] = []
        elif line == "\\.":
            current = None
        elif current:
            data[current].append(line)
    return data


def all_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return [row[0] for row in cursor.fetchall()]


def test_the_database_joins_no_voter_to_a_choice(commune_a, commune_b, council_a):
    consultation = live_round_for(commune_a, commune_b)
    projects = list(consultation.projects.filter(commune=commune_a).order_by("pk"))
    voters = [make_voter(council_a, n) for n in range(12)]
    clients = [signed_in_client(user, f"10.1.0.{n + 1}") for n, user in enumerate(voters)]
    for client in clients:  # each voter opens the ballot first, as anyone does
        assert client.get(reverse("voting:ballot", args=[consultation.pk])).status_code == 200
    before = _dump(all_tables())
    url = reverse("voting:vote-confirm", args=[consultation.pk])
    chosen = {}
    for number, client in enumerate(clients):
        project = projects[0] if number < 8 else projects[1]
        response = client.post(url, {"project": project.pk})
        assert response.status_code == 200
        chosen[voters[number].pk] = project.pk
    after = _dump(all_tables())

    # 1. Only the voting book and the urn changed: no counter, no log line, no session value
    #    carries a choice or a receipt.
    changed = {t for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert changed == {"voting_votingbookentry", "voting_sealedballot"}

    # 2. The urn row has no serial id, no timestamp and nothing about the person.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'voting_sealedballot'"
        )
        columns = dict(cursor.fetchall())
    assert columns == {
        "receipt": "character varying",
        "consultation_id": "bigint",
        "commune_id": "bigint",
        "sealed": "bytea",
    }

    # 3. No plaintext choice: no project id in the sealed bytes, no two alike, and without the
    #    round's private key not one opens.
    public_key = bytes(consultation.urn.public_key)
    _other_public, wrong_key = urn.keypair()
    sealed = [bytes(s) for s in SealedBallot.objects.values_list("sealed", flat=True)]
    assert len(set(sealed)) == len(sealed) == 12
    assert len({len(s) for s in sealed}) == 1  # the size says nothing either
    for blob in sealed:
        assert not any(p.pk.to_bytes(8, "big") in blob for p in projects)
        assert urn.unseal(blob, public_key, wrong_key) is None

    # 4. System columns: the book row and its ballot share a transaction id by design (one
    #    atomic write), but what that joins a voter to is only a sealed blob; the urn's physical
    #    order says nothing more. Its receipts do not follow the voting book's order.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.resident_id, s.sealed FROM voting_votingbookentry b "
            "JOIN voting_sealedballot s ON s.xmin = b.xmin"
        )
        joined = cursor.fetchall()
        cursor.execute("SELECT receipt FROM voting_sealedballot ORDER BY ctid")
        physical = [row[0] for row in cursor.fetchall()]
    assert len(joined) == 12
    assert all(urn.unseal(bytes(blob), public_key, wrong_key) is None for _r, blob in joined)
    assert physical != sorted(physical) or len(physical) < 2

    # 5. With the key (the count), the choices are there, and only as totals per project.
    close_now(consultation)
    cycle.round_count(consultation_id=consultation.pk)
    assert dict(consultation.project_results.values_list("project_id", "votes")) == {
        projects[0].pk: 8,
        projects[1].pk: 4,
        projects[2].pk: 0,
        **{p.pk: 0 for p in consultation.projects.filter(commune=commune_b)},
    }


def test_worker_processes_read_every_page_of_the_urn_once(commune_a, commune_b):
    """The parts are page ranges of the urn table: together they read each ballot exactly once."""
    consultation = live_round_for(commune_a, commune_b)
    public_key = bytes(consultation.urn.public_key)
    projects = list(consultation.projects.order_by("pk"))
    ballots = []
    for number in range(1500):  # some twenty pages
        project = projects[number % len(projects)]
        receipt, sealed = urn.seal(public_key, project.pk)
        ballots.append(
            SealedBallot(
                receipt=receipt, consultation=consultation, commune=project.commune, sealed=sealed
            )
        )
    SealedBallot.objects.bulk_create(ballots)
    private_key = urn.private_key_load(consultation.pk)
    here = counting._open_here(consultation.pk, public_key, private_key)
    for parts in (2, 3, 7):
        spread, _nothing = counting._open_in_workers(
            consultation.pk, public_key, private_key, parts
        )
        assert (spread.choices, spread.urn, spread.unopened) == (here.choices, here.urn, Counter())
    assert sum(here.choices.values()) == 1500
