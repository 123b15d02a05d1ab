"""Races cannot break the voting book, and the database joins no one to a choice.

These tests commit for real (other connections, worker processes and pg_dump must see the rows).
"""

import random
import re
import subprocess
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cycle import services as cycle
from urncrypto import Ballot
from voting import services, urn
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


def _choice_of(stored_ballot, secrets, context) -> int:
    """Decrypt one ballot with the whole key, as k commissioners together could: the project
    whose slot holds G."""
    from urncrypto import group

    ballot = Ballot.from_payload(context, bytes(stored_ballot))
    for slot, project in enumerate(context.projects):
        if group.sub(ballot.c2[slot], group.mul(secrets[slot], ballot.c1)) == group.BASE:
            return project
    raise AssertionError("a ballot that is a vote for no project")


def _pairings(consultation, contexts, secrets, truth) -> dict[str, float]:
    """What an attacker holding the database and every key share gets by pairing the voting
    book with the urn by each order the database keeps: the share of voters given their own
    choice."""
    orders = {
        "storage order": ("ctid", "ctid"),
        "transaction id": ("xmin::text::bigint, ctid", "xmin::text::bigint, ctid"),
    }
    found = {}
    with connection.cursor() as cursor:
        for name, (book_order, urn_order) in orders.items():
            cursor.execute(
                f"SELECT resident_id FROM voting_votingbookentry "  # noqa: S608
                f"WHERE consultation_id = %s ORDER BY {book_order}",
                [consultation.pk],
            )
            book = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                f"SELECT commune_id, sealed FROM voting_sealedballot "  # noqa: S608
                f"WHERE consultation_id = %s ORDER BY {urn_order}",
                [consultation.pk],
            )
            choices = [_choice_of(sealed, secrets, contexts[commune]) for commune, sealed in cursor]
            hits = sum(
                1
                for resident, choice in zip(book, choices, strict=True)
                if truth[resident] == choice
            )
            found[name] = hits / len(book)
    return found


def test_the_database_joins_no_voter_to_a_choice(commune_a, commune_b, council_a):
    """Every key share and the whole database after voting closed pair voters with choices no
    better than chance; during voting, the database's own orders did (which is why the urn is
    rewritten)."""
    consultation = live_round_for(commune_a, commune_b)
    projects = list(consultation.projects.filter(commune=commune_a).order_by("pk"))
    voters = [make_voter(council_a, n) for n in range(60)]
    clients = [signed_in_client(user, f"10.1.0.{n + 1}") for n, user in enumerate(voters)]
    for client in clients:  # each voter opens the ballot first, as anyone does
        assert client.get(reverse("voting:ballot", args=[consultation.pk])).status_code == 200
    before = _dump(all_tables())
    url = reverse("voting:vote-confirm", args=[consultation.pk])
    draw = random.Random(14)
    truth = {}
    for user, client in zip(voters, clients, strict=True):
        project = draw.choice(projects)
        assert client.post(url, {"project": project.pk}).status_code == 200
        truth[user.resident.pk] = project.pk
    after = _dump(all_tables())

    # 1. Only the voting book, the urn and its queue of ballots to add changed: no counter, no log
    #    line, no session value carries a choice or a receipt.
    changed = {t for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert changed == {"voting_votingbookentry", "voting_sealedballot", "voting_urnpending"}

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

    # 3. No plaintext choice: no project id in the ballots, no two alike, all of one size.
    stored = [bytes(s) for s in SealedBallot.objects.values_list("sealed", flat=True)]
    assert len(set(stored)) == len(stored) == 60
    assert len({len(s) for s in stored}) == 1
    assert not any(p.pk.to_bytes(8, "big") in blob for p in projects for blob in stored)

    # 4. Every key share (1 of 1 here: the server's) decrypts single ballots. During voting the
    #    database's orders pair each voter with their ballot...
    share = urn.server_share_load(consultation.pk)
    contexts = services.ballots_of(consultation).contexts
    during = _pairings(consultation, contexts, share.secrets, truth)
    assert during == {"storage order": 1.0, "transaction id": 1.0}

    # 5. ...and after the close-of-voting rewrite they pair no better than chance.
    close_now(consultation)
    cycle.round_count(consultation_id=consultation.pk)
    after_rewrite = _pairings(consultation, contexts, share.secrets, truth)
    shares = Counter(truth.values())
    chance = sum((n / len(truth)) ** 2 for n in shares.values())
    print(
        f"agreement during voting {during}; after the rewrite {after_rewrite}; chance {chance:.3f}"
    )
    # One draw of 60 pairs: agreement by chance has a standard deviation of about 0.06.
    assert all(rate <= chance + 0.25 for rate in after_rewrite.values()), after_rewrite
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM voting_sealedballot WHERE consultation_id = %s",
            [consultation.pk],
        )
        assert cursor.fetchone()[0] == 1  # one transaction wrote every ballot
        cursor.execute("SELECT receipt FROM voting_sealedballot ORDER BY ctid")
        physical = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT (SELECT count(*) FROM voting_urnshard) + count(*) FROM voting_urnpending"
        )
        assert cursor.fetchone()[0] == 0  # the running sums and the queue are gone
    assert physical == sorted(physical)  # storage follows the receipts, a hash

    # 6. The count used only the sums: each project's votes as cast.
    assert dict(consultation.project_results.values_list("project_id", "votes")) == {
        **{p.pk: shares.get(p.pk, 0) for p in projects},
        **{p.pk: 0 for p in consultation.projects.filter(commune=commune_b)},
    }
