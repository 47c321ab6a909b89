"""Objects from YAML and objects away: ``create_namespace``, ``apply_manifest`` (writes),
``delete_resource`` and ``delete_namespace`` (destructive).

``apply_manifest`` uses server-side apply (``kubectl apply --server-side --force-conflicts``,
field manager ``kai``): one request per object that creates it when absent and otherwise
sets the fields the manifest gives, leaving fields other managers own alone. The same
request with ``dryRun=All`` makes the preview, so what is shown is what the server would
store. Conflicting fields are taken over (``force``), as a human re-applying a manifest
expects; a field another manager owns with a different value shows up in the diff first.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import Field

from .cluster import ApiResource
from .context import ToolContext
from .errors import InvalidInput, KaiError, NotFound
from .inputs import KindName, NamespaceName, ObjectName
from .preview import (
    dry_run_create,
    dry_run_delete,
    kubectl,
    plural,
    pods_of,
    ref,
    server_side_apply,
    target,
    to_yaml,
)
from .registry import Change, Target, ToolInput, ToolResult, tool
from .resolve import check_name, namespace_exists, resolve, resolve_kind

MAX_OBJECTS = 50
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_SEPARATOR = re.compile(r"^---(?=\s|$)", re.M)

# --- create_namespace -----------------------------------------------------------------------


class CreateNamespaceInput(ToolInput):
    name: NamespaceName
    labels: dict[str, str] = Field(default_factory=dict)


class CreateNamespaceResult(ToolResult):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    phase: str


async def namespaces_resource(ctx: ToolContext) -> ApiResource:
    return await resolve_kind(ctx.cluster, "namespaces")


@tool(risk="write", result=CreateNamespaceResult)
async def create_namespace(ctx: ToolContext, args: CreateNamespaceInput) -> Change:
    """Create a namespace, optionally with labels.

    Use it for "create a namespace staging". Fails clearly when the namespace exists.

    Args:
        name: The new namespace's name (lower-case letters, digits and '-').
        labels: Labels to put on it ({"team": "web"}).
    """
    for key, value in args.labels.items():
        if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
            raise InvalidInput(f"invalid label {key}={value}")
    res = await namespaces_resource(ctx)
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args.name}}
    if args.labels:
        body["metadata"]["labels"] = dict(args.labels)
    after = await dry_run_create(ctx.cluster, res, None, body)
    flags = [f"{k}={v}" for k, v in args.labels.items()]

    async def apply() -> CreateNamespaceResult:
        made = await ctx.cluster.request("POST", res.path(), body=body)
        return CreateNamespaceResult(name=args.name, labels=made["metadata"].get("labels") or {},
                                     phase=(made.get("status") or {}).get("phase", "Active"))

    command = kubectl("create", "namespace", args.name)
    if flags:
        command += " && " + kubectl("label", "namespace", args.name, *flags)
    return Change(summary=f"create namespace {args.name}", command=command,
                  targets=[Target(kind="Namespace", name=args.name, labels=dict(args.labels))], apply=apply,
                  after=to_yaml(after), idempotent=False)


# --- apply_manifest ---------------------------------------------------------------------------


class ApplyManifestInput(ToolInput):
    manifest: str = Field(min_length=1, max_length=1_000_000)
    namespace: NamespaceName | None = None


class Applied(ToolResult):
    kind: str
    name: str
    namespace: str | None = None
    action: Literal["created", "configured", "unchanged"]


class ApplyManifestResult(ToolResult):
    objects: list[Applied]


@dataclass
class Planned:
    res: ApiResource
    body: dict[str, Any]
    namespace: str | None
    before: dict[str, Any] | None
    after: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    def label(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.res.kind} {self.name}{where}"


def documents(text: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a YAML stream with their 1-based document numbers; InvalidInput
    naming the document for YAML that does not parse or an object without kind or name."""
    found = []
    for number, chunk in enumerate(_SEPARATOR.split(text), start=1):
        try:
            doc = yaml.safe_load(chunk)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise InvalidInput(f"document {number}: malformed YAML ({problem}{line})") from None
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InvalidInput(f"document {number}: not an object")
        meta = doc.get("metadata")
        for field in ("apiVersion", "kind"):
            if not isinstance(doc.get(field), str) or not doc[field]:
                raise InvalidInput(f"document {number}: no {field}")
        if doc["kind"].endswith("List"):
            raise InvalidInput(f"document {number}: give the objects of a {doc['kind']} as separate documents")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise InvalidInput(f"document {number}: {doc['kind']} without metadata.name")
        try:
            check_name(meta["name"])
            if meta.get("namespace") is not None:
                check_name(str(meta["namespace"]), "namespace")
        except InvalidInput as exc:
            raise InvalidInput(f"document {number}: {exc.message}") from None
        found.append((number, doc))
    if not found:
        raise InvalidInput("the manifest holds no object")
    if len(found) > MAX_OBJECTS:
        raise InvalidInput(f"the manifest holds {len(found)} objects; apply at most {MAX_OBJECTS} at once")
    return found


