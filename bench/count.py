"""Benchmark: count a national round: 5,340 communes, 36,500 projects, 6.5 million voters.

Of the 6.5 million, 60 % voted online (encrypted ballots in the urn, and each commune's running
sums) and 40 % on paper at one of 11,500 voting tables in 10,000 centres: those are marks in the
voting book (channel "table", the table and a bench officer), and every table has an accepted
tally sheet whose figures (votes per project, blank and null ballots) add up to its marks.

What it times, separately, on the same round in one run:

1. the close-of-voting rewrite (``voting.closing.urn_rewrite``): each commune's running sums
   added into its final sum, the 3.9 million urn rows deleted and written again in receipt
   order, the running sums deleted, and ``VACUUM FULL`` of the urn (outside a transaction);
2. the count (``voting.counting``: the server's partial decryptions of every commune's sum,
   the totals decrypted, each commune's ballots counted, then the reduce: tables, voting book,
   ranking, results), its ranges of communes done by 1 worker process, then again by 2 worker
   processes (the ranges' and the results' rows removed in between). Each worker process runs
   ``counting.count_chunk`` over the pending ranges, as a Celery worker's
   ``round_count_chunk_task`` would (a range another process holds is skipped).

Target (issues 14 and 15): the count in under 120 s and under 1 GB on this machine. Runs against
a scratch PostgreSQL database on DATABASE_URL's server, named `<name>_count_bench`
(`<name>_count_bench_small` for other sizes), which it builds once (bulk-loaded with COPY) and
keeps: a rerun with the same sizes puts the running sums back (kept in `bench_shards`) and times
the rewrite and the count again (`--rebuild` builds it anew). The round's key share (a 1-of-1
round: the server's) lives in var/bench-urn-keys/<database>, never in the demo's key folder.
Prints its figures; the last line is one JSON object.

    make bench-count                               # the national size
    DATABASE_URL=... python bench/count.py --votes 100000 --communes 200    # a quick run
    (--tables and --table-share change the tables' part; by default the national ratios)

The bench data, and what is real in it. Making 3.9 million real ballots (about 4 ms of CPU each,
with their proofs) would take hours, and the count never reads a ballot: it decrypts each
commune's sum. So:

- the urn's rows have the real size and shape (receipt, round, commune, a payload of
  32·(n+1) + 128·n + 64 bytes for n projects: 1,216 bytes for 7) but random payloads: the
  rewrite moves real-sized rows, 4.7 GB nationally;
- each commune's running sums (``UrnShard``, 4 per commune) are real encryptions, under the
  round's real 1-of-1 key (the server's key generation), of the commune's true online totals
  split among its shards: C1 = R·G and C2_s = R·H_s + t_s·G with a random R per shard (made
  directly with ``urncrypto.group``, as the sum of that shard's ballots would be). The count
  decrypts them with the server's key share, with proofs, exactly as it would a real round's.

`peak_rss_mb` is the largest peak resident memory of any process of the count (the process that
plans and reduces, and each worker process, getrusage); `tree_rss_bound_mb` adds the count
process and every worker at their peaks, an upper bound for the whole at any one moment.
"""

import argparse
import base64
import datetime
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NATIONAL = {
    "votes": 6_500_000,
    "communes": 5_340,
    "projects": 36_500,
    "tables": 11_500,
    "table_share": 0.4,
}
NATIONAL_CENTRES = 10_000  # centres per 11,500 tables: most hold one table, some two
DATA_VERSION = 3  # bump when the shape of the built data changes (3: the homomorphic urn)
TARGET_SECONDS = 120
TARGET_MB = 1024
COUNCILS_PER_COMMUNE = 8
NON_VOTERS = 0.1  # residents on the census who did not vote, per voter
BATCH_COMMUNES = 100  # communes generated and copied per batch in a build worker
SEED = 6
BIG_TABLES = ["communes_resident", "voting_votingbookentry", "voting_sealedballot"]
SHARDS = 4  # UrnShard.SHARDS
BLANK, NULL = 0.01, 0.005  # shares of the tables' ballots left blank or spoilt
KEY_DIR = ROOT / "var" / "bench-urn-keys"


def log(message: str) -> None:
    print(message, flush=True)


# The database ------------------------------------------------------------------------------


