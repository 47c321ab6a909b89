"""Reading tasks: kai's YAML files (checked against ``task.schema.json``) and k8s-bench folders.

``load(paths)`` takes files and folders; a folder is searched recursively for ``*.yaml`` task
files and for k8s-bench task folders (a folder holding ``task.yaml``). Every problem is a
:class:`~evals.errors.TaskError` naming the file and the field, before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import TaskError
from .task import CallSpec, Expect, IdealCall, Setup, StateCheck, Task

BENCH_FILE = "task.yaml"
IDEAL_SUFFIX = ".ideal.yaml"  # kai's addition beside a k8s-bench task folder: the calls the scripted provider replays
BENCH_KEYS = {"script", "promptFile", "setup", "verifier", "cleanup", "expect", "difficulty", "disabled", "timeout",
              "isolation", "tags"}


@cache
def schema() -> dict[str, Any]:
    """The task format's JSON Schema (``evals/task.schema.json``)."""
    loaded: dict[str, Any] = json.loads(resources.files("evals").joinpath("task.schema.json").read_text())
    return loaded


def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def load(paths: Iterable[Path], tags: Iterable[str] = (), include_disabled: bool = False) -> list[Task]:
    """Every task under ``paths``, sorted by category and id; with ``tags``, those carrying one."""
    found: list[Task] = []
    for path in paths:
        if not path.exists():
            raise TaskError(f"{path}: no such file or folder")
        if path.is_file():
            found.append(load_file(path) if path.name != BENCH_FILE else load_bench(path.parent))
            continue
        for item in sorted(path.rglob("*.yaml")):
            if item.name == BENCH_FILE:
                found.append(load_bench(item.parent))
            elif (not (item.parent / BENCH_FILE).exists() and "artifacts" not in item.relative_to(path).parts
                  and not item.name.endswith(IDEAL_SUFFIX)):
                found.append(load_file(item))
    seen: dict[str, Path] = {}
    for task in found:
        if task.id in seen and seen[task.id] != task.path:
            raise TaskError(f"{task.path}: id {task.id!r} is also the id of {seen[task.id]}")
        seen[task.id] = task.path
    wanted = set(tags)
    chosen = [t for t in found if (include_disabled or not t.disabled) and (not wanted or wanted & set(t.tags))]
    unique = {t.path: t for t in chosen}
    return sorted(unique.values(), key=lambda t: (t.category, t.id))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise TaskError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    except OSError as exc:
        raise TaskError(f"{path}: cannot read: {exc.strerror}") from exc


def _field(error: Any) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return parts.lstrip(".") or "(top level)"


def load_file(path: Path) -> Task:
    """One task in kai's format."""
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise TaskError(f"{path}: a task is a YAML mapping")
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (len(list(e.absolute_path)), e.message))
    if errors:
        first = errors[0]
        best = _best(first)
        raise TaskError(f"{path}: field {_field(best)}: {best.message}")
    if doc["id"] != path.stem:
        raise TaskError(f"{path}: field id: {doc['id']!r} differs from the file name {path.stem!r}")
    return _task(path, doc)


def _best(error: Any) -> Any:
    """The most specific cause of a ``oneOf``/``anyOf`` failure."""
    from jsonschema.exceptions import best_match

    return best_match([error, *error.context]) if error.context else error


def _tools(item: dict[str, Any]) -> tuple[str, ...]:
    tool = item["tool"]
    return (tool,) if isinstance(tool, str) else tuple(tool)


def _specs(items: list[dict[str, Any]] | None) -> tuple[CallSpec, ...]:
    return tuple(CallSpec(_tools(item), dict(item.get("args") or {}), _statuses(item)) for item in items or [])


def _statuses(item: dict[str, Any]) -> tuple[str, ...]:
    status = item.get("status")
    return () if status is None else (status,) if isinstance(status, str) else tuple(status)


def _ideal(items: list[dict[str, Any]] | None) -> tuple[IdealCall, ...]:
    return tuple(IdealCall(c["tool"], dict(c.get("args") or {}), int(c.get("turn", 1))) for c in items or [])


