"""Changing one container of a workload's pod template, as ``kubectl set``: ``set_image``
(a tag alone keeps the repository), ``set_env`` (values of variables named like a password,
token or secret are never shown back) and ``set_resources`` (Kubernetes quantities, checked
before anything is sent). Each plans a :class:`~tools.registry.Change` with a server-side
dry run; the write happens only in ``Change.apply``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from .cluster import JSON_PATCH, STRATEGIC_PATCH
from .context import ToolContext
from .errors import InvalidInput
from .inputs import ContainerName, NamespaceName, ObjectName
from .preview import (
    TemplateKind,
    dry_run_patch,
    kubectl,
    pick_container,
    ref,
    resolve_workload,
    target,
    to_yaml,
)
from .redact import SENSITIVE_KEY, redacted
from .registry import Change, ToolInput, ToolResult, tool
from .resolve import Resolved

# --- set image ---------------------------------------------------------------------------

_COMPONENT = r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
_REFERENCE = re.compile(rf"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
                        r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
_TAG = re.compile(r"^:[\w][\w.-]{0,127}$")
_TAG_LIKE = re.compile(r"^(?:v?\d[\w.-]{0,126}|latest)$")


def _image(value: str) -> str:
    text = value.strip()
    if len(text) > 255 or not (_TAG.match(text) or _TAG_LIKE.match(text) or _REFERENCE.match(text)):
        raise ValueError(f"invalid image {value!r}: give a reference (registry/name:tag) or a tag (1.22, :1.22)")
    return text


def repository(image: str) -> str:
    """``registry/name`` of an image reference, without its tag or digest."""
    image = image.split("@", 1)[0]
    colon, slash = image.rfind(":"), image.rfind("/")
    return image[:colon] if colon > slash else image


def new_image(wanted: str, current: str) -> str:
    """The full reference ``wanted`` means: a tag alone keeps ``current``'s repository."""
    if wanted.startswith(":"):
        return repository(current) + wanted
    if _TAG_LIKE.match(wanted):
        return f"{repository(current)}:{wanted}"
    return wanted


class SetImageInput(ToolInput):
    name: ObjectName
    image: Annotated[str, BeforeValidator(_image)]
    container: ContainerName | None = None
    kind: TemplateKind = "deployment"
    namespace: NamespaceName | None = None


class SetImageResult(ToolResult):
    kind: str
    name: str
    namespace: str
    container: str
    previous_image: str
    image: str


def _container_patch(key: str, container: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {key: [container]}}}}