def urls(national: bool) -> tuple[dict, str]:
    """The server's settings, and the bench database's URL: one for the national size, another
    for quick runs, so a quick run does not throw away the national build."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/comunas")
    db = dj_database_url.parse(url)
    name = f"{db['NAME']}_count_bench" + ("" if national else "_small")
    return db, url.rsplit("/", 1)[0] + "/" + name


def conninfo(db: dict, name: str) -> dict:
    return {
        "host": db["HOST"],
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": name,
    }


def marker_read(bench_url: str) -> dict | None:
    """The sizes the cached database was built with, or None when it is missing or unfinished."""
    try:
        with psycopg.connect(bench_url, connect_timeout=5) as conn:
            row = conn.execute("SELECT params FROM bench_marker").fetchone()
    except psycopg.Error:
        return None
    return json.loads(row[0]) if row else None


def database_recreate(db: dict, name: str) -> None:
    with psycopg.connect(**conninfo(db, "postgres"), autocommit=True) as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# The urn ---------------------------------------------------------------------------------


def payload_size(projects: int) -> int:
    """Bytes of a stored ballot of ``projects`` projects (urncrypto.Ballot.payload_bytes): C1,
    one C2 per project, a 0-or-1 proof per project, the sum proof."""
    return 32 * (projects + 1) + 128 * projects + 64


def receipt_random(rng: random.Random) -> str:
    """A receipt's shape: BLAKE2b-128 in base32 without padding, 26 characters."""
    return base64.b32encode(rng.randbytes(16)).decode().rstrip("=")


def shard_encrypt(slots: list[bytes], totals: list[int]) -> tuple[bytes, bytes]:
    """A running sum holding ``totals`` (votes per project) under the key's ``slots``:
    C1 = R·G, C2_s = R·H_s + t_s·G, with a fresh random R."""
    from urncrypto import group

    r = group.scalar_random()
    c2 = []
    for slot, t in zip(slots, totals, strict=False):
        point = group.mul(r, slot)
        if t:
            point = group.add(point, group.base_mul(group.scalar_from_int(t)))
        c2.append(point)
    return group.base_mul(r), b"".join(c2)


def check_shards() -> None:
    """A bench running sum decrypts, with the round's key share, to the totals it was made of."""
    from urncrypto import DiscreteLog, dkg, partial_decrypt, totals_decrypt
    from urncrypto.ballot import BallotContext
    from urncrypto.tally import SummedBallots

    me = dkg.commissioner_keygen(1)
    ceremony = dkg.Ceremony(1, 1, 7, (me.public(),))
    contribution, _secret = dkg.contribution_make(ceremony, me)
    share, result = dkg.key_share_combine(ceremony, me, [contribution])
    context = BallotContext(1, 1, (11, 12, 13))
    c1, c2 = shard_encrypt(list(result.key.slots), [5, 0, 9])
    summed = SummedBallots(context, c1, tuple(c2[32 * s : 32 * (s + 1)] for s in range(3)), 14)
    partial = partial_decrypt(share=share, summed=summed)
    totals = totals_decrypt(summed=summed, partials=[partial], threshold=1, dlog=DiscreteLog(64))
    if totals != {11: 5, 12: 0, 13: 9}:
        raise SystemExit(f"the bench's running sums do not decrypt to their totals: {totals}")


# The plan: who lives where and votes for what -------------------------------------------------


