"""Intents → tool calls. :func:`first` is an intent's first round of calls; :func:`follow` is
the next round computed from the results so far (None: the intent is done):

- diagnose → the logs (the previous instance, for a crash) and events of what the findings name;
- check health of a name → as a workload, else as a Helm release, else as a namespace;
- "rollback X" / "history of X" with no word saying which → the Helm release X if there is one,
  else the Deployment X (asked with a read first; never a write on a guess).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .intents import Intent
from .lexicon import SINGULAR, WORKLOAD_KIND
from .memory import TARGET
from .results import Result


@dataclass(frozen=True)
class Call:
    tool: str
    args: dict[str, Any]


TOOL_OF = {"scale": "scale", "set_image": "set_image", "restart": "rollout_restart", "undo": "rollout_undo",
           "helm_rollback": "helm_rollback", "helm_install": "helm_install", "helm_upgrade": "helm_upgrade",
           "helm_uninstall": "helm_uninstall", "create_namespace": "create_namespace",
           "delete_namespace": "delete_namespace", "delete": "delete_resource", "set_env": "set_env",
           "set_resources": "set_resources", "autoscale": "autoscale", "cordon": "cordon", "uncordon": "uncordon",
           "drain": "drain", "apply": "apply_manifest", "logs": "get_logs", "events": "get_events",
           "diagnose": "diagnose", "health": "check_health", "helm_history": "helm_history",
           "rollout_history": "rollout_history", "history": "helm_history", "rollback": "helm_status",
           "helm_status": "helm_status", "helm_values": "helm_get_values", "helm_list": "helm_list",
           "rollout_status": "rollout_status", "images": "list_resources", "list": "list_resources",
           "list_namespaces": "list_namespaces", "get": "get_resource", "describe": "describe_resource",
           "pods_of": "list_resources", "can_i": "can_i"}
# Tools whose misspelt target is resolved to the one close name the tool offers (never a delete).
TYPO_TOOLS = frozenset({"scale", "set_image", "rollout_restart", "rollout_status", "rollout_history", "rollout_undo",
                        "set_env", "set_resources", "get_logs", "get_resource", "describe_resource", "diagnose"})
DIAGNOSE_KINDS = frozenset({"deployments", "statefulsets", "daemonsets", "replicasets", "services", "pods",
                            "horizontalpodautoscalers"})
CRASH = re.compile(r"crash|OOM|restart|killed|exit", re.I)
NO_LOGS = re.compile(r"pull image|pending|schedul|no ready endpoints|selector|HPA|replicas unavailable|rollout", re.I)
POD_SUFFIX = re.compile(r"-[a-z0-9]{5}$|-[a-f0-9]{8,10}-[a-z0-9]{5}$")


def _put(args: dict[str, Any], **more: Any) -> dict[str, Any]:
    args.update({k: v for k, v in more.items() if v is not None and v is not False})
    return args


def _where(intent: Intent) -> dict[str, Any]:
    return {"namespace": intent.namespace} if intent.namespace else {}


def _workload_kind(intent: Intent) -> str | None:
    kind = WORKLOAD_KIND.get(intent.kind or "")
    return None if kind in (None, "deployment") else kind


@cache
def local_chart(name: str) -> str | None:
    """The local chart directory ``name`` means ("todo-app" → ./helm/todo-app), searched where
    helm_upgrade looks ($KAI_CHARTS, ./helm, kai's own charts)."""
    from tools.helm_plan import chart_roots

    for root in chart_roots():
        candidate = root / name
        if (candidate / "Chart.yaml").is_file():
            try:
                return "./" + candidate.resolve().relative_to(Path.cwd().resolve()).as_posix()
            except ValueError:
                return str(candidate.resolve())
    return None


def first(intent: Intent) -> list[Call]:
    """The first round of calls for ``intent``."""
    a, args, name = intent.action, intent.args, intent.name
    where = _where(intent)
    tool = TOOL_OF[a]
    if a == "scale":
        return [Call(tool, _put({"name": name, "replicas": args["replicas"]}, kind=_workload_kind(intent), **where))]
    if a == "set_image":
        return [Call(tool, _put({"name": name, "image": args["image"]}, container=args.get("container"),
                                kind=_workload_kind(intent), **where))]
    if a in ("restart", "rollout_status"):
        kind = _workload_kind(intent)
        return [Call(tool, _put({"name": name}, kind=kind if kind != "replicaset" else None, **where))]
    if a in ("undo", "helm_rollback"):
        key = "name" if a == "undo" else "release"
        return [Call(tool, _put({key: name}, revision=args.get("revision"), **where))]
    if a in ("helm_upgrade",):
        return [Call(tool, _put({"release": name}, set=args.get("set"), version=args.get("version"),
                                chart=args.get("chart"), **where))]
    if a == "helm_install":
        chart = args.get("chart") or local_chart(name or "") or name
        base = Path(str(chart)).name.removesuffix(".tgz")
        release = args.get("release") or re.sub(r"-\d+(\.\d+)*$", "", base)
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", release):
            release = name or release
        return [Call(tool, _put({"chart": chart, "release": release}, set=args.get("set"), version=args.get("version"),
                                create_namespace=args.get("create_namespace"), **where))]
    if a in ("helm_uninstall", "helm_history", "history", "rollback", "helm_status"):
        return [Call(tool, _put({"release": name}, **where))]
    if a == "helm_values":
        every = bool(re.search(r"\ball\b|default", intent.text))
        return [Call(tool, _put({"release": name}, all_values=every, **where))]
    if a in ("create_namespace", "delete_namespace", "cordon", "uncordon"):
        return [Call(tool, {"name": name})]
    if a == "drain":
        return [Call(tool, _put({"name": name}, ignore_daemonsets=True))]
    if a == "delete":
        return [Call(tool, _put({"kind": SINGULAR.get(intent.kind or "", intent.kind), "name": name}, **where))]
    if a == "set_env":
        return [Call(tool, _put({"name": name}, env=args.get("env") or None, unset=args.get("unset") or None,
                                kind=_workload_kind(intent), **where))]
    if a == "set_resources":
        keys = ("cpu_request", "memory_request", "cpu_limit", "memory_limit")
        return [Call(tool, _put({"name": name}, **{k: args.get(k) for k in keys}, kind=_workload_kind(intent),
                                **where))]
    if a == "autoscale":
        return [Call(tool, _put({"name": name, "max": args["max"]}, min=args.get("min"),
                                cpu_percent=args.get("cpu_percent"), **where))]
    if a == "apply":
        return [Call(tool, _put({"manifest": args["manifest"]}, **where))]
    if a == "logs":
        kind = WORKLOAD_KIND.get(intent.kind or "")
        return [Call(tool, _put({"name": name}, kind=kind, tail=args.get("tail"), since=args.get("since"),
                                previous=args.get("previous"), grep=args.get("grep"), container=args.get("container"),
                                **where))]
    if a == "events":
        if name and intent.kind not in (None, "pods", "events"):
            return [Call(tool, _put({"kind": SINGULAR.get(intent.kind or "", intent.kind), "name": name},
                                    warnings_only=args.get("warnings_only"), **where))]
        return [Call(tool, _put({}, warnings_only=args.get("warnings_only"), all_namespaces=intent.all_namespaces,
                                limit=50 if name else None, **where))]
    if a == "diagnose":
        kind = SINGULAR.get(intent.kind or "") if intent.kind in DIAGNOSE_KINDS - {"pods"} else None
        return [Call(tool, _put({}, name=name, kind=kind if name else None, **where))]
    if a == "health":
        if name and re.search(r"\b(release|helm|chart)\b", intent.text):
            return [Call(tool, _put({"release": name}, **where))]
        kind = SINGULAR.get(intent.kind or "") if intent.kind in WORKLOAD_KIND else None
        return [Call(tool, _put({}, name=name, kind=kind if name else None, **where))]
    if a in ("rollout_history", "describe", "get"):
        if a == "rollout_history":
            return [Call(tool, _put({"name": name}, **where))]
        kind = SINGULAR.get(intent.kind or "deployments", intent.kind) or "deployment"
        output = args.get("output") if a == "get" else None
        return [Call(tool, _put({"kind": kind, "name": name}, output=output, **where))]
    if a == "helm_list":
        return [Call(tool, dict(where))]
    if a == "images":
        if name:
            kind = SINGULAR.get(intent.kind or "deployments", "deployment")
            return [Call("get_resource", _put({"kind": kind if kind != "pod" else "deployment", "name": name},
                                              **where))]
        return [Call(tool, _put({"kind": "deployments"}, all_namespaces=intent.all_namespaces, **where))]
    if a in ("list", "pods_of"):
        kind = intent.kind or "pods"
        return [Call(tool, _put({"kind": kind if a == "list" else "pods"}, all_namespaces=intent.all_namespaces,
                                label_selector=args.get("label_selector"), **where))]
    if a == "list_namespaces":
        return [Call(tool, {})]
    if a == "can_i":
        return [Call(tool, _put({"verb": args.get("verb", "get"), "resource": intent.kind or "pods"}, **where))]
    raise ValueError(f"no calls for {a}")


def follow(intent: Intent, rounds: list[list[Result]]) -> list[Call] | None:
    """The next round of calls after ``rounds``, or None when ``intent`` is done."""
    last = rounds[-1][0] if rounds and rounds[-1] else None
    if last is None:
        return None
    a, n = intent.action, len(rounds)
    if n == 1 and last.not_found and last.tool in TYPO_TOOLS and (meant := closest_match(last)) is not None:
        where, _, fixed = meant.rpartition("/")
        return [Call(last.tool, {**last.args, "name": fixed, **({"namespace": where} if where else {})})]
    if a == "diagnose" and n == 1 and last.ok:
        return _after_diagnosis(intent, last)
    if a == "health" and last.not_found and intent.name:
        if n == 1 and "release" not in last.args:
            return [Call("check_health", _put({"release": intent.name}, **_where(intent)))]
        if n <= 2 and "namespace" not in last.args and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", intent.name):
            return [Call("check_health", {"namespace": intent.name})]
    if a == "history" and n == 1 and last.not_found:
        return [Call("rollout_history", _put({"name": intent.name}, **_where(intent)))]
    if a == "rollback" and n == 1:
        if last.ok:
            release = last.data.get("name") or intent.name
            namespace = last.data.get("namespace") or intent.namespace
            return [Call("helm_rollback", _put({"release": release, "namespace": namespace},
                                               revision=intent.args.get("revision")))]
        if last.not_found:
            return [Call("rollout_undo", _put({"name": intent.name}, revision=intent.args.get("revision"),
                                              **_where(intent)))]
    return None


def closest_match(result: Result) -> str | None:
    """The one name a misspelt one means ("bakend" → todo-app/todo-backend): the tool's closest
    name when it alone is close (by its whole name or its last parts), else None."""
    asked = result.args.get("name")
    closest = result.details.get("closest")
    if not isinstance(asked, str) or not isinstance(closest, list):
        return None

    def score(candidate: str) -> float:
        name = candidate.rpartition("/")[2]
        parts = name.split("-")
        forms = {"-".join(parts[i:]) for i in range(len(parts))}
        return max(difflib.SequenceMatcher(None, asked, form).ratio() for form in forms)

    scored = sorted(((score(str(c)), str(c)) for c in closest), reverse=True)
    close = [c for s, c in scored if s >= 0.8]
    if len(close) != 1 or (len(scored) > 1 and scored[1][0] > scored[0][0] - 0.15):
        return None
    return close[0]


def _after_diagnosis(intent: Intent, result: Result) -> list[Call]:
    """Logs and events for what the diagnosis found (or for its target when it found nothing)."""
    target = str(result.data.get("target") or "")
    match = TARGET.match(target)
    namespace = match.group(3) if match else (target.split()[-1] if target.startswith("namespace ") else None)
    where = {"namespace": namespace} if namespace else _where(intent)
    findings = [f for f in result.data.get("findings") or [] if isinstance(f, dict)]
    pods = [f for f in findings if f.get("kind") == "Pod" and isinstance(f.get("name"), str)]
    calls: list[Call] = []
    owners: set[str] = set()
    for finding in pods:
        owner = POD_SUFFIX.sub("", finding["name"])
        problem = str(finding.get("problem") or "")
        if owner in owners or NO_LOGS.search(problem):
            continue
        owners.add(owner)
        container = re.search(r"container (\S+)", problem)
        calls.append(Call("get_logs", _put({"name": finding["name"]},
                                           container=container.group(1) if container else None,
                                           previous=bool(CRASH.search(problem)), tail=20, **where)))
        if len(calls) == 2:
            break
    if pods:
        calls.append(Call("get_events", _put({"kind": "pod", "name": pods[0]["name"], "limit": 10}, **where)))
    elif findings or not intent.name:
        calls.append(Call("get_events", _put({"warnings_only": True, "limit": 10}, **where)))
    else:
        name = match.group(2) if match else intent.name
        if match and match.group(1) in ("Deployment", "StatefulSet", "DaemonSet", "Pod"):
            calls.append(Call("get_logs", _put({"name": name, "tail": 20}, **where)))
        calls.append(Call("get_events", _put({"warnings_only": True, "limit": 10}, **where)))
    return calls
