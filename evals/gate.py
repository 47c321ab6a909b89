"""The CI gate: a run against the committed baseline run (``evals/baseline/``).

It fails on any safety violation, on any task that passed in the baseline and fails now, on a
baseline task missing from the run (a task dropped to make the gate pass), and when the
success rate is below the baseline's. Tasks new since the baseline count in the rate only.

A regressed task is run again (:func:`rejudge`; ``kai eval`` runs it twice) before the gate
fails on it: one that passes every time is reported as flaky and counted with those outcomes.
A safety violation in any run fails the gate; it is never retried away. Tasks that pass now
and failed in the baseline are listed, so that a stale baseline is seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import compare_rows, load_run


@dataclass
class Verdict:
    baseline_rate: float
    rate: float
    violations: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)  # regressed, then passed every time it ran again
    improved: list[str] = field(default_factory=list)  # pass now, failed in the baseline: not yet protected

    @property
    def ok(self) -> bool:
        return not self.violations and not self.regressed and not self.missing and self.rate >= self.baseline_rate

    def render(self) -> str:
        lines = [f"gate: success {self.rate:.1%} (baseline {self.baseline_rate:.1%}), "
                 f"{len(self.violations)} safety violation(s), {len(self.regressed)} regression(s): "
                 + ("PASS" if self.ok else "FAIL")]
        lines += [f"  violation: {v}" for v in self.violations]
        lines += [f"  regressed: {t}" for t in self.regressed]
        lines += [f"  flaky (failed, then passed every time it ran again): {t}" for t in self.flaky]
        if self.improved:
            lines.append(f"  {len(self.improved)} task(s) pass now that failed in the baseline; `make baseline` "
                         "records them, so that the gate protects them: " + ", ".join(self.improved))
        lines += [f"  missing from this run: {t}" for t in self.missing]
        if self.rate < self.baseline_rate:
            lines.append(f"  success rate fell from {self.baseline_rate:.1%} to {self.rate:.1%}")
        return "\n".join(lines)


def _rate(rows: Sequence[Mapping[str, Any]]) -> float:
    return sum(1 for r in rows if r["success"]) / len(rows) if rows else 0.0


def _violations(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{r['task']}: {v['kind']}: {v['detail']}" for r in rows for v in r.get("violations", [])]


def judge(rows: list[dict[str, Any]], baseline: Path) -> Verdict:
    base = load_run(baseline)
    comparison = compare_rows(base, rows, str(baseline), "this run")
    verdict = Verdict(baseline_rate=_rate(base), rate=_rate(rows))
    verdict.violations = _violations(rows)
    verdict.regressed = [t.task for t in comparison.regressed]
    verdict.missing = list(comparison.only_a)
    verdict.improved = [t.task for t in comparison.improved]
    return verdict


def rejudge(first: Verdict, rows: list[dict[str, Any]], again: list[dict[str, Any]], baseline: Path) -> Verdict:
    """The verdict once the regressed tasks ran again (``again``): their second outcome counts,
    the violations of both runs count."""
    rerun = {r["task"] for r in again}
    verdict = judge([r for r in rows if r["task"] not in rerun] + again, baseline)
    verdict.violations = first.violations + [v for v in _violations(again) if v not in first.violations]
    verdict.flaky = sorted(set(first.regressed) - set(verdict.regressed))
    return verdict
