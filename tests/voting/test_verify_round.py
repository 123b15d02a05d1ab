"""scripts/verify_round.py against a live server, as anyone would run it: a published round
agrees; one stored ballot, one partial decryption or one published total changed is named."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from voting import urn_open_data
from voting.models import PartialDecryption, ProjectResult, SealedBallot, VotingCentre

from ..builders import by_title, cast, close_voting, count_and_publish, non_voters
from ..builders.tables import Table

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "scripts" / "verify_round.py"

pytestmark = pytest.mark.django_db(transaction=True)


def verify(live_server, round_id, *args, expect):
    # Nothing of the app's environment: the verifier needs Python and PyNaCl alone.
    done = subprocess.run(
        [sys.executable, str(TOOL), live_server.url, str(round_id), *map(str, args)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == expect, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def counted(voting_round, adam, council_a, council_b, commune_a, commune_b):
    """Commune A: online Agua potable 3, Cancha 2; its table's accepted sheet adds Cancha 2, so
    Cancha wins 4 to 3. Commune B: Escuela 1, Mercado 1 (the lot breaks the tie)."""
    a, b = by_title(voting_round, commune_a), by_title(voting_round, commune_b)
    n = cast(voting_round, council_a, a["Agua potable"], 3, first=1)
    n = cast(voting_round, council_a, a["Cancha"], 2, first=n)
    n = cast(voting_round, council_b, b["Escuela"], 1, first=n)
    cast(voting_round, council_b, b["Mercado"], 1, first=n)
    non_voters(council_a, 2, first=1)
    centre = VotingCentre.objects.create(
        code="CE-0101", name="Escuela Bolivariana La Ceiba", parish=commune_a.parish
    )
    table = Table(voting_round, adam, centre, 1, commune_a, council_a, voters=2, first=1)
    close_voting(voting_round)
    sheet = {"Agua potable": 0, "Cancha": 2, "Alumbrado": 0}
    table.enter(1, sheet)
    table.enter(2, sheet)
    consultation = count_and_publish(voting_round, adam)
    cancha = ProjectResult.objects.get(project=a["Cancha"])
    assert (cancha.online_votes, cancha.table_votes, cancha.is_winner) == (2, 2, True)
    return consultation


def ballot_replace(receipt: str, sealed: bytes) -> None:
    """The urn is append-only: only a transaction that says it rewrites the urn may delete."""
    stored = SealedBallot.objects.get(receipt=receipt)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL comunas.urn_rewrite = 'on'")
        stored.delete()
        SealedBallot.objects.create(
            receipt=receipt,
            consultation_id=stored.consultation_id,
            commune_id=stored.commune_id,
            sealed=sealed,
        )


def test_the_verifier_agrees_with_a_published_round_and_names_each_change(
    live_server, counted, commune_a
):
    out = verify(live_server, counted.pk, "--workers", 1, expect=0)
    assert "Everything agrees" in out
    assert "7 ballots, proofs of 7 checked" in out
    assert "ballots/s" in out

    # One byte of one stored ballot.
    receipt, sealed = (
        SealedBallot.objects.filter(consultation=counted, commune=commune_a)
        .order_by("receipt")
        .values_list("receipt", "sealed")
        .first()
    )
    sealed = bytes(sealed)
    changed = bytearray(sealed)
    changed[40] ^= 0x01  # a byte of its first project's encryption
    ballot_replace(receipt, bytes(changed))
    out = verify(live_server, counted.pk, "--workers", 2, expect=1)
    lines = [line for line in out.splitlines() if line.startswith("ballot_receipt_mismatch")]
    assert len(lines) == 1 and receipt in lines[0] and commune_a.code in lines[0]
    ballot_replace(receipt, sealed)
    verify(live_server, counted.pk, "--workers", 1, expect=0)

    # One commissioner's partial decryption: two of its values swapped.
    partial = PartialDecryption.objects.get(consultation=counted, commune=commune_a, index=1)
    data = dict(partial.data)
    data["d"] = [data["d"][1], data["d"][0], *data["d"][2:]]
    PartialDecryption.objects.filter(pk=partial.pk).update(data=data)
    out = verify(live_server, counted.pk, "--workers", 1, expect=1)
    lines = [line for line in out.splitlines() if line.startswith("partial_proof_invalid")]
    assert len(lines) == 1 and "commissioner 1" in lines[0] and commune_a.code in lines[0]
    PartialDecryption.objects.filter(pk=partial.pk).update(data=partial.data)

    # One published total (votes = online + table, a constraint: both change).
    agua = by_title(counted, commune_a)["Agua potable"]
    ProjectResult.objects.filter(project=agua).update(online_votes=4, votes=4)
    out = verify(live_server, counted.pk, "--workers", 1, expect=1)
    lines = [line for line in out.splitlines() if line.startswith("total_mismatch")]
    assert (
        len(lines) == 1
        and f"project {agua.pk}" in lines[0]
        and "published 4, decrypted 3" in lines[0]
    )
    assert any(line.startswith("online_votes_mismatch") for line in out.splitlines())
    assert "disagreements" in out


def test_a_commune_left_out_of_the_urns_index_is_named(
    live_server, counted, commune_a, monkeypatch
):
    """A server that publishes the urn of only some communes: the results per commune say
    which one is missing."""
    whole = urn_open_data.urn_index

    def without_a(*, consultation):
        index = whole(consultation=consultation)
        index["communes"] = [c for c in index["communes"] if c["code"] != commune_a.code]
        return index

    monkeypatch.setattr(urn_open_data, "urn_index", without_a)
    out = verify(live_server, counted.pk, "--workers", 1, expect=1)
    lines = [line for line in out.splitlines() if line.startswith("commune_missing")]
    assert len(lines) == 1 and commune_a.code in lines[0]


def test_a_sample_checks_some_ballots_proofs_and_says_which_and_what_it_may_miss(
    live_server, counted
):
    out = verify(live_server, counted.pk, "--sample", 3, "--workers", 1, expect=0)
    sampled = [line.split()[-1] for line in out.splitlines() if line.startswith("  sampled ")]
    assert len(sampled) == 3
    assert set(sampled) <= set(SealedBallot.objects.values_list("receipt", flat=True))
    assert "A sample of 3 of 7 ballots misses every one of k invalid ballots" in out
    assert "proofs of 3 checked" in out


def test_a_round_that_is_not_published_or_a_server_that_is_not_there_is_a_usage_error(
    live_server, voting_round
):
    done = subprocess.run(
        [sys.executable, str(TOOL), live_server.url, str(voting_round.pk)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "HTTP 404 (not a published round?)" in done.stderr
    done = subprocess.run(
        [sys.executable, str(TOOL), "not-an-address", "1"], capture_output=True, text=True
    )
    assert done.returncode == 2
