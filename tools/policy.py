"""The policy: what kai may do, where, for whom. Loaded from YAML over the shipped default
(``tools/data/policy.yaml``), so a file gives only what it changes; validated with errors
that name the line and the field."""

from __future__ import annotations

import copy
import fnmatch
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import PolicyError

Mode = Literal["read-only", "confirm", "auto"]
Capability = Literal["read", "write", "destructive"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Namespaces(_Model):
    allow: list[str] = []
    deny: list[str] = []


class ReplicaBounds(_Model):
    min: int = Field(default=0, ge=0)
    max: int = Field(default=20, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ReplicaBounds:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class NamespaceBounds(_Model):
    replicas: ReplicaBounds | None = None


class Bounds(_Model):
    replicas: ReplicaBounds = ReplicaBounds()
    namespaces: dict[str, NamespaceBounds] = {}
    image_registries: list[str] = []
    chart_sources: list[str] = []


class ProtectedObject(_Model):
    kind: str = "*"
    namespace: str = "*"
    name: str = "*"


class Protected(_Model):
    objects: list[ProtectedObject] = []
    labels: dict[str, str] = {}


class RateLimits(_Model):
    writes_per_minute: int = Field(default=30, ge=0)


class ChatOps(_Model):
    channels: list[str] = []  # Slack channel ids (or names) where kai answers; empty: any
    requests_per_minute: int = Field(default=20, ge=1)


class Approval(_Model):
    ttl_seconds: int = Field(default=600, ge=1)
    self_approve: bool = True
    approver_roles: list[str] = []


class Policy(_Model):
    mode: Mode = "confirm"
    namespaces: Namespaces = Namespaces()
    roles: dict[str, list[Capability]] = {}
    bindings: dict[str, list[str]] = {}
    default_role: str | None = None
    bounds: Bounds = Bounds()
    protected: Protected = Protected()
    rate_limits: RateLimits = RateLimits()
    approval: Approval = Approval()
    impersonate: dict[str, str] = {}
    chatops: ChatOps = ChatOps()

    @model_validator(mode="after")
    def _roles_known(self) -> Policy:
        for role in [*self.bindings, *([self.default_role] if self.default_role else []),
                     *self.approval.approver_roles]:
            if role not in self.roles:
                raise ValueError(f"role {role!r} is not defined under roles")
        return self

    # --- questions the guard asks ----------------------------------------------------

    def roles_of(self, identity: str) -> list[str]:
        held = [role for role, who in self.bindings.items() if any(_identity_matches(p, identity) for p in who)]
        if not held and self.default_role:
            held = [self.default_role]
        return held

    def can(self, identity: str, capability: Capability) -> bool:
        return any(capability in self.roles.get(role, []) for role in self.roles_of(identity))

    def namespace_denied(self, namespace: str) -> str | None:
        """Why writes in ``namespace`` are refused, or None."""
        if any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces.deny):
            return f"writes in namespace {namespace} are denied by policy"
        if self.namespaces.allow and not any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces.allow):
            return f"namespace {namespace} is not among the namespaces where writes are allowed"
        return None

    def replica_bounds(self, namespace: str | None) -> ReplicaBounds:
        override = self.bounds.namespaces.get(namespace or "")
        return override.replicas if override and override.replicas else self.bounds.replicas

    def image_allowed(self, image: str) -> bool:
        allowed = self.bounds.image_registries
        return not allowed or any(_image_in(image, prefix) for prefix in allowed)

    def chart_allowed(self, chart: str) -> bool:
        allowed = self.bounds.chart_sources
        return not allowed or any(chart == p or chart.startswith(p.rstrip("/") + "/") for p in allowed)

    def protection(self, kind: str, namespace: str | None, name: str, labels: dict[str, str]) -> str | None:
        """Why the object is protected, or None."""
        for rule in self.protected.objects:
            if (fnmatch.fnmatchcase(kind.lower(), rule.kind.lower())
                    and fnmatch.fnmatchcase(namespace or "", rule.namespace if namespace else "*")
                    and fnmatch.fnmatchcase(name, rule.name)):
                return f"{kind} {name} is protected by policy"
        for key, value in self.protected.labels.items():
            if labels.get(key) == value:
                return f"{kind} {name} is protected by its label {key}={value}"
        return None

    def channel_allowed(self, *names: str) -> bool:
        """Whether a chat channel (known by any of ``names``: id, name) may use kai."""
        allowed = self.chatops.channels
        return not allowed or any(n and any(fnmatch.fnmatchcase(n, p) for p in allowed) for n in names)

    def may_approve(self, approver: str, requester: str) -> bool:
        if approver == requester and self.approval.self_approve:
            return True
        return any(role in self.approval.approver_roles for role in self.roles_of(approver))


def _identity_matches(pattern: str, identity: str) -> bool:
    if pattern.endswith("*"):
        return identity.startswith(pattern[:-1])
    return pattern == identity


def _image_in(image: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    first = image.split("/", 1)[0]
    if "/" not in image or ("." not in first and ":" not in first and first != "localhost"):
        image = "docker.io/" + (image if "/" in image else "library/" + image)
    return image.startswith((prefix + "/", prefix + ":")) or image == prefix


# --- loading ---------------------------------------------------------------------------


@cache
def default_text() -> str:
    """The shipped default policy, with its comments."""
    return resources.files("tools").joinpath("data/policy.yaml").read_text()


@cache
def default_document() -> dict[str, Any]:
    doc = yaml.safe_load(default_text())
    assert isinstance(doc, dict)
    return doc


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge key by key, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("bindings", "impersonate"):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse(text: str, source: str = "<policy>") -> Policy:
    """A policy from YAML text (over the defaults), or PolicyError with line and field."""
    try:
        doc = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise PolicyError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise PolicyError(f"{source}:1: a policy is a mapping of settings")
    try:
        return Policy.model_validate(merge(default_document(), doc))
    except ValidationError as exc:
        lines = _line_index(text)
        problems = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            line = _line_for(lines, loc)
            field = ".".join(loc) or "policy"
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {field}: {err['msg']}")
        raise PolicyError("\n".join(problems)) from None


def load(path: Path | str | None = None) -> Policy:
    """The effective policy: ``path``, else $KAI_POLICY, else the shipped default."""
    chosen = path or os.environ.get("KAI_POLICY")
    if not chosen:
        return Policy.model_validate(default_document())
    file = Path(chosen)
    try:
        text = file.read_text()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {file}: {exc.strerror}") from None
    return parse(text, str(file))


def dump(policy: Policy) -> str:
    return yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False, width=120)


def _line_index(text: str) -> dict[tuple[str, ...], int]:
    """Each key path in the YAML text → its line (1-based)."""
    index: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return index

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                index[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                sub = (*path, str(i))
                index[sub] = value.start_mark.line + 1
                walk(value, sub)

    if root is not None:
        walk(root, ())
    return index


def _line_for(index: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in index:
            return index[loc[:end]]
    return None
