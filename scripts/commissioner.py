#!/usr/bin/env python3
"""An electoral commissioner's tool, run on their own machine: Python 3.12+ and PyNaCl only.

Copy this file and the ``urncrypto`` folder beside its parent (or set PYTHONPATH to the folder
holding ``urncrypto``). Every file it writes with a secret in it is created with mode 0600 and
never overwritten. Each step reads JSON downloaded from the app and writes JSON to upload.

  1. keygen      make your key pair; upload the .public.json, keep the .secret.json
  2. contribute  from the ceremony the app publishes (everyone's public keys): your part of the
                 round's key, to upload; your polynomials stay in a secret file until the end
  3. combine     from everyone's contributions: check what each sent you and make your key share
                 (a secret file); prints the key's fingerprint to compare with the others'
     complain    if combine named a dealer whose share was wrong: a signed complaint to upload
     answer      if someone complained about you: reveal their share, signed, to upload
  4. decrypt     from the summed encryptions the app publishes after voting: your partial
                 decryptions with proofs, to upload. Each commune's sum is decrypted once: asked
                 again with a different sum (which could isolate a few ballots), it refuses.
                 With --ballots, it first re-adds the published ballots and refuses any sum
                 that is not theirs.

Exit status: 0 done, 2 refused (the message says why), 1 usage error.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from urncrypto import dkg, group
from urncrypto.ballot import Ballot, BallotContext
from urncrypto.errors import UrnCryptoError
from urncrypto.tally import KeyShare, SummedBallots, Tally, partial_decrypt


class Refused(Exception):
    """A refusal to print and exit 2 on."""


def read_json(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as error:
        raise Refused(f"{path}: no such file.") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise Refused(f"{path}: not a JSON file ({error}).") from error


def write_json(path: str | None, data, *, secret: bool = False) -> None:
    """Write JSON to ``path`` (stdout when None); a secret file is created 0600, never replaced."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if path is None:
        sys.stdout.write(text)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        descriptor = os.open(path, flags, 0o600 if secret else 0o644)
    except FileExistsError as error:
        raise Refused(
            f"{path} already exists: move it away first (it is never overwritten)."
        ) from error
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600 if secret else 0o644)


def load_secret(path: str) -> dkg.CommissionerSecret:
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0
    if mode & 0o077:
        raise Refused(f"{path} can be read by others (mode {mode:o}): chmod 600 it first.")
    return dkg.CommissionerSecret.from_json(read_json(path))


def contributions_of(data) -> list:
    if isinstance(data, dict):
        data = data.get("contributions")
    if not isinstance(data, list):
        raise Refused("The contributions file holds no list of contributions.")
    return [dkg.Contribution.from_json(c) for c in data]


def log(message: str) -> None:
    print(message, file=sys.stderr)


# Steps -------------------------------------------------------------------------------------


def keygen(args) -> None:
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = dkg.commissioner_keygen(args.index)
    secret_path = folder / f"commissioner-{args.index}.secret.json"
    public_path = folder / f"commissioner-{args.index}.public.json"
    write_json(str(secret_path), secret.to_json(), secret=True)
    write_json(str(public_path), secret.public().to_json())
    log(f"Your secret keys: {secret_path} (keep it; nobody else may read it).")
    log(f"Upload {public_path} to the app.")


def contribute(args) -> None:
    ceremony = dkg.Ceremony.from_json(read_json(args.ceremony))
    me = load_secret(args.secret)
    contribution, dealer_secret = dkg.contribution_make(ceremony, me)
    keep = args.dealer_secret or f"round-{ceremony.round_id}-dealer-{me.index}.secret.json"
    write_json(keep, dealer_secret.to_json(), secret=True)
    write_json(args.out, contribution.to_json())
    log(
        f"Ceremony {group.b64(ceremony.digest)}: round {ceremony.round_id}, "
        f"{ceremony.threshold} of {len(ceremony.commissioners)}."
    )
    log("Check with the other commissioners that you all see this same ceremony code.")
    log(f"Keep {keep} until the key is made: you need it to answer a complaint.")


def combine(args) -> None:
    ceremony = dkg.Ceremony.from_json(read_json(args.ceremony))
    me = load_secret(args.secret)
    contributions = contributions_of(read_json(args.contributions))
    revealed = {}
    for path in args.revealed or []:
        answer = dkg.ComplaintAnswer.from_json(read_json(path))
        if answer.accuser != me.index:
            raise Refused(f"{path} answers another commissioner's complaint.")
        revealed[answer.dealer] = answer.values
    try:
        disqualified = [int(i) for i in args.disqualified.split(",")] if args.disqualified else []
    except ValueError as error:
        raise Refused("--disqualified takes commissioners' numbers, e.g. 2,5") from error
    share, public = dkg.key_share_combine(
        ceremony, me, contributions, disqualified=disqualified, revealed=revealed
    )
    write_json(args.out, {**share.to_json(), "ceremony": group.b64(ceremony.digest)}, secret=True)
    log(f"Your key share: {args.out} (keep it; nobody else may read it).")
    log(f"The round's key fingerprint: {group.b64(public.key.fingerprint)}")
    log("Compare it with the other commissioners and with the one the app shows.")


def complain(args) -> None:
    ceremony = dkg.Ceremony.from_json(read_json(args.ceremony))
    me = load_secret(args.secret)
    write_json(args.out, dkg.complaint_make(ceremony, me, args.dealer).to_json())
    log(f"Upload the complaint against commissioner {args.dealer}.")


