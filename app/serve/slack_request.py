"""Reading a Slack request safely: the raw body (at most 1 MiB, form-encoded), its signature
(v0 HMAC-SHA256 of ``v0:timestamp:body`` with the signing secret, checked by slack_sdk's
``SignatureVerifier`` within a 5-minute window) and its fields."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .errors import HttpError

if TYPE_CHECKING:
    from starlette.requests import Request

FORM = "application/x-www-form-urlencoded"
WINDOW = 300  # seconds: Slack's replay window


async def read_body(request: Request, content_type: str | None = None) -> bytes:
    """The body as sent (the signature covers these bytes), refused when of another content
    type (415); one over 1 MiB is refused before this (app.Limited: 413)."""
    if content_type is not None:
        given = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if given != content_type:
            raise HttpError(415, f"expected {content_type}, not {given or 'no content type'}")
    return await request.body()


def verify(secret: str | None, request: Request, body: bytes, clock: Callable[[], float] = time.time) -> None:
    """Raise 401 unless the request is signed by Slack with ``secret`` within the window."""
    from slack_sdk.signature import SignatureVerifier

    if not secret:
        raise HttpError(503, "Slack is not configured here: set KAI_SLACK_SIGNING_SECRET")
    stamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not stamp or not signature:
        raise HttpError(401, "missing Slack signature headers")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or abs(clock() - int(stamp)) > WINDOW:
        raise HttpError(401, "stale or invalid request timestamp (more than 5 minutes off)")
    try:
        valid = SignatureVerifier(secret).is_valid(body, stamp, signature)
    except UnicodeDecodeError:  # the SDK hashes the body decoded as UTF-8, which Slack always sends
        valid = False
    if not valid:
        raise HttpError(401, "invalid Slack signature")


def form(body: bytes) -> dict[str, str]:
    """A form-encoded body as single values; a field given twice or bytes that are not UTF-8: 400."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, f"malformed form body: {exc}") from None
    if any(len(values) > 1 for values in pairs.values()):
        raise HttpError(400, "malformed form body: a field is given more than once")
    return {key: values[0] for key, values in pairs.items()}


def need(fields: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if not isinstance(fields.get(name), str) or not fields[name]]
    if missing:
        raise HttpError(400, f"malformed Slack request: missing {', '.join(missing)}")


@dataclass(frozen=True)
class Click:
    """One button click of a block_actions payload."""

    team: str
    user: str
    channel: str
    channel_name: str
    action: str
    value: str
    response_url: str
    key: str  # unique per click


def click(fields: dict[str, str]) -> Click:
    """The click in an interaction's ``payload`` (400 when it is not one)."""
    need(fields, "payload")
    try:
        payload = json.loads(fields["payload"])
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        raise HttpError(400, "malformed payload: not JSON") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise HttpError(400, "malformed payload: only block_actions interactions are handled")
    def part(name: str) -> dict[str, Any]:
        value = payload.get(name)
        return value if isinstance(value, dict) else {}

    user, team, channel = part("user"), part("team"), part("channel")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise HttpError(400, "malformed payload: no action")
    action = actions[0]
    # the user's own team, not the workspace the click happened in: a Slack Connect guest in a shared
    # channel is slack:THEIR_TEAM/U…, which the host's bindings do not match
    values = {"user": user.get("id"), "team": user.get("team_id") or team.get("id"),
              "action_id": action.get("action_id"), "value": action.get("value"),
              "response_url": payload.get("response_url")}
    need(values, *values)
    got = {k: str(v) for k, v in values.items()}
    stamp = action.get("action_ts") or ""
    key = str(payload.get("trigger_id") or f"{got['user']}:{stamp}:{got['value']}")
    return Click(got["team"], got["user"], str(channel.get("id") or ""), str(channel.get("name") or ""),
                 got["action_id"], got["value"], got["response_url"], key)