def spread(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """``total`` cut in parts proportional to ``weights``, the remainder handed out at random."""
    whole = sum(weights)
    parts = [int(total * w / whole) for w in weights]
    for index in rng.sample(range(len(parts)), total - sum(parts)):
        parts[index] += 1
    return parts


def plan(votes: int, communes: int, projects: int, tables: int, table_share: float) -> list[dict]:
    """Per commune: its id, voters (and how many of them at its tables), residents' first id,
    its projects' ids and weights, and its tables as (table id, centre id, number in centre)."""
    rng = random.Random(SEED)
    weights = [rng.uniform(0.3, 1.7) for _c in range(communes)]
    voters = spread(votes, weights, rng)
    # Tables where people vote: in proportion to the voters, at least one per commune when
    # there are enough; a few communes' tables share a centre: 10,000 centres for 11,500 tables.
    per_commune_tables = (
        [1 + n for n in spread(tables - communes, weights, rng)]
        if tables >= communes
        else spread(tables, weights, rng)
    )
    shared_budget = tables - round(tables * NATIONAL_CENTRES / NATIONAL["tables"])
    per_commune = [
        projects // communes + (1 if c < projects % communes else 0) for c in range(communes)
    ]
    rng.shuffle(per_commune)
    rows, resident_id, project_id, table_id, centre_id = [], 1, 1, 1, 0
    for c in range(communes):
        on_census = voters[c] + round(voters[c] * NON_VOTERS)
        ids = list(range(project_id, project_id + per_commune[c]))
        commune_tables = []
        for k in range(per_commune_tables[c]):
            if k > 0 and shared_budget > 0:  # the second table of the centre before
                shared_budget -= 1
                number = commune_tables[-1][2] + 1
            else:
                centre_id += 1
                number = 1
            commune_tables.append((table_id, centre_id, number))
            table_id += 1
        rows.append(
            {
                "id": c + 1,
                "voters": voters[c],
                "at_tables": round(voters[c] * table_share) if commune_tables else 0,
                "residents": on_census,
                "first_resident": resident_id,
                "projects": ids,
                "weights": [rng.uniform(0.2, 3.0) for _p in ids],
                "tables": commune_tables,
            }
        )
        resident_id += on_census
        project_id += per_commune[c]
    return rows


def build_part(job: dict) -> tuple[list[tuple[int, int, int]], dict]:
    """One build worker: residents, voting book, urn, running sums and tally sheets of its
    communes, streamed with COPY. Returns the expected (project, online votes, table votes) and
    totals."""
    rng = random.Random(SEED * 1000 + job["part"])
    slots = [bytes.fromhex(point) for point in job["slots"]]
    consultation = job["consultation"]
    opens = datetime.datetime.fromisoformat(job["voting_opens_at"])
    window = int((datetime.datetime.fromisoformat(job["voting_closes_at"]) - opens).total_seconds())
    born = datetime.date(1950, 1, 1)
    officer = job["officer"]
    decided_at = datetime.datetime.fromisoformat(job["voting_closes_at"]) + datetime.timedelta(
        hours=2
    )
    expected = []
    totals = dict.fromkeys(["online", "table_marks", "table_votes", "blank", "null"], 0)
    with psycopg.connect(job["conninfo"]) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers: the data is ours
        conn.execute("SET synchronous_commit = off")
        communes = job["communes"]
        for start in range(0, len(communes), BATCH_COMMUNES):
            residents, book, urn, shards, sheets = [], [], [], [], []
            for commune in communes[start : start + BATCH_COMMUNES]:
                cid = commune["id"]
                first_council = (cid - 1) * COUNCILS_PER_COMMUNE + 1
                first = commune["first_resident"]
                for rid in range(first, first + commune["residents"]):
                    residents.append(
                        (
                            rid,
                            f"V-{10_000_000 + rid}",
                            f"Persona {rid}",
                            born + datetime.timedelta(days=rid % 20_000),
                            "unverified",
                            first_council + rid % COUNCILS_PER_COMMUNE,
                        )
                    )
                online = commune["voters"] - commune["at_tables"]
                choices = rng.choices(commune["projects"], commune["weights"], k=online)
                tally = dict.fromkeys(commune["projects"], 0)
                # Each ballot went into one of the commune's running sums, drawn at random.
                position = {p: i for i, p in enumerate(commune["projects"])}
                per_shard = [[0] * len(position) for _s in range(SHARDS)]
                size = payload_size(len(position))
                for rid, project_id in zip(range(first, first + online), choices, strict=True):
                    tally[project_id] += 1
                    per_shard[rng.randrange(SHARDS)][position[project_id]] += 1
                    book.append(
                        (
                            consultation,
                            rid,
                            cid,
                            "online",
                            opens + datetime.timedelta(seconds=rng.randrange(window)),
                            None,
                            None,
                        )
                    )
                    urn.append((receipt_random(rng), consultation, cid, rng.randbytes(size)))
                for shard, totals_of_shard in enumerate(per_shard):
                    c1, c2 = shard_encrypt(slots, totals_of_shard)
                    shards.append((consultation, cid, shard, c1, c2))
                # The rest marked at the commune's tables, each table's sheet adding them up.
                tally_at_tables = dict.fromkeys(commune["projects"], 0)
                at_tables = list(range(first + online, first + commune["voters"]))
                tables = commune["tables"]
                for index, (table_id, _centre, _number) in enumerate(tables):
                    marked = at_tables[index :: len(tables)]
                    votes = dict.fromkeys(commune["projects"], 0)
                    blank = null = 0
                    for rid in marked:
                        book.append(
                            (
                                consultation,
                                rid,
                                cid,
                                "table",
                                opens + datetime.timedelta(seconds=rng.randrange(window)),
                                table_id,
                                officer,
                            )
                        )
                        draw = rng.random()
                        if draw < BLANK:
                            blank += 1
                        elif draw < BLANK + NULL:
                            null += 1
                        else:
                            choice = rng.choices(commune["projects"], commune["weights"])[0]
                            votes[choice] += 1
                    for project_id, n in votes.items():
                        tally_at_tables[project_id] += n
                    sheets.append(
                        (
                            consultation,
                            table_id,
                            "accepted",
                            Jsonb({str(project_id): n for project_id, n in votes.items()}),
                            blank,
                            null,
                            decided_at,
                        )
                    )
                    totals["table_marks"] += len(marked)
                    totals["blank"] += blank
                    totals["null"] += null
                totals["online"] += online
                totals["table_votes"] += sum(tally_at_tables.values())
                expected.extend(
                    (project_id, tally[project_id], tally_at_tables[project_id])
                    for project_id in commune["projects"]
                )
            with conn.cursor() as cursor:
                copy_rows(
                    cursor,
                    "communes_resident "
                    "(id, cedula, full_name, birth_date, verification, council_id)",
                    ["int8", "text", "text", "date", "text", "int8"],
                    residents,
                )
                copy_rows(
                    cursor,
                    "voting_votingbookentry "
                    "(consultation_id, resident_id, commune_id, channel, voted_at, table_id, "
                    "marked_by_id)",
                    ["int8", "int8", "int8", "text", "timestamptz", "int8", "int8"],
                    book,
                )
                copy_rows(
                    cursor,
                    "voting_sealedballot (receipt, consultation_id, commune_id, sealed)",
                    ["text", "int8", "int8", "bytea"],
                    urn,
                )
                copy_rows(
                    cursor,
                    "voting_urnshard (consultation_id, commune_id, shard, c1, c2)",
                    ["int8", "int8", "int2", "bytea", "bytea"],
                    shards,
                )
                # The sheets as the officers' two agreeing entries left them (accepted on their
                # own); the count reads only the sheets, so the entries and scans are left out.
                copy_rows(
                    cursor,
                    'voting_tallysheet (consultation_id, table_id, status, votes, blank, "null", '
                    "decided_at)",
                    ["int8", "int8", "text", "jsonb", "int4", "int4", "timestamptz"],
                    sheets,
                )
            conn.commit()
    return expected, totals


def copy_rows(cursor, target: str, types: list[str], rows) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def keys_and_indexes_drop(cursor) -> list[str]:
    """Drop the big tables' keys and indexes before the load; returns the statements that put
    them back. Primary keys that foreign keys point at stay (their ids only grow), and foreign
    keys stay too: the loading sessions skip their triggers."""
    restore = []
    for table in BIG_TABLES:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint c "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') AND NOT (contype = 'p' "
            "AND EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.conrelid))",
            [table],
        )
        for name, _kind, definition in cursor.fetchall():
            cursor.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
            restore.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            restore.append(definition)
    return restore


