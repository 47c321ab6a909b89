"""``/sandbox/v1/faults``: how ``kai sandbox fault`` reaches the running sandbox. Only
cluster admins may call it; real clients never see it.

    GET    /sandbox/v1/faults                          the active faults
    POST   /sandbox/v1/faults {kind, target, namespace} inject one
    DELETE /sandbox/v1/faults?target=T&namespace=NS    clear the faults on T ("all": every one)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import bodies
from .errors import BadRequest, Forbidden, MethodNotAllowed
from .faults import FaultBook
from .handlers import json_response
from .rbac import User

PATH = "/sandbox/v1/faults"


async def handle(book: FaultBook, request: Request, user: User) -> Response:
    if not user.is_admin:
        raise Forbidden(f'User "{user.name}" cannot manage sandbox faults')
    if request.method == "GET":
        return json_response({"items": [f.as_dict() for f in book.active()]})
    if request.method == "POST":
        body = bodies.as_object(bodies.decode(await request.body(), request.headers.get("content-type")))
        kind, target = str(body.get("kind", "")), str(body.get("target", ""))
        if not kind or not target:
            raise BadRequest("a fault needs a kind and a target")
        fault = book.inject(kind, target, str(body.get("namespace") or "default"))
        return json_response(fault.as_dict(), 201)
    if request.method == "DELETE":
        target = request.query_params.get("target", "")
        if not target:
            raise BadRequest("clear needs a target (or all)")
        gone = book.clear(target, request.query_params.get("namespace") or "default")
        return json_response({"items": [f.as_dict() for f in gone]})
    raise MethodNotAllowed(f"{request.method} is not allowed on {PATH}")
