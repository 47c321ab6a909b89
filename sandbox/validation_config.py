"""ConfigMaps and Secrets: data keys, the keys each Secret type requires, immutability.

Keys must be valid config keys (and a ConfigMap key may not be in both
``data`` and ``binaryData``); a typed Secret needs its type's keys; a Secret's
type may not change; once ``immutable`` is set, neither it nor the data may.
"""

from __future__ import annotations

from typing import Any, Final

from sandbox.validation_errors import FieldError, Obj, forbidden, immutable, invalid, required
from sandbox.validation_names import config_key

_SECRET_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
_IMMUTABLE: Final = "field is immutable when `immutable` is set"


def _validate_keys(data: Any, field: str, errs: list[FieldError]) -> None:
    for key in data or {}:
        errs.extend(invalid(f"{field}[{key}]", key, m) for m in config_key(key))


def _immutable_data(obj: Obj, old: Obj | None, fields: tuple[str, ...], errs: list[FieldError]) -> None:
    if old is None or not old.get("immutable"):
        return
    if not obj.get("immutable"):
        errs.append(forbidden("immutable", _IMMUTABLE))
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            errs.append(forbidden(field, _IMMUTABLE))


def validate_configmap(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    _validate_keys(data, "data", errs)
    _validate_keys(binary, "binaryData", errs)
    for key in data:
        if key in binary:
            errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    _immutable_data(obj, old, ("data", "binaryData"), errs)


def validate_secret(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    data, string_data = obj.get("data") or {}, obj.get("stringData") or {}
    _validate_keys(data, "data", errs)
    _validate_keys(string_data, "stringData", errs)
    kind = obj.get("type") or "Opaque"
    for key in _SECRET_KEYS.get(kind, ()):
        if key not in data and key not in string_data:
            errs.append(required(f"data[{key}]"))
    if kind == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    if old is not None:
        immutable(obj.get("type"), old.get("type"), "type", errs)
        _immutable_data(obj, old, ("data",), errs)
