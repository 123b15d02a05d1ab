"""Turnout by state as a tile map: one square per state in its rough place, drawn as inline SVG.

Venezuela's states differ in area by a factor of a thousand (Distrito Capital beside Amazonas),
so a real map would hide the small, populous states of the north; a tile map gives every state
the same square, placed on a grid so that neighbours stay roughly neighbours (west to east,
coast to south). No map tiles, no script, no external file: the page stays small on a cheap
phone.

Each tile is a link to the state's results page and names the state and its turnout (its
``<title>``, read by screen readers and shown on hover); its colour comes from a fixed scale, so
maps of different rounds compare, and the figure is printed on it too, so the colour is never
the only carrier. The same figures are in the table beside the map.

Coordinates and numbers are strings formatted here, never floats handed to the template (which
would print them with the language's decimal comma).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

# INE code → (column, row). Placed from each state's rough centre: the north coast in row 1 from
# Zulia to Sucre, the Andes and the plains below it, Bolívar and Amazonas in the south.
GRID: dict[str, tuple[int, int]] = {
    "11": (1, 0),  # Falcón
    "24": (5, 0),  # La Guaira
    "17": (7, 0),  # Nueva Esparta
    "23": (0, 1),  # Zulia
    "13": (1, 1),  # Lara
    "22": (2, 1),  # Yaracuy
    "08": (3, 1),  # Carabobo
    "05": (4, 1),  # Aragua
    "01": (5, 1),  # Distrito Capital
    "15": (6, 1),  # Miranda
    "19": (7, 1),  # Sucre
    "14": (0, 2),  # Mérida
    "21": (1, 2),  # Trujillo
    "18": (2, 2),  # Portuguesa
    "09": (3, 2),  # Cojedes
    "12": (5, 2),  # Guárico
    "03": (6, 2),  # Anzoátegui
    "16": (7, 2),  # Monagas
    "10": (8, 2),  # Delta Amacuro
    "20": (0, 3),  # Táchira
    "06": (1, 3),  # Barinas
    "04": (3, 3),  # Apure
    "07": (6, 3),  # Bolívar
    "02": (5, 4),  # Amazonas
}
# What each tile says: names shortened the way they are on road signs and in the press.
ABBREVIATIONS: dict[str, str] = {
    "01": "DC",
    "02": "AMA",
    "03": "ANZ",
    "04": "APU",
    "05": "ARA",
    "06": "BAR",
    "07": "BOL",
    "08": "CAR",
    "09": "COJ",
    "10": "DAM",
    "11": "FAL",
    "12": "GUA",
    "13": "LAR",
    "14": "MER",
    "15": "MIR",
    "16": "MON",
    "17": "NES",
    "18": "POR",
    "19": "SUC",
    "20": "TAC",
    "21": "TRU",
    "22": "YAR",
    "23": "ZUL",
    "24": "LGU",
}

TILE = 36
GAP = 4
PITCH = TILE + GAP
MARGIN = 2
COLUMNS = 1 + max(column for column, _row in GRID.values())
ROWS = 1 + max(row for _column, row in GRID.values())

INK = "#1b1b1b"
PAPER = "#ffffff"
# The scale: turnout from the lower bound up to the next one. Fixed, not drawn from the round's
# own spread, so that a pale tile means low turnout in every round. A sequential green scale
# (ColorBrewer "Greens"); text is dark on the light steps and white on the darkest, every pair
# above 4.5:1 (tests/voting/test_tile_map.py computes it).
STEPS: list[tuple[float, str, str]] = [
    (0, "#edf8e9", INK),
    (10, "#c7e9c0", INK),
    (20, "#a1d99b", INK),
    (30, "#74c476", INK),
    (40, "#31a354", INK),
    (50, "#006d2c", PAPER),
]
NO_DATA_FILL = "#f4f4f4"
OUTLINE = "#5b7565"  # 5:1 against the page, so even the palest tile has a visible edge


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    abbreviation: str
    href: str
    title: str  # the state and its turnout, in words: the link's name
    value_text: str  # what the tile prints under the abbreviation
    fill: str
    ink: str
    has_data: bool
    x: str
    y: str
    label_x: str
    label_y: str
    value_y: str


@dataclass(frozen=True)
class LegendStep:
    label: str
    fill: str


@dataclass(frozen=True)
class TileMap:
    id: str
    title: str
    desc: str
    width: int
    height: int
    view_box: str  # the grid, with room around it for the outline and the focus ring
    tiles: list[Tile]
    legend: list[LegendStep]
    no_data_fill: str
    outline: str


def percent(value) -> str:
    """Turnout as the tables print it: one decimal and a spaced percent sign, or a dash."""
    return "—" if value is None else f"{number_format(value, decimal_pos=1)} %"


def _whole_percent(value) -> str:
    whole = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{number_format(whole)} %"


def step_of(turnout) -> tuple[str, str]:
    """(fill, ink) of a turnout on the scale."""
    fill, ink = STEPS[0][1], STEPS[0][2]
    for lower, step_fill, step_ink in STEPS:
        if turnout >= lower:
            fill, ink = step_fill, step_ink
    return fill, ink


def legend() -> list[LegendStep]:
    steps = []
    for index, (lower, fill, _ink) in enumerate(STEPS):
        if index == 0:
            label = _("under %(upper)s %%") % {"upper": number_format(STEPS[1][0])}
        elif index == len(STEPS) - 1:
            label = _("%(lower)s %% or more") % {"lower": number_format(lower)}
        else:
            label = _("%(lower)s to under %(upper)s %%") % {
                "lower": number_format(lower),
                "upper": number_format(STEPS[index + 1][0]),
            }
        steps.append(LegendStep(label=label, fill=fill))
    return steps


def turnout_map(
    *, map_id: str, states: Iterable[dict], href: Callable[[str], str], title: str
) -> TileMap:
    """states: every state as {code, name, turnout (None: no commune on the vote)}; href: the
    address of a state's page from its code. A state outside the grid is left to the table."""
    tiles, described = [], []
    for state in states:
        code, name, turnout = state["code"], state["name"], state["turnout"]
        if code not in GRID:
            continue
        column, row = GRID[code]
        has_data = turnout is not None
        if has_data:
            fill, ink = step_of(turnout)
            words = _("%(state)s: turnout %(turnout)s") % {
                "state": name,
                "turnout": percent(turnout),
            }
        else:
            fill, ink = NO_DATA_FILL, INK
            words = _("%(state)s: no commune on the vote") % {"state": name}
        described.append(words)
        x, y = column * PITCH, row * PITCH
        tiles.append(
            Tile(
                code=code,
                name=name,
                abbreviation=ABBREVIATIONS[code],
                href=href(code),
                title=words,
                value_text=_whole_percent(turnout) if has_data else "—",
                fill=fill,
                ink=ink,
                has_data=has_data,
                x=str(x),
                y=str(y),
                label_x=str(x + TILE // 2),
                label_y=str(y + 15),
                value_y=str(y + 29),
            )
        )
    tiles.sort(key=lambda tile: (GRID[tile.code][1], GRID[tile.code][0]))
    desc = _(
        "A map of Venezuela with one square per state, in its rough place; the darker the "
        "square, the higher the turnout. %(list)s."
    ) % {"list": "; ".join(described)}
    return TileMap(
        id=map_id,
        title=title,
        desc=desc,
        width=COLUMNS * PITCH - GAP,
        height=ROWS * PITCH - GAP,
        view_box=f"-{MARGIN} -{MARGIN} {COLUMNS * PITCH - GAP + 2 * MARGIN} "
        f"{ROWS * PITCH - GAP + 2 * MARGIN}",
        tiles=tiles,
        legend=legend(),
        no_data_fill=NO_DATA_FILL,
        outline=OUTLINE,
    )