def answer(args) -> None:
    ceremony = dkg.Ceremony.from_json(read_json(args.ceremony))
    me = load_secret(args.secret)
    dealer_secret = dkg.DealerSecret.from_json(read_json(args.dealer_secret))
    complaint = dkg.Complaint.from_json(read_json(args.complaint))
    reply = dkg.complaint_answer(ceremony, me, dealer_secret, complaint)
    write_json(args.out, reply.to_json())
    log(f"Upload the answer: it shows commissioner {complaint.accuser}'s share in public.")


def _ballots_by_commune(data, round_id: int) -> dict[int, SummedBallots]:
    """The sum of each commune's published ballots, re-added here."""
    if not isinstance(data, dict) or not isinstance(data.get("communes"), list):
        raise Refused("The ballots file holds no list of communes.")
    sums = {}
    for item in data["communes"]:
        if not isinstance(item, dict):
            raise Refused("Each commune in the ballots file is a JSON object.")
        context = BallotContext(round_id, item.get("commune"), tuple(item.get("projects") or ()))
        summing = Tally(context)
        for stored in item.get("ballots") or []:
            summing.add(Ballot.from_json(stored))
        sums[context.commune_id] = summing.result()
    return sums


def decrypt(args) -> None:
    path = Path(args.share)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0
    if mode & 0o077:
        raise Refused(f"{path} can be read by others (mode {mode:o}): chmod 600 it first.")
    share = KeyShare.from_json(read_json(args.share))
    data = read_json(args.sums)
    if not isinstance(data, dict) or not isinstance(data.get("communes"), list):
        raise Refused("The sums file holds no list of communes.")
    if data.get("round") != share.key.round_id:
        raise Refused(
            f"The sums are of round {data.get('round')}; your share is of round "
            f"{share.key.round_id}."
        )
    sums = [SummedBallots.from_json(item) for item in data["communes"]]
    if args.ballots:
        recomputed = _ballots_by_commune(read_json(args.ballots), share.key.round_id)
        for summed in sums:
            if recomputed.get(summed.context.commune_id) != summed:
                raise UrnCryptoError(
                    "sum_mismatch",
                    f"commune {summed.context.commune_id}",
                )
    else:
        log("Warning: without --ballots the sums were not checked against the published urn.")

    log_path = Path(args.log or f"{args.share}.decrypted.json")
    done = read_json(str(log_path)) if log_path.exists() else {}
    if not isinstance(done, dict):
        raise Refused(f"{log_path} is not this tool's record of what was decrypted.")
    for summed in sums:
        before = done.get(str(summed.context.commune_id))
        if before is not None and before != group.b64(summed.digest):
            raise UrnCryptoError(
                "already_decrypted",
                f"commune {summed.context.commune_id}",
            )
    partials = [partial_decrypt(share=share, summed=summed) for summed in sums]
    for summed in sums:
        done[str(summed.context.commune_id)] = group.b64(summed.digest)
    temporary = log_path.with_name(log_path.name + ".new")
    temporary.unlink(missing_ok=True)
    write_json(str(temporary), done, secret=True)
    os.replace(temporary, log_path)
    write_json(
        args.out,
        {
            "round": share.key.round_id,
            "index": share.index,
            "partials": [p.to_json() for p in partials],
        },
    )
    log(f"{len(partials)} communes decrypted by commissioner {share.index}; upload {args.out}.")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = main.add_subparsers(dest="step", required=True)

    step = steps.add_parser("keygen", help="make your key pair")
    step.add_argument("--index", type=int, required=True, help="your number, given by the app")
    step.add_argument("--out", default=".", help="folder to write both files in")
    step.set_defaults(run=keygen)

    step = steps.add_parser("contribute", help="make your part of the round's key")
    step.add_argument("--ceremony", required=True)
    step.add_argument("--secret", required=True, help="your .secret.json")
    step.add_argument("--dealer-secret", help="where to keep your polynomials (secret)")
    step.add_argument("--out", help="the contribution to upload (default: print it)")
    step.set_defaults(run=contribute)

    step = steps.add_parser("combine", help="check what you received and make your key share")
    step.add_argument("--ceremony", required=True)
    step.add_argument("--secret", required=True)
    step.add_argument("--contributions", required=True, help="everyone's contributions")
    step.add_argument("--disqualified", help="dealers the app disqualified, e.g. 2,5")
    step.add_argument("--revealed", action="append", help="an answer to your complaint")
    step.add_argument("--out", required=True, help="your key share (secret)")
    step.set_defaults(run=combine)

    step = steps.add_parser("complain", help="complain about a dealer's share")
    step.add_argument("--ceremony", required=True)
    step.add_argument("--secret", required=True)
    step.add_argument("--dealer", type=int, required=True)
    step.add_argument("--out")
    step.set_defaults(run=complain)

    step = steps.add_parser("answer", help="answer a complaint about your share")
    step.add_argument("--ceremony", required=True)
    step.add_argument("--secret", required=True)
    step.add_argument("--dealer-secret", required=True)
    step.add_argument("--complaint", required=True)
    step.add_argument("--out")
    step.set_defaults(run=answer)

    step = steps.add_parser("decrypt", help="your partial decryptions of the summed ballots")
    step.add_argument("--share", required=True, help="your key share")
    step.add_argument("--sums", required=True, help="the summed encryptions, downloaded")
    step.add_argument("--ballots", help="the published ballots, to check the sums against")
    step.add_argument("--log", help="what was decrypted before (default: beside the share)")
    step.add_argument("--out", help="the partial decryptions to upload (default: print them)")
    step.set_defaults(run=decrypt)
    return main


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except Refused as error:
        log(f"Refused: {error}")
        return 2
    except UrnCryptoError as error:
        where = ", ".join(f"{k} {v}" for k, v in error.context.items())
        log(f"Refused: {error}" + (f" [{where}]" if where else "") + f" (code: {error.code})")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
