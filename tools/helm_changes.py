"""Changing Helm releases: ``helm_install``, ``helm_upgrade``, ``helm_rollback`` and (destructive)
``helm_uninstall``. Each plans a :class:`~tools.registry.Change` whose ``before``/``after`` are
release manifests (Secrets redacted), so :attr:`Change.diff` is the manifest diff:

- install: nothing → the dry-run install's manifest;
- upgrade: the current manifest → the dry-run upgrade's manifest;
- rollback: the current manifest → the target revision's manifest;
- uninstall: the current manifest → nothing.

Planning only reads and renders (a dry run: nothing is installed, no revision is written); a
chart that does not render is a HelmError then. ``Change.chart`` is the chart source, checked
against the policy's allowed chart sources; ``Change.images`` the images of the rendered
manifest; ``Change.replicas`` the highest replica count the change sets on a workload.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .context import ToolContext
from .errors import Conflict, InvalidInput, NotFound
from .helm_engine import Rendered
from .helm_plan import (
    ChartRef,
    ChartVersion,
    ReleaseName,
    SetItem,
    Timeout,
    changed_replicas,
    chart_roots,
    chart_source,
    command,
    deep_merge,
    find_local_chart,
    images,
    object_changes,
    objects,
    parse_sets,
    resolve_release,
    safe_manifest,
    targets,
    value_flags,
    wait_flags,
)
from .inputs import NamespaceName
from .registry import Change, ToolInput, ToolResult, tool
from .resolve import namespace_exists


class HelmReleaseResult(ToolResult):
    release: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str = ""
    done: str  # installed, upgraded from revision N, rolled back to revision N
    objects: int


def _result(rendered: Rendered, done: str) -> HelmReleaseResult:
    info = rendered.release
    return HelmReleaseResult(release=info.name, namespace=info.namespace, revision=info.revision, status=info.status,
                             chart=info.chart, app_version=info.app_version, done=done,
                             objects=len(objects(rendered.manifest)))


def _values(values: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    try:
        return deep_merge(values, parse_sets(sets))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _counts(before: str, after: str, namespace: str) -> str:
    added, changed, removed = object_changes(before, after, namespace)
    return f"objects: {changed} changed, {added} added, {removed} removed"


# --- helm_install -------------------------------------------------------------------------------


class HelmInstallInput(ToolInput):
    chart: ChartRef
    release: ReleaseName
    namespace: NamespaceName | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    set: list[SetItem] = Field(default_factory=list, max_length=100)
    version: ChartVersion | None = None
    create_namespace: bool = False
    wait: bool = True
    timeout: Timeout = 300


@tool(risk="write", result=HelmReleaseResult)
async def helm_install(ctx: ToolContext, args: HelmInstallInput) -> Change:
    """Install a Helm chart as a new release (``helm install``).

    Use it for "install the todo chart as todo-staging in namespace staging". The preview is
    the manifest a dry-run install renders; a chart that does not render fails here and
    nothing is installed. To change an existing release use helm_upgrade.

    Args:
        chart: A local chart directory or archive ("./helm/todo-app"), or a reference Helm
            fetches ("oci://ghcr.io/acme/charts/app", "https://…/app-1.0.0.tgz", "repo/app").
        release: The new release's name (lower-case letters, digits, '-', at most 53).
        namespace: Where to install; by default the context's namespace.
        values: Values to set, as a nested map ({"backend": {"replicaCount": 3}}).
        set: Overrides in helm --set form, applied after values: ["backend.replicaCount=3",
            "proxy.enabled=true"]; numbers and true/false are typed as Helm does.
        version: The chart version to use, for a repository or OCI reference.
        create_namespace: Create the namespace if it does not exist.
        wait: Wait until the release's workloads are ready (up to timeout) before reporting.
        timeout: Seconds to wait (10 to 3600, default 300).
    """
    namespace = args.namespace or ctx.default_namespace
    source = chart_source(args.chart)
    values = _values(args.values, args.set)
    if not args.create_namespace and not await namespace_exists(ctx.cluster, namespace):
        raise NotFound(f"namespace {namespace!r} not found (set create_namespace to create it)")
    try:
        current = await ctx.helm.status(args.release, namespace)
    except NotFound:
        pass
    else:
        raise Conflict(f"release {args.release} already exists in namespace {namespace} (revision "
                       f"{current.revision}, {current.status}): use helm_upgrade to change it")
    dry = await ctx.helm.install(source.ref, args.release, namespace, values, version=args.version,
                                 create_namespace=args.create_namespace, dry_run=True)
    after = dry.manifest
    flags = (["--create-namespace"] if args.create_namespace else []) + (
        ["--version", args.version] if args.version else []) + value_flags(args.values, args.set) + wait_flags(
        args.wait, args.timeout)

    async def apply() -> HelmReleaseResult:
        done = await ctx.helm.install(source.ref, args.release, namespace, values, version=args.version,
                                      create_namespace=args.create_namespace, wait=args.wait, timeout=args.timeout)
        return _result(done, "installed")

    created = " (creating the namespace)" if args.create_namespace else ""
    return Change(summary=f"install chart {source.source} as Helm release {args.release} in namespace {namespace}"
                          f"{created}: {len(objects(after))} objects",
                  command=command("install", args.release, source.shown, namespace=namespace, flags=flags),
                  targets=targets(args.release, namespace, None, after), apply=apply, before="",
                  after=safe_manifest(after), replicas=changed_replicas("", after, namespace), images=images(after),
                  chart=source.source, idempotent=False)


# --- helm_upgrade -------------------------------------------------------------------------------


class HelmUpgradeInput(ToolInput):
    release: ReleaseName
    chart: ChartRef | None = None
    namespace: NamespaceName | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    set: list[SetItem] = Field(default_factory=list, max_length=100)
    version: ChartVersion | None = None
    reuse_values: bool = True
    wait: bool = True
    timeout: Timeout = 300


@tool(risk="write", result=HelmReleaseResult)
async def helm_upgrade(ctx: ToolContext, args: HelmUpgradeInput) -> Change:
    """Upgrade a Helm release with new values or a new chart (``helm upgrade``): a new revision.

    Use it for "set backend.replicaCount=3 on todo-app", "enable the proxy", "upgrade to
    chart 0.2.0". The preview is the diff between the release's manifest and the one a dry-run
    upgrade renders; a chart that does not render fails here and nothing changes.

    Args:
        release: The release name, or a part of it ("todo" finds todo-app).
        chart: The chart to upgrade to (a local path or a reference, as for helm_install). By
            default the local chart directory with the release's own chart name and version
            (searched in $KAI_CHARTS, ./helm and kai's charts).
        namespace: The release's namespace; by default the one namespace where it exists.
        values: Values to set, as a nested map ({"backend": {"replicaCount": 3}}).
        set: Overrides in helm --set form, applied after values: ["backend.replicaCount=3"];
            numbers and true/false are typed as Helm does.
        version: The chart version to use, for a repository or OCI reference.
        reuse_values: Keep the release's current values and apply these on top (default); false
            starts again from the chart's defaults plus these values.
        wait: Wait until the release's workloads are ready (up to timeout) before reporting.
        timeout: Seconds to wait (10 to 3600, default 300).
    """
    current = await resolve_release(ctx, args.release, args.namespace)
    name, namespace = current.name, current.namespace
    if current.status.startswith("pending"):
        raise Conflict(f"release {name} in {namespace} is {current.status}: another Helm operation is in progress")
    if args.chart is not None:
        source = chart_source(args.chart)
    else:
        found = find_local_chart(current.chart)
        if found is None:
            raise InvalidInput(f"release {name} runs chart {current.chart} and no local chart of that name and "
                               f"version was found in {', '.join(str(p) for p in chart_roots())}: give the chart")
        source = found
    values = _values(args.values, args.set)
    before = await ctx.helm.manifest(name, namespace)
    dry = await ctx.helm.upgrade(source.ref, name, namespace, values, version=args.version,
                                 reuse_values=args.reuse_values, dry_run=True)
    after = dry.manifest
    flags = ["--reuse-values" if args.reuse_values else "--reset-values"] + (
        ["--version", args.version] if args.version else []) + value_flags(args.values, args.set) + wait_flags(
        args.wait, args.timeout)

    async def apply() -> HelmReleaseResult:
        done = await ctx.helm.upgrade(source.ref, name, namespace, values, version=args.version,
                                      reuse_values=args.reuse_values, wait=args.wait, timeout=args.timeout)
        return _result(done, f"upgraded from revision {current.revision}")

    return Change(summary=f"upgrade Helm release {name} in namespace {namespace} (revision {current.revision}, "
                          f"{current.chart}) with chart {source.source}: {_counts(before, after, namespace)}",
                  command=command("upgrade", name, source.shown, namespace=namespace, flags=flags),
                  targets=targets(name, namespace, current.revision, before, after), apply=apply,
                  before=safe_manifest(before), after=safe_manifest(after),
                  replicas=changed_replicas(before, after, namespace), images=images(after), chart=source.source,
                  idempotent=False)


# --- helm_rollback ------------------------------------------------------------------------------


class HelmRollbackInput(ToolInput):
    release: ReleaseName
    namespace: NamespaceName | None = None
    revision: int | None = Field(default=None, ge=1)
    wait: bool = True
    timeout: Timeout = 300


@tool(risk="write", result=HelmReleaseResult)
async def helm_rollback(ctx: ToolContext, args: HelmRollbackInput) -> Change:
    """Roll a Helm release back to an earlier revision (``helm rollback``): a new revision with
    that revision's manifest and values.

    Use it for "rollback todo-app to the previous Helm revision", "go back to revision 2",
    e.g. after a failed upgrade. helm_history lists the revisions.

    Args:
        release: The release name, or a part of it ("todo" finds todo-app).
        namespace: The release's namespace; by default the one namespace where it exists.
        revision: The revision to go back to; by default the previous one.
        wait: Wait until the release's workloads are ready (up to timeout) before reporting.
        timeout: Seconds to wait (10 to 3600, default 300).
    """
    current = await resolve_release(ctx, args.release, args.namespace)
    name, namespace = current.name, current.namespace
    history = await ctx.helm.history(name, namespace)
    revisions = [h.revision for h in history]
    if args.revision is None:
        if len(history) < 2:
            raise InvalidInput(f"release {name} has only revision {current.revision}: nothing to roll back to")
        target = history[-2].revision
    elif args.revision not in revisions:
        raise NotFound(f"release {name} in namespace {namespace} has no revision {args.revision} "
                       f"(it has {', '.join(map(str, revisions))})", [str(r) for r in revisions])
    else:
        target = args.revision
    if target == current.revision:
        raise InvalidInput(f"revision {target} is the current revision of {name}")
    before = await ctx.helm.manifest(name, namespace)
    dry = await ctx.helm.rollback(name, namespace, target, dry_run=True)
    after = dry.manifest

    async def apply() -> HelmReleaseResult:
        done = await ctx.helm.rollback(name, namespace, target, wait=args.wait, timeout=args.timeout)
        return _result(done, f"rolled back to revision {target}")

    return Change(summary=f"roll Helm release {name} in namespace {namespace} back from revision "
                          f"{current.revision} ({current.status}) to revision {target} ({dry.release.chart}): "
                          f"{_counts(before, after, namespace)}",
                  command=command("rollback", name, str(target), namespace=namespace,
                                  flags=wait_flags(args.wait, args.timeout)),
                  targets=targets(name, namespace, current.revision, before, after), apply=apply,
                  before=safe_manifest(before), after=safe_manifest(after),
                  replicas=changed_replicas(before, after, namespace), images=images(after), idempotent=False)


# --- helm_uninstall -----------------------------------------------------------------------------


class HelmUninstallInput(ToolInput):
    release: ReleaseName
    namespace: NamespaceName | None = None
    wait: bool = True
    timeout: Timeout = 300


class HelmUninstallResult(ToolResult):
    release: str
    namespace: str
    revision: int
    status: str
    removed: int


@tool(risk="destructive", result=HelmUninstallResult)
async def helm_uninstall(ctx: ToolContext, args: HelmUninstallInput) -> Change:
    """Uninstall a Helm release (``helm uninstall``): every object it manages is deleted and
    its history is removed. This cannot be undone with a rollback.

    Use it only when asked to remove a release ("uninstall todo-staging").

    Args:
        release: The release name, or a part of it ("todo" finds todo-app).
        namespace: The release's namespace; by default the one namespace where it exists.
        wait: Wait until the deleted objects are gone (up to timeout) before reporting.
        timeout: Seconds to wait (10 to 3600, default 300).
    """
    current = await resolve_release(ctx, args.release, args.namespace)
    name, namespace = current.name, current.namespace
    dry = await ctx.helm.uninstall(name, namespace, dry_run=True)
    before = dry.manifest

    async def apply() -> HelmUninstallResult:
        done = await ctx.helm.uninstall(name, namespace, wait=args.wait, timeout=args.timeout)
        return HelmUninstallResult(release=name, namespace=namespace, revision=done.release.revision,
                                   status=done.release.status, removed=len(objects(done.manifest)))

    return Change(summary=f"uninstall Helm release {name} in namespace {namespace} (revision {current.revision}, "
                          f"{current.chart}): deletes {len(objects(before))} objects and the release's history",
                  command=command("uninstall", name, namespace=namespace, flags=wait_flags(args.wait, args.timeout)),
                  targets=targets(name, namespace, current.revision, before), apply=apply,
                  before=safe_manifest(before), after="", idempotent=False)
