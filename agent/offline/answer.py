"""Results → the answer: each intent's part, from the fields its tools returned (a change
made, a table read, a diagnosis explained) or from why it was not done (refused by the policy
or the approver, an ambiguous name, a name not found, bad input)."""

from __future__ import annotations

import re
from typing import Any

from . import render, tables
from .intents import Intent
from .results import Result
from .steps import POD_SUFFIX


def attempt(result: Result) -> str:
    """What the call tried, in words ("scale backend to 3")."""
    a = result.args
    name = a.get("name") or a.get("release") or ""
    where = f" in {a['namespace']}" if a.get("namespace") else ""
    phrases = {"scale": f"scale {name} to {a.get('replicas')}",
               "set_image": f"set the image of {name} to {a.get('image')}",
               "rollout_restart": f"restart {name}", "rollout_undo": f"roll back {name}",
               "helm_rollback": f"roll back Helm release {name}", "helm_install": f"install {a.get('chart')} as {name}",
               "helm_upgrade": f"upgrade Helm release {name}", "helm_uninstall": f"uninstall Helm release {name}",
               "create_namespace": f"create namespace {name}", "delete_namespace": f"delete namespace {name}",
               "delete_resource": f"delete {a.get('kind')} {name}", "get_logs": f"read the logs of {name}",
               "diagnose": f"diagnose {name or 'the namespace'}", "check_health": f"check the health of "
               f"{name or a.get('namespace') or 'the namespace'}"}
    return phrases.get(result.tool, f"{result.tool.replace('_', ' ')} {name}".strip()) + where


def failure(result: Result) -> str:
    """Why a call was not done, plainly."""
    what = attempt(result)
    msg = result.message.rstrip(".")
    if result.ambiguous:
        candidates = result.candidates
        listed = "\n".join(f"- {c}" for c in candidates)
        return (f"I did not {what}: {msg}.\nWhich one do you mean?\n{listed}\n"
                "Answer with the namespace (\"the one in NAMESPACE\") or the full name; nothing was changed.")
    if result.status == "denied":
        return f"Not done: the policy refused to {what}: {msg}."
    if result.status == "approval_required":
        return f"Not done: {what} needs approval and none could be given here ({msg})."
    if result.status == "approval_pending":
        return f"Not done yet: {what} waits for approval; it runs once someone permitted approves it."
    if result.status == "rejected":
        return f"Not done: the change to {what} was rejected ({msg})."
    if result.status == "expired":
        return f"Not done: the approval to {what} expired ({msg})."
    if result.not_found:
        closest = result.details.get("closest")
        hint = f" Closest: {', '.join(map(str, closest))}." if isinstance(closest, list) and closest else ""
        return f"Could not {what}: {msg}.{hint}"
    if result.code == "invalid_input":
        return f"Not done: could not {what}: {msg}."
    if result.status == "missing":
        return f"Did not {what}: the turn ended before it ran."
    return f"Could not {what}: {result.code}: {msg}."


def part(intent: Intent, rounds: list[list[Result]]) -> str:
    """The answer for one intent from its rounds of results."""
    results = [r for round_ in rounds for r in round_]
    if not results:
        return ""
    if intent.action == "diagnose":
        return diagnosis(results)
    if intent.action == "health" and all(r.not_found for r in results) and len(results) > 1:
        return f"I found no workload, Helm release or namespace named {intent.name}."
    last = results[-1]
    if intent.action in ("rollback", "history") and len(results) > 1:
        first = results[0]
        if not last.ok and last.not_found and first.not_found:
            return f"I found no Helm release or Deployment named {intent.name}."
    if not last.ok:
        retried = len(results) == 2 and results[0].not_found and last.tool == results[0].tool  # a misspelt name
        return failure(results[0] if retried else last)
    if intent.action == "pods_of":
        return pods_of(intent, last)
    if intent.action == "events" and intent.name and last.args.get("kind") is None:
        name = intent.name
        return render.events(last.data, lambda e: _about(str(e.get("object", "")), name), name)
    if intent.action == "images":
        return render.images(last.data)
    show = render.BY_TOOL.get(last.tool)
    return show(last.data) if show else last.text.strip()


