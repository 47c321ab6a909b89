"""Decode Kubernetes protobuf request bodies into their JSON form.

client-go typed clients (kubectl, Helm) send built-in kinds as
``application/vnd.kubernetes.protobuf`` with no fallback to JSON, so the
sandbox API server turns such a body into the dict a JSON client would have
sent, and handles it from there like any JSON body.

The body is the magic ``k8s\\0`` followed by a ``runtime.Unknown`` message
(1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType);
``raw`` is the object's own message. Field numbers, names and types come from
``data/protobuf_schema.json``, which ``scripts/gen_protobuf_schema.py`` derives
from the ``generated.proto`` files of k8s.io/api and k8s.io/apimachinery.

The JSON form follows the Go encoder: ``metav1.Time`` as RFC 3339 seconds,
``MicroTime`` with microseconds, ``resource.Quantity`` as its string,
``intstr.IntOrString`` as int or string, ``[]byte`` as base64,
``runtime.RawExtension`` as the embedded JSON, ``metav1.Duration`` as a Go
duration string. gogo-protobuf writes every non-pointer scalar even when it is
zero, so zero scalars are dropped (as ``omitempty`` would) except for the Go
pointer fields the table marks, where an explicit zero (``replicas: 0``,
``gracePeriodSeconds: 0``) means something.

Every failure is a :class:`~sandbox.errors.StatusError`: ``UnsupportedMedia``
for a kind the table does not know, ``BadRequest`` for a malformed body.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

from sandbox.errors import BadRequest, UnsupportedMedia

__all__ = ["MAGIC", "decode", "supported_kinds"]

MAGIC: Final = b"k8s\x00"

_SCHEMA_PATH: Final = Path(__file__).with_name("data") / "protobuf_schema.json"
_META: Final = "meta.k8s.io/v1"
_MAX_DEPTH: Final = 64
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MASK64: Final = (1 << 64) - 1

# Field kinds.
_STRING, _BYTES, _BOOL, _INT32, _INT64, _UINT32, _UINT64 = range(7)
_SINT32, _SINT64, _FIXED32, _FIXED64, _SFIXED32, _SFIXED64, _DOUBLE, _FLOAT = range(7, 15)
_MESSAGE, _MAP, _TIME, _MICROTIME, _DURATION = range(20, 25)
_QUANTITY, _INTORSTRING, _RAWEXTENSION, _RAWJSON, _STRINGLIST = range(25, 30)

_KIND_CODES: Final[dict[str, int]] = {
    "string": _STRING,
    "bytes": _BYTES,
    "bool": _BOOL,
    "int32": _INT32,
    "int64": _INT64,
    "uint32": _UINT32,
    "uint64": _UINT64,
    "sint32": _SINT32,
    "sint64": _SINT64,
    "fixed32": _FIXED32,
    "fixed64": _FIXED64,
    "sfixed32": _SFIXED32,
    "sfixed64": _SFIXED64,
    "double": _DOUBLE,
    "float": _FLOAT,
    "message": _MESSAGE,
    "map": _MAP,
    "time": _TIME,
    "microtime": _MICROTIME,
    "duration": _DURATION,
    "quantity": _QUANTITY,
    "intorstring": _INTORSTRING,
    "rawextension": _RAWEXTENSION,
    "rawjson": _RAWJSON,
    "stringlist": _STRINGLIST,
}

_VARINT_KINDS: Final = frozenset({_BOOL, _INT32, _INT64, _UINT32, _UINT64, _SINT32, _SINT64})
_FIXED64_KINDS: Final = frozenset({_FIXED64, _SFIXED64, _DOUBLE})
_FIXED32_KINDS: Final = frozenset({_FIXED32, _SFIXED32, _FLOAT})
_NUMERIC_KINDS: Final = _VARINT_KINDS | _FIXED64_KINDS | _FIXED32_KINDS

_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LEN, _WIRE_FIXED32 = 0, 1, 2, 5

# (jsonName, kind, messageType, repeated, inline, keepZero, mapValueKind)
_Field = tuple[str, int, str, bool, bool, bool, int]


class _Schema:
    """The message table, with field numbers and kinds made ready for decoding."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.messages: dict[str, dict[int, _Field]] = {}
        for name, fields in raw["messages"].items():
            table: dict[int, _Field] = {}
            for number, entry in fields.items():
                flags = entry[3]
                value_kind = _KIND_CODES[entry[4]] if len(entry) > 4 else -1
                table[int(number)] = (
                    entry[0],
                    _KIND_CODES[entry[1]],
                    entry[2],
                    "r" in flags,
                    "i" in flags,
                    "z" in flags,
                    value_kind,
                )
            self.messages[name] = table
        self.kinds: dict[str, dict[str, str]] = raw["kinds"]

    def message_type(self, api_version: str, kind: str) -> str | None:
        found = self.kinds.get(api_version, {}).get(kind)
        if found is None:
            # Options and Status are meta.k8s.io kinds that clients send under
            # the group version of the resource (DeleteOptions as "v1", ...).
            found = self.kinds.get(_META, {}).get(kind)
        return found


