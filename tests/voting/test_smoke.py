from voting import counting, services

from .conftest import DURING_VOTING, close_voting, make_voter


def test_vote_and_count(voting_round, council_a, settings):
    projects = list(voting_round.projects.filter(commune=council_a.commune).order_by("pk"))
    for n in range(5):
        user = make_voter(council_a, n)
        services.vote_cast(
            consultation=voting_round, user=user, project_id=projects[n % 2].pk, now=DURING_VOTING
        )
    close_voting(voting_round)
    count = counting.consultation_count(consultation_id=voting_round.pk)
    assert count.status == "done", count.problems
    print(list(voting_round.project_results.values("project__title", "votes", "rank", "is_winner")))
