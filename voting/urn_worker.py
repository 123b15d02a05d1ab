"""Open one part of a round's urn in a child process (so a count uses every core).

The count starts one of these per core with ``python -m voting.urn_worker``, hands it the job on
stdin (the private key never appears on a command line or in the environment), and reads back the
choices per commune and project. Its part is a range of the table's pages, read with a TID range
scan, so the parts together read the table once. It streams the part with COPY and keeps only
counters, so memory stays flat however large the urn is. No Django needed: plain psycopg.
"""

import json
import sys
from collections import Counter

import psycopg

from voting.urn import Opener

PART_QUERY = (
    "COPY (SELECT commune_id::int8, sealed FROM voting_sealedballot "
    "WHERE consultation_id = {consultation} AND ctid >= '({first},0)'::tid{before}) "
    "TO STDOUT (FORMAT BINARY)"
)


def open_part(job: dict) -> dict:
    unseal = Opener(bytes.fromhex(job["public_key"]), bytes.fromhex(job["private_key"]))
    choices: Counter = Counter()
    urn: Counter = Counter()
    unopened: Counter = Counter()
    # The last part has no upper page: it also reads rows on pages added since it was planned.
    last = job["last_page"]
    query = PART_QUERY.format(
        consultation=int(job["consultation"]),
        first=int(job["first_page"]),
        before="" if last is None else f" AND ctid < '({int(last)},0)'::tid",
    )
    with (
        psycopg.connect(job["conninfo"]) as conn,
        conn.cursor() as cursor,
        cursor.copy(query) as copy,
    ):
        copy.set_types(["int8", "bytea"])
        for commune_id, sealed in copy.rows():
            urn[commune_id] += 1
            project_id = unseal(sealed)
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
