"""``/sandbox/v1/snapshots``: how ``python -m sandbox snapshot|restore`` (and the eval
harness) reach the running sandbox's snapshots. Only cluster admins may call it; real
clients never see it.

    GET    /sandbox/v1/snapshots                  the saved snapshots
    POST   /sandbox/v1/snapshots {name}           save the current state as name (201)
    GET    /sandbox/v1/snapshots/NAME             one snapshot
    POST   /sandbox/v1/snapshots/NAME/restore     make the state the snapshot's
    DELETE /sandbox/v1/snapshots/NAME             remove one
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import bodies
from .errors import BadRequest, Forbidden, MethodNotAllowed, NotFound
from .handlers import json_response
from .rbac import User
from .snapshots import Snapshots

PATH = "/sandbox/v1/snapshots"


def serves(path: str) -> bool:
    return path == PATH or path.startswith(PATH + "/")


async def handle(snapshots: Snapshots, request: Request, user: User) -> Response:
    if not user.is_admin:
        raise Forbidden(f'User "{user.name}" cannot manage sandbox snapshots')
    path = request.url.path
    parts = [p for p in path[len(PATH):].split("/") if p]
    method = request.method
    if not parts:
        if method == "GET":
            return json_response({"items": [s.as_dict() for s in snapshots.list()]})
        if method == "POST":
            body = bodies.as_object(bodies.decode(await request.body(), request.headers.get("content-type")))
            name = str(body.get("name") or "")
            if not name:
                raise BadRequest("a snapshot needs a name")
            saved = await snapshots.save(name)
            return json_response({"name": saved.name, "objects": saved.objects,
                                  "resourceVersion": str(saved.resource_version)}, 201)
    elif len(parts) == 1:
        if method == "GET":
            return json_response(snapshots.get(parts[0]).as_dict())
        if method == "DELETE":
            return json_response(snapshots.delete(parts[0]).as_dict())
    elif len(parts) == 2 and parts[1] == "restore":
        if method == "POST":
            restored = await snapshots.restore(parts[0])
            return json_response({"name": restored.name, "objects": restored.objects,
                                  "resourceVersion": str(restored.resource_version)})
    else:
        raise NotFound("the server could not find the requested resource")
    raise MethodNotAllowed(f"{method} is not allowed on {path}")
