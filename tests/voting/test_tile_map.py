"""Turnout by state as a tile map: every state once in its rough place, each tile a link to its
state's page with its figure, a legible colour scale with a legend, and a table with the same
figures beside it."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from communes.territory import territory_rows
from voting import tile_map

from ..builders import voting_page


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """WCAG 2's contrast ratio of two sRGB colours."""
    light, dark = sorted([_luminance(one), _luminance(other)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_state_of_the_territory_has_one_square_of_its_own():
    codes = {row["state_code"] for row in territory_rows()}
    assert len(codes) == 24  # 23 states and Distrito Capital
    assert set(tile_map.GRID) == codes == set(tile_map.ABBREVIATIONS)
    assert len(set(tile_map.GRID.values())) == 24, "two states share a square"
    assert len(set(tile_map.ABBREVIATIONS.values())) == 24


def test_the_squares_keep_the_country_roughly_in_its_shape():
    column = {code: place[0] for code, place in tile_map.GRID.items()}
    row = {code: place[1] for code, place in tile_map.GRID.items()}
    # The north coast from west to east: Zulia, Falcón and Lara, Carabobo, Caracas, Sucre.
    assert column["23"] < column["13"] < column["08"] < column["01"] < column["19"]
    assert column["11"] == column["13"] and row["11"] < row["13"]  # Falcón above Lara
    assert column["24"] == column["01"] and row["24"] < row["01"]  # La Guaira above Caracas
    assert row["17"] < row["19"]  # Nueva Esparta is an island off Sucre
    # The Andes run south-west: Táchira below Mérida, both at the western edge.
    assert column["20"] == column["14"] == 0 and row["20"] > row["14"]
    # Delta Amacuro is the easternmost; Amazonas the southernmost, Bolívar above it.
    assert column["10"] == max(column.values())
    assert row["02"] == max(row.values()) and row["07"] < row["02"]


def test_the_text_on_every_step_of_the_scale_is_legible():
    for lower, fill, ink in tile_map.STEPS:
        assert contrast(fill, ink) >= 4.5, f"text on the step from {lower} %"
    assert contrast(tile_map.NO_DATA_FILL, tile_map.INK) >= 4.5
    # The tiles' edge stands out from the page (WCAG 1.4.11), even around the palest tile.
    assert contrast(tile_map.OUTLINE, tile_map.PAPER) >= 3
    assert contrast(tile_map.OUTLINE, tile_map.STEPS[0][1]) >= 3
    # Each step is darker than the one below it.
    fills = [_luminance(fill) for _lower, fill, _ink in tile_map.STEPS]
    assert fills == sorted(fills, reverse=True)


@pytest.mark.parametrize(
    ("turnout", "step"),
    [(0, 0), (9.99, 0), (10, 1), (29.9, 2), (30, 3), (49.99, 4), (50, 5), (100, 5)],
)
def test_a_turnout_takes_the_colour_of_its_step(turnout, step):
    assert tile_map.step_of(turnout) == tile_map.STEPS[step][1:]


def _map_of(html: str) -> ET.Element:
    svg = re.search(r'<svg role="group".*?</svg>', html, re.S).group(0)
    return ET.fromstring(svg)  # noqa: S314 (our own page, not untrusted input)


def test_the_national_page_draws_a_linked_tile_for_every_state(client, published):
    response = voting_page(client, "results-round", published.pk)
    html = response.content.decode()
    svg = _map_of(html)
    assert svg.get("aria-labelledby") == "turnout-map-title"
    assert svg.get("aria-describedby") == "turnout-map-desc"
    assert svg.find("title").text == "Participación por estado"
    links = {link.get("data-state"): link for link in svg.findall("a")}
    assert set(links) == set(tile_map.GRID)
    for code, link in links.items():
        assert link.get("href") == reverse("voting:results-state", args=[published.pk, code])
        # Every link is a real page: a state with no commune on the vote says so there.
        assert client.get(link.get("href")).status_code == 200, code

    def tile(code):
        link = links[code]
        rect = link.find("rect")
        label, value = (text.text for text in link.findall("text"))
        return link.find("title").text, label, value, rect.get("fill")

    # Distrito Capital 62.5 % and Lara 50.0 % (tests/voting/test_results.py): the top step.
    assert tile("01") == ("Distrito Capital: participación 62,5 %", "DC", "63 %", "#006d2c")
    assert tile("13") == ("Lara: participación 50,0 %", "LAR", "50 %", "#006d2c")
    assert links["01"].find("text").get("fill") == "#ffffff"
    name, label, value, fill = tile("23")
    assert (name, label, value) == ("Zulia: ninguna comuna en la votación", "ZUL", "—")
    assert fill == tile_map.NO_DATA_FILL
    assert links["23"].find("rect").get("stroke-dasharray")
    # The description reads every tile's figure, for whoever cannot see the map.
    desc = svg.find("desc").text
    assert "Distrito Capital: participación 62,5 %" in desc and "Lara: participación 50,0 %" in desc
    assert desc.count("ninguna comuna en la votación") == 22


def test_the_legend_names_every_step_of_the_scale(client, published):
    html = voting_page(client, "results-round", published.pk).content.decode()
    legend = re.search(r'<ul class="legend">(.*?)</ul>', html, re.S).group(1)
    labels = [re.sub(r"<[^>]+>", "", item).strip() for item in legend.split("</li>")[:-1]]
    assert labels == [
        "menos de 10 %",
        "de 10 a menos de 20 %",
        "de 20 a menos de 30 %",
        "de 30 a menos de 40 %",
        "de 40 a menos de 50 %",
        "50 % o más",
        "ninguna comuna en la votación",
    ]
    for _lower, fill, _ink in tile_map.STEPS:
        assert f'fill="{fill}"' in legend


def test_the_table_beside_the_map_has_the_same_figures_for_every_state(client, published):
    response = voting_page(client, "results-round", published.pk)
    html = response.content.decode()
    table = re.search(r'<table class="turnout">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table, re.S)
    assert len(rows) == 24
    by_state = {}
    for row in rows:
        href = re.search(r'href="([^"]+)"', row).group(1)
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("<td")[1:]]
        by_state[href] = [re.sub(r"^[^>]*>", "", cell) for cell in cells]
    state = lambda code: reverse("voting:results-state", args=[published.pk, code])  # noqa: E731
    assert by_state[state("01")] == ["62,5 %", "5 / 8"]
    assert by_state[state("13")] == ["50,0 %", "2 / 4"]
    assert by_state[state("23")] == ["—", "—"]
    assert set(by_state) == {state(code) for code in tile_map.GRID}
