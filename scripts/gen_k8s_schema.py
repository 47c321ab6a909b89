"""Generate ``sandbox/data/k8s_schema.json`` from the official ``kubernetes`` client.

The sandbox API server validates objects of built-in kinds against the schema
that ships with the ``kubernetes`` Python package, but it must not import that
package at run time; this dev script extracts what the validator needs once:

* ``models``: for every model class, its JSON field names (``attribute_map``),
  each field's type (from ``openapi_types``, normalised to ``str``, ``int``,
  ``bool``, ``float``, ``bytes``, ``datetime``, ``object``, ``list[X]``,
  ``dict(str, X)`` or a model name, plus two refinements the client's types
  blur: ``intstr`` for ``IntOrString`` fields and ``quantity`` for
  ``resource.Quantity`` fields) and which fields are required;
* ``kinds``: ``apiVersion`` -> ``kind`` -> model name, for every top-level kind,
  derived from the resource paths of the generated API classes (for example
  ``AppsV1Api.create_namespaced_deployment`` posts a ``V1Deployment`` to
  ``/apis/apps/v1/namespaces/{namespace}/deployments``).

Usage::

    .venv/bin/python scripts/gen_k8s_schema.py           # writes the file
    .venv/bin/python scripts/gen_k8s_schema.py --check   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import typing
from pathlib import Path
from typing import Any

import kubernetes
import kubernetes.client.api as k8s_api
import kubernetes.client.models as k8s_models

OUTPUT = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "k8s_schema.json"

# resource.Quantity fields: the client types them as plain strings, but the
# server accepts JSON numbers there too (YAML ``cpu: 1``), so they get their
# own scalar type.  (model, python attribute) pairs; checked to exist below.
_QUANTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "V1ResourceRequirements": ("limits", "requests"),
    "V1VolumeResourceRequirements": ("limits", "requests"),
    "V1PodSpec": ("overhead",),
    "V1Overhead": ("pod_fixed",),
    "V1NodeStatus": ("capacity", "allocatable"),
    "V1PersistentVolumeSpec": ("capacity",),
    "V1PersistentVolumeClaimStatus": ("capacity", "allocated_resources"),
    "V1ResourceQuotaSpec": ("hard",),
    "V1ResourceQuotaStatus": ("hard", "used"),
    "V1LimitRangeItem": ("default", "default_request", "max", "max_limit_request_ratio", "min"),
    "V1ContainerStatus": ("allocated_resources",),
    "V1PodStatus": ("allocated_resources",),
    "V1EmptyDirVolumeSource": ("size_limit",),
    "V1ResourceFieldSelector": ("divisor",),
    "V1CSIStorageCapacity": ("capacity", "maximum_volume_size"),
    "V2MetricTarget": ("average_value", "value"),
    "V2MetricValueStatus": ("average_value", "value"),
    "V2HPAScalingRules": ("tolerance",),
    "V1CapacityRequirements": ("requests",),
    "V1beta1CapacityRequirements": ("requests",),
    "V1beta2CapacityRequirements": ("requests",),
    "V1DeviceRequestAllocationResult": ("consumed_capacity",),
    "V1beta1DeviceRequestAllocationResult": ("consumed_capacity",),
    "V1beta2DeviceRequestAllocationResult": ("consumed_capacity",),
    "V1CapacityRequestPolicy": ("default", "valid_values"),
    "V1beta1CapacityRequestPolicy": ("default", "valid_values"),
    "V1beta2CapacityRequestPolicy": ("default", "valid_values"),
    "V1CapacityRequestPolicyRange": ("min", "max", "step"),
    "V1beta1CapacityRequestPolicyRange": ("min", "max", "step"),
    "V1beta2CapacityRequestPolicyRange": ("min", "max", "step"),
    "V1DeviceCapacity": ("value",),
    "V1beta1DeviceCapacity": ("value",),
    "V1beta2DeviceCapacity": ("value",),
    "V1Counter": ("value",),
    "V1beta1Counter": ("value",),
    "V1beta2Counter": ("value",),
}

# Kinds served only as subresources or bodies of other resources' endpoints,
# whose group the resource paths do not reveal.
_EXTRA_KINDS: dict[str, dict[str, str]] = {
    "autoscaling/v1": {"Scale": "V1Scale"},
    "policy/v1": {"Eviction": "V1Eviction"},
    "authentication.k8s.io/v1": {"TokenRequest": "AuthenticationV1TokenRequest"},
    "meta/v1": {
        "DeleteOptions": "V1DeleteOptions",
        "Status": "V1Status",
        "WatchEvent": "V1WatchEvent",
        "APIGroup": "V1APIGroup",
        "APIGroupList": "V1APIGroupList",
        "APIResourceList": "V1APIResourceList",
        "APIVersions": "V1APIVersions",
    },
    "v1": {"DeleteOptions": "V1DeleteOptions", "Status": "V1Status"},
}

_PATH_RE = re.compile(
    r"^/(?:api|apis/(?P<group>[^/{}]+))/(?P<version>v\d+(?:(?:alpha|beta)\d+)?)/"
    r"(?:namespaces/\{namespace\}/)?(?P<plural>[a-z0-9]+)(?:/\{name\})?$"
)
_RESOURCE_PATH_RE = re.compile(r"resource_path='([^']+)'")
_RESPONSE_RE = re.compile(r"'20[01]': \"(\w+)\"")
_PREFIX_RE = re.compile(r"^(?:[A-Z][a-z]+)*V\d+(?:(?:alpha|beta)\d+)?(?=[A-Z])")
_SETTER_REQUIRED_RE = re.compile(r"Invalid value for `(\w+)`, must not be `None`")


def model_classes() -> dict[str, type]:
    """Every generated model class by name."""
    names = getattr(k8s_models, "__all__", None) or [n for n in dir(k8s_models) if n[:1].isupper()]
    classes: dict[str, type] = {}
    for name in names:
        cls = getattr(k8s_models, name)
        if inspect.isclass(cls) and isinstance(getattr(cls, "openapi_types", None), dict):
            classes[name] = cls
    return classes


def kind_of(model: str) -> str:
    """``V1Deployment`` -> ``Deployment``, ``CoreV1Event`` -> ``Event``."""
    return _PREFIX_RE.sub("", model)


def _required(cls: type) -> set[str]:
    """Python attribute names of the required fields of a model class."""
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict):  # pydantic generator (client >= 34)
        return {name for name, info in fields.items() if info.is_required()}
    # python-legacy generator: required setters refuse None
    required: set[str] = set()
    for attr in cls.openapi_types:  # type: ignore[attr-defined]
        prop = getattr(cls, attr, None)
        setter = getattr(prop, "fset", None)
        if setter is None:
            continue
        required.update(_SETTER_REQUIRED_RE.findall(inspect.getsource(setter)))
    return required


def _is_intstr(cls: type, attr: str) -> bool:
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict) and attr in fields:
        args = {a for a in typing.get_args(fields[attr].annotation) if a is not type(None)}
        bases = {typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a for a in args}
        return bases == {int, str}
    # python-legacy generator: IntOrString fields are documented as such
    doc = inspect.getdoc(getattr(cls, attr, None)) or ""
    return "IntOrString" in doc or "Number or name of the port" in doc


def normalise_type(raw: str, *, quantity: bool = False, intstr: bool = False) -> str:
    """Normalise an ``openapi_types`` entry of either client generator."""
    raw = raw.strip()
    m = re.fullmatch(r"(?:List|list)\[(.+)\]", raw)
    if m:
        return f"list[{normalise_type(m.group(1), quantity=quantity)}]"
    m = re.fullmatch(r"(?:Dict\[|dict\()str, (.+)[\])]", raw)
    if m:
        return f"dict(str, {normalise_type(m.group(1), quantity=quantity)})"
    if quantity:
        assert raw == "str", raw
        return "quantity"
    if raw == "object" and intstr:
        return "intstr"
    if raw == "bytearray":
        return "bytes"
    return raw


def build_models(classes: dict[str, type]) -> dict[str, dict[str, Any]]:
    """The ``models`` table: fields and required fields of every model."""
    for model, attrs in _QUANTITY_FIELDS.items():
        if model in classes:
            for attr in attrs:
                assert attr in classes[model].openapi_types, (model, attr)  # type: ignore[attr-defined]
    models: dict[str, dict[str, Any]] = {}
    for name in sorted(classes):
        cls = classes[name]
        types: dict[str, str] = cls.openapi_types  # type: ignore[attr-defined]
        amap: dict[str, str] = cls.attribute_map  # type: ignore[attr-defined]
        required = _required(cls)
        quantities = _QUANTITY_FIELDS.get(name, ())
        fields = {
            amap[attr]: normalise_type(
                raw,
                quantity=attr in quantities,
                intstr=raw == "object" and _is_intstr(cls, attr),
            )
            for attr, raw in types.items()
        }
        entry: dict[str, Any] = {"f": fields}
        req = sorted(amap[attr] for attr in required if attr in amap)
        if req:
            entry["r"] = req
        models[name] = entry
    return models


def _methods(api: type) -> dict[str, str]:
    """The source of every method of an API class, by name (one parse per module)."""
    source = inspect.getsource(sys.modules[api.__module__])
    chunks = re.split(r"\n    def (?=\w+\()", source)
    return {chunk[: chunk.index("(")]: chunk for chunk in chunks[1:]}


def build_kinds(classes: dict[str, type]) -> dict[str, dict[str, str]]:
    """The ``kinds`` table: apiVersion -> kind -> model name."""
    kinds: dict[str, dict[str, str]] = {}
    for api_name in sorted(n for n in dir(k8s_api) if n.endswith("Api")):
        methods = _methods(getattr(k8s_api, api_name))
        for meth_name, source in sorted(methods.items()):
            if meth_name.startswith("_") or meth_name.endswith(
                ("_with_http_info", "_without_preload_content")
            ):
                continue
            # pydantic generator: _<name>_serialize; python-legacy: <name>_with_http_info
            path_source = methods.get(f"_{meth_name}_serialize") or methods.get(
                f"{meth_name}_with_http_info", ""
            )
            paths = _RESOURCE_PATH_RE.findall(path_source) or re.findall(r"'(/apis?/[^']+)'", path_source)
            if len(set(paths)) != 1:
                continue
            m = _PATH_RE.match(paths[0])
            if not m:
                continue
            api_version = f"{m['group']}/{m['version']}" if m["group"] else m["version"]
            candidates = set(_RESPONSE_RE.findall(source))
            candidates.update(re.findall(r"response_type='(\w+)'", path_source))
            for model in sorted(candidates):
                if model not in classes or model in ("V1Status", "V1WatchEvent"):
                    continue
                if "kind" not in classes[model].openapi_types:  # type: ignore[attr-defined]
                    continue
                table = kinds.setdefault(api_version, {})
                previous = table.setdefault(kind_of(model), model)
                if previous != model:
                    raise SystemExit(f"{api_version} {kind_of(model)}: {previous} or {model}?")
    for api_version, extra in _EXTRA_KINDS.items():
        for kind, model in extra.items():
            if model in classes:
                kinds.setdefault(api_version, {})[kind] = model
    return {v: dict(sorted(t.items())) for v, t in sorted(kinds.items())}


_EXPECTED = {
    "v1": [
        "Namespace",
        "Pod",
        "Service",
        "Endpoints",
        "ConfigMap",
        "Secret",
        "Event",
        "ServiceAccount",
        "Node",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "ResourceQuota",
        "LimitRange",
        "PodList",
        "Binding",
    ],
    "apps/v1": ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"],
    "batch/v1": ["Job", "CronJob"],
    "autoscaling/v1": ["HorizontalPodAutoscaler", "Scale"],
    "autoscaling/v2": ["HorizontalPodAutoscaler"],
    "networking.k8s.io/v1": ["Ingress", "NetworkPolicy"],
    "rbac.authorization.k8s.io/v1": ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
    "policy/v1": ["PodDisruptionBudget", "Eviction"],
    "storage.k8s.io/v1": ["StorageClass"],
    "events.k8s.io/v1": ["Event"],
    "authorization.k8s.io/v1": ["SelfSubjectAccessReview"],
    "meta/v1": ["DeleteOptions"],
    "apiextensions.k8s.io/v1": ["CustomResourceDefinition"],
}


def generate() -> str:
    """The full text of ``k8s_schema.json``: one model or apiVersion per line."""
    import json

    classes = model_classes()
    models = build_models(classes)
    kinds = build_kinds(classes)
    for api_version, names in _EXPECTED.items():
        for kind in names:
            assert kind in kinds.get(api_version, {}), f"{api_version} {kind} not derived"
    assert kinds["v1"]["Event"] == "CoreV1Event"
    assert kinds["events.k8s.io/v1"]["Event"] == "EventsV1Event"
    assert kinds["autoscaling/v2"]["HorizontalPodAutoscaler"] == "V2HorizontalPodAutoscaler"

    def dump(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    lines = ["{", f'"source":{dump("kubernetes " + kubernetes.__version__)},', '"kinds":{']
    lines.append(",\n".join(f"{dump(v)}:{dump(t)}" for v, t in kinds.items()))
    lines.append("},")
    lines.append('"models":{')
    lines.append(",\n".join(f"{dump(name)}:{dump(entry)}" for name, entry in models.items()))
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; run scripts/gen_k8s_schema.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
