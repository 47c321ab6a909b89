"""Container logs of a pod or of a workload's pods, bounded to the result budget.

The server is asked only for the lines wanted (``tailLines``); with a grep filter, for the
last :data:`GREP_SCAN_LINES` lines, which are filtered here. Either way the text goes
through :func:`bound_log`, which keeps the last lines that fit the budget working from the
end, so a 10 MB log costs the model only the budget.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from . import podstatus
from .budget import count_tokens, render, tail_lines
from .context import ToolContext
from .errors import Forbidden, InvalidInput, KaiError, NotFound, trim
from .inputs import ContainerName, KindName, NamespaceName, ObjectName
from .objects import fits
from .registry import ToolInput, ToolResult, tool
from .resolve import Resolved, require_namespace, resolve, resolve_kind
from .rows import selector_string

Obj = dict[str, Any]
WORKLOADS = ("deployments", "statefulsets", "daemonsets", "jobs", "replicasets")
GREP_SCAN_LINES = 100_000  # lines a grep reads from the end of each log (a kubelet's 10 MiB file)
LINE_CHARS = 1000  # characters kept of one very long line
MAX_PODS = 5  # pods of a workload whose logs are shown together
MIN_POD_BUDGET = 120  # tokens each shown pod gets at least
DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _duration(value: str) -> str:
    match = DURATION.match(value)
    if not value or not match or not any(match.groups()):
        raise ValueError(f"invalid duration {value!r}: use forms like 30s, 10m, 1h, 2h30m, 1d")
    return value


def seconds(duration: str) -> int:
    """``"1h30m"`` → 5400."""
    match = DURATION.match(duration)
    assert match is not None
    d, h, m, s = (int(g or 0) for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


def select_lines(text: str, *, tail: int, grep: re.Pattern[str] | None = None) -> tuple[list[str], int]:
    """The last ``tail`` lines of ``text`` (those matching ``grep``), each cut to
    :data:`LINE_CHARS`, and how many lines (matching lines with ``grep``) there were."""
    lines = text.splitlines()
    if grep is not None:
        lines = [line for line in lines if grep.search(line)]
    wanted = [line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + f"… (+{len(line) - LINE_CHARS} chars)"
              for line in lines[-tail:]]
    return wanted, len(lines)


def fit_lines(lines: list[str], total: int, budget: int) -> tuple[list[str], int]:
    """The last ``lines`` that fit ``budget`` tokens, counted from the end (so the cost does
    not grow with the log), and how many of ``total`` lines were left out."""
    kept, _ = tail_lines("\n".join(lines), budget, len(lines))
    return kept, total - len(kept)


def bound_log(text: str, *, tail: int, budget: int, grep: re.Pattern[str] | None = None) -> tuple[list[str], int]:
    """What :func:`get_logs` keeps of one log: its last ``tail`` (matching) lines that fit
    ``budget`` tokens, and how many earlier lines were left out."""
    lines, total = select_lines(text, tail=tail, grep=grep)
    return fit_lines(lines, total, budget)


class LogsInput(ToolInput):
    name: ObjectName
    kind: KindName | None = None
    namespace: NamespaceName | None = None
    container: ContainerName | None = None
    tail: int = Field(100, ge=1, le=500)
    since: Annotated[str, Field(max_length=20), AfterValidator(_duration)] | None = None
    previous: bool = False
    grep: Annotated[str, StringConstraints(strip_whitespace=False), Field(min_length=1, max_length=200),
                    AfterValidator(_regex)] | None = None  # kept as given: spaces can matter in a pattern


class PodLog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pod: str
    container: str
    lines: list[str]
    omitted: str | None = None
    error: str | None = None


class LogsResult(ToolResult):
    source: str
    namespace: str
    note: str | None = None
    logs: list[PodLog]
    more: str | None = None


async def _target(ctx: ToolContext, args: LogsInput) -> Resolved:
    """The pod or workload ``args.name`` means: an exact pod name, a workload (deployment,
    statefulset, daemonset, job, replicaset; or the kind given), then a pod name prefix."""
    pods = await resolve_kind(ctx.cluster, "pods")
    kinds: tuple[str, ...] = WORKLOADS
    if args.kind:
        res = await resolve_kind(ctx.cluster, args.kind)
        if res.plural not in ("pods", *WORKLOADS) or res.group not in ("", "apps", "batch"):
            raise InvalidInput(f"logs come from pods or workloads ({', '.join(WORKLOADS)}), not {res.plural}")
        if res.plural != "pods":
            return await resolve(ctx.cluster, res, args.name, args.namespace, ctx.default_namespace)
        kinds = ()
    query = args.name.strip().lower()
    try:
        listed = (await ctx.cluster.get(pods.path(args.namespace)))["items"]
    except Forbidden:  # no right to list the cluster's pods: those of the default namespace
        if args.namespace:
            raise
        listed = (await ctx.cluster.get(pods.path(ctx.default_namespace)))["items"]
    exact = [p for p in listed if p["metadata"]["name"] == query]
    if len(exact) == 1:
        return Resolved(pods, query, exact[0]["metadata"].get("namespace"), exact[0])
    for plural in kinds:
        try:
            return await resolve(ctx.cluster, await resolve_kind(ctx.cluster, plural), args.name, args.namespace,
                                 ctx.default_namespace)
        except NotFound:
            continue
    prefixed = [p for p in listed if p["metadata"]["name"].startswith(query)]
    if len(prefixed) == 1:
        return Resolved(pods, prefixed[0]["metadata"]["name"], prefixed[0]["metadata"].get("namespace"), prefixed[0])
    return await resolve(ctx.cluster, pods, args.name, args.namespace, ctx.default_namespace)


async def _pods_of(ctx: ToolContext, target: Resolved) -> list[Obj]:
    """The target's pods, the ones in trouble first (not ready, most restarts), then by name."""
    if target.resource.plural == "pods":
        return [target.obj]
    selector = selector_string((target.obj.get("spec") or {}).get("selector"))
    if not selector:
        return []
    pods: list[Obj] = (await ctx.cluster.get(f"/api/v1/namespaces/{target.namespace}/pods",
                                             labelSelector=selector))["items"]
    return sorted(pods, key=lambda p: (podstatus.is_ready(p), -podstatus.restarts(p), p["metadata"]["name"]))


