"""Watch streams: one JSON event per line, as ``?watch=true`` answers.

Supports resuming from a resourceVersion (replayed from the store's log, 410
Expired when it is older than the log), the watch-list protocol of client-go
(``sendInitialEvents=true``: ADDED for every current match, then a BOOKMARK
annotated ``k8s.io/initial-events-end``), periodic bookmarks, timeouts and
selectors, sending DELETED/ADDED when an object leaves or enters the selection.
A restore of the store (a snapshot) ends every open watch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import Gone
from .resources import ResourceType
from .selectors import FieldRequirement, Requirement, fields_match, labels_match
from .store import Change, Store

Obj = dict[str, Any]

DEFAULT_TIMEOUT = 1800.0
BOOKMARK_EVERY = 15.0


@dataclass
class WatchRequest:
    res: ResourceType
    namespace: str | None
    labels: list[Requirement]
    fields: list[FieldRequirement]
    resource_version: str
    send_initial_events: bool
    bookmarks: bool
    timeout: float
    render: Callable[[Obj], Obj]  # a stored object as the client asked for it (JSON, Table, ...)


def _event(kind: str, obj: Obj) -> bytes:
    return orjson.dumps({"type": kind, "object": obj}) + b"\n"


def _bookmark(req: WatchRequest, rv: int, initial_end: bool = False) -> bytes:
    meta: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return _event("BOOKMARK", {"kind": req.res.kind, "apiVersion": req.res.api_version,
                               "metadata": meta})


def _matches(req: WatchRequest, obj: Obj | None) -> bool:
    if obj is None:
        return False
    if req.namespace is not None and obj["metadata"].get("namespace", "") != req.namespace:
        return False
    return labels_match(req.labels, obj) and fields_match(req.fields, obj)


def _translate(req: WatchRequest, change: Change) -> bytes | None:
    """The event a watcher with this selection sees for ``change``, if any."""
    now_in = _matches(req, change.obj)
    was_in = _matches(req, change.prev)
    if change.type == "DELETED":
        kind = "DELETED" if was_in else None
    elif now_in:
        kind = "MODIFIED" if was_in else "ADDED"
    elif was_in:
        kind = "DELETED"
    else:
        kind = None
    if kind is None:
        return None
    return _event(kind, req.render(change.obj))


async def stream(store: Store, req: WatchRequest) -> AsyncIterator[bytes]:
    """The lines of one watch; raises Gone before the first line for an expired version."""
    watcher = store.subscribe(req.res.storage_key)
    try:
        start = store.rv
        first: list[bytes] = []
        if req.send_initial_events or req.resource_version in ("", "0"):
            for obj in store.list(req.res.storage_key, req.namespace):
                if _matches(req, obj):
                    first.append(_event("ADDED", req.render(obj)))
            if req.send_initial_events:
                first.append(_bookmark(req, start, initial_end=True))
        else:
            since = int(req.resource_version) if req.resource_version.isdigit() else -1
            replay = store.changes_since(req.res.storage_key, since) if since >= 0 else None
            if replay is None:
                raise Gone(f"too old resource version: {req.resource_version} ({store.log_floor + 1})")
            for logged in replay:
                line = _translate(req, logged)
                if line is not None:
                    first.append(line)
        for line in first:
            yield line
        deadline = time.monotonic() + req.timeout
        last_sent = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            wait = min(remaining, BOOKMARK_EVERY) if req.bookmarks else remaining
            try:
                change = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
            except TimeoutError:
                if req.bookmarks and time.monotonic() - last_sent >= BOOKMARK_EVERY:
                    yield _bookmark(req, store.rv)
                    last_sent = time.monotonic()
                continue
            if change is None:  # the store was restored to a snapshot: this watch ends
                return
            if change.rv <= start:
                continue
            event = _translate(req, change)
            if event is not None:
                yield event
                last_sent = time.monotonic()
    finally:
        store.unsubscribe(watcher)


def expired_event(error: Gone) -> bytes:
    """The ERROR event a watch from a too-old resourceVersion gets."""
    return _event("ERROR", error.status())
