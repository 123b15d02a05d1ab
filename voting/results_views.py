"""The public results of published rounds: pages by place, and the open-data downloads.

Only rounds in "published" have results; any other round is a 404. The figures come from
voting.selectors (cached until the next publication or recount); the charts are drawn per
request from them, in the reader's language.
"""

import hashlib

from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from consultations.models import Project

from . import charts, pabulib, selectors, tile_map, urn_open_data
from .models import SheetEvent, TallySheet
from .open_data import csv_lines, gzip_chunks, json_lines

CATEGORIES = dict(Project.Category.choices)
SHEET_STATUSES = {
    **dict(TallySheet.Status.choices),
    selectors.NO_SHEET: _lazy("No sheet entered"),
}
EVENT_KINDS = dict(SheetEvent.Kind.choices)


def _percent(value) -> str:
    return "—" if value is None else f"{number_format(value, decimal_pos=1)} %"


def _turnout_chart(chart_id: str, rows: list[dict], *, title: str) -> charts.BarChart:
    return charts.bar_chart(
        chart_id=chart_id,
        title=title,
        desc=_("Voters as a share of the eligible residents: %(list)s.")
        % {"list": "; ".join(f"{row['name']}: {_percent(row['turnout'])}" for row in rows)},
        rows=[(row["name"], row["turnout"] or 0, _percent(row["turnout"]), False) for row in rows],
        scale_max=100,
    )


def _turnout_map(consultation, states: list[dict]) -> tile_map.TileMap:
    return tile_map.turnout_map(
        map_id="turnout-map",
        states=states,
        href=lambda code: reverse("voting:results-state", args=[consultation.pk, code]),
        title=_("Turnout by state"),
    )


def results_list(request):
    """Every published round, with its national turnout."""
    return render(request, "voting/results/list.html", {"rounds": selectors.results_rounds()})


def results_round(request, pk):
    """The national summary: turnout by state (a tile map of every state, and its table),
    winners by category, the round's facts."""
    consultation = selectors.results_round_get(pk=pk)
    figures = selectors.results_national(consultation=consultation)
    states = selectors.results_states_all(consultation=consultation)
    categories = [
        {**row, "label": CATEGORIES.get(row["category"], row["category"])}
        for row in figures["categories"]
    ]
    winners_chart = charts.bar_chart(
        chart_id="winners-chart",
        title=_("Winning projects by category"),
        desc="; ".join(f"{row['label']}: {row['winners']}" for row in categories),
        rows=[
            (row["label"], row["winners"], number_format(row["winners"]), False)
            for row in categories
        ],
    )
    context = {
        "consultation": consultation,
        **figures,
        "categories": categories,
        "turnout_map": _turnout_map(consultation, states),
        "states_all": states,
        "awards": selectors.results_awards(consultation=consultation),
        "winners_chart": winners_chart,
        "category_codes": Project.Category.choices,
        "project_fields": selectors.PROJECT_FIELDS,
        "commune_fields": selectors.COMMUNE_FIELDS,
        "table_fields": selectors.TABLE_FIELDS,
    }
    return render(request, "voting/results/round.html", context)


def results_state(request, pk, code):
    """A state: its municipalities' turnout and its communes' winners."""
    consultation = selectors.results_round_get(pk=pk)
    figures = selectors.results_state(consultation=consultation, code=code)
    context = {
        "consultation": consultation,
        **figures,
        "turnout_chart": _turnout_chart(
            "turnout-chart", figures["municipalities"], title=_("Turnout by municipality")
        ),
    }
    return render(request, "voting/results/state.html", context)


def results_municipality(request, pk, code):
    """A municipality: each commune's turnout and winners."""
    consultation = selectors.results_round_get(pk=pk)
    figures = selectors.results_municipality(consultation=consultation, code=code)
    context = {
        "consultation": consultation,
        **figures,
        "turnout_chart": _turnout_chart(
            "turnout-chart", figures["communes"], title=_("Turnout by commune")
        ),
    }
    return render(request, "voting/results/municipality.html", context)


def results_commune(request, pk, code):
    """A commune: every project's votes and rank, the winner (none while a tally sheet is
    pending), the three totals, and every voting table with its sheet, scans and history."""
    consultation = selectors.results_round_get(pk=pk)
    figures = selectors.results_commune(consultation=consultation, code=code)
    projects = [
        {**row, "category_label": CATEGORIES.get(row["category"], row["category"])}
        for row in figures["projects"]
    ]
    votes_chart = charts.bar_chart(
        chart_id="votes-chart",
        title=_("Votes per project"),
        desc="; ".join(
            _("%(title)s: %(votes)s votes%(winner)s")
            % {
                "title": row["title"],
                "votes": number_format(row["votes"]),
                "winner": _(" (winner)") if row["is_winner"] else "",
            }
            for row in projects
        ),
        rows=[
            (
                f"{row['rank']}. {'★ ' if row['is_winner'] else ''}{row['title']}",
                row["votes"],
                number_format(row["votes"]),
                row["is_winner"],
            )
            for row in projects
        ],
    )
    context = {
        "consultation": consultation,
        **figures,
        "projects": projects,
        "votes_chart": votes_chart,
        "any_tie": any(row["tie_broken"] for row in projects),
        "tables": [
            {
                **table,
                "status_label": SHEET_STATUSES.get(table["sheet_status"], table["sheet_status"]),
                "history": [
                    {**event, "kind_label": EVENT_KINDS.get(event["kind"], event["kind"])}
                    for event in table["history"]
                ],
            }
            for table in figures["tables"]
        ],
    }
    return render(request, "voting/results/commune.html", context)


