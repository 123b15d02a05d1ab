"""The demo's rounds: one published with counted results, one in voting for the demo accounts."""

import io

from django.core.management import call_command

from accounts.models import User
from consultations.models import Consultation, PhaseTransition
from voting.models import CommuneResult, ProjectResult, SealedBallot, VotingBookEntry
from voting.services import ballot, vote_cast


def _sizes():
    return [
        model.objects.count()
        for model in (Consultation, PhaseTransition, User, VotingBookEntry, SealedBallot)
    ]


def test_seed_demo_publishes_last_quarter_with_results_and_the_demo_residents_can_vote_now(db):
    call_command("seed_demo", stdout=io.StringIO())
    sizes = _sizes()
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    assert _sizes() == sizes  # running it again duplicates nothing

    past = Consultation.objects.get(phase="published")
    assert list(past.transitions.order_by("at").values_list("to_phase", flat=True)) == [
        "scheduled",
        "assemblies",
        "validation",
        "voting",
        "counting",
        "published",
    ]
    count = past.count
    book = VotingBookEntry.objects.filter(consultation=past).count()
    assert count.status == "done" and not count.problems and count.ballots == book > 300
    assert SealedBallot.objects.filter(consultation=past).count() == book
    results = list(CommuneResult.objects.filter(consultation=past))
    assert len(results) == 60 and all(result.totals_agree for result in results)
    assert sum(result.votes for result in results) == book
    with_votes = sum(1 for result in results if result.votes)
    assert ProjectResult.objects.filter(consultation=past, is_winner=True).count() == with_votes
    assert with_votes >= 55

    current = Consultation.objects.get(phase="voting")
    assert VotingBookEntry.objects.filter(consultation=current).exists()
    printed = output.getvalue()
    for account in ("residente", "vocera"):
        email = f"{account}@demo.comunas.test"
        assert email in printed
        user = User.objects.get(email=email)
        choice = ballot(consultation=current, commune_id=user.resident.council.commune_id)[0]
        receipt = vote_cast(consultation=current, user=user, project_id=choice.pk)
        assert SealedBallot.objects.filter(receipt=receipt, consultation=current).exists()
