"""Server-side SVG charts: accessible (title, description), escaped, and honest when empty."""

from __future__ import annotations

from xml.etree import ElementTree

from portale.reports.charts import Bar, line_chart, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup):
    return ElementTree.fromstring(str(markup))


def test_a_line_chart_has_a_title_a_description_and_one_point_per_value(app):
    with app.test_request_context():
        svg = parse(
            line_chart(
                [("2026-05", 12.0), ("2026-06", None), ("2026-07", 30.5)],
                title="Giorni <mediani>",
                desc="Mediana per mese",
                unit="giorni",
            )
        )
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title.text == "Giorni <mediani>" and desc.text == "Mediana per mese"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert len(svg.findall(f"{SVG}circle")) == 2
    # a missing month breaks the line instead of joining its neighbours
    assert len(svg.findall(f"{SVG}polyline")) == 2


def test_an_empty_chart_says_there_is_no_data(app):
    with app.test_request_context():
        svg = parse(line_chart([], title="T", desc="D", unit="giorni"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Nessun dato nel periodo" in texts


def test_stacked_bars_scale_each_part_and_label_the_total(app):
    with app.test_request_context():
        svg = parse(
            stacked_bars(
                [
                    Bar("Dehors", {"company": 2.0, "office": 8.0, "authority": 30.0}),
                    Bar("SCIA", {"office": 10.0}),
                ],
                title="Dove va il tempo",
                desc="Giorni medi",
                unit="giorni",
            )
        )
    bars = [r for r in svg.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    widths = {r.find(f"{SVG}title").text: float(r.get("width")) for r in bars}
    assert widths["Enti terzi: 30"] == 3 * widths["Sportello: 10"]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"Impresa", "Sportello", "Enti terzi", "Trasmissione"} <= set(texts)  # legend
    assert "40" in texts and "10" in texts  # totals beside the bars
