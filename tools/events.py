"""The cluster's events: of a namespace, of every namespace, or about one object, newest
first, warnings only when asked, bounded to the result budget."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, model_validator

from .budget import count_tokens, fit_items, more_note, render
from .context import ToolContext
from .inputs import KindName, NamespaceName, ObjectName
from .registry import ToolInput, ToolResult, tool
from .resolve import Resolved, require_namespace, resolve, resolve_kind
from .rows import EventRow, event_row, newest_first

Obj = dict[str, Any]


async def fetch_events(ctx: ToolContext, namespace: str | None, *, about: Resolved | None = None,
                       kind: str | None = None, warnings_only: bool = False) -> list[Obj]:
    """Events of ``namespace`` (None: every namespace), or about one object, newest first."""
    fields = []
    if about is not None:
        fields += [f"involvedObject.name={about.name}", f"involvedObject.kind={about.kind}"]
        if about.namespace:
            fields.append(f"involvedObject.namespace={about.namespace}")
            uid = (about.obj.get("metadata") or {}).get("uid")
            if uid:
                fields.append(f"involvedObject.uid={uid}")
        namespace = about.namespace
    elif kind:
        fields.append(f"involvedObject.kind={kind}")
    if warnings_only:
        fields.append("type=Warning")
    path = f"/api/v1/namespaces/{namespace}/events" if namespace else "/api/v1/events"
    items: list[Obj] = (await ctx.cluster.request("GET", path, query={"fieldSelector": ",".join(fields) or None}))[
        "items"]
    return newest_first(items)


class EventsInput(ToolInput):
    namespace: NamespaceName | None = None
    all_namespaces: bool = False
    kind: KindName | None = None
    name: ObjectName | None = None
    warnings_only: bool = False
    limit: int = Field(20, ge=1, le=200)

    @model_validator(mode="after")
    def _name_needs_kind(self) -> EventsInput:
        if self.name and not self.kind:
            raise ValueError("name needs a kind (for example kind='deployment')")
        return self


class EventList(ToolResult):
    scope: str
    total: int
    events: list[EventRow]
    more: str | None = None


@tool(risk="read")
async def get_events(ctx: ToolContext, args: EventsInput) -> EventList:
    """List recent events, newest first: what the scheduler, kubelet and controllers reported
    (image pull errors, back-offs, failed probes, scheduling failures, scaling). Use it to see
    what happened in a namespace or to one object; use warnings_only to see only problems.

    Args:
        namespace: Namespace to read; defaults to the context's namespace (ignored with all_namespaces).
        all_namespaces: Read the events of every namespace.
        kind: Only events about objects of this kind (deployment, pod, svc, ...); with name, one object.
        name: Name of one object (needs kind), e.g. "backend" for Deployment todo-backend.
        warnings_only: Only Warning events.
        limit: How many events at most (1-200, default 20); fewer when the token budget is reached.
    """
    about: Resolved | None = None
    kind: str | None = None
    namespace: str | None = None if args.all_namespaces else (args.namespace or ctx.default_namespace)
    if args.kind:
        resource = await resolve_kind(ctx.cluster, args.kind)
        kind = resource.kind
        if args.name:
            about = await resolve(ctx.cluster, resource, args.name, None if args.all_namespaces else args.namespace,
                                  ctx.default_namespace)
    if about is None and namespace is not None:
        await require_namespace(ctx.cluster, namespace)
    items = await fetch_events(ctx, namespace, about=about, kind=kind, warnings_only=args.warnings_only)
    scope = about.ref() if about else (f"namespace {namespace}" if namespace else "all namespaces")
    if args.warnings_only:
        scope = f"warnings in {scope}" if about is None else f"warnings about {scope}"
    now = dt.datetime.now(dt.UTC)
    rows = [event_row(e, with_namespace=namespace is None and about is None, now=now) for e in items[: args.limit]]
    head = EventList(scope=scope, total=len(items), events=[], more=more_note(len(items), "events"))
    room = ctx.budget - count_tokens(render(head)) - 8
    kept, _ = fit_items(rows, room, cost=lambda r: render([r.model_dump(mode="json", exclude_none=True)]))
    return EventList(scope=scope, total=len(items), events=kept, more=more_note(len(items) - len(kept), "events"))
