"""Resource requests: the verbs of ``/api`` and ``/apis`` paths over the registry."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from . import bodies, conversion, rbac, tables
from .errors import BadRequest, Gone, MethodNotAllowed, NotFound
from .podlogs import LogQuery
from .registry import DeleteOptions, Registry, Result, WriteOptions
from .resources import ResourceType, storage_version
from .routing import Route
from .selectors import parse_field_selector, parse_label_selector
from .watch import DEFAULT_TIMEOUT, WatchRequest, expired_event, stream

Obj = dict[str, Any]

STREAMING = ("exec", "attach", "portforward")
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None) -> Response:
    headers = {}
    if warnings:
        headers["Warning"] = ", ".join(
            '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in warnings)
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json",
                    headers=headers)


def request_verb(request: Request, route: Route) -> str:
    verb = VERBS.get(request.method, "")
    watching = route.legacy_watch or bodies.flag(request.query_params.get("watch"))
    if verb == "get" and route.is_collection:
        return "watch" if watching else "list"
    if verb == "delete" and route.is_collection:
        return "deletecollection"
    return verb


def attributes(request: Request, route: Route) -> rbac.Attributes:
    # kube-apiserver's RequestInfo reads /api/v1/namespaces/NAME[/sub] as in the namespace NAME,
    # so a Role there grants access to the namespace's own object
    own = route.res.plural == "namespaces" and not route.res.group and route.name
    return rbac.Attributes(verb=request_verb(request, route), group=route.res.group,
                           resource=route.res.plural, subresource=route.sub,
                           namespace=route.name if own else route.namespace, name=route.name)


class ResourceHandler:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def handle(self, request: Request, route: Route, user: rbac.User) -> Response:
        verb = request_verb(request, route)
        if route.sub in STREAMING:
            # A plain request where a WebSocket (or SPDY) upgrade belongs.
            raise BadRequest("Upgrade request required")
        if verb not in route.res.verbs and not route.sub:
            raise MethodNotAllowed("the server does not allow this method on the requested "
                                   "resource", kind=route.res.plural, name=route.name or None)
        if verb in ("list", "watch", "deletecollection"):
            if not route.res.namespaced and route.namespace:
                raise NotFound("the server could not find the requested resource")
            return await self._collection(request, route, verb)
        if verb == "create":
            return await self._create(request, route, user)
        if verb == "get":
            return self._get(request, route)
        if verb in ("update", "patch"):
            if route.is_collection:
                raise MethodNotAllowed("the server does not allow this method on the requested "
                                       "resource", kind=route.res.plural)
            return await self._write(request, route, verb)
        if verb == "delete":
            return await self._delete(request, route)
        raise MethodNotAllowed("the server does not allow this method on the requested resource")

    # --- reads -------------------------------------------------------------------

    def _get(self, request: Request, route: Route) -> Response:
        res = route.res
        if route.sub == "scale":
            return json_response(self.registry.get_scale(res, route.namespace, route.name))
        if route.sub == "log":
            return self._log(request, route)
        if route.sub not in ("", "status"):
            raise MethodNotAllowed(f"the server does not allow this method on the requested "
                                   f"resource ({res.plural}/{route.sub})")
        obj = self.registry.get(res, route.namespace, route.name, served=False)
        return json_response(_render(request, res, obj))

    async def _collection(self, request: Request, route: Route, verb: str) -> Response:
        q = request.query_params
        res = route.res
        labels = parse_label_selector(q.get("labelSelector", ""))
        fields = parse_field_selector(q.get("fieldSelector", ""), res.storage_key)
        namespace = route.namespace if res.namespaced and route.namespace else None
        if verb == "deletecollection":
            opts = await self._delete_options(request)
            return json_response(self.registry.delete_collection(res, namespace, labels, fields,
                                                                 opts))
        if verb == "watch":
            return await self._watch(request, route, namespace, labels, fields)
        items = self.registry.list(res, namespace, labels, fields, served=False)
        rv = str(self.registry.store.rv)
        items, token, remaining = _page(items, q.get("limit"), q.get("continue"))
        accept = request.headers.get("accept", "")
        if "as=Table" in accept:
            include = q.get("includeObject", "Metadata")
            return json_response(tables.table(res.storage_key, items, rv, include=include,
                                              continue_token=token,
                                              serve=lambda o: conversion.to_served(res, o)))
        if storage_version(res) is not res:
            items = [conversion.to_served(res, o) for o in items]
        meta: Obj = {"resourceVersion": rv}
        if token:
            meta["continue"] = token
            meta["remainingItemCount"] = remaining
        if "as=PartialObjectMetadataList" in accept:
            return json_response({"kind": "PartialObjectMetadataList",
                                  "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                                  "items": [tables.partial_metadata(o) for o in items]})
        return json_response({"kind": f"{res.kind}List", "apiVersion": res.api_version,
                              "metadata": meta, "items": items})

    async def _watch(self, request: Request, route: Route, namespace: str | None,
                     labels: Any, fields: Any) -> Response:
        q = request.query_params
        res = route.res
        try:
            timeout = float(q.get("timeoutSeconds") or DEFAULT_TIMEOUT)
        except ValueError as exc:
            raise BadRequest(f"invalid timeoutSeconds: {q.get('timeoutSeconds')}") from exc
        if timeout <= 0:
            timeout = DEFAULT_TIMEOUT
        req = WatchRequest(
            res=res, namespace=namespace, labels=labels, fields=fields,
            resource_version=q.get("resourceVersion", ""),
            send_initial_events=bodies.flag(q.get("sendInitialEvents")),
            bookmarks=bodies.flag(q.get("allowWatchBookmarks")),
            timeout=timeout, render=lambda obj: _render(request, res, obj),
        )
        lines = stream(self.registry.store, req)
        try:
            first = await lines.__anext__()
        except Gone as exc:
            return Response(expired_event(exc), media_type="application/json")
        except StopAsyncIteration:
            first = b""

        async def body() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for line in lines:
                yield line

        return StreamingResponse(body(), media_type="application/json",
                                 headers={"Transfer-Encoding": "chunked"})

    def _log(self, request: Request, route: Route) -> Response:
        q = request.query_params
        pod = self.registry.get(route.res, route.namespace, route.name)
        names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        inits = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        container = q.get("container") or ""
        if not container:
            if len(names) != 1:
                raise BadRequest(f"a container name must be specified for pod {route.name}, "
                                 f"choose one of: [{' '.join(names)}]"
                                 + (f" or one of the init containers: [{' '.join(inits)}]" if inits else ""))
            container = names[0]
        if container not in names and container not in inits:
            raise BadRequest(f"container {container} is not valid for pod {route.name}")
        previous = bodies.flag(q.get("previous"))
        statuses = {s.get("name"): s for s in ((pod.get("status") or {}).get("containerStatuses") or [])
                    + ((pod.get("status") or {}).get("initContainerStatuses") or [])}
        status = statuses.get(container) or {}
        state = status.get("state") or {"waiting": {"reason": "ContainerCreating"}}
        last = (status.get("lastState") or {}).get("terminated")
        # Which instance, as the kubelet picks it: a running (or finished) container is the
        # current one; a container waiting to restart shows its last terminated instance,
        # with or without `previous` (its log has not moved to the previous slot yet).
        if previous:
            if not last:
                raise BadRequest(f'previous terminated container "{container}" in pod "{route.name}" '
                                 f"not found")
            slot_previous = "waiting" not in state
        elif "waiting" in state:
            if not last:
                reason = state["waiting"].get("reason") or "ContainerCreating"
                detail = {"ErrImagePull": "image can't be pulled",
                          "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
                raise BadRequest(f'container "{container}" in pod "{route.name}" is waiting to start: '
                                 f"{detail}")
            slot_previous = False
        else:
            slot_previous = False
        query = LogQuery(
            container=container, previous=slot_previous,
            tail_lines=_int(q.get("tailLines")), since_seconds=_int(q.get("sinceSeconds")),
            timestamps=bodies.flag(q.get("timestamps")), limit_bytes=_int(q.get("limitBytes")),
        )
        text = self.registry.logs.read(route.namespace, route.name, query)
        if not bodies.flag(q.get("follow")):
            return Response(text, media_type="text/plain")
        whole = self.registry.logs.read(route.namespace, route.name, LogQuery(
            container=container, previous=slot_previous, timestamps=query.timestamps))
        return StreamingResponse(self._follow(route, query, text, whole), media_type="text/plain")

    async def _follow(self, route: Route, query: LogQuery, first: str, seen: str) -> AsyncIterator[str]:
        """``first``, then new lines as they are written, until the container stops (or its
        pod goes, or the client does, or the store is restored to a snapshot). ``seen`` is the
        whole log ``first`` was cut from."""
        whole = LogQuery(container=query.container, previous=query.previous, timestamps=query.timestamps)
        epoch = self.registry.store.epoch
        yield first
        while True:
            await asyncio.sleep(0.2)
            if self.registry.store.epoch != epoch:  # the store was restored to a snapshot
                return
            pod = self.registry.store.get("pods", route.namespace, route.name)
            full = self.registry.logs.read(route.namespace, route.name, whole)
            if full != seen:
                # new lines, or the whole log again after the container restarted
                yield full[len(seen):] if full.startswith(seen) else full
                seen = full
            if pod is None or query.previous or not _running(pod, query.container):
                return

    # --- writes -------------------------------------------------------------------

    async def _read(self, request: Request) -> bytes:
        """The request body, refused (413) as soon as it passes the limit."""
        length = request.headers.get("content-length")
        if length and length.isdigit():
            bodies.check_size(int(length))
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            bodies.check_size(len(raw))
        return bytes(raw)

    async def _body(self, request: Request, *, patching: bool = False) -> Any:
        raw = await self._read(request)
        return bodies.decode(raw, request.headers.get("content-type"), patching=patching)

    def _write_options(self, request: Request) -> WriteOptions:
        q = request.query_params
        dry_run = q.getlist("dryRun")
        for value in dry_run:
            if value != "All":
                raise BadRequest(f'unsupported dry run option "{value}"')
        validation = q.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise BadRequest(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got '
                             f'"{validation}"')
        return WriteOptions(dry_run=bool(dry_run), field_validation=validation,
                            field_manager=q.get("fieldManager", ""), force=bodies.flag(q.get("force")))

    async def _create(self, request: Request, route: Route, user: rbac.User) -> Response:
        res = route.res
        body = bodies.as_object(await self._body(request))
        opts = self._write_options(request)
        if route.sub == "binding":
            target = (body.get("target") or {}).get("name")
            if not target:
                raise BadRequest("Binding.target.name: Required value")
            self.registry.bind(route.namespace, route.name, str(target))
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "code": 201}, 201)
        if route.sub == "eviction":
            self.registry.delete(res, route.namespace, route.name, DeleteOptions(dry_run=opts.dry_run))
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "code": 201}, 201)
        if route.name or route.sub:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        if res.plural == "selfsubjectaccessreviews":
            review = dict(body)
            review.setdefault("apiVersion", res.api_version)
            review.setdefault("kind", res.kind)
            review.setdefault("metadata", {})
            review["status"] = rbac.review(self.registry.store, user, body.get("spec") or {})
            return json_response(review, 201)
        result = self.registry.create(res, route.namespace, body, opts)
        return json_response(result.obj, 201, result.warnings)

    async def _write(self, request: Request, route: Route, verb: str) -> Response:
        res = route.res
        opts = self._write_options(request)
        result: Result
        if verb == "update":
            body = bodies.as_object(await self._body(request))
            if route.sub == "scale":
                result = self.registry.update_scale(res, route.namespace, route.name, body, opts)
            else:
                result = self.registry.update(res, route.namespace, route.name, body, opts, route.sub)
        else:
            media = bodies.media_type(request.headers.get("content-type"))
            body = await self._body(request, patching=True)
            if route.sub == "scale":
                result = self.registry.patch_scale(res, route.namespace, route.name, media, body,
                                                   opts)
            else:
                result = self.registry.patch(res, route.namespace, route.name, media, body, opts,
                                             route.sub)
        return json_response(result.obj, 201 if result.created else 200, result.warnings)

    async def _delete_options(self, request: Request) -> DeleteOptions:
        q = request.query_params
        raw = await self._read(request)
        options: Obj = {}
        if raw.strip():
            options = bodies.as_object(bodies.decode(raw, request.headers.get("content-type")))
        propagation = options.get("propagationPolicy") or q.get("propagationPolicy") or "Background"
        if options.get("orphanDependents") is True or bodies.flag(q.get("orphanDependents")):
            propagation = "Orphan"
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise BadRequest(f'propagationPolicy: Unsupported value: "{propagation}": supported '
                             f'values: "Foreground", "Background", "Orphan"')
        dry_run = list(options.get("dryRun") or []) + q.getlist("dryRun")
        pre = options.get("preconditions") or {}
        grace = options.get("gracePeriodSeconds", q.get("gracePeriodSeconds"))
        return DeleteOptions(dry_run=bool(dry_run), propagation=propagation, uid=pre.get("uid"),
                             resource_version=pre.get("resourceVersion"),
                             grace_period=_int(str(grace)) if grace is not None else None)

    async def _delete(self, request: Request, route: Route) -> Response:
        if route.sub:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        opts = await self._delete_options(request)
        obj = self.registry.delete(route.res, route.namespace, route.name, opts)
        return json_response(obj)


def _render(request: Request, res: ResourceType, stored: Obj) -> Obj:
    """A stored object as the request asks for it: a Table row, metadata only, or the
    object in the served version."""
    accept = request.headers.get("accept", "")
    if "as=Table" in accept:
        include = request.query_params.get("includeObject", "Metadata")
        return tables.table(res.storage_key, [stored], stored["metadata"].get("resourceVersion", ""),
                            include=include, serve=lambda o: conversion.to_served(res, o))
    if "as=PartialObjectMetadata" in accept:
        return tables.partial_metadata(stored)
    return conversion.to_served(res, stored)


def _running(pod: Obj, container: str) -> bool:
    pod_status = pod.get("status") or {}
    for entry in (pod_status.get("containerStatuses") or []) + (pod_status.get("initContainerStatuses") or []):
        if entry.get("name") == container:
            return "running" in (entry.get("state") or {})
    return False


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest(f"invalid integer: {value}") from exc


def _page(items: list[Obj], limit: str | None, token: str | None) -> tuple[list[Obj], str, int]:
    """One page of ``items`` after ``token``, the token of the next page, how many remain."""
    start = 0
    if token:
        try:
            after = orjson.loads(base64.urlsafe_b64decode(token.encode()))
            key = (after["ns"], after["name"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest("continue key is not valid: the format of the key is invalid") from exc
        start = next((i for i, o in enumerate(items)
                      if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > key), len(items))
    size = _int(limit) or 0
    if size <= 0 or start + size >= len(items):
        return items[start:], "", 0
    page = items[start:start + size]
    last = page[-1]["metadata"]
    next_token = base64.urlsafe_b64encode(orjson.dumps(
        {"ns": last.get("namespace", ""), "name": last["name"]})).decode()
    return page, next_token, len(items) - start - size
