#!/usr/bin/env python3
"""Check a published round's count from its open data: Python 3.12+ and PyNaCl only.

  verify_round.py BASE_URL ROUND_ID [--sample N] [--workers W]

Copy this file and the ``urncrypto`` folder beside its parent (or set PYTHONPATH to the folder
holding ``urncrypto``). It downloads the round's urn (BASE_URL/resultados/ROUND_ID/urna/ and
every commune's file listed there) and checks:

- the cryptography (``urncrypto.verify``): every ballot's receipt is its hash; its proofs hold
  (all ballots', or those of a random sample of N, listed); each commune's published sum is the
  sum of its ballots; every commissioner's partial decryption is proven; the online totals are
  what k of them decrypt;
- what the count did with those totals: each project's votes are its online votes plus its
  tables' accepted tally sheets; the ranking (most votes first, ties by the round's rule) and
  each project's lot (SHA-256 of "<lot seed>:<project id>"); the winners (top N, or within the
  commune's budget; a project with an award is a winner whatever its rank); the voting book's,
  the urn's and the count's numbers against the ballots published.

Every disagreement is printed on its own line (its kind, the commune, what differs), then how
many ballots were checked per second and the time taken. Exit status: 0 everything agrees,
1 disagreements (each named), 2 usage or network error.
"""

import argparse
import gzip
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urncrypto import verify
from urncrypto.ballot import BallotContext
from urncrypto.errors import UrnCryptoError

TIMEOUT_SECONDS = 300
DOWNLOADS_AT_ONCE = 4
PRIORITY_THEN_LOT = "priority_then_lot"
GREEDY_BUDGET = "greedy_budget"
# A project answering no named problem comes after those that do (the count's rule).
NO_PRIORITY = 10_000

# The checks of this tool, beside urncrypto.verify.KINDS (the cryptography's).
KINDS = {
    "file_unreadable": "A commune's file cannot be read.",
    "sum_missing": "A commune with ballots publishes no summed encryptions.",
    "projects_mismatch": "The projects ranked are not those of the commune's ballot.",
    "online_votes_mismatch": "A project's online votes are not its decrypted total.",
    "table_votes_mismatch": "A project's table votes are not the sum of its accepted sheets.",
    "votes_mismatch": "Published votes are not the online votes plus the table votes.",
    "lot_mismatch": "A project's lot is not SHA-256 of the lot seed and its id.",
    "rank_mismatch": "A project's rank is not its place in the recomputed ranking.",
    "tie_mismatch": "A project's tie-break flag does not match the recomputed ranking.",
    "winner_mismatch": "A project's winner flag is not what the round's rule gives.",
    "count_mismatch": "A commune's voting book, urn or count is not the ballots published.",
    "sheets_mismatch": "A commune's table totals are not the sum of its accepted sheets.",
    "commune_missing": "A commune of the published results has no file in the urn's index.",
    "commune_unknown": "The urn's index lists a commune the published results do not.",
}


class CannotVerify(Exception):
    """A usage or network error: printed, exit 2."""


@dataclass(frozen=True)
class Problem:
    kind: str
    commune: str  # the commune's registry code and id, or "-" for the round
    detail: str

    def __str__(self) -> str:
        what = KINDS.get(self.kind) or verify.KINDS.get(self.kind, "")
        return f"{self.kind}: commune {self.commune}: {what} {self.detail}".rstrip()


# Downloads --------------------------------------------------------------------------------


