"""What the helm_* tools share: Helm's input types (release names, chart references, ``--set``
items) that reject bad input before anything is sent (namespaces: tools/inputs.py),
``--set`` parsing as Helm does it, redaction of manifests, the facts of a rendered
manifest (objects, images, replica counts), the helm command line a human would type, local
charts, and release names resolved against the cluster ("todo" → release ``todo-app``).
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import AfterValidator, Field

from .errors import Ambiguous, InvalidInput, NotFound
from .helm_engine import ReleaseInfo
from .redact import SENSITIVE_KEY, redact_arguments, redact_manifest, redact_object
from .registry import Target
from .resolve import _matches

if TYPE_CHECKING:
    from .context import ToolContext

CHARTS_ENV = "KAI_CHARTS"  # more folders of local charts (os.pathsep-separated)
REPO_CHARTS = Path(__file__).resolve().parents[1] / "helm"
RELEASE_KIND = "HelmRelease"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CHART = re.compile(r"^[A-Za-z0-9_.:/@+~-]+$")
_SOURCE = re.compile(r"^#\s*Source:\s*(.+)$", re.M)

# --- input types ------------------------------------------------------------------------------


def _release_name(value: str) -> str:
    if not value or len(value) > 53 or not _RELEASE.match(value):
        raise ValueError(f"invalid release name {value!r}: lower-case letters, digits, '-' and '.', at most 53")
    return value


def _chart(value: str) -> str:
    if not value or len(value) > 500 or not _CHART.match(value):
        raise ValueError(f"invalid chart {value!r}: a chart path or reference (letters, digits and . _ - / : @ + ~)")
    return value


def _set_item(value: str) -> str:
    key, sep, _ = value.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"invalid --set {value!r}: write it as key.path=value")
    if (len(value) - len(value.rstrip("\\"))) % 2:
        raise ValueError(f"invalid --set {value!r}: it ends with an unpaired backslash")
    parse_sets([value])
    return value


ReleaseName = Annotated[str, AfterValidator(_release_name)]
ChartRef = Annotated[str, AfterValidator(_chart)]
SetItem = Annotated[str, AfterValidator(_set_item)]
ChartVersion = Annotated[str, Field(pattern=r"^[0-9A-Za-z.+\-~^*<>=|, ]{1,64}$")]
Timeout = Annotated[int, Field(ge=10, le=3600)]

# --- values -----------------------------------------------------------------------------------


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``--set`` overrides as Helm parses them (numbers and booleans typed, ``a.b=c`` nested,
    ``{x,y}`` lists, ``a[0]=x`` indexes, ``\\,`` and ``\\.`` escapes), later ones winning."""
    if not items:
        return {}
    from helm_python import parse_set_string
    from helm_python.errors import HelmError as SdkError

    try:
        return parse_set_string(",".join(items))
    except SdkError as exc:
        raise ValueError(f"invalid --set {', '.join(items)!r}: {exc}") from None


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base`` (maps merge; anything else is replaced)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --- manifests --------------------------------------------------------------------------------


def documents(manifest: str) -> list[tuple[str | None, dict[str, Any]]]:
    """The objects of a rendered manifest, each with its ``# Source:`` template."""
    out: list[tuple[str | None, dict[str, Any]]] = []
    for chunk in re.split(r"^---[ \t]*$", manifest, flags=re.M):
        doc = yaml.safe_load(chunk) if chunk.strip() else None
        if isinstance(doc, dict):
            source = _SOURCE.search(chunk)
            out.append((source.group(1).strip() if source else None, doc))
    return out


def objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents(manifest)]


def _mask_env(node: Any) -> None:
    """Mask, in place, literal values of env vars named like a password, token or secret."""
    if isinstance(node, dict):
        env = node.get("env")
        if isinstance(env, list):
            for var in env:
                if isinstance(var, dict) and isinstance(var.get("value"), str) and SENSITIVE_KEY.search(
                        str(var.get("name", ""))):
                    var["value"] = f"<redacted: {len(var['value'].encode())} bytes>"
        for value in node.values():
            _mask_env(value)
    elif isinstance(node, list):
        for value in node:
            _mask_env(value)