def build(db: dict, name: str, bench_url: str, sizes: dict) -> float:
    started = time.perf_counter()
    log(
        f"building {name}: {sizes['votes']:,} voters ({sizes['table_share']:.0%} at "
        f"{sizes['tables']:,} tables), {sizes['communes']:,} communes, "
        f"{sizes['projects']:,} projects"
    )
    database_recreate(db, name)
    from django.core.management import call_command
    from django.db import connections

    from accounts.models import User
    from consultations.models import Consultation
    from consultations.services import proposed_dates
    from voting import urn as sealing
    from voting.models import Urn

    call_command("migrate", verbosity=0, interactive=False)
    dates = proposed_dates(2026, 1)
    consultation = Consultation.objects.create(
        name="Consulta Popular nacional (banco de pruebas)",
        year=2026,
        quarter=1,
        phase=Consultation.Phase.COUNTING,
        funder_by_rank=["national"],
        rules_frozen_at=dates["voting_opens_at"],
        **dates,
    )
    # The server's 1-of-1 key generation, as urn_open makes it for a round without
    # commissioners: the key share goes to the bench's key folder, the public result to the urn.
    result = sealing.server_key_generation(consultation.pk, consultation.max_options)
    Urn.objects.create(
        consultation=consultation,
        public_key=result.key.fingerprint,
        key=result.to_json(),
        lot_seed=sealing.lot_seed(),
        created_at=dates["voting_opens_at"],
    )
    # Who marked the voters at every table (one officer for all: the count does not look).
    officer = User.objects.create_user(email="oficial@bench.comunas.test")
    connections.close_all()

    communes = plan(
        sizes["votes"], sizes["communes"], sizes["projects"], sizes["tables"], sizes["table_share"]
    )
    info = conninfo(db, name)
    with psycopg.connect(**info) as conn, conn.cursor() as cursor:
        conn.execute("SET session_replication_role = replica")
        parishes = [row[0] for row in cursor.execute("SELECT id FROM communes_parish ORDER BY id")]
        rng = random.Random(SEED)
        parish_of = {c["id"]: rng.choice(parishes) for c in communes}
        copy_rows(
            cursor,
            "communes_commune "
            "(id, code, name, kind, status, registered_on, bank_account, parish_id)",
            ["int8", "text", "text", "text", "text", "date", "text", "int8"],
            (
                (
                    c["id"],
                    f"B-{c['id']:05d}",
                    f"Comuna {c['id']}",
                    "commune",
                    "active",
                    datetime.date(2015, 1, 1),
                    "",
                    parish_of[c["id"]],
                )
                for c in communes
            ),
        )
        centres = {  # centre id → the parish of the (first) commune voting there
            centre: parish_of[c["id"]] for c in communes for _table, centre, _n in c["tables"]
        }
        copy_rows(
            cursor,
            "voting_votingcentre (id, code, name, parish_id, address)",
            ["int8", "text", "text", "int8", "text"],
            (
                (centre, f"BV-{centre:05d}", f"Escuela {centre}", parish, "")
                for centre, parish in centres.items()
            ),
        )
        copy_rows(
            cursor,
            "voting_votingtable (id, code, centre_id, number, commune_id)",
            ["int8", "text", "int8", "int2", "int8"],
            (
                (table, f"BV-{centre:05d}-{number}", centre, number, c["id"])
                for c in communes
                for table, centre, number in c["tables"]
            ),
        )
        copy_rows(
            cursor,
            "communes_communalcouncil (id, code, name, families, kind, commune_id)",
            ["int8", "text", "text", "int4", "text", "int8"],
            (
                (
                    (c["id"] - 1) * COUNCILS_PER_COMMUNE + k + 1,
                    f"BC-{c['id']:05d}-{k}",
                    f"Consejo Comunal {k + 1}",
                    200,
                    "urban",
                    c["id"],
                )
                for c in communes
                for k in range(COUNCILS_PER_COMMUNE)
            ),
        )
        copy_rows(
            cursor,
            "consultations_project (id, title, status, commune_id, consultation_id, category, "
            "decision_note, description, place, version)",
            ["int8", "text", "text", "int8", "int8", "text", "text", "text", "text", "int4"],
            (
                (
                    p,
                    f"Proyecto {p}",
                    "approved",
                    c["id"],
                    consultation.pk,
                    "water",
                    "",
                    "Banco de pruebas",
                    "",
                    0,
                )
                for c in communes
                for p in c["projects"]
            ),
        )
        restore = keys_and_indexes_drop(cursor)
        conn.commit()
    log(
        f"  registry and round ready ({time.perf_counter() - started:.1f} s); "
        f"generating and copying the ballots"
    )

    job = {
        "conninfo": make_conninfo(**{k: str(v) for k, v in info.items() if v}),
        "consultation": consultation.pk,
        "slots": [point.hex() for point in result.key.slots],
        "voting_opens_at": dates["voting_opens_at"].isoformat(),
        "voting_closes_at": dates["voting_closes_at"].isoformat(),
        "officer": officer.pk,
    }
    parts = max(1, os.cpu_count() or 1)
    jobs = [{**job, "part": part, "communes": communes[part::parts]} for part in range(parts)]
    with multiprocessing.get_context("fork").Pool(parts) as workers:
        done = workers.map(build_part, jobs)
    expected = [row for rows, _totals in done for row in rows]
    totals = {key: sum(part[key] for _rows, part in done) for key in done[0][1]}
    totals["centres"] = len(centres)
    log(f"  ballots copied ({time.perf_counter() - started:.1f} s); restoring keys and indexes")

    with psycopg.connect(**info, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for statement in restore:
            conn.execute(statement)
        for table in [
            "communes_commune",
            "communes_communalcouncil",
            "consultations_project",
            "communes_resident",
            "voting_votingcentre",
            "voting_votingtable",
        ]:
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
        # The running sums as voting left them: put back before each run (the rewrite empties
        # them).
        conn.execute("CREATE TABLE bench_shards AS SELECT * FROM voting_urnshard")
        conn.execute(
            "CREATE TABLE bench_expected "
            "(project_id int8 PRIMARY KEY, online_votes int4, table_votes int4)"
        )
        with conn.cursor() as cursor:
            copy_rows(
                cursor,
                "bench_expected (project_id, online_votes, table_votes)",
                ["int8", "int4", "int4"],
                expected,
            )
        log(f"  keys restored ({time.perf_counter() - started:.1f} s); vacuum and analyse")
        # A real urn is vacuumed by autovacuum during the voting day; the count should not pay
        # for setting the freshly loaded rows' hint bits.
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
        conn.execute("CREATE TABLE bench_marker (params text)")
        conn.execute(
            "INSERT INTO bench_marker VALUES (%s)",
            [
                json.dumps(
                    {
                        **sizes,
                        "version": DATA_VERSION,
                        "consultation": consultation.pk,
                        "expected": totals,
                    }
                )
            ],
        )
    built = time.perf_counter() - started
    log(f"  built in {built:.1f} s")
    return built


# The runs ----------------------------------------------------------------------------------


def round_reset(bench_url: str, consultation_id: int) -> None:
    """The round as voting closed: its running sums back, nothing summed, decrypted or counted.
    (The urn's rows stay as the last rewrite left them: the next rewrite moves them again.)"""
    with psycopg.connect(bench_url) as conn:
        count_reset(conn, consultation_id)
        for table in ["voting_communesum", "voting_urnshard"]:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE consultation_id = %s").format(sql.Identifier(table)),
                [consultation_id],
            )
        conn.execute("INSERT INTO voting_urnshard SELECT * FROM bench_shards")
        conn.execute(
            "UPDATE voting_urn SET rewritten_at = NULL WHERE consultation_id = %s",
            [consultation_id],
        )


