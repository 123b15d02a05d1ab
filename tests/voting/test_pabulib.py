"""The pabulib open data: loaded with pabutools, as researchers do, it gives the site's winners
under both counting rules; its votes are anonymous lines in project order."""

import io
import zipfile

from django.urls import reverse
from pabutools.election import Cost_Sat
from pabutools.election.pabulib import parse_pabulib_from_string
from pabutools.rules import greedy_utilitarian_welfare
from pabutools.tiebreaking import TieBreakingRule

from voting.models import ProjectResult


def pb(client, consultation, commune):
    response = client.get(
        reverse("voting:results-pabulib-commune", args=[consultation.pk, commune.code])
    )
    assert response.status_code == 200
    return response.content.decode()


def the_tie_break(instance):
    """The site's tie-break, from the file's own columns: the assembly's priority, then lot."""
    meta = instance.project_meta

    def key(_instance, _profile, project):
        lot = meta[project]["lot"]
        if instance.meta["tie_break"] == "lot":
            return (0, lot)
        priority = meta[project].get("priority")  # "none" is left out by the parser
        return (int(priority) if priority else 10_000, lot)

    return key


def winners_by_pabutools(text: str) -> set[int]:
    instance, profile = parse_pabulib_from_string(text)
    scores = {project: profile.approval_score(project) for project in instance}
    tie_break = the_tie_break(instance)
    if instance.meta["rule"] == "greedy":
        chosen = greedy_utilitarian_welfare(
            instance, profile, sat_class=Cost_Sat, tie_breaking=TieBreakingRule(tie_break)
        )
    else:  # top N: the N most approved
        ranked = sorted(instance, key=lambda p: (-scores[p], tie_break(instance, profile, p)))
        chosen = ranked[: int(instance.meta["winners_per_commune"])]
    # A project nobody voted for never wins by the counting rule.
    return {int(project.name) for project in chosen if scores[project] > 0}


def site_winners(consultation, commune) -> set[int]:
    return set(
        ProjectResult.objects.filter(
            consultation=consultation, commune=commune, is_winner=True, award=""
        ).values_list("project_id", flat=True)
    )


def test_pabutools_finds_the_sites_winners_under_the_greedy_rule(
    client,
    greedy_published,
    commune_a,
):
    text = pb(client, greedy_published, commune_a)
    assert "rule;greedy" in text and "budget;10000.00" in text
    winners = winners_by_pabutools(text)
    assert winners == site_winners(greedy_published, commune_a)
    assert len(winners) == 2  # Agua potable and Alumbrado; Cancha no longer fitted


def test_pabutools_finds_the_sites_winners_under_top_n(client, published, commune_a, commune_b):
    for commune in (commune_a, commune_b):  # B's winner was picked by lot from a tie
        text = pb(client, published, commune)
        assert "rule;top-n" in text
        assert winners_by_pabutools(text) == site_winners(published, commune)


def test_the_votes_are_one_anonymous_line_per_vote_in_project_order(
    client,
    published,
    commune_a,
):
    text = pb(client, published, commune_a)
    votes = text.split("VOTES\n", 1)[1].splitlines()
    assert votes[0] == "voter_id;vote"
    lines = [line.split(";") for line in votes[1:]]
    assert [int(number) for number, _vote in lines] == list(range(1, len(lines) + 1))
    chosen = [int(vote) for _number, vote in lines]
    assert chosen == sorted(chosen)  # in project order: nothing of when or who
    results = ProjectResult.objects.filter(consultation=published, commune=commune_a)
    assert {r.project_id: chosen.count(r.project_id) for r in results} == {
        r.project_id: r.votes for r in results
    }
    assert "num_votes;5" in text
    for secret in ("V-", "@", published.urn.public_key.hex()[:16]):
        assert secret not in text


def test_the_rounds_zip_holds_every_communes_file(client, published, commune_a, commune_b):
    response = client.get(reverse("voting:results-pabulib-zip", args=[published.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    assert files == {
        f"venezuela_consulta-{published.pk}_{c.code}.pb": pb(client, published, c)
        for c in (commune_a, commune_b)
    }


def test_a_commune_not_on_the_vote_has_no_file(client, published):
    url = reverse("voting:results-pabulib-commune", args=[published.pk, "COM-NADA"])
    assert client.get(url).status_code == 404