def safe_manifest(manifest: str) -> str:
    """A manifest fit for a preview and the audit trail: Secrets' values replaced by their
    length, env values named like a password or token masked, one YAML document per object."""
    if not manifest.strip():
        return ""
    try:
        docs = documents(manifest)
    except yaml.YAMLError:
        return redact_manifest(manifest)
    parts = []
    for source, doc in docs:
        clean = copy.deepcopy(redact_object(doc))
        _mask_env(clean)
        head = f"# Source: {source}\n" if source else ""
        parts.append(head + yaml.safe_dump(clean, sort_keys=False, width=200, default_flow_style=False))
    return "---\n" + "---\n".join(parts) if parts else ""


def images(manifest: str) -> list[str]:
    """Every container image the manifest's pod templates name."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                    found.update(str(c["image"]) for c in value if isinstance(c, dict) and c.get("image"))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in objects(manifest):
        walk(doc)
    return sorted(found)


def _key(doc: dict[str, Any], namespace: str) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return str(doc.get("kind", "")), str(meta.get("namespace") or namespace), str(meta.get("name", ""))


def changed_replicas(before: str, after: str, namespace: str) -> int | None:
    """The highest replica count the change sets on a workload (new, or with a new count):
    what the policy's replica bounds check. None when no count changes."""
    old = {_key(d, namespace): (d.get("spec") or {}).get("replicas") for d in objects(before)
           if d.get("kind") in WORKLOAD_KINDS}
    counts = []
    for doc in objects(after):
        replicas = (doc.get("spec") or {}).get("replicas")
        if doc.get("kind") not in WORKLOAD_KINDS or not isinstance(replicas, int):
            continue
        if old.get(_key(doc, namespace)) != replicas:
            counts.append(replicas)
    return max(counts) if counts else None


def object_changes(before: str, after: str, namespace: str) -> tuple[int, int, int]:
    """How many objects the change adds, changes and removes."""
    old = {_key(d, namespace): redact_object(d) for d in objects(before)}
    new = {_key(d, namespace): redact_object(d) for d in objects(after)}
    changed = sum(1 for k in old.keys() & new.keys() if old[k] != new[k])
    return len(new.keys() - old.keys()), changed, len(old.keys() - new.keys())


def targets(release: str, namespace: str, revision: int | None, *manifests: str) -> list[Target]:
    """The release (bound to its revision) and every object its manifests hold, so that the
    policy's protected objects and labels apply to what a Helm change touches."""
    out = [Target(kind=RELEASE_KIND, name=release, namespace=namespace,
                  resource_version=str(revision) if revision else None)]
    seen: set[tuple[str, str, str]] = set()
    for manifest in manifests:
        for doc in objects(manifest):
            key = _key(doc, namespace)
            if key in seen:
                continue
            seen.add(key)
            labels = (doc.get("metadata") or {}).get("labels") or {}
            out.append(Target(kind=key[0], name=key[2], namespace=key[1],
                              labels={str(k): str(v) for k, v in labels.items()}))
    return out


# --- the helm command line ------------------------------------------------------------------


def command(verb: str, *words: str, namespace: str, flags: list[str] | None = None) -> str:
    """``helm VERB WORDS -n NAMESPACE FLAGS``, shell-quoted."""
    return shlex.join(["helm", verb, *words, "-n", namespace, *(flags or [])])


def value_flags(values: dict[str, Any], sets: list[str]) -> list[str]:
    """``--set-json`` for each top-level key of ``values`` and ``--set`` for each override,
    with sensitive values redacted."""
    flags: list[str] = []
    for key, value in redact_arguments(values).items():
        flags += ["--set-json", f"{key}={json.dumps(value, separators=(',', ':'))}"]
    for item in sets:
        key, _, value = item.partition("=")
        if SENSITIVE_KEY.search(key) and value:
            value = f"<redacted: {len(value.encode())} bytes>"
        flags += ["--set", f"{key}={value}"]
    return flags