@cache
def _schema() -> _Schema:
    with _SCHEMA_PATH.open(encoding="utf-8") as fh:
        return _Schema(json.load(fh))


def supported_kinds() -> dict[str, list[str]]:
    """The kinds this decoder knows, by apiVersion."""
    return {gv: sorted(kinds) for gv, kinds in sorted(_schema().kinds.items())}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf request body (magic + ``runtime.Unknown``).

    Raises ``UnsupportedMedia`` for a kind the server cannot decode and
    ``BadRequest`` for a malformed body; nothing else.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise BadRequest("the protobuf body must be bytes")
    data = bytes(body)
    if not data.startswith(MAGIC):
        raise BadRequest("the protobuf body does not start with the Kubernetes magic bytes 6b 38 73 00")
    try:
        return _decode_unknown(data, len(MAGIC), len(data), _schema(), 0)
    except (IndexError, ValueError, OverflowError, RecursionError, struct.error) as exc:
        raise BadRequest(f"the protobuf body is malformed: {exc}") from None


def _decode_unknown(buf: bytes, pos: int, end: int, schema: _Schema, depth: int) -> dict[str, Any]:
    api_version = kind = encoding = ""
    raw: tuple[int, int] | None = None
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire != _WIRE_LEN or number not in (1, 2, 3, 4):
            pos = _skip(buf, pos, end, wire)
            continue
        start, pos = _span(buf, pos, end)
        if number == 1:
            api_version, kind = _type_meta(buf, start, pos)
        elif number == 2:
            raw = (start, pos)
        elif number == 3:
            encoding = buf[start:pos].decode("utf-8", "replace")
    if not kind:
        raise BadRequest("the protobuf body has no kind in its typeMeta")
    if encoding:
        raise UnsupportedMedia(
            f"the protobuf body has contentEncoding {encoding!r}, which this server does not support"
        )
    message_type = schema.message_type(api_version, kind)
    if message_type is None:
        raise UnsupportedMedia(
            f'the protobuf body of kind "{kind}" (apiVersion "{api_version}") '
            "cannot be decoded by this server"
        )
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    if raw is not None:
        obj.update(_message(buf, raw[0], raw[1], message_type, schema, depth))
    return obj


