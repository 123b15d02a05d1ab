"""The verifier's core: a round's open data checks out, and every change to a stored ballot, a
partial decryption, a sum or a published total is named."""

import dataclasses
import json

import pytest

from urncrypto import group
from urncrypto.ballot import Ballot, BallotContext
from urncrypto.tally import PartialDecryption, partial_decrypt, tally
from urncrypto.verify import round_from_json, round_verify

from ..builders.urncrypto import cast, random_choices

COMMUNES = {
    41: (301, 302, 303),
    42: (311, 312, 313, 314, 315),
    43: (321, 322, 323, 324, 325, 326, 327),
}


def open_data(rnd, *, partial_indices=(1, 3), ballots_per_commune=12) -> dict:
    """A round's open data as the app will publish it."""
    communes = []
    for seed, (commune_id, projects) in enumerate(COMMUNES.items()):
        context = BallotContext.of(rnd.key.round_id, commune_id, projects)
        choices = random_choices(context, ballots_per_commune, seed=seed)
        ballots = cast(rnd.key, context, choices)
        summed = tally(context, ballots)
        partials = [partial_decrypt(share=rnd.shares[i], summed=summed) for i in partial_indices]
        communes.append(
            {
                "commune": commune_id,
                "projects": list(projects),
                "ballots": [b.to_json() for b in ballots],
                "summed": summed.to_json(),
                "partials": [p.to_json() for p in partials],
                "totals": {str(p): choices.count(p) for p in projects},
            }
        )
    return {
        "round": rnd.key.round_id,
        "public": rnd.public.to_json(),
        "key_generation": {
            "ceremony": rnd.ceremony.to_json(),
            "contributions": [c.to_json() for c in rnd.contributions],
            "disqualified": [],
        },
        "communes": communes,
    }


@pytest.fixture(scope="module")
def published(round_2_of_3):
    return open_data(round_2_of_3)


def verify(data, **options):
    public, communes, transcript = round_from_json(json.loads(json.dumps(data)))
    return round_verify(public=public, communes=communes, transcript=transcript, **options)


def _copy(data):
    return json.loads(json.dumps(data))


def kinds(report):
    return sorted({d.kind for d in report.disagreements})


def test_an_untouched_round_verifies_and_gives_the_published_totals(published):
    report = verify(published, workers=1)
    assert report.ok, [str(d) for d in report.disagreements]
    assert report.ballots == 36 and report.proofs_checked == 36 and report.sampled is None
    for commune in published["communes"]:
        assert report.totals[commune["commune"]] == {
            int(p): v for p, v in commune["totals"].items()
        }


def test_worker_processes_give_the_same_report(published):
    report = verify(published, workers=2)
    assert report.ok, [str(d) for d in report.disagreements]
    assert report.totals == verify(published, workers=1).totals


def test_a_changed_stored_ballot_is_named(published):
    data = _copy(published)
    stored = data["communes"][1]["ballots"][4]
    ballot = Ballot.from_json(stored)
    c2 = list(ballot.c2)
    c2[0] = group.add(c2[0], group.BASE)
    stored["c2"] = [group.b64(p) for p in c2]
    report = verify(data, workers=1)
    assert kinds(report) == ["ballot_proof_invalid", "ballot_receipt_mismatch", "sum_mismatch"]
    assert {d.commune for d in report.disagreements} == {42}
    assert any(d.receipt == stored["receipt"] for d in report.disagreements)


def test_a_changed_ballot_with_its_receipt_and_every_sum_redone_is_still_caught(
    round_2_of_3, published
):
    # A server that rewrites one vote and recomputes the receipt, the sum and the partial
    # decryptions consistently: only the ballot's proof can give it away.
    data = _copy(published)
    commune = data["communes"][0]
    context = BallotContext.of(round_2_of_3.key.round_id, 41, commune["projects"])
    ballots = [Ballot.from_json(b) for b in commune["ballots"]]
    c2 = list(ballots[0].c2)
    c2[0] = group.add(c2[0], group.BASE)
    ballots[0] = dataclasses.replace(ballots[0], c2=tuple(c2))
    summed = tally(context, ballots)
    commune["ballots"] = [b.to_json() for b in ballots]
    commune["summed"] = summed.to_json()
    commune["partials"] = [
        partial_decrypt(share=round_2_of_3.shares[i], summed=summed).to_json() for i in (1, 3)
    ]
    commune["totals"][str(context.projects[0])] += 1
    report = verify(data, workers=1)
    assert kinds(report) == ["ballot_proof_invalid"]
    assert report.disagreements[0].receipt == ballots[0].receipt

    # With a sample, it is caught when the sample holds it, and the report says which it held.
    class Fixed:
        def __init__(self, take_first):
            self.take_first = take_first

        def sample(self, positions, k):
            return positions[:k] if self.take_first else positions[-k:]

    caught = verify(data, workers=1, sample=5, rng=Fixed(True))
    assert kinds(caught) == ["ballot_proof_invalid"]
    assert caught.proofs_checked == 5 and ballots[0].receipt in caught.sampled
    missed = verify(data, workers=1, sample=5, rng=Fixed(False))
    assert missed.ok and ballots[0].receipt not in missed.sampled and len(missed.sampled) == 5


def test_a_ballot_moved_from_another_commune_is_named(published):
    data = _copy(published)
    data["communes"][0]["ballots"][0] = data["communes"][1]["ballots"][0]
    report = verify(data, workers=1)
    assert "ballot_wrong_commune" in kinds(report) and "sum_mismatch" in kinds(report)


