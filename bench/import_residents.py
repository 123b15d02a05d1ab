"""Benchmark: import a census of 100,000 residents, then the same file again.

Target (issue: foundation): under a minute for 100,000 residents on this machine.
Runs against a scratch PostgreSQL database (DATABASE_URL's server, database `<name>_bench`),
which it empties first. Prints its figures; the last line is one JSON object.

    make bench-import           # or: DATABASE_URL=... python bench/import_residents.py [ROWS]
"""

import datetime
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import dj_database_url
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
TARGET_SECONDS = 60


def scratch_database() -> None:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/comunas")
    db = dj_database_url.parse(url)
    name = f"{db['NAME']}_bench"
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name


def main() -> int:
    scratch_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from communes.models import CommunalCouncil, Commune, Parish, Resident

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    parishes = list(Parish.objects.all())
    communes = Commune.objects.bulk_create(
        Commune(
            code=f"B-{n:05d}",
            name=f"Comuna {n}",
            parish=rng.choice(parishes),
            registered_on=datetime.date(2020, 1, 1),
        )
        for n in range(500)
    )
    councils = CommunalCouncil.objects.bulk_create(
        CommunalCouncil(commune=commune, code=f"BC-{commune.code}-{k}", name="CC", families=200)
        for commune in communes
        for k in range(8)
    )
    cedulas = rng.sample(range(1_000_000, 40_000_000), ROWS)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
        handle.write("cedula,full_name,birth_date,council_code\n")
        for number in cedulas:
            birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randint(0, 30_000))
            handle.write(f"V-{number},Persona {number},{birth},{rng.choice(councils).code}\n")
        path = handle.name

    timings = {}
    for run in ("first", "rerun"):
        started = time.perf_counter()
        call_command("import_residents", path, "--no-progress", stdout=open(os.devnull, "w"))  # noqa: SIM115
        timings[run] = time.perf_counter() - started
    os.unlink(path)
    count = Resident.objects.count()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"residents imported: {count:,}")
    print(f"first import: {timings['first']:.1f} s ({ROWS / timings['first']:,.0f} rows/s)")
    print(f"rerun (nothing changes): {timings['rerun']:.1f} s")
    print(f"peak memory of the process: {peak_mb:.0f} MB")
    met = timings["first"] < TARGET_SECONDS and count == ROWS
    print(f"target: under {TARGET_SECONDS} s -> {'met' if met else 'MISSED'}")
    print(
        json.dumps(
            {
                "rows": ROWS,
                "imported": count,
                "first_s": round(timings["first"], 2),
                "rerun_s": round(timings["rerun"], 2),
                "peak_mb": round(peak_mb),
                "target_met": met,
            }
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