@tool(risk="write", result=SetImageResult)
async def set_image(ctx: ToolContext, args: SetImageInput) -> Change:
    """Change the image of one container of a Deployment, StatefulSet or DaemonSet (a rollout follows).

    Use it for "update backend to v1.1" or "deploy nginx:1.27". Given only a tag, the
    container keeps its image's repository.

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        image: A full image reference ("registry.example.com/team/api:2.0") or only a tag
            ("1.22", "v1.1", ":1.22"; start with ":" for a tag that is not a version).
        container: The container's name; may be left out when the pod has one container.
        kind: deployment (default), statefulset or daemonset.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    res, ns, name = found.resource, found.namespace, found.name
    key, _, container = pick_container(found, args.container, init=True)
    cname, current = str(container["name"]), str(container.get("image", ""))
    image = new_image(args.image, current)
    patch = _container_patch(key, {"name": cname, "image": image})
    after = await dry_run_patch(ctx.cluster, res, ns, name, patch, STRATEGIC_PATCH)

    async def apply() -> SetImageResult:
        await ctx.cluster.request("PATCH", res.path(ns, name), body=patch, content_type=STRATEGIC_PATCH,
                                  idempotent=True)
        return SetImageResult(kind=found.kind, name=name, namespace=str(ns), container=cname,
                              previous_image=current, image=image)

    return Change(summary=f"set the image of container {cname} of {found.ref()} from {current} to {image}",
                  command=kubectl("set", "image", ref(res, name), f"{cname}={image}", namespace=ns),
                  targets=[target(res, found.obj)], apply=apply, before=to_yaml(found.obj), after=to_yaml(after),
                  images=[image])


# --- set env -----------------------------------------------------------------------------

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value) or len(value) > 253:
        raise ValueError(f"invalid environment variable name {value!r}")
    return value


EnvName = Annotated[str, BeforeValidator(_env_name)]


class SetEnvInput(ToolInput):
    name: ObjectName
    env: dict[EnvName, Annotated[str, Field(max_length=32768)]] = Field(default_factory=dict)
    unset: list[EnvName] = Field(default_factory=list)
    container: ContainerName | None = None
    kind: TemplateKind = "deployment"
    namespace: NamespaceName | None = None

    @model_validator(mode="after")
    def _something(self) -> SetEnvInput:
        if not self.env and not self.unset:
            raise ValueError("give variables to set (env) or to remove (unset)")
        both = sorted(set(self.env) & set(self.unset))
        if both:
            raise ValueError(f"set and unset at once: {', '.join(both)}")
        return self


class SetEnvResult(ToolResult):
    kind: str
    name: str
    namespace: str
    container: str
    set: dict[str, str] = Field(default_factory=dict)
    unset: list[str] = Field(default_factory=list)
    not_present: list[str] = Field(default_factory=list)


def shown(name: str, value: str) -> str:
    """An env value as a result or a preview may show it."""
    return redacted(value) if SENSITIVE_KEY.search(name) else value


@tool(risk="write", result=SetEnvResult)
async def set_env(ctx: ToolContext, args: SetEnvInput) -> Change:
    """Set or remove environment variables of one container of a Deployment, StatefulSet or DaemonSet.

    Use it for "set LOG_LEVEL=debug on the backend" or "remove FEATURE_X from the frontend".
    A rollout follows. Values of variables named like a password, token or secret are never
    shown back (only their length).

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        env: Variables to set, name to value ({"LOG_LEVEL": "debug"}); an existing one is replaced.
        unset: Names of variables to remove.
        container: The container's name; may be left out when the pod has one container.
        kind: deployment (default), statefulset or daemonset.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    res, ns, name = found.resource, found.namespace, found.name
    key, index, container = pick_container(found, args.container, init=True)
    cname = str(container["name"])
    env: list[dict[str, Any]] = [dict(v) for v in container.get("env") or []]
    present = {str(v.get("name")) for v in env}
    env = [v for v in env if v.get("name") not in args.unset]
    for var, value in args.env.items():
        entry = {"name": var, "value": value}
        slot = next((i for i, v in enumerate(env) if v.get("name") == var), None)
        if slot is None:
            env.append(entry)
        else:
            env[slot] = entry
    path = f"/spec/template/spec/{key}/{index}"
    patch = [{"op": "test", "path": f"{path}/name", "value": cname}, {"op": "add", "path": f"{path}/env", "value": env}]
    after = await dry_run_patch(ctx.cluster, res, ns, name, patch, JSON_PATCH)
    removed = [v for v in args.unset if v in present]
    missing = [v for v in args.unset if v not in present]
    words = [f"{k}={'<redacted>' if SENSITIVE_KEY.search(k) else v}" for k, v in args.env.items()]
    words += [f"{k}-" for k in removed]
    parts = [f"set {', '.join(args.env)}" if args.env else "", f"remove {', '.join(removed)}" if removed else ""]
    summary = f"in the environment of container {cname} of {found.ref()}: " + (
        "; ".join(p for p in parts if p) or "change nothing")
    if missing:
        summary += f" ({', '.join(missing)} not set there)"

    async def apply() -> SetEnvResult:
        await ctx.cluster.request("PATCH", res.path(ns, name), body=patch, content_type=JSON_PATCH, idempotent=True)
        return SetEnvResult(kind=found.kind, name=name, namespace=str(ns), container=cname,
                            set={k: shown(k, v) for k, v in args.env.items()}, unset=removed, not_present=missing)

    return Change(summary=summary, command=kubectl("set", "env", ref(res, name), *words, namespace=ns,
                                                   flags=["-c", cname]),
                  targets=[target(res, found.obj)], apply=apply, before=to_yaml(found.obj), after=to_yaml(after))


# --- set resources -------------------------------------------------------------------------

_QUANTITY = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")


def _quantity(value: Any) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _QUANTITY.match(text) or len(text) > 32:
        raise ValueError(f"invalid quantity {value!r}: e.g. 250m or 0.5 (cpu), 512Mi or 1Gi (memory)")
    return text


Quantity = Annotated[str, BeforeValidator(_quantity)]


