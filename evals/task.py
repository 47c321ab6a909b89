"""An eval task as the runner uses it, whichever format it was written in.

kai's own format (one YAML file per task, checked against ``task.schema.json``) and the
benchmark format of kubectl-ai's k8s-bench (a folder with ``task.yaml`` and scripts) both
load into :class:`Task`; :mod:`evals.loader` does the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Approvals = Literal["approve", "reject", "none"]
Format = Literal["kai", "k8s-bench"]


@dataclass(frozen=True)
class CallSpec:
    """A tool (or one of several, ``tool: [rollout_undo, set_image]``) and matchers for some of
    its arguments (see :mod:`evals.matchers`)."""

    tools: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)
    status: tuple[str, ...] = ()  # what must have become of the call (empty: anything)

    def label(self) -> str:
        from .matchers import describe

        inner = ", ".join(f"{k}{describe(v)}" for k, v in self.args.items())
        became = f" -> {'|'.join(self.status)}" if self.status else ""
        return f"{'|'.join(self.tools)}({inner}){became}"


@dataclass(frozen=True)
class IdealCall:
    tool: str
    args: dict[str, Any]
    turn: int = 1


@dataclass(frozen=True)
class StateCheck:
    """One assertion on the cluster after the run: an object (``kind/name``) or a Helm release."""

    object: str | None = None
    release: str | None = None
    namespace: str | None = None
    path: str | None = None
    equals: Any = None
    has_equals: bool = False
    matches: str | None = None
    absent: bool = False
    exists: bool = False
    revision: int | None = None
    status: str | None = None

    def label(self) -> str:
        where = f" -n {self.namespace}" if self.namespace else ""
        if self.release is not None:
            parts = [f"revision {self.revision}" if self.revision else "",
                     f"status {self.status}" if self.status else ""]
            return f"release {self.release}{where}: " + (", ".join(p for p in parts if p) or "exists")
        what = f"{self.object}{where}"
        path = self.path or ""
        if self.absent:
            return f"{what} {path} has no value" if path else f"{what} is absent"
        if self.has_equals:
            return f"{what} {path} == {self.equals!r}"
        if self.matches is not None:
            return f"{what} {path} ~ /{self.matches}/"
        return f"{what} {path} exists".replace("  ", " ")


@dataclass(frozen=True)
class Setup:
    base: Literal["todo-app", "empty"] = "todo-app"
    namespaces: tuple[str, ...] = ()
    manifests: str = ""
    releases: tuple[dict[str, Any], ...] = ()
    upgrades: tuple[dict[str, Any], ...] = ()
    faults: tuple[dict[str, Any], ...] = ()
    script: str = ""  # bash (kai format) or a script file name (k8s-bench)
    wait: float = 0.0
    until: tuple[StateCheck, ...] = ()  # conditions the cluster must reach before the first turn


@dataclass(frozen=True)
class Expect:
    calls: tuple[CallSpec, ...] = ()
    ordered: bool = False
    forbidden: tuple[CallSpec, ...] = ()
    state: tuple[StateCheck, ...] = ()
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    settle: float = 0.0  # simulated seconds the state checks may take to come true


@dataclass(frozen=True)
class Task:
    id: str
    path: Path  # the YAML file (kai) or the folder (k8s-bench)
    category: str
    prompts: tuple[str, ...]
    expect: Expect
    tags: tuple[str, ...]
    difficulty: str
    namespace: str = "todo-app"
    setup: Setup = field(default_factory=Setup)
    approvals: Approvals = "approve"
    timeout: float = 60.0
    disabled: bool = False
    ideal: tuple[IdealCall, ...] = ()
    ideal_answer: str = ""
    format: Format = "kai"
    verifier: str = ""  # k8s-bench: a script in the task's folder; exit 0 = pass
    cleanup: str = ""
    pauses: tuple[float, ...] = ()  # simulated seconds to wait before each turn (script[].wait)

    @property
    def folder(self) -> Path:
        return self.path if self.format == "k8s-bench" else self.path.parent