def _pick_container(pod: Obj, wanted: str | None) -> tuple[str, str | None]:
    """The container to read and a note when there was a choice: the asked one, the only
    one, the pod's default-container annotation, or the first."""
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    others = [str(c.get("name")) for key in ("initContainers", "ephemeralContainers") for c in spec.get(key) or []]
    if wanted is not None:
        if wanted not in names + others:
            raise NotFound(f"pod {pod['metadata']['name']} has no container {wanted!r}", names + others)
        return wanted, None
    if not names:
        raise NotFound(f"pod {pod['metadata']['name']} has no containers")
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    chosen = default if default in names else names[0]
    if len(names) == 1:
        return chosen, None
    return chosen, f"the pod has containers {', '.join(names)}; showing {chosen} (pass container for another)"


async def _read(ctx: ToolContext, pod: Obj, container: str, args: LogsInput) -> str:
    md = pod["metadata"]
    query: dict[str, Any] = {"container": container, "previous": args.previous,
                             "tailLines": GREP_SCAN_LINES if args.grep else args.tail,
                             "sinceSeconds": seconds(args.since) if args.since else None}
    return await ctx.cluster.text(f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}/log", query=query)


@tool(risk="read")
async def get_logs(ctx: ToolContext, args: LogsInput) -> LogsResult:
    """Read the recent log lines of a pod, or of a workload's pods (a deployment, statefulset,
    daemonset, job or replicaset: each pod's log labelled, the failing pods first). Use it to see
    why a container crashes or misbehaves; previous=true reads the instance that died last.

    Args:
        name: The pod or workload, as people say it: "backend" finds Deployment todo-backend; a pod's name or
            the start of it works too.
        kind: What name is, when it could be several things: pod, deployment, statefulset, daemonset, job or
            replicaset.
        namespace: Namespace to look in; by default the context's namespace, else the one namespace holding the name.
        container: Container to read; by default the only one, else the pod's default container or the first
            (the result says which).
        tail: How many of the last lines to return (1-500, default 100); fewer when the token budget is reached.
        since: Only lines newer than this duration, e.g. "30s", "10m", "1h".
        previous: Read the previous (last terminated) instance of the container, e.g. after a crash.
        grep: A regular expression; only matching lines are kept (searched over the last 100,000 lines).
    """
    if args.namespace:
        await require_namespace(ctx.cluster, args.namespace)
    target = await _target(ctx, args)
    namespace = str(target.namespace)
    pods = await _pods_of(ctx, target)
    source = target.ref()
    if not pods:
        return LogsResult(source=source, namespace=namespace, logs=[], note=f"{source} has no pods")
    shown = pods[: max(1, min(MAX_PODS, ctx.budget // (2 * MIN_POD_BUDGET)))]
    pattern = re.compile(args.grep) if args.grep else None
    entries: list[tuple[str, str, tuple[list[str], int] | str]] = []  # pod, container, (lines, total) or error
    notes: list[str] = []
    for pod in shown:
        container, note = _pick_container(pod, args.container)
        if note and note not in notes:
            notes.append(note)
        try:
            text = await _read(ctx, pod, container, args)
        except KaiError as exc:
            if len(shown) == 1:
                raise
            entries.append((pod["metadata"]["name"], container, trim(exc.message, 200)))
            continue
        entries.append((pod["metadata"]["name"], container, select_lines(text, tail=args.tail, grep=pattern)))
        del text  # only the selected lines are kept
    more = f"… {len(pods) - len(shown)} more pods (name one to read its log)" if len(pods) > len(shown) else None
    matching = "matching " if pattern else ""

    def build(per_pod: int) -> LogsResult:
        logs = []
        for pod_name, container, selected in entries:
            if isinstance(selected, str):
                logs.append(PodLog(pod=pod_name, container=container, lines=[], error=selected))
                continue
            lines, left = fit_lines(*selected, per_pod)
            omitted = f"… {left} earlier {matching}lines omitted" if left > 0 else None
            logs.append(PodLog(pod=pod_name, container=container, lines=lines, omitted=omitted))
        return LogsResult(source=source, namespace=namespace, note="; ".join(notes) or None, logs=logs, more=more)

    per_pod = max((ctx.budget - count_tokens(render(build(0)))) // len(entries) - 8, 0)
    result = build(per_pod)
    while not fits(result, ctx.budget) and per_pod > 0:
        per_pod = max(per_pod - (count_tokens(render(result)) - ctx.budget) // len(entries) - 8, 0)
        result = build(per_pod)
    return result
