"""The public money trail, under /dinero/: the published rounds with money, each round's
tracker by funder and state (with its downloads), and each funded project's page.

Open to everyone, signed in or not; nothing here names a person.
"""

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from consultations.models import Project
from voting import charts as bar_charts
from voting.open_data import csv_lines, json_lines

from . import charts
from . import public_selectors as selectors
from .models import (
    Allocation,
    ClosingReport,
    Disbursement,
    FundingSource,
    LedgerEntry,
    ProjectStatus,
    SpendingReceipt,
)
from .services import usd

# A list of every project is shown when a state is chosen, or when the choice holds few rows;
# otherwise the projects still waiting the longest.
ALL_ROWS_UP_TO = 200
LONGEST_WAITS = 25


def _series():
    return [
        ("promised", _("Promised")),
        ("transferred", _("Transferred")),
        ("receipted", _("Receipted")),
    ]


def _money_chart(chart_id: str, title: str, rows: list[dict]) -> charts.GroupedChart:
    series = _series()
    return charts.grouped_bar_chart(
        chart_id=chart_id,
        title=title,
        desc="; ".join(
            f"{row['name']}: " + ", ".join(f"{label} {usd(row[key])} USD" for key, label in series)
            for row in rows
        ),
        series=series,
        groups=[(row["name"], [(row[key], usd(row[key])) for key, _l in series]) for row in rows],
    )


def money_list(request):
    """Every published round with money promised, and its totals."""
    return render(request, "funding/public/list.html", {"rounds": selectors.money_rounds()})


def _source_param(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def money_round(request, pk):
    """A round's money by funder and by state: promised, transferred, receipted, and how long
    each funder took to send the first transfer. Filtered by state and by funder."""
    consultation = selectors.money_round_get(pk=pk)
    tracker = selectors.money_tracker(
        consultation=consultation,
        now=timezone.now(),
        state=request.GET.get("estado", ""),
        source=_source_param(request.GET.get("financista")),
    )
    rows = tracker["rows"]
    if tracker["state"] or len(rows) <= ALL_ROWS_UP_TO:
        listed, all_listed = rows, True
    else:
        waiting = [row for row in rows if row["waiting_days"] is not None]
        listed = sorted(waiting, key=lambda r: -r["waiting_days"])[:LONGEST_WAITS]
        all_listed = False
    funders = tracker["funders"]
    _label(funders, "kind", FundingSource.Kind)
    context = {
        "consultation": consultation,
        **tracker,
        "listed": listed,
        "all_listed": all_listed,
        "funder_chart": _money_chart(
            "funder-chart",
            _("Money by funder"),
            sorted(funders, key=lambda f: -f["promised"])[:10],
        ),
        "funders_charted": min(len(funders), 10),
        "state_chart": _money_chart("state-chart", _("Money by state"), tracker["states"]),
    }
    return render(request, "funding/public/round.html", context)


def _as_text(row: dict) -> dict:
    """Amounts as text with two decimals (exact, in JSON too), dates as ISO 8601."""
    out = dict(row)
    for field in ("promised", "transferred", "receipted"):
        out[field] = f"{row[field]:.2f}"
    for field in ("counted_from", "first_transfer_on"):
        out[field] = row[field].isoformat() if row[field] else None
    return out


def money_round_download(request, pk, kind):
    """The round's tracker, one row per project and funder, as CSV or JSON."""
    consultation = selectors.money_round_get(pk=pk)
    rows = (_as_text(row) for row in selectors.money_rows(consultation=consultation))
    fields = selectors.ROW_FIELDS
    if kind == "csv":
        response = StreamingHttpResponse(
            csv_lines(fields, rows), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(json_lines(fields, rows), content_type="application/json")
    filename = f"dinero-{consultation.pk}-proyectos.{kind}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _label(rows: list[dict], field: str, choices) -> None:
    """Each row's code in ``field`` said in the reader's language, as ``<field>_label``."""
    labels = dict(choices.choices)
    for row in rows:
        row[f"{field}_label"] = labels.get(row[field], row[field] or "")


def money_project(request, pk):
    """A funded project's money: allocated, disbursed and spent, every request, receipt and
    progress update, oversight's flags and their answers, and every movement of the ledger."""
    figures = selectors.project_money(pk=pk)
    balance = figures["balance"]
    chart = bar_charts.bar_chart(
        chart_id="balance-chart",
        title=_("The project's money"),
        desc=_("Allocated %(allocated)s USD, disbursed %(disbursed)s USD, spent %(spent)s USD.")
        % {
            "allocated": usd(balance.allocated),
            "disbursed": usd(balance.disbursed),
            "spent": usd(balance.spent),
        },
        rows=[
            (_("Allocated"), float(balance.allocated), usd(balance.allocated), False),
            (_("Disbursed"), float(balance.disbursed), usd(balance.disbursed), True),
            (_("Spent (receipts)"), float(balance.spent), usd(balance.spent), False),
        ],
        scale_max=float(balance.allocated) or None,
    )
    _label(figures["allocations"], "kind", Allocation.Kind)
    _label(figures["disbursements"], "status", Disbursement.Status)
    _label(figures["receipts"], "category", SpendingReceipt.Category)
    _label(figures["updates"], "status", ProjectStatus)
    _label(figures["reports"], "status", ClosingReport.Status)
    _label(figures["ledger"], "kind", LedgerEntry.Kind)
    _label(figures["ledger"], "reverses_kind", LedgerEntry.Kind)
    context = {
        **figures,
        "chart": chart,
        "status_label": ProjectStatus(figures["status"]).label,
        "category_label": dict(Project.Category.choices).get(figures["project"]["category"], ""),
    }
    return render(request, "funding/public/project.html", context)