def test_a_ballot_counted_twice_is_named(round_2_of_3, published):
    data = _copy(published)
    commune = data["communes"][2]
    context = BallotContext.of(round_2_of_3.key.round_id, 43, commune["projects"])
    doubled = [*commune["ballots"], commune["ballots"][3]]
    summed = tally(context, [Ballot.from_json(b) for b in doubled])
    commune["ballots"] = doubled
    commune["summed"] = summed.to_json()
    commune["partials"] = [
        partial_decrypt(share=round_2_of_3.shares[i], summed=summed).to_json() for i in (1, 3)
    ]
    chosen = Ballot.from_json(commune["ballots"][3])
    report = verify(data, workers=1)
    assert kinds(report) == ["ballot_duplicate", "total_mismatch"]
    assert report.disagreements[0].receipt == chosen.receipt


def test_a_changed_partial_decryption_is_named(published):
    data = _copy(published)
    partial = PartialDecryption.from_json(data["communes"][1]["partials"][1])
    shares = (group.add(partial.shares[0], group.BASE), *partial.shares[1:])
    data["communes"][1]["partials"][1] = dataclasses.replace(partial, shares=shares).to_json()
    report = verify(data, workers=1)
    assert kinds(report) == ["not_enough_partials", "partial_proof_invalid"]
    bad = next(d for d in report.disagreements if d.kind == "partial_proof_invalid")
    assert (bad.commune, bad.index) == (42, 3)


def test_a_changed_partial_is_named_even_when_enough_others_decrypt(round_2_of_3):
    data = open_data(round_2_of_3, partial_indices=(1, 2, 3), ballots_per_commune=3)
    partial = PartialDecryption.from_json(data["communes"][0]["partials"][0])
    shares = (group.add(partial.shares[0], group.BASE), *partial.shares[1:])
    data["communes"][0]["partials"][0] = dataclasses.replace(partial, shares=shares).to_json()
    report = verify(data, workers=1)
    assert kinds(report) == ["partial_proof_invalid"]
    assert report.totals[41] == {int(p): v for p, v in data["communes"][0]["totals"].items()}


def test_a_changed_published_total_is_named(published):
    data = _copy(published)
    totals = data["communes"][2]["totals"]
    project = next(iter(totals))
    totals[project] += 1
    report = verify(data, workers=1)
    assert kinds(report) == ["total_mismatch"]
    assert (report.disagreements[0].commune, report.disagreements[0].project) == (43, int(project))


def test_a_published_number_of_ballots_that_is_not_the_urns_is_named(published):
    data = _copy(published)
    data["communes"][0]["ballots"].pop()
    report = verify(data, workers=1)
    assert "sum_count_mismatch" in kinds(report) and "sum_mismatch" in kinds(report)


def test_a_published_key_that_the_key_generation_did_not_make_is_named(round_2_of_3, published):
    from ..builders.urncrypto import make_round

    other = make_round(commissioners=3, threshold=2, slots=7)
    data = _copy(published)
    data["key_generation"] = {
        "ceremony": other.ceremony.to_json(),
        "contributions": [c.to_json() for c in other.contributions],
        "disqualified": [],
    }
    assert kinds(verify(data, workers=1)) == ["key_mismatch"]


def test_partial_decryptions_by_strangers_or_twice_are_named(published):
    data = _copy(published)
    partials = data["communes"][0]["partials"]
    partials.append(dict(partials[0]))
    partials.append({**partials[0], "index": 9})
    report = verify(data, workers=1)
    assert kinds(report) == ["partial_duplicate", "partial_unknown_commissioner"]


def test_a_malformed_ballot_is_named_not_fatal(published):
    data = _copy(published)
    data["communes"][0]["ballots"][2] = {"receipt": "X", "c1": 5}
    report = verify(data, workers=1)
    assert "ballot_malformed" in kinds(report)


def test_a_ballot_with_a_point_off_the_curve_is_named_in_or_out_of_the_sample(published):
    data = _copy(published)
    stored = data["communes"][0]["ballots"][0]
    off_curve = bytes.fromhex("02" + "00" * 31)  # y = 2: no x on the curve
    assert not group.lib.crypto_core_ed25519_is_valid_point(off_curve)
    stored["c1"] = group.b64(off_curve)
    for sample in (None, 1):
        report = verify(data, workers=1, sample=sample, rng=_Last())
        assert "ballot_point_invalid" in kinds(report), sample


class _Last:
    def sample(self, positions, k):
        return positions[-k:]


def test_a_published_number_of_ballots_cannot_make_the_verifier_search_for_ever(
    round_2_of_3, published
):
    data = _copy(published)
    commune = data["communes"][0]
    context = BallotContext.of(round_2_of_3.key.round_id, 41, commune["projects"])
    summed = tally(context, [Ballot.from_json(b) for b in commune["ballots"]])
    inflated = dataclasses.replace(summed, ballots=10**15)
    commune["summed"] = inflated.to_json()
    commune["partials"] = [
        partial_decrypt(share=round_2_of_3.shares[i], summed=inflated).to_json() for i in (1, 3)
    ]
    report = verify(data, workers=1)
    assert kinds(report) == ["sum_count_mismatch"]
    assert report.totals[41] == {int(p): v for p, v in commune["totals"].items()}