def _state(item: dict[str, Any]) -> StateCheck:
    return StateCheck(object=item.get("object"), release=item.get("release"), namespace=item.get("namespace"),
                      path=item.get("path"), equals=item.get("equals"), has_equals="equals" in item,
                      matches=item.get("matches"), absent=bool(item.get("absent")), exists=bool(item.get("exists")),
                      revision=item.get("revision"), status=item.get("status"))


def _task(path: Path, doc: dict[str, Any]) -> Task:
    from tools import catalog

    known = set(catalog.REGISTRY.names())
    expect = doc.get("expect") or {}
    answer = expect.get("answer") or {}
    for key in ("calls", "forbidden"):
        for i, item in enumerate(expect.get(key) or []):
            for name in _tools(item):
                if name not in known:
                    raise TaskError(f"{path}: field expect.{key}[{i}].tool: no tool named {name!r}")
    for i, item in enumerate(doc.get("ideal") or []):
        if item["tool"] not in known:
            raise TaskError(f"{path}: field ideal[{i}].tool: no tool named {item['tool']!r}")
    setup = doc.get("setup") or {}
    conditions = [("expect.state", expect.get("state") or []), ("setup.until", setup.get("until") or [])]
    for where, items in conditions:
        for i, item in enumerate(items):
            if "release" not in item and not any(k in item for k in ("equals", "matches", "absent", "exists")):
                raise TaskError(f"{path}: field {where}[{i}]: say what must hold (equals, matches, absent, exists)")
            if ("equals" in item or "matches" in item) and "path" not in item:
                raise TaskError(f"{path}: field {where}[{i}].path: equals and matches need a path")
    prompts = (doc["prompt"],) if "prompt" in doc else tuple(turn["prompt"] for turn in doc["script"])
    pauses = (0.0,) if "prompt" in doc else tuple(float(turn.get("wait", 0)) for turn in doc["script"])
    turns = len(prompts)
    ideal = _ideal(doc.get("ideal"))
    for i, call in enumerate(ideal):
        if call.turn > turns:
            raise TaskError(f"{path}: field ideal[{i}].turn: the task has {turns} turn(s)")
    return Task(
        id=doc["id"], path=path.resolve(), category=path.parent.name, prompts=prompts,
        expect=Expect(calls=_specs(expect.get("calls")), ordered=bool(expect.get("ordered", False)),
                      forbidden=_specs(expect.get("forbidden")),
                      state=tuple(_state(s) for s in expect.get("state") or []),
                      contains=tuple(answer.get("contains") or ()),
                      not_contains=tuple(answer.get("not_contains") or ()),
                      settle=float(expect.get("settle", 0))),
        tags=tuple(doc["tags"]), difficulty=doc["difficulty"], namespace=doc.get("namespace", "todo-app"),
        setup=Setup(base=setup.get("base", "todo-app"), namespaces=tuple(setup.get("namespaces") or ()),
                    manifests=setup.get("manifests", ""), releases=tuple(setup.get("releases") or ()),
                    upgrades=tuple(setup.get("upgrades") or ()), faults=tuple(setup.get("faults") or ()),
                    script=setup.get("script", ""), wait=float(setup.get("wait", 0)),
                    until=tuple(_state(c) for c in setup.get("until") or [])),
        approvals=doc.get("approvals", "approve"), timeout=float(doc.get("timeout", 60)),
        disabled=bool(doc.get("disabled", False)), ideal=ideal, ideal_answer=doc.get("ideal_answer", ""),
        pauses=pauses)


# --- k8s-bench ---------------------------------------------------------------------------

