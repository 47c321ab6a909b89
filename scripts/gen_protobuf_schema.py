"""Build ``sandbox/data/protobuf_schema.json`` from Kubernetes ``generated.proto`` files.

A dev tool, not imported by the package. Usage::

    python scripts/gen_protobuf_schema.py -o sandbox/data/protobuf_schema.json \\
        /tmp/k8sproto/*.proto

The inputs are the ``generated.proto`` texts of k8s.io/api (core/v1, apps/v1, ...)
and k8s.io/apimachinery (meta/v1, runtime, api/resource, util/intstr). Comments
may be stripped, except the ``+protobuf.nullable=true`` marker on list wrappers
(``Verbs``, ``ExtraValue``), which changes their JSON form.

The table maps each message (``k8s.io.api.core.v1.PodSpec``) to its fields::

    "<number>": [jsonName, kind, messageType, flags]            # plain field
    "<number>": [jsonName, "map", valueMessageType, flags, valueKind]

``kind`` is a protobuf scalar type (``string``, ``int64``, ``bytes`` ...),
``message``, ``map``, or one of the Kubernetes types with a JSON form of their
own: ``time``, ``microtime``, ``duration``, ``quantity``, ``intorstring``,
``rawextension``, ``rawjson`` (FieldsV1) and ``stringlist``. ``flags`` holds
``r`` (repeated), ``i`` (an embedded Go struct inlined in JSON) and ``z`` (a Go
pointer scalar: an explicit zero is kept, where other zero scalars are dropped
as the Go JSON encoder's ``omitempty`` would). The last three facts are not in
the .proto text; they come from the Go types and are listed below.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
CORE = "k8s.io.api.core.v1"

SCALARS = {
    "string",
    "bytes",
    "bool",
    "int32",
    "int64",
    "uint32",
    "uint64",
    "sint32",
    "sint64",
    "fixed32",
    "fixed64",
    "sfixed32",
    "sfixed64",
    "double",
    "float",
}

# Messages whose JSON form is not an object of their fields.
SPECIAL = {
    f"{META}.Time": "time",
    f"{META}.MicroTime": "microtime",
    f"{META}.Duration": "duration",
    f"{META}.FieldsV1": "rawjson",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "rawextension",
}

# Embedded Go structs (`json:",inline"`): their fields sit in the parent object.
INLINE: dict[str, set[str]] = {
    f"{CORE}.Volume": {"volumeSource"},
    f"{CORE}.PersistentVolumeSpec": {"persistentVolumeSource"},
    f"{CORE}.Probe": {"handler"},
    f"{CORE}.EphemeralContainer": {"ephemeralContainerCommon"},
    f"{CORE}.ConfigMapEnvSource": {"localObjectReference"},
    f"{CORE}.SecretEnvSource": {"localObjectReference"},
    f"{CORE}.ConfigMapKeySelector": {"localObjectReference"},
    f"{CORE}.SecretKeySelector": {"localObjectReference"},
    f"{CORE}.ConfigMapProjection": {"localObjectReference"},
    f"{CORE}.SecretProjection": {"localObjectReference"},
    f"{CORE}.ConfigMapVolumeSource": {"localObjectReference"},
    "k8s.io.api.networking.v1.IngressRule": {"ingressRuleValue"},
}

# Where the protobuf field name differs from the JSON name.
JSON_NAMES: dict[tuple[str, str], str] = {
    ("k8s.io.api.networking.v1.IngressClassParametersReference", "aPIGroup"): "apiGroup",
}

# Scalars that are pointers in the Go types (*int32, *bool, *string ...): gogo
# protobuf writes them only when set, so an explicit zero must be kept.
POINTERS: dict[str, set[str]] = {
    f"{META}.ObjectMeta": {"deletionGracePeriodSeconds"},
    f"{META}.ListMeta": {"remainingItemCount"},
    f"{META}.OwnerReference": {"controller", "blockOwnerDeletion"},
    f"{META}.DeleteOptions": {
        "gracePeriodSeconds",
        "orphanDependents",
        "propagationPolicy",
        "ignoreStoreReadErrorWithClusterBreakingPotential",
    },
    f"{META}.Preconditions": {"uid", "resourceVersion"},
    f"{META}.ListOptions": {"sendInitialEvents"},
    f"{META}.PatchOptions": {"force"},
    f"{CORE}.Preconditions": {"uid"},
    f"{CORE}.ConfigMap": {"immutable"},
    f"{CORE}.Secret": {"immutable"},
    f"{CORE}.ServiceAccount": {"automountServiceAccountToken"},
    f"{CORE}.ConfigMapEnvSource": {"optional"},
    f"{CORE}.SecretEnvSource": {"optional"},
    f"{CORE}.ConfigMapKeySelector": {"optional"},
    f"{CORE}.SecretKeySelector": {"optional"},
    f"{CORE}.FileKeySelector": {"optional"},
    f"{CORE}.ConfigMapProjection": {"optional"},
    f"{CORE}.SecretProjection": {"optional"},
    f"{CORE}.ConfigMapVolumeSource": {"defaultMode", "optional"},
    f"{CORE}.SecretVolumeSource": {"defaultMode", "optional"},
    f"{CORE}.DownwardAPIVolumeSource": {"defaultMode"},
    f"{CORE}.DownwardAPIVolumeFile": {"mode"},
    f"{CORE}.ProjectedVolumeSource": {"defaultMode"},
    f"{CORE}.KeyToPath": {"mode"},
    f"{CORE}.ServiceAccountTokenProjection": {"expirationSeconds"},
    f"{CORE}.ClusterTrustBundleProjection": {"name", "signerName", "optional"},
    f"{CORE}.PodCertificateProjection": {"maxExpirationSeconds"},
    f"{CORE}.CSIVolumeSource": {"readOnly", "fsType"},
    f"{CORE}.HostPathVolumeSource": {"type"},
    f"{CORE}.ISCSIVolumeSource": {"initiatorName"},
    f"{CORE}.ISCSIPersistentVolumeSource": {"initiatorName"},
    f"{CORE}.AzureDiskVolumeSource": {"cachingMode", "fsType", "readOnly", "kind"},
    f"{CORE}.Container": {"restartPolicy"},
    f"{CORE}.EphemeralContainerCommon": {"restartPolicy"},
    f"{CORE}.ContainerStatus": {"started", "stopSignal"},
    f"{CORE}.Lifecycle": {"stopSignal"},
    f"{CORE}.GRPCAction": {"service"},
    f"{CORE}.Probe": {"terminationGracePeriodSeconds"},
    f"{CORE}.SecurityContext": {
        "privileged",
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "procMount",
    },
    f"{CORE}.PodSecurityContext": {
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "fsGroup",
        "fsGroupChangePolicy",
        "supplementalGroupsPolicy",
        "seLinuxChangePolicy",
    },
    f"{CORE}.WindowsSecurityContextOptions": {
        "gmsaCredentialSpecName",
        "gmsaCredentialSpec",
        "runAsUserName",
        "hostProcess",
    },
    f"{CORE}.SeccompProfile": {"localhostProfile"},
    f"{CORE}.AppArmorProfile": {"localhostProfile"},
    f"{CORE}.PodSpec": {
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "automountServiceAccountToken",
        "shareProcessNamespace",
        "priority",
        "runtimeClassName",
        "enableServiceLinks",
        "preemptionPolicy",
        "setHostnameAsFQDN",
        "hostUsers",
        "hostnameOverride",
    },
    f"{CORE}.PodResourceClaim": {"resourceClaimName", "resourceClaimTemplateName"},
    f"{CORE}.PodResourceClaimStatus": {"resourceClaimName"},
    f"{CORE}.PodDNSConfigOption": {"value"},
    f"{CORE}.TopologySpreadConstraint": {"minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy"},
    f"{CORE}.Toleration": {"tolerationSeconds"},
    f"{CORE}.ServiceSpec": {
        "allocateLoadBalancerNodePorts",
        "loadBalancerClass",
        "internalTrafficPolicy",
        "ipFamilyPolicy",
        "trafficDistribution",
    },
    f"{CORE}.ClientIPConfig": {"timeoutSeconds"},
    f"{CORE}.ServicePort": {"appProtocol"},
    f"{CORE}.EndpointPort": {"appProtocol"},
    f"{CORE}.EndpointAddress": {"nodeName"},
    f"{CORE}.LoadBalancerIngress": {"ipMode"},
    f"{CORE}.PersistentVolumeClaimSpec": {
        "storageClassName",
        "volumeMode",
        "volumeAttributesClassName",
    },
    f"{CORE}.PersistentVolumeClaimStatus": {"currentVolumeAttributesClassName"},
    f"{CORE}.PersistentVolumeSpec": {"volumeMode", "volumeAttributesClassName"},
    f"{CORE}.TypedLocalObjectReference": {"apiGroup"},
    f"{CORE}.TypedObjectReference": {"apiGroup", "namespace"},
    f"{CORE}.VolumeMount": {"mountPropagation", "recursiveReadOnly"},
    f"{CORE}.VolumeMountStatus": {"recursiveReadOnly"},
    f"{CORE}.ReplicationControllerSpec": {"replicas"},
    f"{CORE}.NodeSwapStatus": {"capacity"},
    f"{CORE}.NodeFeatures": {"supplementalGroupsPolicy"},
    f"{CORE}.NodeRuntimeHandlerFeatures": {"recursiveReadOnlyMounts", "userNamespaces"},
    f"{CORE}.PodLogOptions": {"sinceSeconds", "tailLines", "limitBytes", "stream"},
    "k8s.io.api.apps.v1.DeploymentSpec": {
        "replicas",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
        "podReplacementPolicy",
    },
    "k8s.io.api.apps.v1.DeploymentStatus": {"terminatingReplicas", "collisionCount"},
    "k8s.io.api.apps.v1.ReplicaSetSpec": {"replicas"},
    "k8s.io.api.apps.v1.ReplicaSetStatus": {"terminatingReplicas"},
    "k8s.io.api.apps.v1.DaemonSetSpec": {"revisionHistoryLimit"},
    "k8s.io.api.apps.v1.DaemonSetStatus": {"collisionCount"},
    "k8s.io.api.apps.v1.StatefulSetSpec": {"replicas", "revisionHistoryLimit"},
    "k8s.io.api.apps.v1.StatefulSetStatus": {"collisionCount"},
    "k8s.io.api.apps.v1.RollingUpdateStatefulSetStrategy": {"partition"},
    "k8s.io.api.batch.v1.JobSpec": {
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "manualSelector",
        "ttlSecondsAfterFinished",
        "completionMode",
        "suspend",
        "podReplacementPolicy",
        "managedBy",
    },
    "k8s.io.api.batch.v1.JobStatus": {"terminating", "ready"},
    "k8s.io.api.batch.v1.CronJobSpec": {
        "timeZone",
        "startingDeadlineSeconds",
        "suspend",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    },
    "k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirement": {"containerName"},
    "k8s.io.api.batch.v1.SuccessPolicyRule": {"succeededIndexes", "succeededCount"},
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerSpec": {
        "minReplicas",
        "targetCPUUtilizationPercentage",
    },
    "k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerStatus": {
        "observedGeneration",
        "currentCPUUtilizationPercentage",
    },
    "k8s.io.api.autoscaling.v1.ResourceMetricSource": {"targetAverageUtilization"},
    "k8s.io.api.autoscaling.v1.ContainerResourceMetricSource": {"targetAverageUtilization"},
    "k8s.io.api.autoscaling.v1.ResourceMetricStatus": {"currentAverageUtilization"},
    "k8s.io.api.autoscaling.v1.ContainerResourceMetricStatus": {"currentAverageUtilization"},
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerSpec": {"minReplicas"},
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerStatus": {"observedGeneration"},
    "k8s.io.api.autoscaling.v2.HPAScalingRules": {"stabilizationWindowSeconds", "selectPolicy"},
    "k8s.io.api.autoscaling.v2.MetricTarget": {"averageUtilization"},
    "k8s.io.api.autoscaling.v2.MetricValueStatus": {"averageUtilization"},
    "k8s.io.api.networking.v1.IngressSpec": {"ingressClassName"},
    "k8s.io.api.networking.v1.HTTPIngressPath": {"pathType"},
    "k8s.io.api.networking.v1.NetworkPolicyPort": {"protocol", "endPort"},
    "k8s.io.api.networking.v1.IngressClassParametersReference": {
        "aPIGroup",
        "scope",
        "namespace",
    },
    "k8s.io.api.networking.v1.IngressPortStatus": {"error"},
    "k8s.io.api.policy.v1.PodDisruptionBudgetSpec": {
        "unhealthyPodEvictionPolicy",
        "availabilityMode",
    },
    "k8s.io.api.storage.v1.StorageClass": {
        "reclaimPolicy",
        "allowVolumeExpansion",
        "volumeBindingMode",
    },
    "k8s.io.api.storage.v1.CSIDriverSpec": {
        "attachRequired",
        "podInfoOnMount",
        "storageCapacity",
        "fsGroupPolicy",
        "requiresRepublish",
        "seLinuxMount",
        "nodeAllocatableUpdatePeriodSeconds",
        "serviceAccountTokenInSecrets",
        "preventPodSchedulingIfMissing",
    },
    "k8s.io.api.storage.v1.TokenRequest": {"expirationSeconds"},
    "k8s.io.api.storage.v1.VolumeAttachmentSource": {"persistentVolumeName"},
    "k8s.io.api.storage.v1.VolumeNodeResources": {"count"},
    "k8s.io.api.storage.v1.VolumeError": {"errorCode"},
}

# Package of k8s.io/api -> API group.
GROUPS = {
    "core": "",
    "apps": "apps",
    "batch": "batch",
    "autoscaling": "autoscaling",
    "networking": "networking.k8s.io",
    "rbac": "rbac.authorization.k8s.io",
    "policy": "policy",
    "storage": "storage.k8s.io",
    "authorization": "authorization.k8s.io",
    "events": "events.k8s.io",
}

# Messages with ObjectMeta that are parts of objects, not kinds of their own.
NOT_KINDS = {"PodTemplateSpec", "JobTemplateSpec", "PersistentVolumeClaimTemplate"}

# meta/v1 kinds a client may send as a body.
META_KINDS = (
    "DeleteOptions",
    "CreateOptions",
    "UpdateOptions",
    "PatchOptions",
    "GetOptions",
    "ListOptions",
    "Status",
    "PartialObjectMetadata",
)

_RE_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;")
_RE_MESSAGE = re.compile(r"^\s*message\s+(\w+)\s*\{\s*(\})?")
_RE_FIELD = re.compile(
    r"^\s*(optional|repeated|required)?\s*([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(?:\[[^\]]*\])?\s*;"
)
_RE_MAP = re.compile(r"^\s*map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")
_RE_SOURCE = re.compile(r"^//\s*Source:\s*(.+)$")


@dataclass
class ProtoField:
    name: str
    number: int
    type_name: str
    repeated: bool = False
    map_value: str | None = None


@dataclass
class ProtoMessage:
    full_name: str
    package: str
    fields: list[ProtoField] = field(default_factory=list)
    nullable_list: bool = False


def parse_proto(text: str) -> tuple[str, list[ProtoMessage], list[str]]:
    """The package, messages and ``// Source:`` notes of one .proto text."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    package = ""
    sources: list[str] = []
    messages: list[ProtoMessage] = []
    current: ProtoMessage | None = None
    markers: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            src = _RE_SOURCE.match(line)
            if src:
                sources.append(src.group(1).strip())
            markers.append(line)
            continue
        if not line:
            continue
        if m := _RE_PACKAGE.match(line):
            package = m.group(1)
        elif m := _RE_MESSAGE.match(line):
            if not package:
                raise ValueError("message before package statement")
            current = ProtoMessage(
                full_name=f"{package}.{m.group(1)}",
                package=package,
                nullable_list=any("+protobuf.nullable=true" in x for x in markers),
            )
            messages.append(current)
            if m.group(2):
                current = None
        elif line.startswith("}"):
            current = None
        elif current is not None and (m := _RE_MAP.match(line)):
            if m.group(1) != "string":
                raise ValueError(f"{current.full_name}: map key {m.group(1)} unsupported")
            current.fields.append(ProtoField(m.group(3), int(m.group(4)), "map", map_value=m.group(2)))
        elif current is not None and (m := _RE_FIELD.match(line)):
            current.fields.append(
                ProtoField(m.group(3), int(m.group(4)), m.group(2), m.group(1) == "repeated")
            )
        markers = []
    return package, messages, sources


