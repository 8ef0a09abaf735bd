"""docs/grafana/momentic.json drawn from real /metrics scrapes, without Grafana: every panel
where its gridPos puts it, every query evaluated over a series of scrapes as Prometheus
would (rate over consecutive scrapes, sum by, histogram_quantile with Prometheus' linear
interpolation), every series a line with its legend. A static HTML page (inline SVG, no
script), which tests/browser/test_metrics_dashboard.py opens in Chromium.

Only the query shapes the dashboard uses are understood; a new shape raises, so the
dashboard and this page cannot drift apart silently."""

from __future__ import annotations

import html
import itertools
import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

BOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "momentic.json"

Labels = tuple[tuple[str, str], ...]
Samples = dict[str, dict[Labels, float]]  # metric name -> label set -> value
Series = dict[str, list[tuple[float, float]]]  # legend -> (seconds, value) points


def parse_scrape(text: str) -> Samples:
    samples: Samples = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return samples


_SELECTOR = re.compile(r"^(momentic_[a-z_]+)(?:\{([^}]*)\})?$")
_MATCHER = re.compile(r'^\s*([a-z_]+)\s*(=~|=)\s*"([^"]*)"\s*$')
_SUM_RATE = re.compile(r"^sum by \(([^)]*)\) \(rate\((.+)\[5m\]\)\)$")
_QUANTILE = re.compile(r"^histogram_quantile\(([\d.]+), (sum by \(.+)\)$")
_SUM = re.compile(r"^sum\((.+)\)$")


def _select(scrape: Samples, selector: str) -> dict[Labels, float]:
    match = _SELECTOR.match(selector)
    if match is None:
        raise ValueError(f"not a selector: {selector}")
    name, matchers = match.group(1), match.group(2)
    tests = []
    for part in filter(None, (matchers or "").split(",")):
        m = _MATCHER.match(part)
        if m is None:
            raise ValueError(f"not a matcher: {part}")
        tests.append((m.group(1), m.group(2), m.group(3)))

    def keep(labels: Labels) -> bool:
        values = dict(labels)
        for key, op, want in tests:
            have = values.get(key, "")
            if (op == "=" and have != want) or (op == "=~" and not re.fullmatch(want, have)):
                return False
        return True

    return {labels: v for labels, v in scrape.get(name, {}).items() if keep(labels)}


def _sum_by(values: dict[Labels, float], by: tuple[str, ...]) -> dict[Labels, float]:
    out: dict[Labels, float] = defaultdict(float)
    for labels, value in values.items():
        kept = dict(labels)
        out[tuple((key, kept.get(key, "")) for key in by)] += value
    return dict(out)


def _quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus' histogram_quantile over cumulative bucket counts by upper bound."""
    bounds = sorted(buckets)
    total = buckets.get(math.inf, 0.0)
    if not bounds or total <= 0:
        return math.nan
    rank = q * total
    lower, below = 0.0, 0.0
    for upper in bounds:
        count = buckets[upper]
        if count >= rank:
            if upper == math.inf:
                return lower
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


Points = list[tuple[float, float]]


def evaluate(expr: str, scrapes: list[tuple[float, Samples]]) -> dict[Labels, Points]:
    """One query over the scrapes (seconds since the first, samples): a series per label set."""
    out: dict[Labels, Points] = defaultdict(list)
    if m := _QUANTILE.match(expr):
        q, inner = float(m.group(1)), evaluate(m.group(2), scrapes)
        by_time: dict[float, dict[Labels, dict[float, float]]] = defaultdict(
            lambda: defaultdict(dict))
        for labels, points in inner.items():
            rest = tuple((k, v) for k, v in labels if k != "le")
            le = float(dict(labels)["le"].replace("+Inf", "inf"))
            for t, value in points:
                by_time[t][rest][le] = value
        for t in sorted(by_time):
            for rest, buckets in by_time[t].items():
                value = _quantile(q, buckets)
                if not math.isnan(value):
                    out[rest].append((t, value))
        return dict(out)
    if m := _SUM_RATE.match(expr):
        by = tuple(part.strip() for part in m.group(1).split(","))
        for (t0, before), (t1, after) in itertools.pairwise(scrapes):
            now, then = _select(after, m.group(2)), _select(before, m.group(2))
            # A counter that went down was reset: its whole value is the increase. A series
            # new in this scrape has no rate yet, as in Prometheus.
            rates = {labels: (value - then[labels] if value >= then[labels] else value)
                     / (t1 - t0) for labels, value in now.items() if labels in then}
            for labels, value in _sum_by(rates, by).items():
                out[labels].append((t1, value))
        return dict(out)
    if m := _SUM.match(expr):
        for t, scrape in scrapes:
            selected = _select(scrape, m.group(1))
            if selected:
                out[()].append((t, sum(selected.values())))
        return dict(out)
    for t, scrape in scrapes:
        for labels, value in _select(scrape, expr).items():
            out[labels].append((t, value))
    return dict(out)


