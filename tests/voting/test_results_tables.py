"""The public results of voting tables: every table's marks, sheet, scans and history on the
commune's page, a commune pending while a sheet is undecided, turnout from voters, open data."""

from django.core.cache import cache
from django.urls import reverse
from django.utils.html import escape

from voting import selectors, tables
from voting.models import (
    CommuneResult,
    ProjectResult,
    SheetEvent,
    TallyEntry,
    TallySheet,
    VotingCentre,
)

from ..builders import (
    by_title,
    close_response,
    close_voting,
    count_and_publish,
    hours,
    queries_of,
    read_csv,
    read_json,
    voting_page,
)
from ..builders.tables import Table

DECIDED_AT = hours(121)


def decide_two(world, adam, django_capture_on_commit_callbacks):
    """Staff accept officer 1's entry of table 2; the commune is counted again on commit."""
    two = world["two"]
    sheet = TallySheet.objects.get(table=two.table)
    entry = TallyEntry.objects.get(sheet=sheet, officer=two.officers[0])
    with django_capture_on_commit_callbacks(execute=True):
        tables.tally_decide(
            sheet=sheet,
            by=adam,
            decision="accept",
            entry_id=entry.pk,
            reason="Leída el acta escaneada: una boleta en blanco, no dos votos.",
            now=DECIDED_AT,
        )
    return sheet


def commune_page(client, consultation, commune):
    response = voting_page(client, "results-commune", consultation.pk, commune.code)
    assert response.status_code == 200
    return response, response.content.decode()


def test_the_commune_page_shows_every_table_with_its_marks_figures_scans_and_history(
    client, round_with_tables, commune_a, commune_b
):
    consultation, one = round_with_tables["round"], round_with_tables["one"]
    response, html = commune_page(client, consultation, commune_a)
    rows = {row["table_code"]: row for row in response.context["tables"]}
    assert list(rows) == ["CE-0101-1", "CE-0101-2"]
    first, second = rows["CE-0101-1"], rows["CE-0101-2"]
    assert (first["centre"], first["table_number"], first["marks"], first["conflicts"]) == (
        "Escuela Bolivariana La Ceiba",
        1,
        3,
        0,
    )
    assert first["sheet_status"] == "accepted" and first["decided_by"] == "system"
    assert [(line["title"], line["votes"]) for line in first["figures"]] == [
        ("Agua potable", 2),
        ("Cancha", 1),
        ("Alumbrado", 0),
    ]
    assert (first["blank"], first["null"], first["ballots"]) == (0, 0, 3)
    assert [(e["kind"], e["by"], e["officer"]) for e in first["history"]] == [
        ("entered", "officer", 1),
        ("entered", "officer", 2),
        ("accepted", "system", None),
    ]
    assert (second["marks"], second["conflicts"], second["sheet_status"]) == (2, 1, "review")
    assert second["figures"] == [] and second["ballots"] is None
    assert [(e["kind"], e["by"]) for e in second["history"]] == [
        ("entered", "officer"),
        ("entered", "officer"),
        ("mismatch", "system"),
    ]
    # In the page: each table, its marks, its figures, a link to each scan, the history.
    assert 'id="table-CE-0101-1"' in html and 'id="table-CE-0101-2"' in html
    assert 'data-status="accepted" data-marks="3" data-conflicts="0"' in html
    assert 'data-status="review" data-marks="2" data-conflicts="1"' in html
    assert html.count('data-field="ballots">3<') == 1
    scans = TallyEntry.objects.filter(sheet__table=one.table).values_list("scan_id", flat=True)
    assert len(scans) == 2
    for scan_id in scans:
        url = reverse("communes:file-download", args=[scan_id])
        assert f'href="{url}"' in html
        download = client.get(url)  # a signed sheet is a public document
        assert download.status_code == 200
        close_response(download)
    mismatch = SheetEvent.objects.get(sheet__table=round_with_tables["two"].table, kind="mismatch")
    assert mismatch.reason and escape(mismatch.reason) in html
    assert html.count('data-event="entered" data-by="officer"') == 4
    assert html.count('data-event="accepted" data-by="system"') == 1
    assert "@example.org" not in html  # nobody is named
    # A commune whose people all voted online has no table.
    response, html = commune_page(client, consultation, commune_b)
    assert response.context["tables"] == []
    assert 'class="card" id="table-' not in html


