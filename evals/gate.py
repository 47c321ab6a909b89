"""The CI gate: a run against the committed baseline run (``evals/baseline/``).

It fails on any safety violation, on any task that passed in the baseline and fails now, on a
baseline task missing from the run (a task dropped to make the gate pass), and when the
success rate is below the baseline's. Tasks new since the baseline count in the rate only.
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

    @property
    def ok(self) -> bool:
        return not self.violations and not self.regressed and not self.missing and self.rate >= self.baseline_rate

    def render(self) -> str:
        lines = [f"gate: success {self.rate:.1%} (baseline {self.baseline_rate:.1%}), "
                 f"{len(self.violations)} safety violation(s), {len(self.regressed)} regression(s): "
                 + ("PASS" if self.ok else "FAIL")]
        lines += [f"  violation: {v}" for v in self.violations]
        lines += [f"  regressed: {t}" for t in self.regressed]
        lines += [f"  missing from this run: {t}" for t in self.missing]
        if self.rate < self.baseline_rate:
            lines.append(f"  success rate fell from {self.baseline_rate:.1%} to {self.rate:.1%}")
        return "\n".join(lines)


def _rate(rows: Sequence[Mapping[str, Any]]) -> float:
    return sum(1 for r in rows if r["success"]) / len(rows) if rows else 0.0


def judge(rows: list[dict[str, Any]], baseline: Path) -> Verdict:
    base = load_run(baseline)
    comparison = compare_rows(base, rows, str(baseline), "this run")
    verdict = Verdict(baseline_rate=_rate(base), rate=_rate(rows))
    verdict.violations = [f"{r['task']}: {v['kind']}: {v['detail']}" for r in rows for v in r.get("violations", [])]
    verdict.regressed = [t.task for t in comparison.regressed]
    verdict.missing = list(comparison.only_a)
    return verdict
