"""The embedded database holds a crowd (issue 18): on `make run`'s SQLite file, residents sending
their confirmation several times at once each get one vote and every other answer is a refusal,
never "database is locked"; the worker's tick closing the round while votes arrive loses none.

The suite itself runs on PostgreSQL, so the crowd runs in a process of its own with the embedded
settings (no DATABASE_URL, no REDIS_URL: an SQLite file in a fresh folder), through Django's test
client in one thread per request (tests/embedded/crowd.py); this module judges what it printed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIES = 3


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("embedded")
    embedded = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "URN_KEY_DIR"}
    }
    embedded.update(VAR_DIR=str(var_dir), LOG_LEVEL="CRITICAL", MEDIA_ROOT=str(var_dir / "media"))
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "embedded" / "crowd.py"),
            "--residents=40",
            f"--copies={COPIES}",
            "--closing=40",
        ],
        cwd=ROOT,
        env=embedded,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["database"] == str(var_dir / "db.sqlite3")
    return result


def test_the_embedded_database_queues_writers_instead_of_failing_them(crowd):
    assert crowd["engine"] == "django.db.backends.sqlite3"
    assert crowd["transaction_mode"] == "IMMEDIATE"
    assert crowd["journal_mode"] == "wal"
    assert crowd["synchronous"] == 1  # NORMAL
    assert crowd["busy_timeout"] >= 10_000  # milliseconds


def test_residents_confirming_several_times_at_once_each_get_exactly_one_vote(crowd):
    burst = crowd["burst"]
    assert burst["errors"] == [] and burst["error_count"] == 0
    assert burst["requests"] == burst["residents"] * COPIES
    assert burst["statuses"] == {
        "200": burst["residents"],
        "409 already_voted": burst["residents"] * (COPIES - 1),
    }
    assert burst["residents_with_one_200"] == burst["residents"]
    assert burst["residents_refused_the_rest"] == burst["residents"]
    # One voting-book row and one sealed ballot per resident, each receipt shown in the urn.
    assert burst["book"] == burst["book_residents"] == burst["urn"] == burst["residents"]
    assert burst["receipts_found"] == burst["receipts_acknowledged"] == burst["residents"]


def test_the_tick_closing_the_round_while_votes_arrive_loses_none(crowd):
    closing = crowd["closing"]
    assert closing["errors"] == [] and closing["error_count"] == 0
    assert closing["tick"] == "moved" and closing["phase_after"] == "counting"
    # Votes answered before the close are in; those after it are refused as closed.
    assert set(closing["statuses"]) <= {"200", "403 closed"}
    assert closing["statuses"].get("200", 0) > 0
    assert closing["receipts_found"] == closing["receipts_acknowledged"]
    assert closing["book"] == closing["urn"] == closing["receipts_acknowledged"]
    # The count agrees with the voting book and the urn.
    assert closing["count_status"] == closing["count_done"]
    assert closing["count_ballots"] == closing["book"]