def _served(resources: list[ApiResource], number: int, doc: dict[str, Any]) -> ApiResource:
    for res in resources:
        if res.api_version == doc["apiVersion"] and res.kind == doc["kind"]:
            return res
    raise InvalidInput(f"document {number}: the cluster serves no {doc['kind']} in {doc['apiVersion']}")


def _facts(bodies: list[dict[str, Any]]) -> tuple[int | None, list[str]]:
    """The most replicas and every image the objects ask for (what the policy bounds check)."""
    replicas = [int(b["spec"]["replicas"]) for b in bodies
                if isinstance(b.get("spec"), dict) and isinstance(b["spec"].get("replicas"), int)]
    images: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for c in node.get(key) or []:
                    if isinstance(c, dict) and isinstance(c.get("image"), str) and c["image"] not in images:
                        images.append(c["image"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk([b.get("spec") for b in bodies])
    return (max(replicas) if replicas else None), images


async def _plan_object(ctx: ToolContext, number: int, res: ApiResource, doc: dict[str, Any],
                       namespace: str | None, created_namespaces: set[str]) -> Planned:
    name = str(doc["metadata"]["name"])
    try:
        try:
            before = await ctx.cluster.get(res.path(namespace, name))
        except NotFound:
            before = None
        if namespace is not None and namespace in created_namespaces:
            after = doc  # its namespace comes with this manifest: no dry run can see it yet
        else:
            after = await server_side_apply(ctx.cluster, res, namespace, name, doc, dry_run=True)
    except KaiError as exc:
        exc.message = f"document {number} ({res.kind} {name}): {exc.message}"
        raise
    return Planned(res, doc, namespace, before, after)


def _shown(p: Planned, obj: dict[str, Any] | None) -> str:
    """One object of a manifest preview; an absent one as a comment, so the documents of
    ``before`` and ``after`` stay in the same order."""
    return to_yaml(obj) or f"# {p.label()}: absent\n"


@tool(risk="write", result=ApplyManifestResult)
async def apply_manifest(ctx: ToolContext, args: ApplyManifestInput) -> Change:
    """Create or update the objects of a YAML manifest (one or more documents), as kubectl apply.

    Use it when the user gives YAML, or for objects no other tool makes (a ConfigMap, an
    Ingress, a NetworkPolicy…). Each object is created when absent, else its given fields are
    set (server-side apply). Secrets' values never appear in the preview or the result.

    Args:
        manifest: The YAML text: one or more objects separated by '---', each with apiVersion,
            kind and metadata.name.
        namespace: The namespace for objects that name none; by default the context's.
    """
    docs = documents(args.manifest)
    resources = await ctx.cluster.resources()
    served = [(n, _served(resources, n, d), d) for n, d in docs]
    created_namespaces = {str(d["metadata"]["name"]) for _, r, d in served if r.kind == "Namespace" and not r.group}
    plans: list[tuple[int, ApiResource, dict[str, Any], str | None]] = []
    for number, res, doc in served:
        body = {**doc, "metadata": dict(doc["metadata"])}
        namespace = None
        if res.namespaced:
            given = body["metadata"].get("namespace")
            if given and args.namespace and given != args.namespace:
                raise InvalidInput(f"document {number}: its namespace {given} is not the namespace asked for "
                                   f"({args.namespace})")
            namespace = str(given or args.namespace or ctx.default_namespace)
            body["metadata"]["namespace"] = namespace
        else:
            body["metadata"].pop("namespace", None)
        plans.append((number, res, body, namespace))
    for namespace in sorted({p[3] for p in plans if p[3]} - created_namespaces):
        if not await namespace_exists(ctx.cluster, namespace):
            raise NotFound(f"namespace {namespace!r} not found (the manifest does not create it)")
    planned = [await _plan_object(ctx, n, r, b, ns, created_namespaces) for n, r, b, ns in plans]
    replicas, images = _facts([p.body for p in planned])

    async def apply() -> ApplyManifestResult:
        done = []
        for p in planned:
            now = await server_side_apply(ctx.cluster, p.res, p.namespace, p.name, p.body, dry_run=False)
            old_rv = (p.before or {}).get("metadata", {}).get("resourceVersion")
            action: Literal["created", "configured", "unchanged"] = "created"
            if p.before is not None:
                action = "unchanged" if now["metadata"].get("resourceVersion") == old_rv else "configured"
            done.append(Applied(kind=p.res.kind, name=p.name, namespace=p.namespace, action=action))
        return ApplyManifestResult(objects=done)

    targets = [target(p.res, p.before) if p.before else
               Target(kind=p.res.kind, name=p.name, namespace=p.namespace,
                      labels=dict(p.body["metadata"].get("labels") or {})) for p in planned]
    new = [p.label() for p in planned if p.before is None]
    changed = [p.label() for p in planned if p.before is not None]
    parts = [f"create {', '.join(new)}" if new else "", f"update {', '.join(changed)}" if changed else ""]
    return Change(summary="apply a manifest: " + "; ".join(p for p in parts if p),
                  command=kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=kai",
                                  namespace=args.namespace, flags=["-f", "-"]),
                  targets=targets, apply=apply, before="---\n".join(_shown(p, p.before) for p in planned),
                  after="---\n".join(_shown(p, p.after) for p in planned), replicas=replicas, images=images)


# --- delete_resource -------------------------------------------------------------------------

WITH_PODS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")


class DeleteResourceInput(ToolInput):
    kind: KindName
    name: ObjectName
    namespace: NamespaceName | None = None


class DeleteResourceResult(ToolResult):
    kind: str
    name: str
    namespace: str | None = None
    pods: int = 0


@tool(risk="destructive", result=DeleteResourceResult)
async def delete_resource(ctx: ToolContext, args: DeleteResourceInput) -> Change:
    """Delete one object of any kind (a Deployment with its pods, a Service, a ConfigMap…).

    Use it only when the user asks to delete something. Names a workload's pods that go with
    it. For a whole namespace use delete_namespace.

    Args:
        kind: The object's kind as kubectl takes it: deployment, deploy, svc, configmap, pod…
        name: The object's name or a part of it ("backend" finds todo-backend).
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    res = await resolve_kind(ctx.cluster, args.kind)
    if res.kind == "Namespace" and not res.group:
        raise InvalidInput("to delete a namespace and everything in it, use delete_namespace")
    if "delete" not in res.verbs:
        raise InvalidInput(f"{res.plural} cannot be deleted")
    found = await resolve(ctx.cluster, res, args.name, args.namespace, ctx.default_namespace)
    ns, name = found.namespace, found.name
    pods = len(await pods_of(ctx.cluster, found.obj)) if res.kind in WITH_PODS else 0
    await dry_run_delete(ctx.cluster, res, ns, name)
    summary = f"delete {found.ref()}" + (f" and its {plural(pods, 'pod')}" if pods else "")
    owner = next((o for o in found.obj["metadata"].get("ownerReferences") or [] if o.get("controller")), None)
    if owner is not None:
        summary += f" ({owner.get('kind')} {owner.get('name')} controls it and may replace it)"

    async def apply() -> DeleteResourceResult:
        await ctx.cluster.request("DELETE", res.path(ns, name), body={"propagationPolicy": "Background"},
                                  idempotent=False)
        return DeleteResourceResult(kind=res.kind, name=name, namespace=ns, pods=pods)

    return Change(summary=summary, command=kubectl("delete", ref(res, name), namespace=ns),
                  targets=[target(res, found.obj)], apply=apply, before=to_yaml(found.obj), after="",
                  idempotent=False)


# --- delete_namespace ------------------------------------------------------------------------

SKIPPED_CONTENTS = frozenset({"events", "endpoints", "endpointslices"})
IMMORTAL = frozenset({"default", "kube-system", "kube-public"})  # as the API server's NamespaceLifecycle


class DeleteNamespaceInput(ToolInput):
    name: NamespaceName


class DeleteNamespaceResult(ToolResult):
    name: str
    phase: str
    contents: dict[str, int] = Field(default_factory=dict)


async def contents(ctx: ToolContext, namespace: str) -> dict[str, int]:
    """How many objects of each kind the namespace holds (events and endpoints left out)."""
    seen: set[tuple[str, str]] = set()
    kinds = []
    for res in await ctx.cluster.resources():
        key = (res.group, res.plural)
        if (res.namespaced and "list" in res.verbs and key not in seen and res.plural not in SKIPPED_CONTENTS
                and res.group != "metrics.k8s.io"):
            seen.add(key)
            kinds.append(res)
    gate = asyncio.Semaphore(8)

    async def count(res: ApiResource) -> tuple[str, int]:
        async with gate:
            try:
                return res.kind, len((await ctx.cluster.get(res.path(namespace)))["items"])
            except KaiError:
                return res.kind, 0

    counted = await asyncio.gather(*(count(r) for r in kinds))
    return {kind: n for kind, n in sorted(counted) if n}


@tool(risk="destructive", result=DeleteNamespaceResult)
async def delete_namespace(ctx: ToolContext, args: DeleteNamespaceInput) -> Change:
    """Delete a namespace and everything in it.

    Use it only when the user asks to remove a whole namespace; the preview counts what is in
    it (deployments, pods, services, secrets…).

    Args:
        name: The namespace's name.
    """
    res = await namespaces_resource(ctx)
    found = await resolve(ctx.cluster, res, args.name)
    name = found.name
    if name in IMMORTAL:
        raise InvalidInput(f"namespace {name} may not be deleted")
    held = await contents(ctx, name)
    await dry_run_delete(ctx.cluster, res, None, name)
    listed = ", ".join(plural(n, kind) for kind, n in held.items()) or "nothing"
    before = f"# namespace {name} holds: {listed}\n" + to_yaml(found.obj)

    async def apply() -> DeleteNamespaceResult:
        gone = await ctx.cluster.request("DELETE", res.path(None, name), idempotent=False)
        return DeleteNamespaceResult(name=name, phase=(gone.get("status") or {}).get("phase", "Terminating"),
                                     contents=held)

    return Change(summary=f"delete namespace {name} and everything in it: {listed}",
                  command=kubectl("delete", "namespace", name), targets=[target(res, found.obj)], apply=apply,
                  before=before, after="", idempotent=False)
