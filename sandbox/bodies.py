"""Request bodies (JSON, YAML, protobuf) and the query options of writes."""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from .errors import BadRequest, RequestTooLarge, UnsupportedMedia
from .patch import APPLY_PATCH, PATCH_TYPES

MAX_BODY = 3 * 1024 * 1024
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"
YAML = "application/yaml"


def media_type(content_type: str | None) -> str:
    return (content_type or JSON).split(";", 1)[0].strip().lower()


def check_size(length: int) -> None:
    if length > MAX_BODY:
        raise RequestTooLarge("the request body is too large: limit is 3145728 bytes")


def decode(raw: bytes, content_type: str | None, *, patching: bool = False) -> Any:
    """A request body as plain JSON values, by its Content-Type."""
    check_size(len(raw))
    media = media_type(content_type)
    if patching:
        if media not in PATCH_TYPES:
            raise UnsupportedMedia(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(PATCH_TYPES)}")
        if media == APPLY_PATCH:
            return _yaml(raw)
        return _json(raw)
    if media in (JSON, "*/*", ""):
        return _json(raw)
    if media in (YAML, "application/x-yaml", "text/yaml"):
        return _yaml(raw)
    if media == PROTOBUF:
        from .protobuf import decode as decode_protobuf

        return decode_protobuf(raw)
    raise UnsupportedMedia(
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON}, {YAML}, {PROTOBUF}")


def _json(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("the request body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body could not be decoded as JSON: {exc}") from exc


def _yaml(raw: bytes) -> Any:
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise BadRequest(f"error converting YAML to JSON: {exc}") from exc
    if value is None:
        raise BadRequest("the request body is empty")
    return value


def as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object")
    return value


def flag(value: str | None) -> bool:
    """Booleans in query strings, parsed case-insensitively as the API server does."""
    return (value or "").strip().lower() in ("true", "1", "t")
