"""Helm releases as the model sees them: ``helm_list``, ``helm_status``, ``helm_history`` and
``helm_get_values`` (values under keys that name a password, secret or token redacted).

The changes (``helm_install``, ``helm_upgrade``, ``helm_rollback``, ``helm_uninstall``) live
in :mod:`tools.helm_changes`, imported here so that importing this module registers every
Helm tool. Each tool works through ``ctx.helm``, the engine :func:`tools.helm_engine.select_engine`
picks (helm-python-sdk, or the helm binary with ``KAI_HELM_ENGINE=cli``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from . import helm_changes as helm_changes  # registers the write tools
from .budget import count_tokens, fit_items, more_note, render
from .context import ToolContext
from .helm_engine import ReleaseInfo
from .helm_plan import ReleaseName, objects, resolve_release
from .inputs import NamespaceName
from .redact import redact_arguments
from .registry import ToolInput, ToolResult, tool

RESERVE = 120  # tokens kept for a result's other fields


class HelmRelease(ToolResult):
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str = ""
    updated: str | None = None


def _row(info: ReleaseInfo) -> HelmRelease:
    return HelmRelease(name=info.name, namespace=info.namespace, revision=info.revision, status=info.status,
                       chart=info.chart, app_version=info.app_version, updated=info.updated)


# --- helm_list ----------------------------------------------------------------------------------


class HelmListInput(ToolInput):
    namespace: NamespaceName | None = None


class HelmListResult(ToolResult):
    namespace: str | None = None
    releases: list[HelmRelease]
    more: str | None = None


@tool(risk="read")
async def helm_list(ctx: ToolContext, args: HelmListInput) -> HelmListResult:
    """List Helm releases with their revision, status (deployed, failed, pending-upgrade, …),
    chart and app version.

    Use it for "what is installed with Helm?", "which releases failed?", or to find the
    namespace of a release.

    Args:
        namespace: Only releases in this namespace; omit it to list every namespace.
    """
    found = await ctx.helm.releases(args.namespace)
    rows, left = fit_items([_row(r) for r in found], ctx.budget - RESERVE)
    return HelmListResult(namespace=args.namespace, releases=rows, more=more_note(left, "releases"))


# --- helm_status --------------------------------------------------------------------------------


class HelmStatusInput(ToolInput):
    release: ReleaseName
    namespace: NamespaceName | None = None
    revision: int | None = Field(default=None, ge=1)


class HelmStatusResult(ToolResult):
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    app_version: str = ""
    updated: str | None = None
    description: str | None = None
    resources: list[str]
    more: str | None = None


@tool(risk="read")
async def helm_status(ctx: ToolContext, args: HelmStatusInput) -> HelmStatusResult:
    """Show a Helm release: its revision, status, chart, app version, when it was last
    deployed, the description of that revision and the objects it manages.

    Use it for "is todo-app deployed?", "what does the release contain?", "why did the
    last upgrade fail?" (a failed revision's description has Helm's error).

    Args:
        release: The release name, or a part of it ("todo" finds todo-app).
        namespace: The release's namespace; by default the one namespace where it exists.
        revision: An earlier revision to show instead of the current one.
    """
    current = await resolve_release(ctx, args.release, args.namespace)
    info = current
    if args.revision is not None and args.revision != current.revision:
        info = await ctx.helm.status(current.name, current.namespace, args.revision)
    manifest = await ctx.helm.manifest(info.name, info.namespace, info.revision)
    names = [f"{d.get('kind')}/{(d.get('metadata') or {}).get('name')}" for d in objects(manifest)]
    kept, left = fit_items(names, ctx.budget - RESERVE - count_tokens(render(info)), cost=str)
    return HelmStatusResult(name=info.name, namespace=info.namespace, revision=info.revision, status=info.status,
                            chart=info.chart, app_version=info.app_version, updated=info.updated,
                            description=info.description, resources=kept, more=more_note(left, "resources"))


# --- helm_history -------------------------------------------------------------------------------


class HelmHistoryInput(ToolInput):
    release: ReleaseName
    namespace: NamespaceName | None = None
    max: int = Field(default=10, ge=1, le=100)


class HelmRevision(ToolResult):
    revision: int
    status: str
    chart: str
    app_version: str = ""
    updated: str | None = None
    description: str | None = None


class HelmHistoryResult(ToolResult):
    release: str
    namespace: str
    revisions: list[HelmRevision]
    more: str | None = None


@tool(risk="read")
async def helm_history(ctx: ToolContext, args: HelmHistoryInput) -> HelmHistoryResult:
    """List a Helm release's revisions, oldest first: status, chart, app version, when each
    was deployed and its description ("Install complete", "Upgrade complete", "Rollback to
    2", or the error of a failed upgrade).

    Use it before a rollback to pick the revision to go back to, or to see what changed when.

    Args:
        release: The release name, or a part of it ("todo" finds todo-app).
        namespace: The release's namespace; by default the one namespace where it exists.
        max: How many of the latest revisions to show (1 to 100, default 10).
    """
    current = await resolve_release(ctx, args.release, args.namespace)
    history = await ctx.helm.history(current.name, current.namespace, args.max)
    rows = [HelmRevision(revision=r.revision, status=r.status, chart=r.chart, app_version=r.app_version,
                         updated=r.updated, description=r.description) for r in history]
    kept, left = fit_items(rows[::-1], ctx.budget - RESERVE)  # the newest matter most
    return HelmHistoryResult(release=current.name, namespace=current.namespace, revisions=kept[::-1],
                             more=more_note(left, "revisions, older than these"))


# --- helm_get_values ----------------------------------------------------------------------------


class HelmGetValuesInput(ToolInput):
    release: ReleaseName
    namespace: NamespaceName | None = None
    all_values: bool = False


class HelmValuesResult(ToolResult):
    release: str
    namespace: str
    revision: int
    all_values: bool
    values: dict[str, Any]
    more: str | None = None


def _leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict) and node:
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    return [(path, node)]


@tool(risk="read")
async def helm_get_values(ctx: ToolContext, args: HelmGetValuesInput) -> HelmValuesResult:
    """Show the values of a Helm release: the ones given at install or upgrade time, or all
    of them merged with the chart's defaults. Values under keys that name a password, secret,
    token or key are replaced by their length.

    Use it for "what replicas/image/config does the release set?", and before an upgrade.

    Args:
        release: The release name, or a part of it ("todo" finds todo-app).
        namespace: The release's namespace; by default the one namespace where it exists.
        all_values: Show every value (the chart's defaults merged in), not only the user-supplied ones.
    """
    current = await resolve_release(ctx, args.release, args.namespace)
    values = redact_arguments(await ctx.helm.get_values(current.name, current.namespace, args.all_values))
    result = HelmValuesResult(release=current.name, namespace=current.namespace, revision=current.revision,
                              all_values=args.all_values, values=values)
    if count_tokens(render(result)) <= ctx.budget:
        return result
    # Too big: the leaves as "a.b.c: value", as many as fit.
    kept, left = fit_items(_leaves(values), ctx.budget - RESERVE, cost=lambda kv: f"{kv[0]}: {kv[1]}")
    result.values = dict(kept)
    result.more = more_note(left, "values (ask for user-supplied values only, or read the chart)")
    return result
