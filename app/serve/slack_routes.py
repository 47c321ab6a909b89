"""``POST /slack/commands`` and ``POST /slack/interactions``: Slack's contract. Every request is
verified, stored and acknowledged (within Slack's 3 seconds); the work runs afterwards and its
result goes to the request's ``response_url``."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tools.errors import StoreError

from . import blocks
from .errors import Busy, HttpError
from .settings import MAX_PROMPT
from .slack_request import FORM, click, form, need, read_body, verify

if TYPE_CHECKING:
    from .service import Service

router = APIRouter(tags=["slack"])
SIGNED = [{"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
          for h in ("X-Slack-Signature", "X-Slack-Request-Timestamp")]
COMMAND_FIELDS = ("team_id", "user_id", "channel_id", "channel_name", "command", "text", "response_url",
                  "trigger_id")
DATABASE_DOWN = "kai cannot take commands right now: its database does not answer. Nothing was done; try again later."


def _form_schema(fields: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    return {"parameters": SIGNED, "requestBody": {"required": True, "content": {FORM: {"schema": {
        "type": "object", "properties": {f: {"type": "string"} for f in fields}, "required": list(required)}}}}}


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def ephemeral(text: str) -> JSONResponse:
    return JSONResponse(blocks.notice(text))


@router.post("/slack/commands", summary="A Slack slash command (/kai …)",
             openapi_extra=_form_schema(COMMAND_FIELDS, ("team_id", "user_id", "response_url")),
             responses={200: {"description": "acknowledged"}, 401: {"description": "bad signature"}})
async def commands(request: Request) -> Response:
    service = _service(request)
    body = await read_body(request, FORM)
    verify(service.settings.signing_secret, request, body)
    fields = form(body)
    need(fields, "team_id", "user_id", "response_url")
    identity = f"slack:{fields['team_id']}/{fields['user_id']}"
    if not service.reply_allowed(fields["response_url"]):
        raise HttpError(400, "response_url is not a Slack URL")
    service.admit(identity, (fields.get("channel_id", ""), fields.get("channel_name", "")))
    text = fields.get("text", "").strip()
    if not text:
        return ephemeral(f"Tell kai what to do, e.g. `{fields.get('command') or '/kai'} scale backend to 3` or "
                         f"`{fields.get('command') or '/kai'} why are the backend pods failing?`")
    if len(text) > MAX_PROMPT:
        return ephemeral(f"That is {len(text)} characters; kai takes at most {MAX_PROMPT}. Nothing was done.")
    wait = service.limiter.allow(identity)
    if wait is not None:
        return ephemeral(f"Slow down: try again in {wait:.0f} s (the policy allows "
                         f"{service.policy.chatops.requests_per_minute} requests a minute). Nothing was done.")
    key = "slack:command:" + (fields.get("trigger_id") or hashlib.sha256(body).hexdigest())
    return await _accept(request, ephemeral(f"Working on it: `{blocks.escape(text)}`"), key, kind="command",
                         identity=identity, body=text, channel=fields.get("channel_id", ""),
                         reply_to=fields["response_url"])


@router.post("/slack/interactions", summary="A click on an Approve or Reject button",
             openapi_extra=_form_schema(("payload",), ("payload",)),
             responses={200: {"description": "acknowledged"}, 401: {"description": "bad signature"}})
async def interactions(request: Request) -> Response:
    service = _service(request)
    body = await read_body(request, FORM)
    verify(service.settings.signing_secret, request, body)
    pressed = click(form(body))
    if pressed.action not in (blocks.APPROVE, blocks.REJECT):
        raise HttpError(400, f"malformed payload: unknown action {pressed.action!r}")
    if not service.reply_allowed(pressed.response_url):
        raise HttpError(400, "response_url is not a Slack URL")
    identity = f"slack:{pressed.team}/{pressed.user}"
    service.admit(identity, (pressed.channel, pressed.channel_name))  # no channel: refused if some are listed
    answer = json.dumps({"approval_id": pressed.value, "approve": pressed.action == blocks.APPROVE})
    return await _accept(request, Response(status_code=200), "slack:answer:" + pressed.key, kind="answer",
                         identity=identity, body=answer, channel=pressed.channel, reply_to=pressed.response_url)


async def _accept(request: Request, ack: Response, key: str, *, kind: str, identity: str, body: str,
                  channel: str, reply_to: str) -> Response:
    """Store the request and answer ``ack``; a clear refusal when it cannot be taken (nothing was);
    a request seen before is not taken again."""
    try:
        accepted = await _service(request).submit(key, kind=kind, identity=identity, body=body, channel=channel,
                                                  reply_to=reply_to)
    except StoreError:
        return ephemeral(DATABASE_DOWN)
    except Busy as exc:
        return ephemeral(exc.message)
    return ack if accepted else _duplicate(request)


def _duplicate(request: Request) -> Response:
    """Slack retrying (``X-Slack-Retry-Num``) gets its acknowledgement; anything else sending the
    same request again is a replay."""
    if request.headers.get("x-slack-retry-num"):
        return Response(status_code=200)
    raise HttpError(409, "this request was already received (replayed); it is not run again")