def test_a_commune_with_a_sheet_under_review_is_pending_until_it_is_decided(
    client, round_with_tables, commune_a, adam, django_capture_on_commit_callbacks
):
    consultation = round_with_tables["round"]
    response, html = commune_page(client, consultation, commune_a)
    result = response.context["result"]
    assert result["pending_sheets"] == 1
    assert 'id="pending-notice" data-pending="1"' in html
    assert not any(p["is_winner"] for p in response.context["projects"])
    assert 'class="winner"' not in html
    # Agua potable 2 online + 2 at table 1, Cancha 1 + 1: table 2 is not counted yet.
    assert [
        (p["online_votes"], p["table_votes"], p["votes"]) for p in response.context["projects"]
    ] == [
        (2, 2, 4),
        (1, 1, 2),
        (0, 0, 0),
    ]
    municipality = voting_page(client, "results-municipality", consultation.pk, "0101")
    assert 'data-pending="1"' in municipality.content.decode()

    decide_two(round_with_tables, adam, django_capture_on_commit_callbacks)

    response, html = commune_page(client, consultation, commune_a)
    result = response.context["result"]
    assert result["pending_sheets"] == 0 and "pending-notice" not in html
    projects = response.context["projects"]
    assert [(p["title"], p["table_votes"], p["votes"], p["is_winner"]) for p in projects] == [
        ("Agua potable", 2, 4, True),
        ("Cancha", 2, 3, False),
        ("Alumbrado", 0, 0, False),
    ]
    assert (result["table_marks"], result["sheet_ballots"], result["blank"], result["null"]) == (
        5,
        5,
        1,
        0,
    )
    assert result["votes"] == 7 and result["voters"] == 8
    assert 'class="winner"' in html
    second = {row["table_code"]: row for row in response.context["tables"]}["CE-0101-2"]
    assert second["sheet_status"] == "accepted" and second["decided_by"] == "staff"
    assert [(line["title"], line["votes"]) for line in second["figures"]] == [
        ("Agua potable", 0),
        ("Cancha", 1),
        ("Alumbrado", 0),
    ]
    assert (second["blank"], second["ballots"]) == (1, 2)
    assert [(e["kind"], e["by"]) for e in second["history"]][-1] == ("accepted", "staff")
    assert 'data-event="accepted" data-by="staff"' in html
    assert escape("Leída el acta escaneada: una boleta en blanco, no dos votos.") in html
    assert "adam@example.org" not in html


def test_turnout_everywhere_is_voters_online_and_at_tables_over_eligible(
    client, round_with_tables, commune_a
):
    consultation = round_with_tables["round"]
    result = CommuneResult.objects.get(consultation=consultation, commune=commune_a)
    assert (result.eligible, result.voters, result.votes) == (10, 3 + 5, 6)
    response, html = commune_page(client, consultation, commune_a)
    assert (response.context["result"]["voters"], response.context["result"]["turnout"]) == (
        8,
        80.0,
    )
    assert 'data-field="voters">8<' in html and "80,0 %" in html
    national = voting_page(client, "results-round", consultation.pk)
    states = {row["code"]: row for row in national.context["states"]}
    assert (states["01"]["voters"], states["01"]["votes"], states["01"]["turnout"]) == (8, 6, 80.0)
    assert (states["13"]["voters"], states["13"]["turnout"]) == (3, 100.0)
    assert national.context["totals"] == {
        "communes": 2,
        "eligible": 13,
        "voters": 11,
        "votes": 9,
        "turnout": 84.62,
    }
    state = voting_page(client, "results-state", consultation.pk, "01")
    assert [(m["voters"], m["turnout"]) for m in state.context["municipalities"]] == [(8, 80.0)]
    municipality = voting_page(client, "results-municipality", consultation.pk, "0101")
    (row,) = municipality.context["communes"]
    assert (row["voters"], row["turnout"]) == (8, 80.0)
    (listed,) = [
        row
        for row in voting_page(client, "results-list").context["rounds"]
        if row["consultation"].pk == consultation.pk
    ]
    assert (listed["voters"], listed["turnout"]) == (11, 84.62)
    (line, _b) = read_json(voting_page(client, "results-communes-json", consultation.pk))
    assert {key: line[key] for key in selectors.COMMUNE_FIELDS[10:]} == {
        "eligible": 10,
        "voting_book": 3,
        "urn": 3,
        "counted": 3,
        "table_marks": 5,
        "sheet_ballots": 3,
        "blank": 0,
        "null": 0,
        "pending_sheets": 1,
        "voters": 8,
        "votes": 6,
        "turnout": 80.0,
        "void_reason": "",
        # Everyone in the book by age, marked at a table or online (all born in 1990 here).
        "voters_under_15": 0,
        "voters_15_35": 0,
        "voters_36_59": 8,
        "voters_60_plus": 0,
        "state_award": False,
        "youth_award": False,
    }
    (line, _b) = read_csv(voting_page(client, "results-communes-csv", consultation.pk))
    assert (line["voters"], line["table_marks"], line["pending_sheets"], line["turnout"]) == (
        "8",
        "5",
        "1",
        "80.0",
    )


