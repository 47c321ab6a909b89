"""PersistentVolumeClaims: access modes, a storage request, and a spec fixed after creation.

Only ``resources.requests``, ``volumeAttributesClassName`` and a first
``volumeName`` (binding) may change on update, as the real server allows.
"""

from __future__ import annotations

from typing import Final

from sandbox.validation_errors import FieldError, Obj, forbidden, not_supported, required

_ACCESS_MODES: Final = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_PVC_IMMUTABLE: Final = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
)


def validate_pvc(obj: Obj, old: Obj | None, errs: list[FieldError]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    modes = spec.get("accessModes") or []
    if not modes:
        errs.append(required("spec.accessModes", "at least 1 access mode is required"))
    for mode in modes:
        if mode not in _ACCESS_MODES:
            errs.append(not_supported("spec.accessModes", mode, _ACCESS_MODES))
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests and not spec.get("dataSource") and not spec.get("dataSourceRef"):
        errs.append(required("spec.resources[storage]"))
    if old is not None:
        _immutable_spec(spec, old.get("spec") or {}, errs)


def _immutable_spec(spec: Obj, old_spec: Obj, errs: list[FieldError]) -> None:
    for key, value in spec.items():
        if key == "volumeAttributesClassName" or (key == "volumeName" and not old_spec.get(key)):
            continue
        before = old_spec.get(key)
        if key == "resources" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "requests"}
            before = {k: v for k, v in (before or {}).items() if k != "requests"}
            if not value and not before:
                continue
        if value != before:
            errs.append(forbidden("spec", _PVC_IMMUTABLE))
            return