def fetch(url: str) -> bytes:
    # Only web addresses: an index naming a file: or ftp: address is not followed.
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise CannotVerify(f"{url}: not an http or https address")
    request = urllib.request.Request(url, headers={"User-Agent": "verify_round/1"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as error:
        hint = " (not a published round?)" if error.code == 404 else ""
        raise CannotVerify(f"{url}: HTTP {error.code}{hint}") from error
    except (urllib.error.URLError, OSError) as error:
        raise CannotVerify(f"{url}: {getattr(error, 'reason', error)}") from error


def index_fetch(base_url: str, round_id: int) -> dict:
    url = f"{base_url.rstrip('/')}/resultados/{round_id}/urna/"
    try:
        index = json.loads(fetch(url))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CannotVerify(f"{url}: not a round's urn index ({error})") from error
    fields = ("round", "public", "lot_seed", "tie_break", "counting_rule", "communes")
    if not isinstance(index, dict) or any(name not in index for name in fields):
        raise CannotVerify(f"{url}: not a round's urn index (it lacks {', '.join(fields)})")
    if index["round"] != round_id:
        raise CannotVerify(f"{url}: the index is of round {index['round']}, not {round_id}")
    communes = index["communes"]
    if not isinstance(communes, list) or not all(
        isinstance(c, dict) and {"commune", "code", "url"} <= set(c) for c in communes
    ):
        raise CannotVerify(f"{url}: each commune of the index has its commune, code and url")
    index["_url"] = url
    return index


def listed_check(base_url: str, round_id: int, index: dict) -> list[Problem]:
    """The index against the round's published results per commune (``comunas.json``): a
    commune left out of the index, or listed there with other figures, would otherwise escape
    every check."""
    url = f"{base_url.rstrip('/')}/resultados/{round_id}/comunas.json"
    try:
        published = json.loads(fetch(url))
        rows = {row["commune_code"]: row for row in published}
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError) as error:
        raise CannotVerify(f"{url}: not the round's results per commune ({error})") from error
    listed = {entry["code"] for entry in index["communes"]}
    problems = [
        Problem("commune_missing", code, f"{row['urn']} ballots in the results, no urn file")
        for code, row in sorted(rows.items())
        if code not in listed
    ]
    problems += [
        Problem("commune_unknown", code, "in the urn's index, not in the results")
        for code in sorted(listed - set(rows))
    ]
    return problems


def commune_fetch(index_url: str, entry: dict):
    """A commune's file, read; or the reason it cannot be read (a string)."""
    url = urllib.parse.urljoin(index_url, entry["url"])
    data = fetch(url)
    try:
        return json.loads(gzip.decompress(data))
    except (OSError, EOFError, zlib.error, json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"{url}: {error}"


# The cryptography's part -------------------------------------------------------------------


def round_key(index: dict):
    """The round's public result, and the key generation's transcript when there is one."""
    generation = index.get("key_generation") or None
    data = {"round": index["round"], "public": index["public"], "communes": []}
    if generation:
        data["key_generation"] = generation
    public, _none, transcript = verify.round_from_json(data)
    return public, transcript


def commune_record(round_id: int, file: dict) -> verify.CommuneRecord:
    """What urncrypto.verify checks of a commune (as round_from_json reads it)."""
    if not isinstance(file["ballots"], list) or not isinstance(file["partials"], list):
        raise ValueError("ballots and partials are lists")
    if not isinstance(file["totals"], dict) or not isinstance(file["projects"], list):
        raise ValueError("projects is a list, totals an object")
    context = BallotContext(round_id, file["commune"], tuple(file["projects"]))
    return verify.CommuneRecord(
        context.commune_id,
        context.projects,
        file["ballots"],
        file["summed"],
        file["partials"],
        file["totals"],
    )


# The count's part --------------------------------------------------------------------------


def lot_of(seed: str, project_id: int) -> str:
    return hashlib.sha256(f"{seed}:{project_id}".encode()).hexdigest()


def ranked(candidates: list[dict], tie_break: str) -> list[dict]:
    """Most votes first; ties by the assembly's priority then the lot, or by the lot alone."""
    if tie_break == PRIORITY_THEN_LOT:

        def key(c):
            priority = c["priority"] if c["priority"] is not None else NO_PRIORITY
            return (-c["votes"], priority, c["lot"])
    else:

        def key(c):
            return (-c["votes"], c["lot"])

    return sorted(candidates, key=key)


def winners(ordered: list[dict], index: dict) -> set[int]:
    """The round's rule on a ranking: the first N with votes, or walking the ranking, every
    project with votes whose cost fits what is left of the commune's budget."""
    if index["counting_rule"] == GREEDY_BUDGET:
        left, won = Decimal(index["commune_budget"]), set()
        for c in ordered:
            if c["votes"] > 0 and c["cost"] <= left:
                won.add(c["project"])
                left -= c["cost"]
        return won
    seats = index.get("winners_per_commune", 1)
    return {c["project"] for c in ordered[:seats] if c["votes"] > 0}


def count_checks(index: dict, file: dict, online: dict[int, int], where: str) -> list[Problem]:
    """The app's part of the count for one commune, redone from its file and the online totals
    (decrypted, when they could be)."""
    problems = []

    def say(kind, detail):
        problems.append(Problem(kind, where, detail))

    rows = {row["project"]: row for row in file["project_results"]}
    if file["projects"] and set(rows) != set(file["projects"]):
        say("projects_mismatch", f"ranked {sorted(rows)}, on the ballot {file['projects']}")
    sheets, blank, null, on_sheets = Counter(), 0, 0, 0
    for sheet in file["tally_sheets"]:
        for project, n in sheet["votes"].items():
            sheets[int(project)] += n
        blank += sheet["blank"]
        null += sheet["null"]
        on_sheets += sum(sheet["votes"].values()) + sheet["blank"] + sheet["null"]

    seed = index["lot_seed"]
    candidates = []
    for project, row in sorted(rows.items()):
        votes_online, votes_tables = online.get(project, 0), sheets[project]
        if row["online_votes"] != votes_online:
            say(
                "online_votes_mismatch",
                f"project {project}: published {row['online_votes']}, decrypted {votes_online}",
            )
        if row["table_votes"] != votes_tables:
            say(
                "table_votes_mismatch",
                f"project {project}: published {row['table_votes']}, sheets {votes_tables}",
            )
        if row["votes"] != votes_online + votes_tables:
            say(
                "votes_mismatch",
                f"project {project}: published {row['votes']}, "
                f"{votes_online} online + {votes_tables} at tables",
            )
        lot = lot_of(seed, project)
        if row["lot"] != lot:
            say("lot_mismatch", f"project {project}: published {row['lot']}, computed {lot}")
        candidates.append(
            {
                "project": project,
                "votes": votes_online + votes_tables,
                "priority": row["priority"],
                "lot": lot,
                "cost": Decimal(row["cost"]),
            }
        )

    ordered = ranked(candidates, index["tie_break"])
    equal = Counter(c["votes"] for c in ordered)
    for position, c in enumerate(ordered, start=1):
        row = rows[c["project"]]
        if row["rank"] != position:
            say(
                "rank_mismatch",
                f"project {c['project']}: published {row['rank']}, recomputed {position}",
            )
        if row["tie_broken"] != (equal[c["votes"]] > 1):
            say("tie_mismatch", f"project {c['project']}: published {row['tie_broken']}")
    result = file["result"]
    # No winner while a sheet of the commune is undecided or the commune's result is void.
    decided = not result["void_reason"] and not result["pending_sheets"]
    won = winners(ordered, index) if decided else set()
    for project, row in sorted(rows.items()):
        # An award makes a project a winner whatever its rank.
        expected = project in won or bool(row["award"])
        if row["is_winner"] != expected:
            why = f" (award {row['award']})" if row["award"] else ""
            say(
                "winner_mismatch",
                f"project {project}: published {row['is_winner']}, recomputed {expected}{why}",
            )

    ballots = len(file["ballots"])
    for field in ("voting_book", "urn", "counted"):
        if result[field] != ballots:
            say("count_mismatch", f"{field} {result[field]}, ballots published {ballots}")
    decrypted = sum(online.get(project, 0) for project in rows)
    if result["counted"] != decrypted:
        say("count_mismatch", f"counted {result['counted']}, online votes decrypted {decrypted}")
    table_total = sum(sheets[project] for project in rows)
    if result["votes"] != decrypted + table_total:
        say(
            "votes_mismatch",
            f"commune total {result['votes']}, {decrypted} online + {table_total} at tables",
        )
    for field, value in (("sheet_ballots", on_sheets), ("blank", blank), ("null", null)):
        if result[field] != value:
            say("sheets_mismatch", f"{field} published {result[field]}, sheets {value}")
    return problems


# The round ---------------------------------------------------------------------------------


def crypto_problem(disagreement: verify.Disagreement, names: dict) -> Problem:
    parts = []
    if disagreement.receipt:
        parts.append(f"receipt {disagreement.receipt}")
    if disagreement.index is not None:
        parts.append(f"commissioner {disagreement.index}")
    if disagreement.project is not None:
        parts.append(f"project {disagreement.project}")
    if disagreement.detail:
        parts.append(disagreement.detail)
    where = names.get(disagreement.commune, "-")
    return Problem(disagreement.kind, where, "; ".join(parts))


def miss_chance(sampled: int, ballots: int, invalid: int) -> float:
    """The chance that ``sampled`` ballots drawn at random from ``ballots`` include none of
    ``invalid`` ones: C(B - k, N) / C(B, N) = the product over i < k of (B - N - i) / (B - i),
    at most (1 - N/B)^k."""
    chance = 1.0
    for i in range(invalid):
        chance *= max(ballots - sampled - i, 0) / (ballots - i)
    return chance


def miss_chances(sampled: int, ballots: int) -> str:
    shown = [k for k in (1, 5, 10, 20, 50, 100) if k <= ballots]
    chances = ", ".join(f"{k}: {100 * miss_chance(sampled, ballots, k):.3g} %" for k in shown)
    return (
        f"A sample of {sampled} of {ballots} ballots misses every one of k invalid ballots with "
        f"probability C({ballots} - k, {sampled}) / C({ballots}, {sampled}), at most "
        f"(1 - {sampled}/{ballots})^k; for k = {chances}."
    )


def round_check(base_url: str, round_id: int, *, sample, workers, out=sys.stdout) -> int:
    started = time.monotonic()
    index = index_fetch(base_url, round_id)
    try:
        public, transcript = round_key(index)
    except (UrnCryptoError, AttributeError, TypeError, KeyError) as error:
        raise CannotVerify(f"the round's published key cannot be read: {error}") from error

    entries = index["communes"]
    with ThreadPoolExecutor(DOWNLOADS_AT_ONCE) as pool:
        files = list(pool.map(lambda entry: commune_fetch(index["_url"], entry), entries))
    downloaded = time.monotonic() - started

    names = {entry["commune"]: f"{entry['code']} (id {entry['commune']})" for entry in entries}
    problems: list[Problem] = listed_check(base_url, round_id, index)
    records, checked = [], []
    for entry, file in zip(entries, files, strict=True):
        where = names[entry["commune"]]
        if isinstance(file, str):
            problems.append(Problem("file_unreadable", where, file))
            continue
        try:
            if file["commune"] != entry["commune"]:
                raise ValueError(f"it is the file of commune {file['commune']}")
            if "summed" in file:
                records.append(commune_record(round_id, file))
            elif file["ballots"]:
                problems.append(Problem("sum_missing", where, f"{len(file['ballots'])} ballots"))
                continue
            checked.append((entry, file))
        except (UrnCryptoError, KeyError, TypeError, ValueError) as error:
            problems.append(Problem("file_unreadable", where, f"{type(error).__name__}: {error}"))

    report = verify.round_verify(
        public=public,
        communes=records,
        sample=sample,
        workers=workers,
        transcript=transcript,
    )
    problems.extend(crypto_problem(d, names) for d in report.disagreements)
    for entry, file in checked:
        where = names[entry["commune"]]
        try:
            online = report.totals.get(entry["commune"])
            if online is None and "summed" in file:
                # It did not decrypt (said above): rank by what was published.
                online = {int(p): n for p, n in file["totals"].items()}
            # No online ballot: no online vote.
            problems.extend(count_checks(index, file, online or {}, where))
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as error:
            problems.append(Problem("file_unreadable", where, f"{type(error).__name__}: {error}"))

    if report.sampled is not None:
        print(f"Proofs checked of {len(report.sampled)} ballots drawn at random:", file=out)
        for receipt in report.sampled:
            print(f"  sampled {receipt}", file=out)
        print(miss_chances(len(report.sampled), report.ballots), file=out)
    for problem in problems:
        print(problem, file=out)
    total = time.monotonic() - started
    print(
        f"Round {round_id}: {len(entries)} communes, {report.ballots} ballots, proofs of "
        f"{report.proofs_checked} checked in {report.seconds:.1f} s "
        f"({report.ballots_per_second:.0f} ballots/s); downloads {downloaded:.1f} s; "
        f"total {total:.1f} s.",
        file=out,
    )
    if problems:
        print(f"{len(problems)} disagreements: the published count does not hold.", file=out)
        return 1
    print("Everything agrees: the published count is what the urn holds.", file=out)
    return 0


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def parser() -> argparse.ArgumentParser:
    tool = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    tool.add_argument("base_url", help="the site's address, e.g. https://comunas.example.org")
    tool.add_argument("round_id", type=positive, help="the round's number (its results page's)")
    tool.add_argument(
        "--sample",
        type=positive,
        metavar="N",
        help="check the proofs of N ballots drawn at random instead of all (every ballot is "
        "still re-added and its receipt recomputed)",
    )
    tool.add_argument(
        "--workers",
        type=positive,
        metavar="W",
        default=os.cpu_count() or 1,
        help="processes checking proofs (default: one per core)",
    )
    return tool


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        print("BASE_URL must start with http:// or https://", file=sys.stderr)
        return 2
    try:
        return round_check(args.base_url, args.round_id, sample=args.sample, workers=args.workers)
    except CannotVerify as error:
        print(f"Cannot verify: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