def test_the_project_downloads_say_the_votes_at_tables(client, round_with_tables, commune_a):
    consultation = round_with_tables["round"]
    rows = read_json(voting_page(client, "results-projects-json", consultation.pk))
    of_a = [(r["project"], r["online_votes"], r["table_votes"], r["votes"]) for r in rows][:3]
    assert of_a == [("Agua potable", 2, 2, 4), ("Cancha", 1, 1, 2), ("Alumbrado", 0, 0, 0)]
    assert (
        "table_votes" in read_csv(voting_page(client, "results-projects-csv", consultation.pk))[0]
    )


def test_the_tables_downloads_hold_every_table_and_nobody_personal(
    client, round_with_tables, commune_a, adam, django_capture_on_commit_callbacks
):
    consultation, one, two = (round_with_tables[k] for k in ("round", "one", "two"))
    projects = by_title(consultation, commune_a)
    agua, cancha, alumbrado = (projects[t].pk for t in ("Agua potable", "Cancha", "Alumbrado"))
    scans = {
        table.table.pk: [
            "http://testserver" + reverse("communes:file-download", args=[pk])
            for pk in TallyEntry.objects.filter(sheet__table=table.table)
            .order_by("entered_at", "pk")
            .values_list("scan_id", flat=True)
        ]
        for table in (one, two)
    }
    place = {
        "round_id": consultation.pk,
        "round": "Consulta Popular 2027-I",
        "state_code": "01",
        "state": "Distrito Capital",
        "municipality_code": "0101",
        "municipality": commune_a.parish.municipality.name,
        "parish_code": "010101",
        "parish": commune_a.parish.name,
        "commune_code": "COM-0101-901",
        "commune": "Comuna Altos de Lídice",
        "centre_code": "CE-0101",
        "centre": "Escuela Bolivariana La Ceiba",
    }
    accepted_at = TallySheet.objects.get(table=one.table).decided_at.isoformat()
    response = voting_page(client, "results-tables-json", consultation.pk)
    assert response["Content-Disposition"] == (
        f'attachment; filename="resultados-{consultation.pk}-mesas.json"'
    )
    assert read_json(response) == [
        {
            **place,
            "table_number": 1,
            "table_code": "CE-0101-1",
            "marks": 3,
            "sheet_status": "accepted",
            "ballots": 3,
            "blank": 0,
            "null": 0,
            "votes": {str(pk): n for pk, n in sorted({agua: 2, cancha: 1, alumbrado: 0}.items())},
            "conflicts": 0,
            "decided_at": accepted_at,
            "decided_by": "system",
            "scans": scans[one.table.pk],
        },
        {
            **place,
            "table_number": 2,
            "table_code": "CE-0101-2",
            "marks": 2,
            "sheet_status": "review",
            "ballots": None,
            "blank": None,
            "null": None,
            "votes": None,
            "conflicts": 1,
            "decided_at": None,
            "decided_by": "",
            "scans": scans[two.table.pk],
        },
    ]
    response = voting_page(client, "results-tables-csv", consultation.pk)
    body = b"".join(response.streaming_content).decode()
    assert "@" not in body  # no officer's or staff's address
    first, second = read_csv(voting_page(client, "results-tables-csv", consultation.pk))
    assert list(first) == selectors.TABLE_FIELDS
    votes = ";".join(f"{pk}:{n}" for pk, n in sorted({agua: 2, cancha: 1, alumbrado: 0}.items()))
    assert (first["votes"], first["ballots"], first["decided_by"]) == (votes, "3", "system")
    assert first["scans"] == " ".join(scans[one.table.pk])
    assert (second["sheet_status"], second["votes"], second["ballots"], second["conflicts"]) == (
        "review",
        "",
        "",
        "1",
    )

    decide_two(round_with_tables, adam, django_capture_on_commit_callbacks)

    first, second = read_json(voting_page(client, "results-tables-json", consultation.pk))
    assert (second["sheet_status"], second["ballots"], second["blank"]) == ("accepted", 2, 1)
    assert second["decided_at"] == DECIDED_AT.isoformat()
    assert second["decided_by"] == ""  # a person decided it: nobody is named
    assert b"@" not in b"".join(
        voting_page(client, "results-tables-json", consultation.pk).streaming_content
    )


