"""What every write tool needs to plan a :class:`~tools.registry.Change`: the object as YAML
(``before``), the server's dry-run answer (``after``), the kubectl line a human would type,
the targets, and the workload kinds the write tools take (``deploy`` → ``deployment``).

Previews are cleaned for people and for the audit trail: no ``managedFields``, no status
(it does not change in a dry run), no resourceVersion or generation (they only add noise to
the diff), no last-applied annotation (a copy of the object), Secrets' values replaced by
their length and the values of environment variables named like a password, a token or a
secret replaced by theirs.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator

from .cluster import ApiResource, Cluster
from .errors import Ambiguous, NotFound
from .redact import LAST_APPLIED, redact_object
from .registry import Target
from .resolve import Resolved, resolve, resolve_kind

if TYPE_CHECKING:
    from .context import ToolContext

DRY_RUN = {"dryRun": "All"}
FIELD_MANAGER = "kai"
APPLY_PATCH = "application/apply-patch+yaml"
VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation")

# --- input types: workload kinds as people write them (names: tools/inputs.py) ---------

KIND_ALIASES = {"deploy": "deployment", "deployments": "deployment", "sts": "statefulset",
                "statefulsets": "statefulset", "ds": "daemonset", "daemonsets": "daemonset",
                "rs": "replicaset", "replicasets": "replicaset"}


def _workload_kind(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower().removesuffix(".apps")
        return KIND_ALIASES.get(word, word)
    return value


ScalableKind = Annotated[Literal["deployment", "statefulset", "replicaset"], BeforeValidator(_workload_kind)]
TemplateKind = Annotated[Literal["deployment", "statefulset", "daemonset"], BeforeValidator(_workload_kind)]

# --- YAML for previews ----------------------------------------------------------------


def clean(obj: dict[str, Any], *, status: bool = False) -> dict[str, Any]:
    """A copy of ``obj`` fit to show: see the module's docstring."""
    out = copy.deepcopy(redact_object(obj))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in VOLATILE_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                meta.pop("annotations")
    if not status:
        out.pop("status", None)
    return out


def to_yaml(obj: dict[str, Any] | None, *, status: bool = False) -> str:
    """``obj`` as a block-YAML document for a preview (empty for no object); keys sorted, as
    ``kubectl get -o yaml`` prints them, so a diff shows only what changed."""
    if not obj:
        return ""
    return yaml.safe_dump(clean(obj, status=status), sort_keys=True, width=200, default_flow_style=False)


# --- server-side dry runs -------------------------------------------------------------


async def dry_run_patch(cluster: Cluster, res: ApiResource, namespace: str | None, name: str, patch: Any,
                        content_type: str, sub: str | None = None) -> dict[str, Any]:
    """What the server would make of ``patch`` (``dryRun=All``: nothing is stored)."""
    out = await cluster.request("PATCH", res.path(namespace, name, sub), query=DRY_RUN, body=patch,
                                content_type=content_type, idempotent=True)
    return dict(out)


async def dry_run_create(cluster: Cluster, res: ApiResource, namespace: str | None,
                         body: dict[str, Any]) -> dict[str, Any]:
    out = await cluster.request("POST", res.path(namespace), query=DRY_RUN, body=body, idempotent=True)
    return dict(out)


async def dry_run_delete(cluster: Cluster, res: ApiResource, namespace: str | None, name: str) -> dict[str, Any]:
    out = await cluster.request("DELETE", res.path(namespace, name), query=DRY_RUN, idempotent=True)
    return dict(out)


async def server_side_apply(cluster: Cluster, res: ApiResource, namespace: str | None, name: str,
                            body: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """Server-side apply of ``body`` as field manager ``kai``, taking over conflicting fields
    (``kubectl apply --server-side --force-conflicts``); created when absent."""
    query: dict[str, Any] = {"fieldManager": FIELD_MANAGER, "force": True}
    if dry_run:
        query.update(DRY_RUN)
    out = await cluster.request("PATCH", res.path(namespace, name), query=query, body=body,
                                content_type=APPLY_PATCH, idempotent=True)
    return dict(out)


# --- what the change is about ------------------------------------------------------------


def target(res: ApiResource, obj: dict[str, Any]) -> Target:
    """The :class:`Target` of an object as read now (its resourceVersion binds an approval)."""
    meta = obj.get("metadata") or {}
    return Target(kind=str(obj.get("kind") or res.kind), name=str(meta.get("name", "")),
                  namespace=meta.get("namespace") if res.namespaced else None,
                  resource_version=meta.get("resourceVersion"), labels=dict(meta.get("labels") or {}))


def ref(res: ApiResource, name: str) -> str:
    """``deployment/todo-backend``, as kubectl writes an object."""
    word = res.singular or res.kind.lower()
    return f"{word}/{name}"


def kubectl(*words: str, namespace: str | None = None, flags: Iterable[str] = ()) -> str:
    """The shell-quoted kubectl line: ``kubectl <words> [-n namespace] <flags>``."""
    parts = ["kubectl", *words]
    if namespace:
        parts += ["-n", namespace]
    parts += list(flags)
    return shlex.join(parts)


def plural(count: int, noun: str) -> str:
    """``"1 Pod"``, ``"3 Pods"``, ``"2 NetworkPolicies"``, ``"2 Ingresses"``."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}es" if noun.endswith(("s", "x", "ch", "sh")) else f"{count} {noun}s"


# --- pods of a workload ------------------------------------------------------------------


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as the ``labelSelector`` query parameter."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


async def pods_of(cluster: Cluster, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods a workload's selector picks in its namespace (none for a workload without one)."""
    selector = selector_string((obj.get("spec") or {}).get("selector"))
    namespace = (obj.get("metadata") or {}).get("namespace")
    if not selector or not namespace:
        return []
    found = await cluster.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=selector)
    return list(found.get("items") or [])



# --- workloads and their containers -----------------------------------------------------


async def resolve_workload(ctx: ToolContext, kind: str, name: str, namespace: str | None) -> Resolved:
    """The workload ``name`` means (``"backend"`` → Deployment ``todo-backend``)."""
    res = await resolve_kind(ctx.cluster, kind)
    return await resolve(ctx.cluster, res, name, namespace, ctx.default_namespace)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a workload."""
    return dict(((obj.get("spec") or {}).get("template") or {}).get("spec") or {})


def pick_container(found: Resolved, container: str | None, *, init: bool = False) -> tuple[str, int, dict[str, Any]]:
    """``(list key, index, container)`` of the container meant: the one given by name, or
    the only one. Init containers are searched too when ``init`` is set."""
    spec = pod_spec(found.obj)
    lists = ("containers", "initContainers") if init else ("containers",)
    every = [(key, i, c) for key in lists for i, c in enumerate(spec.get(key) or [])]
    names = [str(c.get("name")) for _, _, c in every]
    if container is None:
        main = [e for e in every if e[0] == "containers"]
        if len(main) == 1:
            return main[0]
        raise Ambiguous(f"{found.ref()} has {len(main)} containers; say which", [str(c["name"]) for _, _, c in main])
    for entry in every:
        if entry[2].get("name") == container:
            return entry
    raise NotFound(f"no container {container!r} in {found.ref()}", names)