def _resolve(type_name: str, package: str, known: set[str]) -> str:
    if type_name in SCALARS:
        return type_name
    name = type_name.lstrip(".")
    for candidate in (name, f"{package}.{name}"):
        if candidate in known:
            return candidate
    raise ValueError(f"unknown type {type_name!r} in package {package}")


def _kind_of(type_name: str, lists: set[str]) -> tuple[str, str]:
    """(kind, message type) of a resolved type."""
    if type_name in SCALARS:
        return type_name, ""
    if type_name in SPECIAL:
        return SPECIAL[type_name], ""
    if type_name in lists:
        return "stringlist", ""
    return "message", type_name


def build_table(texts: list[str]) -> dict[str, object]:
    """The JSON table for the given .proto texts."""
    messages: dict[str, ProtoMessage] = {}
    sources: list[str] = []
    for text in texts:
        _, parsed, notes = parse_proto(text)
        sources.extend(notes)
        for msg in parsed:
            messages[msg.full_name] = msg
    known = set(messages)
    lists = {
        name
        for name, msg in messages.items()
        if msg.nullable_list and [f.type_name for f in msg.fields] == ["string"]
    }
    table: dict[str, dict[str, list[str]]] = {}
    for name in sorted(messages):
        msg = messages[name]
        entries: dict[str, list[str]] = {}
        for f in msg.fields:
            json_name = JSON_NAMES.get((name, f.name), f.name)
            flags = ""
            if f.repeated:
                flags += "r"
            if f.name in INLINE.get(name, set()):
                flags += "i"
            if f.name in POINTERS.get(name, set()):
                flags += "z"
            if f.map_value is not None:
                value_kind, value_type = _kind_of(_resolve(f.map_value, msg.package, known), lists)
                entries[str(f.number)] = [json_name, "map", value_type, flags, value_kind]
            else:
                kind, type_name = _kind_of(_resolve(f.type_name, msg.package, known), lists)
                entries[str(f.number)] = [json_name, kind, type_name, flags]
        table[name] = entries
    _check_overrides(table)
    return {
        "comment": "Generated by scripts/gen_protobuf_schema.py; do not edit by hand.",
        "sources": sorted(set(sources)),
        "kinds": _kinds(messages),
        "messages": table,
    }


