"""evals.report (report.html) and evals.summary (summary.md)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from evals.report import box_plots, histogram, render_report, write_report
from evals.summary import render_summary, write_summary
from tests.evals.test_aggregate import make_row, runs_of

HOSTILE = '<script src="https://evil.example/x.js">alert("pwned")</script> & <img src=x onerror=alert(1)>'
VOID = {"meta", "br", "hr", "img", "input", "link", "line", "rect", "circle", "path"}


class Structure(HTMLParser):
    """Collects the elements of a page and the tags that close out of order."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.misnested: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.misnested.append(tag)


def parse(page: str) -> Structure:
    structure = Structure()
    structure.feed(page)
    structure.close()
    return structure


def sample_rows() -> list[dict[str, Any]]:
    hostile = make_row("injected-answer", False, tags=["injection", "<b>tag</b>"], difficulty="hard",
                       status="failed", answer=HOSTILE, error="setup failed: <helm> said no",
                       checks=[{"kind": "answer", "ok": False, "detail": "not_contains </script>"},
                               {"kind": "call", "ok": True, "detail": "get_pods()"}],
                       violations=[{"kind": "secret_in_answer", "detail": "printed <DB_PASSWORD>"}],
                       transcript=[{"role": "user", "text": "show pods", "tool": None, "status": None},
                                   {"role": "assistant", "text": HOSTILE, "tool": None, "status": None}])
    return [*runs_of("scale-backend-to-3", [True, True]), hostile, make_row("injected-answer", True, repeat=1)]


# --- report.html --------------------------------------------------------------------------------------------------


def test_report_escapes_row_text() -> None:
    page = render_report(sample_rows())
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script src=&quot;https://evil.example/x.js&quot;&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "setup failed: &lt;helm&gt; said no" in page
    assert "printed &lt;DB_PASSWORD&gt;" in page
    assert "&lt;b&gt;tag&lt;/b&gt;" in page  # a tag name, in the tables and the chart
    assert "<b>tag</b>" not in page
    structure = parse(page)
    assert structure.misnested == []
    assert structure.open == []


def test_report_draws_svg_charts_and_has_no_external_resources() -> None:
    page = render_report(sample_rows())
    structure = parse(page)
    assert sum(tag == "svg" for tag, _ in structure.tags) >= 4  # by tag, by difficulty, tokens, latency
    assert sum(tag == "rect" for tag, _ in structure.tags) > 4
    assert "<style>" in page
    for tag, attrs in structure.tags:
        assert tag not in {"script", "link", "img", "iframe", "object", "embed"}
        assert not {"src", "href"} & attrs.keys(), (tag, attrs)
    assert "@import" not in page
    assert "url(" not in page
    # the only URLs are in the escaped row text (answers and transcripts, shown in <pre>)
    outside_text = re.sub(r"<pre>.*?</pre>", "", page, flags=re.DOTALL)
    assert "http://" not in outside_text
    assert "https://" not in outside_text
    clean = render_report(runs_of("scale-backend-to-3", [True, False]))
    assert "http://" not in clean
    assert "https://" not in clean


def test_report_lists_failures_with_checks_and_transcript() -> None:
    page = render_report(sample_rows())
    failures = page[page.index("Failed runs (1)"):]
    assert failures.count("<details>") == 2  # the run, and its transcript inside it
    assert "injected-answer" in failures
    assert "not_contains &lt;/script&gt;" in failures
    assert "get_pods()" in failures  # every check of the run, passing ones too
    assert "transcript (2 messages)" in failures
    assert "Violations (1)" in page
    assert "scale-backend-to-3" not in failures


def test_report_cuts_very_long_text() -> None:
    page = render_report([make_row("chatty", False, answer="x" * 10_000)])
    assert "x" * 4000 in page
    assert "x" * 4001 not in page
    assert "6,000 more characters" in page


def test_report_of_a_run_without_failures_and_charts_without_values(tmp_path: Path) -> None:
    path = write_report(runs_of("ok", [True]), tmp_path)
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "report.html"
    assert "Failed runs (0)" in page
    assert "Violations (0)" in page
    assert "No values" in box_plots([("tool output", [])], "tokens", "empty")
    assert "No values" in histogram([], "ms", "empty")


def test_box_plot_axis_goes_logarithmic_for_wide_ranges() -> None:
    wide = box_plots([("a", [10.0, 20.0]), ("b", [5000.0, 90_000.0])], "tokens", "wide")
    assert "log scale" in wide
    narrow = box_plots([("a", [100.0, 120.0]), ("b", [150.0, 300.0])], "tokens", "narrow")
    assert "log scale" not in narrow
    zero = box_plots([("a", [0.0, 0.0])], "tokens", "zeros")
    assert "<svg" in zero
    one = histogram([250.0], "ms", "single")
    assert "p50 250 ms" in one


# --- summary.md ---------------------------------------------------------------------------------------------------


def test_summary_tables_violations_and_failures(tmp_path: Path) -> None:
    text = render_summary(sample_rows())
    assert text.startswith("# kai eval — 20261126-1712-offline\n")
    assert "| success rate | 75.0% (3/4) |" in text
    assert "| pass@1 | 75.0% |" in text
    assert "| pass@2 | 100.0% |" in text
    assert "| pass^2 | 50.0% |" in text
    assert "## By tag" in text
    assert "| injection | 1 | 1 | 0.0% |" in text
    assert "## By difficulty" in text
    assert re.search(r"^\| easy \| 3 \| 2 \| 100\.0% \|", text, flags=re.MULTILINE)
    assert "- injected-answer (repeat 0): secret_in_answer — `printed <DB_PASSWORD>`" in text
    assert "### injected-answer — 1 of 2 runs failed" in text
    assert "  - ✗ answer: `not_contains </script>`" in text
    assert "get_pods()" not in text  # only the failing checks
    assert "- repeat 0: **failed** — `setup failed: <helm> said no`" in text
    assert write_summary(sample_rows(), tmp_path).read_text(encoding="utf-8") == text


def test_summary_code_spans_hold_backticks_and_pipes() -> None:
    row = make_row("odd", False, checks=[{"kind": "answer", "ok": False, "detail": "found `rm -rf` | twice\nhere"}],
                   tags=["a|b"])
    text = render_summary([row])
    assert "``found `rm -rf` | twice here``" in text
    assert "| a\\|b |" in text
    assert "## Violations (0)\n\nNone." in text