def wait_flags(wait: bool, timeout: int) -> list[str]:
    return ["--wait", "--timeout", f"{timeout}s"] if wait else []


# --- charts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSource:
    ref: str  # what the engine is given (an absolute path for a local chart)
    shown: str  # what the command line shows ("./helm/todo-app", "oci://…")
    source: str  # Change.chart, matched by the policy's chart_sources ("helm/todo-app", "oci://…")


def _local(path: Path) -> ChartSource:
    absolute = path.resolve()
    try:
        relative = absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return ChartSource(str(absolute), str(absolute), str(absolute))
    return ChartSource(str(absolute), f"./{relative}" if relative != "." else ".", relative)


def chart_source(chart: str) -> ChartSource:
    """Where ``chart`` comes from: a local directory or archive (it must exist), or a
    reference (``oci://…``, ``https://…``, ``repo/chart``) that Helm fetches."""
    if "://" in chart:
        return ChartSource(chart, chart, chart)
    path = Path(chart).expanduser()
    if chart.startswith((".", "/", "~")) or chart.endswith((".tgz", ".tar.gz")) or path.exists():
        if not path.exists():
            raise NotFound(f"no chart at {chart}: the path does not exist")
        return _local(path)
    if "/" in chart:
        return ChartSource(chart, chart, chart)
    raise InvalidInput(f"chart {chart!r} is neither a local chart path nor a reference "
                       "(oci://host/chart, https://…/chart.tgz, repo/chart)")


def chart_roots() -> list[Path]:
    extra = [Path(p) for p in os.environ.get(CHARTS_ENV, "").split(os.pathsep) if p]
    return [*extra, Path.cwd() / "helm", REPO_CHARTS]


def find_local_chart(chart: str) -> ChartSource | None:
    """The local chart directory whose Chart.yaml is ``chart`` (``name-version``, as a release
    records it), searched in $KAI_CHARTS, ./helm and kai's own charts."""
    for root in chart_roots():
        if not root.is_dir():
            continue
        for candidate in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
            meta = candidate / "Chart.yaml"
            if not meta.is_file():
                continue
            try:
                doc = yaml.safe_load(meta.read_text()) or {}
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(doc, dict) and f"{doc.get('name')}-{doc.get('version')}" == chart:
                return _local(candidate)
    return None


# --- releases ---------------------------------------------------------------------------------


async def resolve_release(ctx: ToolContext, name: str, namespace: str | None = None) -> ReleaseInfo:
    """The one release ``name`` means: in ``namespace`` when given, else the one namespace that
    has it (the context's namespace first). Exact names first, then names with ``name`` as a
    dash-separated part. Ambiguous or NotFound (with the closest names) otherwise."""
    engine = ctx.helm
    if namespace is not None:
        try:
            return await engine.status(name, namespace)
        except NotFound:
            pass
    live = [r for r in await engine.releases(namespace) if r.status != "uninstalled"]
    hits = [r for r in live if r.name == name] or [r for r in live if _matches(name, r.name)]
    if len(hits) > 1 and namespace is None:
        hits = [r for r in hits if r.namespace == ctx.default_namespace] or hits
    if len(hits) == 1:
        return await engine.status(hits[0].name, hits[0].namespace)
    where = f" in namespace {namespace}" if namespace else ""
    if not hits:
        close = difflib.get_close_matches(name, sorted({r.name for r in live}), n=3, cutoff=0.5)
        raise NotFound(f"no Helm release named {name!r}{where}",
                       [f"{r.namespace}/{r.name}" for r in live if r.name in close])
    raise Ambiguous(f"{name!r} matches {len(hits)} Helm releases{where}; say which namespace",
                    [f"{r.namespace}/{r.name}" for r in hits][:20])
