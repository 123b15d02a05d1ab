"""Open one part of a round's urn in a child process (so a count uses every core).

The count starts one of these per core with ``python -m voting.urn_worker``, hands it the job on
stdin (the private key never appears on a command line or in the environment), and reads back the
choices per commune and project. It streams its part of the urn with COPY and keeps only
counters, so memory stays flat however large the urn is. No Django needed: plain psycopg.
"""

import json
import sys
from collections import Counter

import psycopg

from voting.urn import unseal

PART_QUERY = (
    "COPY (SELECT commune_id::int8, sealed FROM voting_sealedballot "
    "WHERE consultation_id = {consultation} AND commune_id % {parts} = {part}) "
    "TO STDOUT (FORMAT BINARY)"
)


def open_part(job: dict) -> dict:
    public_key = bytes.fromhex(job["public_key"])
    private_key = bytes.fromhex(job["private_key"])
    choices: Counter = Counter()
    urn: Counter = Counter()
    unopened: Counter = Counter()
    query = PART_QUERY.format(
        consultation=int(job["consultation"]), parts=int(job["parts"]), part=int(job["part"])
    )
    with (
        psycopg.connect(job["conninfo"]) as conn,
        conn.cursor() as cursor,
        cursor.copy(query) as copy,
    ):
        copy.set_types(["int8", "bytea"])
        for commune_id, sealed in copy.rows():
            urn[commune_id] += 1
            project_id = unseal(bytes(sealed), public_key, private_key)
            if project_id is None:
                unopened[commune_id] += 1
            else:
                choices[commune_id, project_id] += 1
    return {
        "choices": [[c, p, n] for (c, p), n in choices.items()],
        "urn": list(urn.items()),
        "unopened": list(unopened.items()),
    }


if __name__ == "__main__":
    json.dump(open_part(json.loads(sys.stdin.readline())), sys.stdout)
