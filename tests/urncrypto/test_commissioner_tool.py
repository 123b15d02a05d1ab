"""scripts/commissioner.py, as commissioners run it on their own machines: the key made among
three of them (2 of 3), then two of them decrypting a commune's totals."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from urncrypto import dkg
from urncrypto.ballot import BallotContext
from urncrypto.tally import PartialDecryption, partial_verify, tally, totals_decrypt

from ..builders.urncrypto import cast

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "scripts" / "commissioner.py"
CONTEXT_PROJECTS = (301, 302, 303)


def run(*args, cwd, expect=0):
    # Nothing of the app's environment: the tool must work with Python and PyNaCl alone.
    done = subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
        check=False,
    )
    assert done.returncode == expect, done.stderr
    assert "Traceback" not in done.stderr
    return done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def ceremony_done(tmp_path_factory):
    """Three commissioners, each in their own folder, make a 2-of-3 key through the tool."""
    server = tmp_path_factory.mktemp("server")
    homes = {i: tmp_path_factory.mktemp(f"commissioner-{i}") for i in (1, 2, 3)}
    for i, home in homes.items():
        run("keygen", "--index", i, "--out", ".", cwd=home)
    publics = [
        dkg.CommissionerKey.from_json(
            json.loads((home / f"commissioner-{i}.public.json").read_text())
        )
        for i, home in homes.items()
    ]
    ceremony = dkg.Ceremony(12, 2, 3, tuple(publics))  # what the server publishes
    (server / "ceremony.json").write_text(json.dumps(ceremony.to_json()))
    contributions = []
    for i, home in homes.items():
        run(
            "contribute",
            "--ceremony",
            server / "ceremony.json",
            "--secret",
            f"commissioner-{i}.secret.json",
            "--out",
            "contribution.json",
            cwd=home,
        )
        contributions.append(json.loads((home / "contribution.json").read_text()))
    (server / "contributions.json").write_text(json.dumps({"contributions": contributions}))
    for i, home in homes.items():
        done = run(
            "combine",
            "--ceremony",
            server / "ceremony.json",
            "--secret",
            f"commissioner-{i}.secret.json",
            "--contributions",
            server / "contributions.json",
            "--out",
            "share.json",
            cwd=home,
        )
        assert "fingerprint" in done.stderr
    public = dkg.public_result(ceremony, [dkg.Contribution.from_json(c) for c in contributions])
    return server, homes, ceremony, public


def test_every_secret_file_is_readable_by_its_owner_only(ceremony_done):
    _server, homes, _ceremony, _public = ceremony_done
    for i, home in homes.items():
        assert mode(home / f"commissioner-{i}.secret.json") == 0o600
        assert mode(home / f"round-12-dealer-{i}.secret.json") == 0o600
        assert mode(home / "share.json") == 0o600
        assert mode(home / f"commissioner-{i}.public.json") == 0o644


def test_two_commissioners_decrypt_the_totals_with_the_tool(ceremony_done):
    server, homes, _ceremony, public = ceremony_done
    context = BallotContext.of(12, 41, CONTEXT_PROJECTS)
    choices = [301, 303, 303, 302, 303]
    ballots = cast(public.key, context, choices)
    summed = tally(context, ballots)
    (server / "sums.json").write_text(json.dumps({"round": 12, "communes": [summed.to_json()]}))
    (server / "ballots.json").write_text(
        json.dumps(
            {
                "communes": [
                    {
                        "commune": 41,
                        "projects": list(CONTEXT_PROJECTS),
                        "ballots": [b.to_json() for b in ballots],
                    }
                ]
            }
        )
    )
    partials = []
    for i in (1, 3):
        run(
            "decrypt",
            "--share",
            "share.json",
            "--sums",
            server / "sums.json",
            "--ballots",
            server / "ballots.json",
            "--out",
            "partials.json",
            cwd=homes[i],
        )
        output = json.loads((homes[i] / "partials.json").read_text())
        partial = PartialDecryption.from_json(output["partials"][0])
        partial_verify(
            key=public.key,
            verification_key=public.verification_keys[i],
            summed=summed,
            partial=partial,
        )
        partials.append(partial)
    assert totals_decrypt(summed=summed, partials=partials, threshold=2) == {
        301: 1,
        302: 1,
        303: 3,
    }

    # Asked again for the same commune with another sum (one ballot fewer: the difference would
    # be one voter's ballot), the tool refuses.
    smaller = tally(context, ballots[:-1])
    (server / "smaller.json").write_text(json.dumps({"round": 12, "communes": [smaller.to_json()]}))
    done = run(
        "decrypt",
        "--share",
        "share.json",
        "--sums",
        server / "smaller.json",
        "--out",
        "again.json",
        cwd=homes[1],
        expect=2,
    )
    assert "already_decrypted" in done.stderr and "commune 41" in done.stderr
    assert not (homes[1] / "again.json").exists()
    # The same sum again is fine (an upload that failed, say).
    run(
        "decrypt",
        "--share",
        "share.json",
        "--sums",
        server / "sums.json",
        "--out",
        "again.json",
        cwd=homes[1],
    )


def test_sums_that_are_not_the_published_ballots_are_refused(ceremony_done):
    server, homes, _ceremony, public = ceremony_done
    context = BallotContext.of(12, 77, CONTEXT_PROJECTS)
    ballots = cast(public.key, context, [301, 302])
    one_only = tally(context, ballots[:1])  # a server asking to decrypt a single ballot
    (server / "one.json").write_text(json.dumps({"round": 12, "communes": [one_only.to_json()]}))
    (server / "urn77.json").write_text(
        json.dumps(
            {
                "communes": [
                    {
                        "commune": 77,
                        "projects": list(CONTEXT_PROJECTS),
                        "ballots": [b.to_json() for b in ballots],
                    }
                ]
            }
        )
    )
    done = run(
        "decrypt",
        "--share",
        "share.json",
        "--sums",
        server / "one.json",
        "--ballots",
        server / "urn77.json",
        "--out",
        "p77.json",
        cwd=homes[2],
        expect=2,
    )
    assert "sum_mismatch" in done.stderr
    assert not (homes[2] / "p77.json").exists()


def test_a_share_swapped_on_the_way_is_refused_naming_the_dealer_and_a_complaint_answered(
    ceremony_done, tmp_path
):
    server, homes, ceremony, _public = ceremony_done
    data = json.loads((server / "contributions.json").read_text())
    # Commissioner 1's box for commissioner 2 replaced by the one for commissioner 3: with the
    # signature intact, the relay is caught; the tool names the dealer.
    data["contributions"][0]["shares"]["2"] = data["contributions"][0]["shares"]["3"]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    done = run(
        "combine",
        "--ceremony",
        server / "ceremony.json",
        "--secret",
        "commissioner-2.secret.json",
        "--contributions",
        tmp_path / "bad.json",
        "--out",
        tmp_path / "share2.json",
        cwd=homes[2],
        expect=2,
    )
    assert "signature_invalid" in done.stderr and "dealer 1" in done.stderr
    assert not (tmp_path / "share2.json").exists()
    run(
        "complain",
        "--ceremony",
        server / "ceremony.json",
        "--secret",
        "commissioner-2.secret.json",
        "--dealer",
        1,
        "--out",
        tmp_path / "complaint.json",
        cwd=homes[2],
    )
    run(
        "answer",
        "--ceremony",
        server / "ceremony.json",
        "--secret",
        "commissioner-1.secret.json",
        "--dealer-secret",
        "round-12-dealer-1.secret.json",
        "--complaint",
        tmp_path / "complaint.json",
        "--out",
        tmp_path / "answer.json",
        cwd=homes[1],
    )
    answer = dkg.ComplaintAnswer.from_json(json.loads((tmp_path / "answer.json").read_text()))
    complaint = dkg.Complaint.from_json(json.loads((tmp_path / "complaint.json").read_text()))
    original = dkg.Contribution.from_json(
        json.loads((server / "contributions.json").read_text())["contributions"][0]
    )
    assert dkg.complaint_judge(ceremony, original, complaint, answer) == "accuser"


def test_refusals_are_clear_and_change_nothing(ceremony_done, tmp_path):
    server, homes, _ceremony, _public = ceremony_done
    home = homes[3]
    # An output file is never overwritten.
    done = run("keygen", "--index", 3, "--out", ".", cwd=home, expect=2)
    assert "already exists" in done.stderr
    # A secret others can read is refused.
    loose = tmp_path / "loose.secret.json"
    loose.write_text((home / "commissioner-3.secret.json").read_text())
    loose.chmod(0o644)
    done = run(
        "contribute",
        "--ceremony",
        server / "ceremony.json",
        "--secret",
        loose,
        cwd=tmp_path,
        expect=2,
    )
    assert "chmod 600" in done.stderr
    # Malformed and missing files.
    (tmp_path / "junk.json").write_text("{not json")
    done = run(
        "decrypt",
        "--share",
        home / "share.json",
        "--sums",
        tmp_path / "junk.json",
        cwd=tmp_path,
        expect=2,
    )
    assert "not a JSON file" in done.stderr
    (tmp_path / "sums-other-round.json").write_text(json.dumps({"round": 13, "communes": []}))
    done = run(
        "decrypt",
        "--share",
        home / "share.json",
        "--sums",
        tmp_path / "sums-other-round.json",
        cwd=tmp_path,
        expect=2,
    )
    assert "round 13" in done.stderr
    (tmp_path / "bad-ceremony.json").write_text(json.dumps({"round": 12}))
    done = run(
        "contribute",
        "--ceremony",
        tmp_path / "bad-ceremony.json",
        "--secret",
        home / "commissioner-3.secret.json",
        cwd=tmp_path,
        expect=2,
    )
    assert "code: malformed" in done.stderr