def _check_overrides(table: dict[str, dict[str, list[str]]]) -> None:
    for overrides in (INLINE, POINTERS):
        for msg, names in overrides.items():
            if msg not in table:
                raise ValueError(f"override for unknown message {msg}")
            proto_names = {k for (m, k), v in JSON_NAMES.items() if m == msg} | {
                entry[0] for entry in table[msg].values()
            }
            missing = names - proto_names
            if missing:
                raise ValueError(f"{msg}: no fields {sorted(missing)}")


def _kinds(messages: dict[str, ProtoMessage]) -> dict[str, dict[str, str]]:
    kinds: dict[str, dict[str, str]] = {}
    object_meta = f"{META}.ObjectMeta"
    for name, msg in sorted(messages.items()):
        parts = msg.package.split(".")
        if parts[:3] != ["k8s", "io", "api"] or len(parts) != 5:
            continue
        group = GROUPS.get(parts[3])
        if group is None:
            continue
        api_version = f"{group}/{parts[4]}" if group else parts[4]
        kind = name.rsplit(".", 1)[1]
        first = msg.fields[0] if msg.fields else None
        top_level = (
            first is not None and first.name == "metadata" and first.type_name.lstrip(".") == object_meta
        )
        if top_level and not kind.endswith("List") and kind not in NOT_KINDS:
            kinds.setdefault(api_version, {})[kind] = name
    meta = {k: f"{META}.{k}" for k in META_KINDS if f"{META}.{k}" in messages}
    kinds["meta.k8s.io/v1"] = meta
    return kinds


def dump(table: dict[str, object]) -> str:
    """Compact JSON, one line per message."""
    messages = table["messages"]
    assert isinstance(messages, dict)
    lines = ["{"]
    for key in ("comment", "sources", "kinds"):
        lines.append(f"{json.dumps(key)}: {json.dumps(table[key], sort_keys=True)},")
    lines.append('"messages": {')
    items = sorted(messages.items())
    for i, (name, fields) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        body = json.dumps(fields, separators=(",", ":"))
        lines.append(f"{json.dumps(name)}: {body}{sep}")
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("protos", nargs="+", type=Path, help="generated.proto files")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    texts = [p.read_text(encoding="utf-8") for p in args.protos]
    table = build_table(texts)
    args.output.write_text(dump(table), encoding="utf-8")
    messages = table["messages"]
    assert isinstance(messages, dict)
    print(f"wrote {len(messages)} messages to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