def load_bench(folder: Path) -> Task:
    """A task folder in the format of kubectl-ai's k8s-bench: ``task.yaml`` with ``script``
    (``[{prompt}]``) or ``promptFile``, and ``setup``/``verifier``/``cleanup`` scripts in the
    folder. It passes when its verifier exits 0, or when it has ``expect`` entries
    (``contains``/``notContains``, plain substrings of the agent's output) and all hold."""
    path = folder / BENCH_FILE
    doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise TaskError(f"{path}: a task is a YAML mapping")
    unknown = sorted(set(doc) - BENCH_KEYS)
    if unknown:
        raise TaskError(f"{path}: field {unknown[0]}: not a k8s-bench task field ({', '.join(sorted(BENCH_KEYS))})")
    prompts: list[str] = []
    if "promptFile" in doc:
        prompt_file = folder / str(doc["promptFile"])
        if not prompt_file.is_file():
            raise TaskError(f"{path}: field promptFile: no file {prompt_file.name} in {folder}")
        prompts.append(prompt_file.read_text().strip())
    script = doc.get("script") or []
    if not isinstance(script, list) or not all(isinstance(s, dict) and isinstance(s.get("prompt"), str)
                                               for s in script):
        raise TaskError(f"{path}: field script: a list of {{prompt: TEXT}}")
    prompts += [s["prompt"] for s in script]
    if not prompts:
        raise TaskError(f"{path}: field script: the task has no prompt (script or promptFile)")
    for key in ("setup", "verifier", "cleanup"):
        name = doc.get(key)
        if name is not None and not (folder / str(name)).is_file():
            raise TaskError(f"{path}: field {key}: no script {name} in {folder}")
    contains: list[str] = []
    not_contains: list[str] = []
    for i, item in enumerate(doc.get("expect") or []):
        if not isinstance(item, dict) or not set(item) <= {"contains", "notContains"} or not item:
            raise TaskError(f"{path}: field expect[{i}]: contains: TEXT or notContains: TEXT")
        if "contains" in item:
            contains.append(str(item["contains"]))
        if "notContains" in item:
            not_contains.append(str(item["notContains"]))
    if not doc.get("verifier") and not contains and not not_contains:
        raise TaskError(f"{path}: field verifier: the task has neither a verifier nor expectations")
    difficulty = str(doc.get("difficulty", "medium"))
    if difficulty not in ("easy", "medium", "hard"):
        raise TaskError(f"{path}: field difficulty: easy, medium or hard")
    tags = doc.get("tags") or []
    ideal, ideal_answer = _bench_ideal(folder, len(prompts))
    return Task(
        id=folder.name, path=folder.resolve(), category=folder.parent.name, prompts=tuple(prompts),
        expect=Expect(contains=tuple(contains), not_contains=tuple(not_contains)),
        tags=("k8s-bench", *[str(t) for t in tags if t != "k8s-bench"]), difficulty=difficulty, namespace="default",
        setup=Setup(base="empty", script=str(doc.get("setup") or "")), approvals="approve",
        timeout=float(doc.get("timeout", 300)) if not isinstance(doc.get("timeout"), str) else _duration(
            path, doc["timeout"]),
        disabled=bool(doc.get("disabled", False)), format="k8s-bench", verifier=str(doc.get("verifier") or ""),
        cleanup=str(doc.get("cleanup") or ""), ideal=ideal, ideal_answer=ideal_answer)


def _bench_ideal(folder: Path, turns: int) -> tuple[tuple[IdealCall, ...], str]:
    """``<task>.ideal.yaml`` beside a k8s-bench task folder (``ideal:`` and ``ideal_answer:`` as in
    kai's format), outside the folder so that no benchmark copies it to the agent's workspace."""
    path = folder.parent / f"{folder.name}{IDEAL_SUFFIX}"
    if not path.is_file():
        return (), ""
    doc = _read_yaml(path)
    wrapper = {"type": "object", "additionalProperties": False, "properties": {
        "ideal": schema()["properties"]["ideal"], "ideal_answer": schema()["properties"]["ideal_answer"]},
        "$defs": schema()["$defs"]}
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(wrapper).iter_errors(doc), key=lambda e: len(list(e.absolute_path)))
    if errors:
        raise TaskError(f"{path}: field {_field(errors[0])}: {errors[0].message}")
    ideal = _ideal(doc.get("ideal"))
    if any(c.turn > turns for c in ideal):
        raise TaskError(f"{path}: field ideal: a call names a turn the task does not have ({turns})")
    return ideal, str(doc.get("ideal_answer", ""))


def _duration(path: Path, text: str) -> float:
    """k8s-bench writes timeouts as Go durations: ``90s``, ``5m``, ``1m30s``."""
    import re

    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text.strip())
    if not parts or not text.strip():
        raise TaskError(f"{path}: field timeout: {text!r} is not a duration (90s, 5m)")
    hours, minutes, seconds = parts.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
