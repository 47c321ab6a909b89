"""Structural validation of built-in kinds against the generated schema.

``sandbox/data/k8s_schema.json`` (written by ``scripts/gen_k8s_schema.py`` from
the models of the official ``kubernetes`` client) lists every model's JSON
fields, their types and the required ones, and maps ``apiVersion``/``kind`` to
models.  :func:`decode` walks a decoded JSON object the way the API server's
strict JSON decoder fills Go structs:

* unknown fields are dropped and reported (``spec.template.spec.containers[0].foo``);
* ``null`` is accepted for any field and removed (a nil pointer, map or slice);
* a value of the wrong JSON type raises :class:`DecodeError` with Go's
  ``json: cannot unmarshal ...`` wording;
* ``resource.Quantity`` fields accept numbers and are normalised to strings;
  ``IntOrString`` fields accept an integer or a string; ``object`` fields
  (``RawExtension``, JSON schemas) accept anything;
* missing required fields are reported, except under the top-level ``status``
  (which controllers write and the server does not validate against the schema).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from pathlib import Path
from typing import Any, Final

from sandbox.validation_quantity import QUANTITY_ERROR, QUANTITY_RE, canonical_quantity, canonical_string

SCHEMA_PATH: Final = Path(__file__).resolve().parent / "data" / "k8s_schema.json"

# Type codes of a compiled field type ``(code, argument)``.
STR, INT, BOOL, FLOAT, BYTES, TIME, QTY, INTSTR, ANY, LIST, MAP, MODEL = range(12)

FieldType = tuple[int, Any]

_SCALARS: Final[dict[str, int]] = {
    "str": STR,
    "int": INT,
    "bool": BOOL,
    "float": FLOAT,
    "bytes": BYTES,
    "datetime": TIME,
    "date": TIME,
    "quantity": QTY,
    "intstr": INTSTR,
    "object": ANY,
}
_GO_SCALARS: Final[dict[int, str]] = {
    STR: "string",
    INT: "int32",
    BOOL: "bool",
    FLOAT: "float64",
    BYTES: "[]uint8",
    TIME: "v1.Time",
    QTY: "resource.Quantity",
    INTSTR: "intstr.IntOrString",
    ANY: "interface {}",
}
# Integer fields declared int64 in Go (the client does not say; for messages only).
_INT64_FIELDS: Final = frozenset(
    {
        "generation",
        "observedGeneration",
        "deletionGracePeriodSeconds",
        "activeDeadlineSeconds",
        "terminationGracePeriodSeconds",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "supplementalGroups",
        "expirationSeconds",
        "gracePeriodSeconds",
        "startingDeadlineSeconds",
        "count",
    }
)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_PREFIX_RE: Final = re.compile(r"^((?:[A-Z][a-z]+)*)V(\d+(?:(?:alpha|beta)\d+)?)(?=[A-Z])")
_TIME_RE: Final = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)")
_B64_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class DecodeError(Exception):
    """A body the server's JSON decoder would refuse (answered 400)."""


class Model:
    """One compiled model: JSON field name -> type, required fields, Go names."""

    __slots__ = ("fields", "go", "name", "required", "struct")

    def __init__(self, name: str, fields: dict[str, FieldType], required: tuple[str, ...]) -> None:
        self.name = name
        self.fields = fields
        self.required = required
        m = _PREFIX_RE.match(name)
        self.struct = name[m.end() :] if m else name  # Go struct name: "Container"
        self.go = f"v{m.group(2)}.{self.struct}" if m else name  # Go type: "v1.Container"


class Schema:
    """The generated schema, with models and types compiled on first use."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw: dict[str, dict[str, Any]] = raw["models"]
        self.kinds: dict[str, dict[str, str]] = raw["kinds"]
        self._models: dict[str, Model] = {}
        self._types: dict[str, FieldType] = {}

    def lookup(self, api_version: str, kind: str) -> str | None:
        """The model name of a top-level kind, or ``None`` for an unknown kind."""
        table = self.kinds.get(api_version)
        model = table.get(kind) if table else None
        if model is None and kind == "DeleteOptions":  # accepted in every group version
            model = self.kinds["meta/v1"].get(kind)
        return model

    def model(self, name: str) -> Model:
        """The compiled model called ``name``."""
        found = self._models.get(name)
        if found is None:
            entry = self._raw[name]
            fields = {key: self.type_of(spec) for key, spec in entry["f"].items()}
            found = self._models[name] = Model(name, fields, tuple(entry.get("r", ())))
        return found

    def type_of(self, spec: str) -> FieldType:
        """Compile a type string such as ``list[V1Container]`` or ``dict(str, quantity)``."""
        found = self._types.get(spec)
        if found is None:
            if spec.startswith("list[") and spec.endswith("]"):
                found = (LIST, self.type_of(spec[5:-1]))
            elif spec.startswith("dict(str, ") and spec.endswith(")"):
                found = (MAP, self.type_of(spec[10:-1]))
            elif spec in _SCALARS:
                found = (_SCALARS[spec], None)
            elif spec in self._raw:
                found = (MODEL, spec)
            else:
                found = (ANY, None)  # a type this validator does not know: accept anything
            self._types[spec] = found
        return found

    def go_type(self, ftype: FieldType, field: str = "") -> str:
        """Go's name for a field type, as decoding errors print it."""
        code, arg = ftype
        if code == LIST:
            return "[]" + self.go_type(arg)
        if code == MAP:
            return "map[string]" + self.go_type(arg)
        if code == MODEL:
            return self.model(arg).go
        if code == INT and field in _INT64_FIELDS:
            return "int64"
        return _GO_SCALARS[code]


@functools.cache
def schema() -> Schema:
    """The schema, loaded once."""
    with SCHEMA_PATH.open("rb") as fh:
        return Schema(json.load(fh))