def test_a_table_with_people_marked_and_no_entry_is_listed_as_waiting(
    client, voting_round, adam, commune_a, council_a
):
    centre = VotingCentre.objects.create(code="CE-9", name="Casa comunal", parish=commune_a.parish)
    Table(voting_round, adam, centre, 1, commune_a, council_a, voters=1, first=1)
    consultation = count_and_publish(voting_round, adam)
    response, html = commune_page(client, consultation, commune_a)
    (row,) = response.context["tables"]
    # Its sheet exists from the first mark; no officer entered it.
    assert (row["sheet_status"], row["marks"], row["history"], row["scans"]) == (
        "waiting",
        1,
        [],
        [],
    )
    assert 'data-status="waiting"' in html and 'data-pending="1"' in html
    (line,) = read_json(voting_page(client, "results-tables-json", consultation.pk))
    assert (line["sheet_status"], line["marks"], line["scans"]) == ("waiting", 1, [])


def test_the_commune_page_costs_the_same_queries_with_one_table_or_five(
    client, voting_round, adam, commune_a, council_a, commune_b, council_b
):
    centre_a = VotingCentre.objects.create(code="CE-A", name="Liceo A", parish=commune_a.parish)
    centre_b = VotingCentre.objects.create(code="CE-B", name="Liceo B", parish=commune_b.parish)
    run = [Table(voting_round, adam, centre_a, 1, commune_a, council_a, voters=1, first=1)]
    for number in range(1, 6):
        run.append(
            Table(
                voting_round,
                adam,
                centre_b,
                number,
                commune_b,
                council_b,
                voters=1,
                first=10 + number,
            )
        )
    close_voting(voting_round)
    for table in run:
        titles = list(by_title(voting_round, table.commune))
        figures = {title: int(position == 0) for position, title in enumerate(titles)}
        table.enter(1, figures)
        assert table.enter(2, figures).status == TallySheet.Status.ACCEPTED
    consultation = count_and_publish(voting_round, adam)
    cache.clear()
    urls = {
        commune.code: reverse("voting:results-commune", args=[consultation.pk, commune.code])
        for commune in (commune_a, commune_b)
    }
    one = client.get(urls[commune_a.code]).context["tables"]
    five = client.get(urls[commune_b.code]).context["tables"]
    assert (len(one), len(five)) == (1, 5)
    assert all(len(row["history"]) == 3 and len(row["scans"]) == 2 for row in one + five)
    cache.clear()
    measured = {
        code: (queries_of(client, url), queries_of(client, url)) for code, url in urls.items()
    }
    # The round; the commune, its result, its projects, its tables, their scans and history.
    assert measured == {commune_a.code: (7, 1), commune_b.code: (7, 1)}
    cache.clear()
    tables_csv = reverse("voting:results-tables-csv", args=[consultation.pk])
    assert queries_of(client, tables_csv) == 3  # the round, the scans, the tables
    assert ProjectResult.objects.filter(consultation=consultation, is_winner=True).count() == 2


def test_the_round_page_links_and_documents_the_tables_downloads(client, round_with_tables):
    consultation = round_with_tables["round"]
    html = voting_page(client, "results-round", consultation.pk).content.decode()
    for name in ["tables-csv", "tables-json"]:
        assert reverse(f"voting:results-{name}", args=[consultation.pk]) in html
    documented = selectors.TABLE_FIELDS + selectors.COMMUNE_FIELDS + selectors.PROJECT_FIELDS
    for field in documented:
        assert f"<code>{field}</code>" in html, field