class SetResourcesInput(ToolInput):
    name: ObjectName
    cpu_request: Quantity | None = None
    memory_request: Quantity | None = None
    cpu_limit: Quantity | None = None
    memory_limit: Quantity | None = None
    container: ContainerName | None = None
    kind: TemplateKind = "deployment"
    namespace: NamespaceName | None = None

    def amounts(self, which: str) -> dict[str, str]:
        """The ``requests`` or ``limits`` given, by resource."""
        given = {"cpu": getattr(self, f"cpu_{which[:-1]}"), "memory": getattr(self, f"memory_{which[:-1]}")}
        return {k: v for k, v in given.items() if v is not None}

    @model_validator(mode="after")
    def _something(self) -> SetResourcesInput:
        if not self.amounts("requests") and not self.amounts("limits"):
            raise ValueError("give a request or a limit of cpu or memory")
        return self


class SetResourcesResult(ToolResult):
    kind: str
    name: str
    namespace: str
    container: str
    requests: dict[str, str] = Field(default_factory=dict)
    limits: dict[str, str] = Field(default_factory=dict)


def amount(quantity: Any) -> Decimal:
    """The number a Kubernetes quantity stands for ("500m" → 0.5)."""
    from kubernetes.utils import parse_quantity

    return Decimal(parse_quantity(str(quantity)))  # type: ignore[no-untyped-call]


def _check_fits(requests: dict[str, Any], limits: dict[str, Any]) -> None:
    for resource, request in requests.items():
        limit = limits.get(resource)
        if limit is not None and amount(request) > amount(limit):
            raise InvalidInput(f"the {resource} request {request} is more than its limit {limit}")


@tool(risk="write", result=SetResourcesResult)
async def set_resources(ctx: ToolContext, args: SetResourcesInput) -> Change:
    """Set CPU and memory requests and limits of one container of a Deployment, StatefulSet or DaemonSet.

    Use it for "give the backend 1Gi of memory" or "limit the frontend to 500m CPU". A
    rollout follows. Values not given stay as they are.

    Args:
        name: The workload's name or a part of it ("backend" finds todo-backend).
        cpu_request: The CPU the container is guaranteed ("250m" is a quarter of a core, "1" a core).
        memory_request: The memory the container is guaranteed ("256Mi", "1Gi").
        cpu_limit: The most CPU the container may use.
        memory_limit: The most memory the container may use (beyond it, it is OOM-killed).
        container: The container's name; may be left out when the pod has one container.
        kind: deployment (default), statefulset or daemonset.
        namespace: The namespace; by default the context's, else the one where the name exists.
    """
    found = await resolve_workload(ctx, args.kind, args.name, args.namespace)
    res, ns, name = found.resource, found.namespace, found.name
    key, _, container = pick_container(found, args.container, init=True)
    cname = str(container["name"])
    current = container.get("resources") or {}
    requests, limits = args.amounts("requests"), args.amounts("limits")
    _check_fits({**(current.get("requests") or {}), **requests}, {**(current.get("limits") or {}), **limits})
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    patch = _container_patch(key, {"name": cname, "resources": resources})
    after = await dry_run_patch(ctx.cluster, res, ns, name, patch, STRATEGIC_PATCH)
    flags = ["-c", cname]
    flags += [f"--{k}=" + ",".join(f"{r}={q}" for r, q in v.items()) for k, v in resources.items()]

    async def apply() -> SetResourcesResult:
        done = await ctx.cluster.request("PATCH", res.path(ns, name), body=patch, content_type=STRATEGIC_PATCH,
                                         idempotent=True)
        _, _, now = pick_container(Resolved(res, name, ns, done), cname, init=True)
        final = now.get("resources") or {}
        return SetResourcesResult(kind=found.kind, name=name, namespace=str(ns), container=cname,
                                  requests=final.get("requests") or {}, limits=final.get("limits") or {})

    described = "; ".join(f"{k} " + ", ".join(f"{r} {q}" for r, q in v.items()) for k, v in resources.items())
    return Change(summary=f"set {described} on container {cname} of {found.ref()}",
                  command=kubectl("set", "resources", ref(res, name), namespace=ns, flags=flags),
                  targets=[target(res, found.obj)], apply=apply, before=to_yaml(found.obj), after=to_yaml(after))
