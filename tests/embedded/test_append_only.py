"""On the embedded database too the voting book and the urn refuse every UPDATE and DELETE: a
fresh SQLite file migrated from nothing has their triggers (an earlier migration rebuilt both
tables, which on SQLite drops a table's triggers, until migration voting 0009 made them again)."""

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = {
    "voting_votingbookentry": "INSERT INTO voting_votingbookentry "
    "(consultation_id, resident_id, commune_id, channel, voted_at) "
    "VALUES (1, 1, 1, 'online', '2026-12-08 10:00:00')",
    "voting_sealedballot": "INSERT INTO voting_sealedballot "
    "(receipt, consultation_id, commune_id, sealed) VALUES ('R', 1, 1, x'00')",
}


@pytest.mark.parametrize("table", ["voting_votingbookentry", "voting_sealedballot"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET commune_id = 0", "DELETE FROM {table}"])
def test_a_migrated_sqlite_file_keeps_the_voting_book_and_the_urn_append_only(
    tmp_path, table, statement
):
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(VAR_DIR=str(tmp_path), DEBUG="1")
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite3")) as database:
        # One row to refuse changing (foreign keys are not enforced on this bare connection).
        database.execute(ROWS[table])
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            database.execute(statement.format(table=table))
