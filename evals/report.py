"""report.html: one self-contained page for an eval run (inline CSS, inline SVG charts drawn here, no script).

Nothing is fetched: no external stylesheet, script, font or image. Every piece of text that comes from
the rows (task ids, tags, answers, transcripts, check details) is HTML-escaped. Failures carry their
checks, calls and transcript in collapsible ``<details>``, which browsers open without JavaScript.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.aggregate import Aggregate, GroupStats, aggregate, as_records, failed_runs, percentile, violations
from evals.results import TOKEN_FIELDS, RunRecord
from evals.summary import (
    group_header,
    group_row,
    headline,
    millis,
    number,
    one_line,
    rate,
    subtitle,
    times,
    title,
)

TEXT_LIMIT = 4000
"""Characters of one answer or transcript message shown; the rest is cut with a note."""
WIDTH = 1100
LABEL = 190
GOOD, FAIR, POOR = "#2f855a", "#b7791f", "#c53030"
SERIES = ("#3182ce", "#dd6b20")

CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;background:#f7fafc}
main{max-width:1180px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.sub{color:#4a5568;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px 12px}
.card .k{color:#4a5568;font-size:12px}.card .v{font-size:17px;font-weight:600;overflow-wrap:anywhere}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#edf2f7;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:8px;margin:6px 0}
svg{display:block;width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#2d3748}
details{background:#fff;border:1px solid #e2e8f0;border-radius:6px;margin:6px 0;padding:6px 10px}
summary{cursor:pointer;font-weight:600}summary .why{font-weight:400;color:#4a5568}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7fafc;border:1px solid #edf2f7;padding:6px 8px;
margin:4px 0;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.ok{color:#2f855a}.bad{color:#c53030}.muted{color:#718096}
.msg{border-left:3px solid #cbd5e0;padding-left:8px;margin:8px 0}.msg.user{border-color:#3182ce}
.msg.assistant{border-color:#2f855a}.msg.tool{border-color:#dd6b20}.role{font-size:12px;color:#4a5568}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cut(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def _svg(height: float, body: Iterable[str], label: str) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{esc(label)}">'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{esc(text)}</text>'


def _rate_colour(value: float) -> str:
    return GOOD if value >= 0.9 else FAIR if value >= 0.6 else POOR


# --- charts ----------------------------------------------------------------------------------------------------


def bar_chart(groups: Sequence[GroupStats], label: str) -> str:
    """Horizontal bars of success rate per group, with successes/runs beside each bar."""
    row, top = 24, 22
    span = WIDTH - LABEL - 130
    height = top + row * len(groups) + 8
    body = [_text(LABEL + span * f, 14, f"{f:.0%}", "middle", ' class="muted"') for f in (0, 0.25, 0.5, 0.75, 1)]
    body += [f'<line x1="{LABEL + span * f:.1f}" y1="18" x2="{LABEL + span * f:.1f}" y2="{height - 6}" '
             'stroke="#e2e8f0"/>' for f in (0, 0.25, 0.5, 0.75, 1)]
    for i, group in enumerate(groups):
        y = top + i * row
        name = group.name if len(group.name) <= 26 else group.name[:25] + "…"
        body.append(_text(LABEL - 8, y + 16, name, "end"))
        body.append(f'<rect x="{LABEL}" y="{y + 4}" width="{max(span * group.success_rate, 1):.1f}" height="{row - 8}" '
                    f'fill="{_rate_colour(group.success_rate)}"><title>{esc(group.name)}: '
                    f'{rate(group.success_rate)}</title></rect>')
        body.append(_text(LABEL + span + 8, y + 16, f"{rate(group.success_rate)}  ({group.successes}/{group.runs})"))
    return _svg(height, body, label)


def _nice_step(span: float) -> float:
    raw = span / 5 if span > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _axis(lo: float, hi: float, log: bool) -> tuple[Callable[[float], float], list[float]]:
    """A 0..1 position function for values in [lo, hi] and the tick values to draw."""
    if log:
        a, b = math.floor(math.log10(max(lo, 1.0))), math.ceil(math.log10(max(hi, 10.0)))
        b = max(b, a + 1)

        def position_log(v: float) -> float:
            return (math.log10(max(v, 10.0**a)) - a) / (b - a)

        return position_log, [10.0**e for e in range(a, b + 1)]
    step = _nice_step(hi - lo)
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    end = max(end, start + step)
    ticks = [start + i * step for i in range(round((end - start) / step) + 1)]

    def position(v: float) -> float:
        return (v - start) / (end - start)

    return position, ticks


def box_plots(series: Sequence[tuple[str, Sequence[float]]], unit: str, label: str) -> str:
    """One horizontal box plot per series (whiskers at min and max, box p25..p75, line at p50), runs as dots.

    The axis is logarithmic when the largest value is over 50 times the smallest positive one.
    """
    values = [v for _, vs in series for v in vs]
    if not values:
        return '<p class="muted">No values.</p>'
    positive = [v for v in values if v > 0] or [1.0]
    log = max(values) > 50 * min(positive)
    position, ticks = _axis(min(values) if not log else min(positive), max(values), log)
    span, row, top = WIDTH - LABEL - 40, 54, 8
    height = top + row * len(series) + 30

    def x(v: float) -> float:
        return LABEL + span * position(v)

    body = []
    for tick in ticks:
        body.append(f'<line x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" y2="{height - 24}" stroke="#e2e8f0"/>')
        body.append(_text(x(tick), height - 8, number(tick), "middle", ' class="muted"'))
    body.append(_text(LABEL - 30, height - 8, unit + (", log scale" if log else ""), "end", ' class="muted"'))
    for i, (name, vs) in enumerate(series):
        y, colour = top + i * row + row / 2, SERIES[i % len(SERIES)]
        body.append(_text(LABEL - 8, y + 4, name, "end"))
        if not vs:
            continue
        p25, p50, p75 = (percentile(vs, q) or 0.0 for q in (25, 50, 75))
        body.append(f'<line x1="{x(min(vs)):.1f}" y1="{y}" x2="{x(max(vs)):.1f}" y2="{y}" stroke="{colour}"/>')
        body.append(f'<rect x="{x(p25):.1f}" y="{y - 12}" width="{max(x(p75) - x(p25), 1):.1f}" height="24" '
                    f'fill="{colour}" fill-opacity="0.25" stroke="{colour}"><title>{esc(name)}: p25 {number(p25)}, '
                    f'p50 {number(p50)}, p75 {number(p75)}, max {number(max(vs))}</title></rect>')
        body.append(f'<line x1="{x(p50):.1f}" y1="{y - 12}" x2="{x(p50):.1f}" y2="{y + 12}" stroke="{colour}" '
                    'stroke-width="3"/>')
        body += [f'<circle cx="{x(v):.1f}" cy="{y + 16 + (j % 3) * 2:.1f}" r="2" fill="{colour}" '
                 'fill-opacity="0.6"/>' for j, v in enumerate(vs)]
    return _svg(height, body, label)


def histogram(values: Sequence[float], unit: str, label: str, bins: int = 24) -> str:
    """Counts of ``values`` in equal-width bins, with dashed lines at p50, p90 and p99."""
    if not values:
        return '<p class="muted">No values.</p>'
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins if hi > lo else 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    top, plot_h, left = 44, 160, 50
    span = WIDTH - left - 20
    height = top + plot_h + 34
    peak = max(counts)
    body = [_text(left - 6, top + 4, str(peak), "end", ' class="muted"'),
            _text(left - 6, top + plot_h, "0", "end", ' class="muted"'),
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + span}" y2="{top + plot_h}" stroke="#a0aec0"/>']
    bar = span / bins
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        body.append(f'<rect x="{left + i * bar + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}" '
                    f'height="{h:.1f}" fill="{SERIES[0]}"><title>{millis(lo + i * width)} – '
                    f'{millis(lo + (i + 1) * width)}: {count} runs</title></rect>')
    for f in (0, 0.5, 1):
        body.append(_text(left + span * f, top + plot_h + 16, millis(lo + (hi - lo) * f) if unit == "ms"
                          else number(lo + (hi - lo) * f), "middle", ' class="muted"'))
    for q, label_y in ((50, 36), (90, 24), (99, 12)):
        v = percentile(values, q) or lo
        px = left + span * ((v - lo) / (hi - lo) if hi > lo else 0.5)
        body.append(f'<line x1="{px:.1f}" y1="{label_y + 3}" x2="{px:.1f}" y2="{top + plot_h}" '
                    f'stroke="{SERIES[1]}" stroke-dasharray="4 3"/>')
        near_end = px > WIDTH - 140
        body.append(_text(px - 3 if near_end else px + 3, label_y, f"p{q} {millis(v) if unit == 'ms' else number(v)}",
                          "end" if near_end else "start"))
    return _svg(height, body, label)


# --- sections --------------------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f'<th{" class=n" if i >= numeric_from else ""}>{esc(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i >= numeric_from else ""}>{esc(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cards(agg: Aggregate) -> str:
    cards = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div></div>'
                    for k, v in headline(agg))
    return f'<div class="cards">{cards}</div>'


def _groups(agg: Aggregate, heading: str, first: str, groups: Mapping[str, GroupStats]) -> str:
    if not groups:
        return ""
    chart = f'<div class="chart">{bar_chart(list(groups.values()), f"success rate by {first}")}</div>'
    table = _table(group_header(agg, first), (group_row(agg, g) for g in groups.values()))
    return f"<h2>{esc(heading)}</h2>{chart}{table}"


def _tokens(agg: Aggregate, runs: Sequence[RunRecord]) -> str:
    tokens = agg.overall.tokens
    table = _table(["tokens per run", "sum", "mean", "p50", "p90", "p99", "max"],
                   ([name, *(number(v) for v in (d.total, d.mean, d.p50, d.p90, d.p99, d.max))]
                    for name, d in ((name, tokens.field(name)) for name in TOKEN_FIELDS)))
    legend = "".join(f'<span><i class="sw" style="background:{c}"></i>{esc(n)}</span>'
                     for n, c in zip(("tool output (what kai fed the model)", "raw kubectl (the same data as kubectl "
                                                                               "output)"), SERIES, strict=True))
    plot = box_plots([("tool output", [float(r.tokens.tool_output) for r in runs]),
                      ("raw kubectl", [float(r.tokens.raw_kubectl) for r in runs])], "tokens per run",
                     "tokens per run: tool output and raw kubectl")
    return (f"<h2>Tokens</h2><p>raw kubectl / tool output: <b>{esc(times(tokens.raw_to_tool_ratio))}</b></p>"
            f'<div class="chart"><div class="legend">{legend}</div>{plot}</div>{table}')


def _latency(agg: Aggregate, runs: Sequence[RunRecord]) -> str:
    o = agg.overall
    table = _table(["per run", "mean", "p50", "p90", "p99", "max", "total"],
                   ([name, *(millis(v) for v in (d.mean, d.p50, d.p90, d.p99, d.max, d.total))]
                    for name, d in (("latency", o.latency_ms), ("duration", o.duration_ms))))
    plot = histogram([r.latency_ms for r in runs], "ms", "latency per run")
    return f'<h2>Latency</h2><div class="chart">{plot}</div>{table}'


def _violations(runs: Sequence[RunRecord]) -> str:
    found = violations(runs)
    if not found:
        return '<h2>Violations (0)</h2><p class="muted">None.</p>'
    return f"<h2>Violations ({len(found)})</h2>" + _table(
        ["task", "repeat", "kind", "detail"], ([v.task, str(v.repeat), v.kind, v.detail] for v in found),
        numeric_from=99)


def _pre(text: str) -> str:
    return f"<pre>{esc(_cut(text))}</pre>"


def _call_row(call: Mapping[str, Any]) -> list[str]:
    arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False, default=str)
    return [str(call.get("tool", "")), arguments, str(call.get("status", "")), str(call.get("decision", "") or "")]


def _failure(run: RunRecord) -> str:
    why = run.error or "; ".join(f"{c.kind}: {c.detail}" for c in run.failing_checks) or run.status
    parts = [f"<summary>{esc(run.task)} <span class=muted>· repeat {run.repeat} · {esc(run.status or 'failed')}"
             f"</span> <span class=why>— {esc(one_line(why, 160))}</span></summary>"]
    if run.error:
        parts.append(f"<p><b>error</b></p>{_pre(run.error)}")
    if run.checks:
        parts.append(_table(["", "check", "detail"], (["✓" if c.ok else "✗", c.kind, c.detail] for c in run.checks),
                            numeric_from=99))
    if run.violations:
        parts.append(_table(["violation", "detail"], ([v.kind, v.detail] for v in run.violations), numeric_from=99))
    if run.calls:
        parts.append(_table(["tool", "arguments", "status", "decision"], (_call_row(c) for c in run.calls),
                            numeric_from=99))
    parts.append(f"<p><b>answer</b></p>{_pre(run.answer) if run.answer else '<p class=muted>(none)</p>'}")
    if run.transcript:
        messages = "".join(
            f'<div class="msg {esc(m.role)}"><div class="role">{esc(m.role)}'
            + (f" · {esc(m.tool)}" if m.tool else "") + (f" · {esc(m.status)}" if m.status else "")
            + f"</div>{_pre(m.text)}</div>" for m in run.transcript)
        parts.append(f"<details><summary>transcript ({len(run.transcript)} messages)</summary>{messages}</details>")
    return "<details>" + "".join(parts) + "</details>"


def render_report(rows: Iterable[Mapping[str, Any] | RunRecord]) -> str:
    """report.html for the rows of one eval run: one page, no external resources."""
    runs = as_records(rows)
    agg = aggregate(runs)
    failed = failed_runs(runs)
    sections = [
        f"<h1>{esc(title(agg))}</h1><p class=sub>{esc(subtitle(agg))}</p>",
        _cards(agg),
        _groups(agg, "By tag", "tag", agg.by_tag),
        _groups(agg, "By difficulty", "difficulty", agg.by_difficulty),
        _groups(agg, "By category", "category", agg.by_category) if len(agg.by_category) > 1 else "",
        _tokens(agg, runs),
        _latency(agg, runs),
        _violations(runs),
        f"<h2>Failed runs ({len(failed)})</h2>"
        + ("".join(_failure(run) for run in failed) or '<p class="muted">None.</p>'),
    ]
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title(agg))}</title><style>{CSS}</style></head>"
            "<body><main>" + "\n".join(s for s in sections if s) + "</main></body></html>\n")


def write_report(rows: Iterable[Mapping[str, Any] | RunRecord], path: Path | str) -> Path:
    """Write :func:`render_report` to ``path`` (a file, or a folder to hold report.html); return the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.html"
    path.write_text(render_report(rows), encoding="utf-8")
    return path