def _legend(fmt: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def panels(scrapes: list[tuple[float, Samples]]) -> list[tuple[dict[str, Any], Series]]:
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    drawn = []
    for panel in board["panels"]:
        series: Series = {}
        for target in panel["targets"]:
            for labels, points in evaluate(target["expr"], scrapes).items():
                legend = _legend(target.get("legendFormat") or "", dict(labels))
                series[legend or target["expr"]] = points
        drawn.append((panel, series))
    return drawn


_COLOURS = ("#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff",
            "#fade2a", "#96d98d", "#ffa6b0")
_ROW = 30  # Grafana's grid: 24 columns, rows of 30 px


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _svg(series: Series, width: int, height: int) -> str:
    if not series:
        return '<p class="nodata">No data</p>'
    points = [p for line in series.values() for p in line]
    t0, t1 = min(t for t, _ in points), max(t for t, _ in points)
    top = max(v for _, v in points) or 1.0
    pad = 36

    def xy(t: float, v: float) -> str:
        x = pad + (t - t0) / ((t1 - t0) or 1.0) * (width - pad - 8)
        y = 8 + (1 - v / top) * (height - 24)
        return f"{x:.1f},{y:.1f}"

    lines = [
        f'<text x="2" y="14" class="axis">{_fmt(top)}</text>'
        f'<text x="2" y="{height - 14}" class="axis">0</text>'
        f'<line x1="{pad}" y1="{height - 16}" x2="{width - 8}" y2="{height - 16}" class="grid"/>'
        f'<line x1="{pad}" y1="8" x2="{width - 8}" y2="8" class="grid"/>'
    ]
    for i, (legend, line) in enumerate(sorted(series.items())):
        colour = _COLOURS[i % len(_COLOURS)]
        path = " ".join(xy(t, v) for t, v in line)
        lines.append(f'<polyline data-series="{html.escape(legend)}" points="{path}" '
                     f'fill="none" stroke="{colour}" stroke-width="2"/>')
    return f'<svg width="{width}" height="{height}">{"".join(lines)}</svg>'


def page(scrapes: list[tuple[float, Samples]], width: int = 1400) -> str:
    column = width / 24
    cards = []
    for panel, series in panels(scrapes):
        grid = panel["gridPos"]
        w, h = int(grid["w"] * column) - 12, grid["h"] * _ROW - 12
        legend = "".join(
            f'<li><span style="background:{_COLOURS[i % len(_COLOURS)]}"></span>'
            f'{html.escape(name)} <b>{_fmt(points[-1][1])}</b></li>'
            for i, (name, points) in enumerate(sorted(series.items()))
        )
        cards.append(
            f'<section class="panel" data-title="{html.escape(panel["title"])}" '
            f'data-series="{len(series)}" style="left:{grid["x"] * column:.0f}px;'
            f'top:{grid["y"] * _ROW + 48}px;width:{w}px;height:{h}px">'
            f'<h2>{html.escape(panel["title"])}</h2>'
            f'{_svg(series, w - 16, h - 92)}<ul>{legend}</ul></section>'
        )
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"]) * _ROW + 60
    style = (
        "body{margin:0;background:#111217;color:#ccccdc;font:12px sans-serif}"
        "header{position:absolute;left:8px;top:10px;font-size:18px}"
        ".panel{position:absolute;box-sizing:border-box;margin:6px;padding:8px;"
        "background:#181b1f;border:1px solid #2c3235;border-radius:2px;overflow:hidden}"
        "h2{margin:0 0 6px;font-size:13px;font-weight:500}"
        ".axis{fill:#8e8e8e;font-size:10px}.grid{stroke:#2c3235}"
        "ul{list-style:none;margin:4px 0 0;padding:0;max-height:44px;overflow:hidden}"
        "li{display:inline-block;margin-right:12px;white-space:nowrap}"
        "li span{display:inline-block;width:12px;height:3px;margin-right:4px;"
        "vertical-align:middle}.nodata{color:#8e8e8e;text-align:center;margin-top:60px}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(board["title"])}'
        f'</title><style>{style}</style></head><body style="height:{bottom}px">'
        f'<header>{html.escape(board["title"])} (from {len(scrapes)} scrapes of /metrics)'
        f'</header>{"".join(cards)}</body></html>'
    )