# Open data ---------------------------------------------------------------------------------


def _download(request, consultation, *, rows, fields, name: str, kind: str):
    # The results change only with a new version: a client or proxy holding it need not fetch
    # it again.
    version = selectors.results_version(consultation)
    etag = '"' + hashlib.sha256(f"{consultation.pk}:{name}:{version}".encode()).hexdigest()[:32]
    etag += '"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    if kind == "csv":
        body = csv_lines(fields, rows)
        content_type = "text/csv; charset=utf-8"
    else:
        body = json_lines(fields, rows)
        content_type = "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    filename = f"resultados-{consultation.pk}-{name}.{kind}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    return response


def results_projects_download(request, pk, kind):
    consultation = selectors.results_round_get(pk=pk)
    return _download(
        request,
        consultation,
        rows=selectors.project_rows(consultation=consultation),
        fields=selectors.PROJECT_FIELDS,
        name="proyectos",
        kind=kind,
    )


def results_communes_download(request, pk, kind):
    consultation = selectors.results_round_get(pk=pk)
    return _download(
        request,
        consultation,
        rows=selectors.commune_rows(consultation=consultation),
        fields=selectors.COMMUNE_FIELDS,
        name="comunas",
        kind=kind,
    )


_NO_FILE = "00000000-0000-0000-0000-000000000000"


def _table_download_rows(request, rows, kind: str):
    """The tables' rows for a file: scans as full addresses; in CSV, the votes as
    "project_id:votes" pairs joined by ";" and the scans joined by spaces."""
    address = request.build_absolute_uri(reverse("communes:file-download", args=[_NO_FILE]))
    for row in rows:
        scans = [address.replace(_NO_FILE, pk) for pk in row["scans"]]
        if kind == "csv":
            votes = ";".join(f"{project}:{n}" for project, n in row["votes"].items())
            yield {**row, "votes": votes, "scans": " ".join(scans)}
        else:
            yield {
                **row,
                "votes": row["votes"] if row["ballots"] is not None else None,
                "scans": scans,
            }


def results_tables_download(request, pk, kind):
    consultation = selectors.results_round_get(pk=pk)
    return _download(
        request,
        consultation,
        rows=_table_download_rows(request, selectors.table_rows(consultation=consultation), kind),
        fields=selectors.TABLE_FIELDS,
        name="mesas",
        kind=kind,
    )


def _etag(consultation, name: str) -> str:
    version = selectors.results_version(consultation)
    return (
        '"' + hashlib.sha256(f"{consultation.pk}:{name}:{version}".encode()).hexdigest()[:32] + '"'
    )


def results_pabulib_commune(request, pk, code):
    """One commune's results as a pabulib file (pabulib.org), for pabutools and the like."""
    consultation = selectors.results_round_get(pk=pk)
    etag = _etag(consultation, f"pabulib:{code}")
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    text = pabulib.commune_pb(consultation=consultation, code=code)
    if text is None:
        raise Http404
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    name = pabulib.file_name(consultation, code)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    return response


def results_pabulib_zip(request, pk):
    """Every commune's pabulib file of the round in one zip, streamed."""
    consultation = selectors.results_round_get(pk=pk)
    etag = _etag(consultation, "pabulib")
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    body = pabulib.round_zip(consultation, selectors.pabulib_communes(consultation=consultation))
    response = StreamingHttpResponse(body, content_type="application/zip")
    filename = f"resultados-{consultation.pk}-pabulib.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    return response


# The urn's open data (issue 14): what anyone needs to redo the count, for scripts/verify_round.py.

_CODE = "__code__"


def results_urn_index(request, pk):
    """The round's key and counting rules, and the address of each commune's urn file."""
    consultation = selectors.results_round_get(pk=pk)
    etag = _etag(consultation, "urn")
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    index = urn_open_data.urn_index(consultation=consultation)
    address = request.build_absolute_uri(
        reverse("voting:results-urn-commune", args=[consultation.pk, _CODE])
    )
    for commune in index["communes"]:
        commune["url"] = address.replace(_CODE, commune["code"])
    response = JsonResponse(index, json_dumps_params={"ensure_ascii": False})
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    return response


def results_urn_commune(request, pk, code):
    """A commune's urn: every ballot, the sums, the partial decryptions, the totals and what the
    ranking rests on, as a gzip-compressed JSON file, streamed."""
    consultation = selectors.results_round_get(pk=pk)
    etag = _etag(consultation, f"urn:{code}")
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    commune = urn_open_data.urn_commune(consultation=consultation, code=code)
    if commune is None:
        raise Http404
    body = gzip_chunks(urn_open_data.urn_commune_json(consultation=consultation, commune=commune))
    # A .gz file of JSON: no Content-Encoding, so clients keep it compressed as downloaded.
    response = StreamingHttpResponse(body, content_type="application/json")
    filename = f"urna-{consultation.pk}-{code}.json.gz"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    return response