def _type_meta(buf: bytes, pos: int, end: int) -> tuple[str, str]:
    api_version = kind = ""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == _WIRE_LEN and number in (1, 2):
            start, pos = _span(buf, pos, end)
            text = buf[start:pos].decode("utf-8", "replace")
            if number == 1:
                api_version = text
            else:
                kind = text
        else:
            pos = _skip(buf, pos, end, wire)
    return api_version, kind


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise BadRequest("the protobuf body is truncated (varint)")
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result = byte & 0x7F
    shift = 7
    pos += 1
    while True:
        if pos >= end:
            raise BadRequest("the protobuf body is truncated (varint)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise BadRequest("the protobuf body has a varint longer than 10 bytes")


def _span(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """(start, end) of a length-delimited value whose length is at ``pos``."""
    length, pos = _varint(buf, pos, end)
    if length > end - pos:
        raise BadRequest("the protobuf body is truncated (length-delimited field)")
    return pos, pos + length


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == _WIRE_VARINT:
        return _varint(buf, pos, end)[1]
    if wire == _WIRE_LEN:
        return _span(buf, pos, end)[1]
    if wire == _WIRE_FIXED64:
        width = 8
    elif wire == _WIRE_FIXED32:
        width = 4
    else:
        raise BadRequest(f"the protobuf body has an unsupported wire type {wire}")
    if end - pos < width:
        raise BadRequest("the protobuf body is truncated (fixed-width field)")
    return pos + width


def _wire_error(name: str, wire: int) -> BadRequest:
    return BadRequest(f'the protobuf body has field "{name}" with the wrong wire type {wire}')


def _message(
    buf: bytes, pos: int, end: int, message_type: str, schema: _Schema, depth: int
) -> dict[str, Any]:
    if depth >= _MAX_DEPTH:
        raise BadRequest("the protobuf body is nested too deeply")
    fields = schema.messages[message_type]
    out: dict[str, Any] = {}
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field = fields.get(key >> 3)
        wire = key & 7
        if field is None:
            if key >> 3 == 0:
                raise BadRequest("the protobuf body has a field numbered 0")
            pos = _skip(buf, pos, end, wire)
            continue
        name, kind, sub, repeated, inline, keep, value_kind = field
        if kind in _NUMERIC_KINDS:
            if repeated and wire == _WIRE_LEN:
                start, pos = _span(buf, pos, end)
                values = out.setdefault(name, [])
                while start < pos:
                    value, start = _scalar(kind, _wire_of(kind), buf, start, pos, name)
                    values.append(value)
                continue
            value, pos = _scalar(kind, wire, buf, pos, end, name)
            if repeated:
                out.setdefault(name, []).append(value)
            elif value or keep:
                out[name] = value
            else:
                out.pop(name, None)
            continue
        if wire != _WIRE_LEN:
            raise _wire_error(name, wire)
        start, pos = _span(buf, pos, end)
        if kind == _STRING:
            text = buf[start:pos].decode("utf-8", "replace")
            if repeated:
                out.setdefault(name, []).append(text)
            elif text or keep:
                out[name] = text
            else:
                out.pop(name, None)
        elif kind == _MESSAGE:
            value = _message(buf, start, pos, sub, schema, depth + 1)
            if inline:
                out.update(value)
            elif repeated:
                out.setdefault(name, []).append(value)
            else:
                out[name] = value
        elif kind == _MAP:
            entry_key, entry_value = _map_entry(buf, start, pos, value_kind, sub, schema, depth)
            out.setdefault(name, {})[entry_key] = entry_value
        elif kind == _BYTES:
            if repeated:
                out.setdefault(name, []).append(_b64(buf[start:pos]))
            elif pos > start or keep:
                out[name] = _b64(buf[start:pos])
            else:
                out.pop(name, None)
        else:
            special = _special(kind, buf, start, pos, schema, depth)
            if repeated:
                out.setdefault(name, []).append(special)
            elif special is not None:
                out[name] = special
            else:
                out.pop(name, None)
    return out


def _wire_of(kind: int) -> int:
    if kind in _VARINT_KINDS:
        return _WIRE_VARINT
    if kind in _FIXED64_KINDS:
        return _WIRE_FIXED64
    return _WIRE_FIXED32


def _scalar(kind: int, wire: int, buf: bytes, pos: int, end: int, name: str) -> tuple[Any, int]:
    """A numeric or bool value of the given kind at ``pos``."""
    if kind in _VARINT_KINDS:
        if wire != _WIRE_VARINT:
            raise _wire_error(name, wire)
        raw, pos = _varint(buf, pos, end)
        if kind == _INT64:
            return (raw - (1 << 64) if raw >= 1 << 63 else raw), pos
        if kind == _INT32:
            raw &= 0xFFFFFFFF
            return (raw - (1 << 32) if raw >= 1 << 31 else raw), pos
        if kind == _BOOL:
            return raw != 0, pos
        if kind == _UINT32:
            return raw & 0xFFFFFFFF, pos
        if kind == _UINT64:
            return raw, pos
        if kind == _SINT32:
            raw &= 0xFFFFFFFF
        return (raw >> 1) ^ -(raw & 1), pos
    if kind in _FIXED64_KINDS:
        if wire != _WIRE_FIXED64:
            raise _wire_error(name, wire)
        if end - pos < 8:
            raise BadRequest("the protobuf body is truncated (fixed64)")
        fmt = "<d" if kind == _DOUBLE else ("<q" if kind == _SFIXED64 else "<Q")
        return struct.unpack_from(fmt, buf, pos)[0], pos + 8
    if wire != _WIRE_FIXED32:
        raise _wire_error(name, wire)
    if end - pos < 4:
        raise BadRequest("the protobuf body is truncated (fixed32)")
    fmt = "<f" if kind == _FLOAT else ("<i" if kind == _SFIXED32 else "<I")
    return struct.unpack_from(fmt, buf, pos)[0], pos + 4


def _map_entry(
    buf: bytes, pos: int, end: int, value_kind: int, value_type: str, schema: _Schema, depth: int
) -> tuple[str, Any]:
    entry_key = ""
    value: Any = None
    seen = False
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 1:
            if wire != _WIRE_LEN:
                raise _wire_error("key", wire)
            start, pos = _span(buf, pos, end)
            entry_key = buf[start:pos].decode("utf-8", "replace")
        elif number == 2:
            seen = True
            if value_kind in _NUMERIC_KINDS:
                value, pos = _scalar(value_kind, wire, buf, pos, end, "value")
                continue
            if wire != _WIRE_LEN:
                raise _wire_error("value", wire)
            start, pos = _span(buf, pos, end)
            value = _value(value_kind, value_type, buf, start, pos, schema, depth)
        else:
            if number == 0:
                raise BadRequest("the protobuf body has a field numbered 0")
            pos = _skip(buf, pos, end, wire)
    if not seen:
        value = _zero(value_kind, value_type, schema, depth)
    return entry_key, value


def _value(
    kind: int, message_type: str, buf: bytes, start: int, end: int, schema: _Schema, depth: int
) -> Any:
    """A length-delimited value (string, bytes, message or special) as JSON."""
    if kind == _STRING:
        return buf[start:end].decode("utf-8", "replace")
    if kind == _BYTES:
        return _b64(buf[start:end])
    if kind == _MESSAGE:
        return _message(buf, start, end, message_type, schema, depth + 1)
    return _special(kind, buf, start, end, schema, depth)


def _zero(kind: int, message_type: str, schema: _Schema, depth: int) -> Any:
    if kind in (_STRING, _BYTES):
        return ""
    if kind == _BOOL:
        return False
    if kind in (_DOUBLE, _FLOAT):
        return 0.0
    if kind in _NUMERIC_KINDS:
        return 0
    return _value(kind, message_type, b"", 0, 0, schema, depth)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _fields(buf: bytes, pos: int, end: int) -> dict[int, list[int | bytes]]:
    """All fields of a small message: varints as ints, length-delimited as bytes."""
    found: dict[int, list[int | bytes]] = {}
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise BadRequest("the protobuf body has a field numbered 0")
        if wire == _WIRE_VARINT:
            value, pos = _varint(buf, pos, end)
            found.setdefault(number, []).append(value)
        elif wire == _WIRE_LEN:
            start, pos = _span(buf, pos, end)
            found.setdefault(number, []).append(buf[start:pos])
        else:
            pos = _skip(buf, pos, end, wire)
    return found


def _last_int(found: dict[int, list[int | bytes]], number: int, name: str) -> int:
    values = found.get(number)
    if not values:
        return 0
    value = values[-1]
    if not isinstance(value, int):
        raise _wire_error(name, _WIRE_LEN)
    return value


def _last_bytes(found: dict[int, list[int | bytes]], number: int, name: str) -> bytes:
    values = found.get(number)
    if not values:
        return b""
    value = values[-1]
    if not isinstance(value, bytes):
        raise _wire_error(name, _WIRE_VARINT)
    return value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _special(kind: int, buf: bytes, start: int, end: int, schema: _Schema, depth: int) -> Any:
    """The JSON form of a Kubernetes type with a marshaller of its own.

    ``None`` means the Go encoder would write ``null`` (a zero time, an empty
    RawExtension); the caller leaves such a field out.
    """
    found = _fields(buf, start, end)
    if kind in (_TIME, _MICROTIME):
        if start == end:
            return None  # metav1.Time{}: the zero time marshals as null
        seconds = _signed64(_last_int(found, 1, "seconds"))
        nanos = _last_int(found, 2, "nanos") & 0xFFFFFFFF
        moment = _EPOCH + timedelta(seconds=seconds)
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        )
        if kind == _MICROTIME:
            text += f".{min(nanos, 999_999_999) // 1000:06d}"
        return text + "Z"
    if kind == _QUANTITY:
        return _last_bytes(found, 1, "string").decode("utf-8", "replace") or "0"
    if kind == _INTORSTRING:
        if _last_int(found, 1, "type") == 1:
            return _last_bytes(found, 3, "strVal").decode("utf-8", "replace")
        value = _last_int(found, 2, "intVal") & 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value
    if kind == _DURATION:
        return _go_duration(_signed64(_last_int(found, 1, "duration")))
    if kind == _STRINGLIST:
        items = found.get(1, [])
        if not all(isinstance(item, bytes) for item in items):
            raise _wire_error("items", _WIRE_VARINT)
        return [item.decode("utf-8", "replace") for item in items if isinstance(item, bytes)]
    # RawExtension (raw = 1) and FieldsV1 (Raw = 1): embedded JSON.
    raw = _last_bytes(found, 1, "raw")
    if not raw:
        return None
    if kind == _RAWEXTENSION and raw.startswith(MAGIC):
        return _decode_unknown(raw, len(MAGIC), len(raw), schema, depth + 1)
    try:
        return json.loads(raw)
    except ValueError:
        # Not JSON: keep the bytes the way Go would show a []byte.
        return _b64(raw) if kind == _RAWEXTENSION else raw.decode("utf-8", "replace")


def _go_duration(nanos: int) -> str:
    """``time.Duration.String()`` of Go."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    value = abs(nanos)
    if value < 1_000_000_000:
        if value < 1_000:
            return f"{sign}{value}ns"
        if value < 1_000_000:
            return f"{sign}{_frac(value, 3)}µs"
        return f"{sign}{_frac(value, 6)}ms"
    seconds, fraction = divmod(value, 1_000_000_000)
    text = f"{seconds % 60}{_frac_digits(fraction, 9)}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def _frac(value: int, precision: int) -> str:
    whole, fraction = divmod(value, 10**precision)
    return f"{whole}{_frac_digits(fraction, precision)}"


def _frac_digits(fraction: int, precision: int) -> str:
    digits = f"{fraction:0{precision}d}".rstrip("0")
    return f".{digits}" if digits else ""