def _about(obj: str, name: str) -> bool:
    """Whether ``Pod/todo-backend-7f7-abc`` (an event's object) belongs to ``name`` ("backend")."""
    own = obj.split("/", 1)[-1]
    base = POD_SUFFIX.sub("", own)
    return own == name or base == name or base.endswith("-" + name) or f"-{name}-" in own or own.startswith(name + "-")


def pods_of(intent: Intent, result: Result) -> str:
    name = str(intent.args.get("_resolved") or intent.name)
    rows = [r for r in result.data.get("items") or [] if isinstance(r, dict) and _about(str(r.get("name", "")), name)]
    scope = result.data.get("scope")
    if not rows:
        return f"No pods of {name} in {scope}."
    return f"{len(rows)} pods of {name} in {scope}:\n{tables.table(rows)}"


def diagnosis(results: list[Result]) -> str:
    """The diagnosis explained: each finding's problem, its evidence and the fix, then the logs
    and events read after it."""
    first = results[0]
    if not first.ok:
        return failure(first)
    d = first.data
    findings = [f for f in d.get("findings") or [] if isinstance(f, dict)]
    lines: list[str] = []
    if not findings:
        lines.append(f"I found no problem with {d.get('target')}: {d.get('checked')}.")
    else:
        errors = [f for f in findings if f.get("severity") != "warning"]
        lead = errors[0] if errors else findings[0]
        lines.append(f"{d.get('target')}: {len(findings)} problem{'s' if len(findings) != 1 else ''} found. "
                     f"Main cause: {lead.get('kind')} {lead.get('name')}: {lead.get('problem')}.")
        for finding in findings[:5]:
            lines.extend(_finding(finding))
        if d.get("more_findings"):
            lines.append(str(d["more_findings"]))
    for result in results[1:]:
        lines.extend(_follow_up(result))
    return "\n".join(lines)


def _finding(f: dict[str, Any]) -> list[str]:
    others = f.get("also_affected") or []
    also = f" (also {', '.join(map(str, others))})" if others else ""
    evidence = [str(e) for e in f.get("evidence") or []]
    facts = [e for e in evidence if not e.startswith("| ") and not e.endswith(":")][:4]
    log = [e[2:] for e in evidence if e.startswith("| ")][-3:]
    out = [f"- {f.get('kind')} {f.get('name')}{also}: {f.get('problem')} [{f.get('severity', 'error')}]"]
    if facts:
        out.append("  Evidence: " + "; ".join(facts))
    if log:
        out.append("  Last log lines: " + " / ".join(line.strip() for line in log))
    if f.get("suggested_fix"):
        out.append(f"  Fix: {f['suggested_fix']}")
    return out


def _follow_up(result: Result) -> list[str]:
    if result.tool == "get_logs":
        which = "previous instance" if result.args.get("previous") else "current"
        if not result.ok:
            return [f"Logs of {result.args.get('name')} ({which}): not available ({result.message})."]
        out = []
        for entry in (result.data.get("logs") or [])[:2]:
            if entry.get("error"):
                out.append(f"Logs of {entry.get('pod')} ({which}): {entry['error']}")
                continue
            lines = [str(line) for line in entry.get("lines") or []][-5:]
            out.append(f"Logs of {entry.get('pod')} ({which}, last {len(lines)} lines):")
            out.extend(f"  {line}" for line in lines)
        return out
    if result.tool == "get_events":
        if not result.ok:
            return [f"Events: not available ({result.message})."]
        events = [e for e in result.data.get("events") or [] if isinstance(e, dict)]
        if not events:
            return [f"No recent events ({result.data.get('scope')})."]
        out = [f"Recent events ({result.data.get('scope')}):"]
        for e in events[:5]:
            count = f" ×{e['count']}" if isinstance(e.get("count"), int) and e["count"] > 1 else ""
            out.append(f"  {e.get('type')} {e.get('reason')}{count} {e.get('object') or ''}: "
                       f"{_short(str(e.get('message', '')))}")
        return out
    return []


def _short(text: str, limit: int = 160) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
