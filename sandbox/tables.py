"""``meta.k8s.io/v1`` Tables with the columns ``kubectl get`` shows for each kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .columns import AGE, NAME, Column
from .columns import COLUMNS as _BY_KIND
from .pod_columns import POD_COLUMNS, pod_reason, pod_summary

Obj = dict[str, Any]

__all__ = ["COLUMNS", "partial_metadata", "pod_reason", "pod_summary", "table"]

COLUMNS: dict[str, list[Column]] = {"pods": POD_COLUMNS, **_BY_KIND}


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def table(storage: str, items: list[Obj], rv: str, *, include: str = "Metadata",
          continue_token: str = "", serve: Callable[[Obj], Obj] = lambda obj: obj) -> Obj:
    """The Table ``kubectl get`` renders, from objects in their storage version; ``serve``
    turns one into the version asked for when the rows embed whole objects."""
    columns = COLUMNS.get(storage, [NAME, AGE])
    defs = [
        {"name": name, "type": typ, "format": "name" if name == "Name" else "",
         "description": "", "priority": prio}
        for name, typ, prio, _ in columns
    ]
    rows = []
    for obj in items:
        if include == "Object":
            embedded: Obj | None = serve(obj)
        elif include == "None":
            embedded = None
        else:
            embedded = partial_metadata(obj)
        rows.append({"cells": [cell(obj) for _, _, _, cell in columns], "object": embedded})
    meta: Obj = {"resourceVersion": rv}
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": defs, "rows": rows}