def count_reset(conn, consultation_id: int) -> None:
    """Nothing decrypted or counted: the ranges, the server's partial decryptions, the results."""
    for table in [
        "voting_projectresult",
        "voting_communeresult",
        "voting_count",
        "voting_countchunk",
        "voting_partialdecryption",
    ]:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE consultation_id = %s").format(sql.Identifier(table)),
            [consultation_id],
        )


def usage() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"rss_mb": round(own.ru_maxrss / 1024), "cpu_s": round(own.ru_utime + own.ru_stime, 1)}


def rewrite_child(consultation_id: int) -> None:
    """In a child process: the close-of-voting rewrite, outside any transaction (VACUUM FULL)."""
    import django

    django.setup()
    from voting import closing

    started = time.perf_counter()
    done = closing.urn_rewrite(consultation_id=consultation_id)
    print(
        json.dumps({"rewrite_s": round(time.perf_counter() - started, 2), "done": done, **usage()})
    )


def chunk_worker(consultation_id: int) -> None:
    """In a worker process: Django up, then (on "go" from the count process) every range not
    done that no other worker holds, as round_count_chunk_task does them one by one."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from voting import counting

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    done = 0
    for first_commune in counting.chunks_pending(consultation_id):
        now = timezone.now()  # a range this worker did is marked done at exactly this moment
        counting.count_chunk(consultation_id=consultation_id, first_commune=first_commune, now=now)
        done += counting.CountChunk.objects.filter(
            consultation_id=consultation_id, first_commune=first_commune, done_at=now
        ).exists()
    print(
        json.dumps({"seconds": round(time.perf_counter() - started, 2), "ranges": done, **usage()})
    )


def count_child(consultation_id: int, workers: int) -> None:
    """In the count's process: start the worker processes (as Celery workers already running
    would be), then time the count: the plan, the ranges shared by the workers, the reduce."""
    import django

    django.setup()
    from voting import counting

    pool = [
        subprocess.Popen(  # noqa: S603 -- this very script, with fixed arguments
            [sys.executable, __file__, "--chunk-worker", str(consultation_id)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _n in range(workers)
    ]
    for worker in pool:
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit("a count worker did not start")
    started = time.perf_counter()
    waiting, count = counting.count_waiting(consultation_id)
    if waiting:
        raise SystemExit(f"the count waits: {count.problems if count else 'locked'}")
    ranges = counting.count_plan(consultation_id=consultation_id)
    planned = time.perf_counter()
    for worker in pool:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = [json.loads(worker.communicate()[0].strip().splitlines()[-1]) for worker in pool]
    chunked = time.perf_counter()
    count = counting.count_reduce(consultation_id=consultation_id)
    ended = time.perf_counter()
    print(
        json.dumps(
            {
                "workers": workers,
                "ranges": len(ranges),
                "count_s": round(ended - started, 2),
                "plan_s": round(planned - started, 2),
                "ranges_s": round(chunked - planned, 2),
                "reduce_s": round(ended - chunked, 2),
                "status": count.status if count else None,
                "ballots": count.ballots if count else 0,
                "parent": usage(),
                "per_worker": reports,
            }
        )
    )


def child_run(bench_url: str, *args: str) -> dict:
    env = {**os.environ, "DATABASE_URL": bench_url}
    child = subprocess.run(  # noqa: S603 -- this very script, with fixed arguments
        [sys.executable, __file__, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def results_check(bench_url: str, consultation_id: int) -> dict:
    with psycopg.connect(bench_url) as conn:
        communes, disagreeing, table_marks, sheet_ballots, blank, null, pending = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT (voting_book = urn AND urn = counted)), "
            'sum(table_marks), sum(sheet_ballots), sum(blank), sum("null"), sum(pending_sheets) '
            "FROM voting_communeresult WHERE consultation_id = %s",
            [consultation_id],
        ).fetchone()
        mismatched = conn.execute(
            "SELECT count(*) FROM bench_expected e FULL JOIN (SELECT project_id, online_votes, "
            "table_votes, votes FROM voting_projectresult WHERE consultation_id = %s) r "
            "USING (project_id) WHERE e.online_votes IS DISTINCT FROM r.online_votes "
            "OR e.table_votes IS DISTINCT FROM r.table_votes "
            "OR r.votes IS DISTINCT FROM r.online_votes + r.table_votes",
            [consultation_id],
        ).fetchone()[0]
        votes, online, at_tables, winners = conn.execute(
            "SELECT sum(votes), sum(online_votes), sum(table_votes), "
            "count(*) FILTER (WHERE is_winner) FROM voting_projectresult "
            "WHERE consultation_id = %s",
            [consultation_id],
        ).fetchone()
    return {
        "result_communes": communes,
        "communes_disagreeing": disagreeing,
        "projects_mismatched": mismatched,
        "votes_counted": int(votes or 0),
        "online_votes": int(online or 0),
        "table_votes": int(at_tables or 0),
        "table_marks": int(table_marks or 0),
        "sheet_ballots": int(sheet_ballots or 0),
        "blank": int(blank or 0),
        "null": int(null or 0),
        "pending_sheets": int(pending or 0),
        "winners": winners,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=NATIONAL["votes"])
    parser.add_argument("--communes", type=int, default=NATIONAL["communes"])
    parser.add_argument("--projects", type=int, help="default: the national ratio per commune")
    parser.add_argument("--tables", type=int, help="default: the national ratio per commune")
    parser.add_argument(
        "--table-share",
        type=float,
        default=NATIONAL["table_share"],
        help="share of the voters who vote at a table (default: %(default)s)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the data even if cached")
    parser.add_argument("--count-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--chunk-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rewrite-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Run bare, the settings want a key; this scratch database holds no one's data.
    os.environ.setdefault("SECRET_KEY", "bench-only-scratch-database")
    # URN_KEY_DIR and DATABASE_URL come from the parent.
    if args.count_child is not None:
        count_child(args.count_child, args.workers)
        return 0
    if args.chunk_worker is not None:
        chunk_worker(args.chunk_worker)
        return 0
    if args.rewrite_child is not None:
        rewrite_child(args.rewrite_child)
        return 0

    projects = args.projects or round(args.communes * NATIONAL["projects"] / NATIONAL["communes"])
    if projects < 2 * args.communes:
        parser.error("every commune needs at least two projects on its ballot")
    if projects > 7 * args.communes:
        parser.error("a ballot holds at most 7 projects: give fewer projects or more communes")
    tables = (
        args.tables
        if args.tables is not None
        else round(args.communes * NATIONAL["tables"] / NATIONAL["communes"])
    )
    if not 0 <= args.table_share < 1:
        parser.error("--table-share is a fraction: 0 or more, under 1")
    sizes = {
        "votes": args.votes,
        "communes": args.communes,
        "projects": projects,
        "tables": tables,
        "table_share": args.table_share,
    }
    db, bench_url = urls(national=sizes == NATIONAL)
    name = bench_url.rsplit("/", 1)[1]
    key_dir = KEY_DIR / name  # never the demo's key folder, one per bench database
    os.environ["URN_KEY_DIR"] = str(key_dir)
    os.environ["DATABASE_URL"] = bench_url
    # Ranges of the app's size (250 communes: 22 nationally); about 20 ranges for smaller runs,
    # so that a quick run shares its ranges among the workers too.
    os.environ.setdefault(
        "COUNT_CHUNK_COMMUNES", str(max(1, min(250, -(-sizes["communes"] // 20))))
    )
    import django

    django.setup()
    check_shards()
    log("running sums check: a bench running sum decrypts to the totals it was made of: ok")

    marker = marker_read(bench_url)
    cached = (
        not args.rebuild
        and marker is not None
        and {key: marker.get(key) for key in [*sizes, "version"]}
        == {**sizes, "version": DATA_VERSION}
        and (key_dir / f"round-{marker['consultation']}.share.json").exists()
    )
    if cached:
        log(f"reusing {name} (built with the same sizes); --rebuild builds it anew")
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # the code may have moved on
        build_s = 0.0
    else:
        build_s = build(db, name, bench_url, sizes)
        marker = marker_read(bench_url)
    consultation_id = marker["consultation"]
    expected = marker["expected"]
    round_reset(bench_url, consultation_id)
    cores = os.cpu_count() or 1
    with psycopg.connect(bench_url) as conn:
        urn_bytes = conn.execute("SELECT pg_total_relation_size('voting_sealedballot')").fetchone()[
            0
        ]
    log(
        f"{sizes['votes']:,} voters: {expected['online']:,} ballots in the urn "
        f"({urn_bytes / 1e9:.2f} GB with its indexes), {sizes['communes']:,} communes' running "
        f"sums, and {expected['table_marks']:,} marks at {sizes['tables']:,} tables in "
        f"{expected['centres']:,} centres"
    )

    load_before = round(os.getloadavg()[0], 2)  # other work on the machine slows the count
    rewrite = child_run(bench_url, "--rewrite-child", str(consultation_id))
    with psycopg.connect(bench_url) as conn:
        urn_after = conn.execute("SELECT pg_total_relation_size('voting_sealedballot')").fetchone()[
            0
        ]
    log(
        f"close-of-voting rewrite: {rewrite['rewrite_s']:.1f} s (VACUUM FULL included), "
        f"{rewrite['cpu_s']:.0f} s of CPU in its process, peak {rewrite['rss_mb']} MB; the urn "
        f"{urn_bytes / 1e9:.2f} GB before, {urn_after / 1e9:.2f} GB after"
    )
    runs = []
    for workers in (1, 2):
        with psycopg.connect(bench_url) as conn:
            count_reset(conn, consultation_id)
        measured = child_run(
            bench_url, "--count-child", str(consultation_id), "--workers", str(workers)
        )
        check = results_check(bench_url, consultation_id)
        correct = results_correct(measured, check, expected, sizes)
        peak = max([measured["parent"]["rss_mb"]] + [w["rss_mb"] for w in measured["per_worker"]])
        bound = measured["parent"]["rss_mb"] + sum(w["rss_mb"] for w in measured["per_worker"])
        runs.append({**measured, "check": check, "correct": correct, "peak": peak, "bound": bound})
        log(
            f"count with {workers} worker process(es): {measured['count_s']:.1f} s (plan "
            f"{measured['plan_s']:.1f} s, {measured['ranges']} ranges "
            f"{measured['ranges_s']:.1f} s, "
            f"reduce {measured['reduce_s']:.1f} s); ranges per worker "
            f"{[w['ranges'] for w in measured['per_worker']]}, CPU per worker "
            f"{[w['cpu_s'] for w in measured['per_worker']]} s; status {measured['status']}, "
            f"{measured['ballots']:,} ballots, results as generated: {correct}; peak {peak} MB "
            f"(all processes at most {bound} MB)"
        )
    one, two = runs
    check = two["check"]
    log(
        f"tables: {check['table_marks']:,} marks, {check['sheet_ballots']:,} ballots on accepted "
        f"sheets ({check['table_votes']:,} votes, {check['blank']:,} blank, {check['null']:,} "
        f"null), {check['pending_sheets']} sheets pending; {check['winners']:,} winners"
    )
    peak = max(run["peak"] for run in runs)
    correct = all(run["correct"] for run in runs)
    slowest = max(run["count_s"] for run in runs)
    met = correct and slowest < TARGET_SECONDS and peak < TARGET_MB
    log(
        f"2 workers vs 1: {one['count_s'] / two['count_s']:.2f}x as fast (load average before: "
        f"{load_before}, {cores} cores shared with PostgreSQL)"
    )
    log(
        f"target: the count under {TARGET_SECONDS} s and {TARGET_MB} MB -> "
        f"{'met' if met else 'MISSED'}"
    )
    print(
        json.dumps(
            {
                **sizes,
                "rewrite_s": rewrite["rewrite_s"],
                "rewrite_rss_mb": rewrite["rss_mb"],
                "urn_gb": round(urn_bytes / 1e9, 2),
                "urn_after_rewrite_gb": round(urn_after / 1e9, 2),
                "count_1_worker_s": one["count_s"],
                "count_2_workers_s": two["count_s"],
                "ranges": two["ranges"],
                "reduce_s": two["reduce_s"],
                "peak_rss_mb": peak,
                "tree_rss_bound_mb": max(run["bound"] for run in runs),
                "load_before": load_before,
                "build_s": round(build_s, 1),
                "cached": cached,
                "status": two["status"],
                "ballots": two["ballots"],
                "centres": expected["centres"],
                "table_marks": check["table_marks"],
                "table_votes": check["table_votes"],
                "online_votes": check["online_votes"],
                "votes_counted": check["votes_counted"],
                "results_match": correct,
                "winners": check["winners"],
                "cores": cores,
                "target_met": met,
            }
        )
    )
    return 0 if met else 1


def results_correct(measured: dict, check: dict, expected: dict, sizes: dict) -> bool:
    return (
        measured["status"] == "done"
        and expected["online"] + expected["table_marks"] == sizes["votes"]
        and measured["ballots"] == expected["online"] == check["online_votes"]
        and check["table_votes"] == expected["table_votes"]
        and check["votes_counted"] == expected["online"] + expected["table_votes"]
        and check["table_marks"] == expected["table_marks"] == check["sheet_ballots"]
        and (check["blank"], check["null"]) == (expected["blank"], expected["null"])
        and check["pending_sheets"] == 0
        and check["projects_mismatched"] == 0
        and check["communes_disagreeing"] == 0
        and check["result_communes"] == sizes["communes"]
    )


if __name__ == "__main__":
    sys.exit(main())