def json_type(value: Any) -> str:
    """The JSON type name Go's decoder reports for a value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def check_base64(value: str) -> str | None:
    """Go's error for a string that is not standard base64, else ``None``."""
    text = value.replace("\r", "").replace("\n", "")
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        for index, char in enumerate(text):
            if char not in _B64_CHARS or (char == "=" and text[index:].strip("=")):
                return f"illegal base64 data at input byte {index}"
        return f"illegal base64 data at input byte {max(len(text) - len(text) % 4, 0)}"
    return None


def _zero(ftype: FieldType) -> Any:
    """The value a Go decoder leaves for ``null`` inside a list or map."""
    code = ftype[0]
    if code == STR:
        return ""
    if code in (INT, FLOAT):
        return 0
    if code == BOOL:
        return False
    if code in (MODEL, MAP):
        return {}
    if code == LIST:
        return []
    return None


class Decoder:
    """One decoding pass over an object; collects unknown and missing fields."""

    __slots__ = ("missing", "schema", "unknown")

    def __init__(self, sch: Schema) -> None:
        self.schema = sch
        self.unknown: list[str] = []
        self.missing: list[str] = []

    def _fail(self, value: Any, struct: str, gopath: str, ftype: FieldType, field: str) -> DecodeError:
        what = json_type(value)
        if what == "number" and ftype[0] == INT:
            what = f"number {value!r}"
        go = self.schema.go_type(ftype, field)
        return DecodeError(
            f"json: cannot unmarshal {what} into Go struct field {struct}.{gopath} of type {go}"
        )

    def model(self, obj: dict[str, Any], model: Model, path: str, gopath: str, required: bool) -> None:
        """Decode ``obj`` as ``model``; ``path`` is the field path, ``gopath`` Go's (no indices)."""
        fields = model.fields
        prefix = path + "." if path else ""
        goprefix = gopath + "." if gopath else ""
        for key in list(obj):
            ftype = fields.get(key)
            if ftype is None:
                self.unknown.append(prefix + key)
                del obj[key]
                continue
            value = obj[key]
            if value is None:
                del obj[key]
                continue
            if not path and key == "status":
                self.value(value, ftype, key, key, model.struct, key, False)
                continue
            new = self.value(value, ftype, prefix + key, goprefix + key, model.struct, key, required)
            if new is not value:
                obj[key] = new
        if required:
            for key in model.required:
                if key not in obj:
                    self.missing.append(prefix + key)

    def value(
        self, value: Any, ftype: FieldType, path: str, gopath: str, struct: str, field: str, required: bool
    ) -> Any:
        """Decode one non-null value; returns it, or its normalised replacement."""
        code, arg = ftype
        if code == STR:
            if type(value) is not str:
                raise self._fail(value, struct, gopath, ftype, field)
        elif code == MODEL:
            if type(value) is not dict:
                raise self._fail(value, struct, gopath, ftype, field)
            self.model(value, self.schema.model(arg), path, gopath, required)
        elif code == LIST:
            if type(value) is not list:
                raise self._fail(value, struct, gopath, ftype, field)
            for index, item in enumerate(value):
                if item is None:
                    value[index] = _zero(arg)
                    continue
                new = self.value(item, arg, f"{path}[{index}]", gopath, struct, field, required)
                if new is not item:
                    value[index] = new
        elif code == MAP:
            if type(value) is not dict:
                raise self._fail(value, struct, gopath, ftype, field)
            for key, item in value.items():
                if item is None:
                    value[key] = _zero(arg)
                    continue
                new = self.value(item, arg, f"{path}[{key}]", gopath, struct, field, required)
                if new is not item:
                    value[key] = new
        elif code == INT:
            if type(value) is not int:
                raise self._fail(value, struct, gopath, ftype, field)
            if field not in _INT64_FIELDS and not _INT32_MIN <= value <= _INT32_MAX:
                raise self._fail(value, struct, gopath, ftype, field)
        elif code == BOOL:
            if type(value) is not bool:
                raise self._fail(value, struct, gopath, ftype, field)
        elif code == ANY:
            pass
        elif code == QTY:
            return self._quantity(value, struct, gopath, ftype, field)
        elif code == INTSTR:
            if type(value) is not int and type(value) is not str:
                raise self._fail(value, struct, gopath, ftype, field)
        elif code == FLOAT:
            if type(value) is not float and type(value) is not int:
                raise self._fail(value, struct, gopath, ftype, field)
        elif code == TIME:
            if type(value) is not str:
                raise self._fail(value, struct, gopath, ftype, field)
            if not _TIME_RE.fullmatch(value):
                raise DecodeError(
                    f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" as "2006"'
                )
        elif code == BYTES:
            if type(value) is not str:
                raise self._fail(value, struct, gopath, ftype, field)
            error = check_base64(value)
            if error:
                raise DecodeError(error)
        return value

    def _quantity(self, value: Any, struct: str, gopath: str, ftype: FieldType, field: str) -> Any:
        kind = type(value)
        if kind is str:
            if not QUANTITY_RE.fullmatch(value):
                raise DecodeError(QUANTITY_ERROR)
            return canonical_string(value)
        if kind is int or kind is float:
            return canonical_quantity(value)
        raise self._fail(value, struct, gopath, ftype, field)


def decode(obj: dict[str, Any], model_name: str) -> tuple[list[str], list[str]]:
    """Decode ``obj`` in place as ``model_name``: (unknown field paths, missing required paths).

    Raises :class:`DecodeError` for a value of the wrong type.
    """
    sch = schema()
    decoder = Decoder(sch)
    decoder.model(obj, sch.model(model_name), "", "", True)
    return decoder.unknown, decoder.missing
