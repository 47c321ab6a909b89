"""Tests of the protobuf request-body decoder (``sandbox.protobuf``).

Bodies are built with a small wire encoder written here that behaves like
gogo-protobuf, the encoder client-go uses: non-pointer scalars are written
even when zero, non-pointer structs are written even when empty, a zero
``metav1.Time`` is an empty message, maps are repeated {1 key, 2 value} entries.
"""

from __future__ import annotations

import base64
import random
import struct
import time
from typing import Any

import pytest

from sandbox import protobuf
from sandbox.errors import BadRequest, StatusError, UnsupportedMedia

# --- a minimal protobuf wire encoder --------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def ln(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + varint(len(payload)) + payload


def s(number: int, text: str) -> bytes:
    return ln(number, text.encode())


def i(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def b(number: int, value: bool) -> bytes:
    return i(number, 1 if value else 0)


def m(number: int, *parts: bytes) -> bytes:
    return ln(number, b"".join(parts))


def strmap(number: int, values: dict[str, str]) -> bytes:
    return b"".join(m(number, s(1, k), s(2, v)) for k, v in values.items())


def bytesmap(number: int, values: dict[str, bytes]) -> bytes:
    return b"".join(m(number, s(1, k), ln(2, v)) for k, v in values.items())


def quantities(number: int, values: dict[str, str]) -> bytes:
    return b"".join(m(number, s(1, k), m(2, s(1, v))) for k, v in values.items())


def intstr_int(number: int, value: int) -> bytes:
    return m(number, i(1, 0), i(2, value), s(3, ""))


def intstr_str(number: int, value: str) -> bytes:
    return m(number, i(1, 1), i(2, 0), s(3, value))


def meta(name: str, namespace: str = "", **extra: bytes) -> bytes:
    """ObjectMeta the way gogo writes it: zero scalars and the zero time included."""
    return b"".join(
        [
            s(1, name),
            s(2, ""),
            s(3, namespace),
            s(4, ""),
            s(5, ""),
            s(6, ""),
            i(7, 0),
            m(8),  # creationTimestamp: metav1.Time{} marshals to nothing
            *extra.values(),
        ]
    )


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    unknown = m(1, s(1, api_version), s(2, kind)) + ln(2, raw) + s(3, "") + s(4, "")
    return protobuf.MAGIC + unknown


# --- objects ------------------------------------------------------------------


def test_namespace_from_kubectl_create() -> None:
    raw = m(1, meta("team-a")) + m(2) + m(3, s(1, ""))
    assert protobuf.decode(envelope("v1", "Namespace", raw)) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a"},
        "spec": {},
        "status": {},
    }


def test_configmap_with_data_and_binary_data() -> None:
    raw = (
        m(1, meta("settings", "default", labels=strmap(11, {"app": "web"})))
        + strmap(2, {"greeting": "hello", "empty": ""})
        + bytesmap(3, {"logo.png": b"\x89PNG\r\n\x1a\n\x00\xff"})
    )
    assert protobuf.decode(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default", "labels": {"app": "web"}},
        "data": {"greeting": "hello", "empty": ""},
        "binaryData": {"logo.png": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()},
    }


def test_secret_with_binary_data_like_helm_release() -> None:
    payload = bytes(range(256))
    labels = {"owner": "helm", "name": "web", "status": "pending-install", "version": "1"}
    raw = (
        m(1, meta("sh.helm.release.v1.web.v1", "default", labels=strmap(11, labels)))
        + bytesmap(2, {"release": payload, "blank": b""})
        + s(3, "helm.sh/release.v1")
        + strmap(4, {"note": "plain"})
        + b(5, False)  # immutable is a *bool: an explicit false is kept
    )
    assert protobuf.decode(envelope("v1", "Secret", raw)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "sh.helm.release.v1.web.v1", "namespace": "default", "labels": labels},
        "data": {"release": base64.b64encode(payload).decode(), "blank": ""},
        "type": "helm.sh/release.v1",
        "stringData": {"note": "plain"},
        "immutable": False,
    }


def _container() -> bytes:
    env_plain = m(7, s(1, "MODE"), s(2, "prod"))
    env_secret = m(
        7,
        s(1, "TOKEN"),
        s(2, ""),
        m(3, m(4, m(1, s(1, "api-token")), s(2, "token"), b(3, True))),
    )
    liveness = m(
        10,
        m(1, m(2, s(1, "/healthz"), intstr_int(2, 8080), s(3, ""), s(4, "HTTP"))),
        i(2, 5),
        i(3, 1),
        i(4, 0),  # non-pointer zero: dropped
        i(5, 0),
        i(6, 3),
    )
    readiness = m(11, m(1, m(3, intstr_str(1, "http"), s(2, ""))), i(2, 0), i(3, 2))
    return m(
        2,
        s(1, "web"),
        s(2, "nginx:1.27"),
        s(3, "nginx"),
        s(4, "-g"),
        s(4, "daemon off;"),
        s(5, ""),
        m(6, s(1, "http"), i(2, 0), i(3, 8080), s(4, "TCP"), s(5, "")),
        m(6, s(1, "metrics"), i(2, 0), i(3, 9090), s(4, "TCP"), s(5, "")),
        env_plain,
        env_secret,
        m(8, quantities(1, {"cpu": "500m", "memory": "128Mi"}), quantities(2, {"cpu": "100m"})),
        m(9, s(1, "config"), b(2, True), s(3, "/etc/web"), s(4, "")),
        liveness,
        readiness,
        s(13, "/dev/termination-log"),
        s(14, "IfNotPresent"),
        m(15, b(2, False), i(4, 1000), b(5, True), i(8, (1 << 64) - 1)),  # runAsGroup = -1
        b(16, False),
        b(17, False),
        b(18, False),
    )


def _deployment_raw(extra_annotations: int = 0) -> bytes:
    annotations = {"deployment.kubernetes.io/revision": "1"}
    annotations.update({f"note.example.com/n{n}": "x" * 40 for n in range(extra_annotations)})
    metadata = meta(
        "web",
        "shop",
        created=m(8, i(1, 1704164645)),
        labels=strmap(11, {"app": "web"}),
        annotations=strmap(12, annotations),
        owners=m(
            13,
            s(1, "Thing"),
            s(3, "owner"),
            s(4, "1234"),
            s(5, "example.com/v1"),
            b(6, True),
            b(7, False),
        ),
        finalizers=s(14, "example.com/keep"),
        managed=m(
            17,
            s(1, "kubectl-create"),
            s(2, "Update"),
            s(3, "apps/v1"),
            m(4, i(1, 1704164645)),
            s(6, "FieldsV1"),
            m(7, ln(1, b'{"f:spec":{"f:replicas":{}}}')),
            s(8, ""),
        ),
    )
    # Drop the empty creationTimestamp written by meta(): the real one follows.
    metadata = metadata.replace(m(8), b"", 1)
    volumes = m(
        1,
        s(1, "config"),
        m(2, m(19, m(1, s(1, "web-config")), i(3, 420), b(4, False))),
    ) + m(1, s(1, "scratch"), m(2, m(2, s(1, ""))))
    pod_spec = b"".join(
        [
            volumes,
            _container(),
            s(3, "Always"),
            i(4, 30),
            s(6, "ClusterFirst"),
            strmap(7, {"kubernetes.io/os": "linux"}),
            s(8, "web"),
            s(10, ""),
            b(11, False),
            m(14, ln(4, varint(1000) + varint(2000)), i(5, 2000)),  # packed supplementalGroups
            s(19, "default-scheduler"),
            m(22, s(1, "dedicated"), s(2, "Equal"), s(3, "web"), s(4, "NoSchedule")),
        ]
    )
    template = m(3, m(1, meta("", labels=strmap(11, {"app": "web"}))), m(2, pod_spec))
    spec = b"".join(
        [
            i(1, 0),  # replicas is a *int32: zero means zero
            m(2, strmap(1, {"app": "web"})),
            template,
            m(4, s(1, "RollingUpdate"), m(2, intstr_int(1, 0), intstr_str(2, "25%"))),
            i(5, 0),
            i(6, 10),
            b(7, False),
            i(9, 600),
        ]
    )
    status = m(3, i(1, 0), i(2, 0), i(3, 0), i(4, 0), i(5, 0), i(7, 0))
    return m(1, metadata) + m(2, spec) + status


EXPECTED_CONTAINER: dict[str, Any] = {
    "name": "web",
    "image": "nginx:1.27",
    "command": ["nginx"],
    "args": ["-g", "daemon off;"],
    "ports": [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
    ],
    "env": [
        {"name": "MODE", "value": "prod"},
        {
            "name": "TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "token", "optional": True}},
        },
    ],
    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m"}},
    "volumeMounts": [{"name": "config", "readOnly": True, "mountPath": "/etc/web"}],
    "livenessProbe": {
        "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
        "initialDelaySeconds": 5,
        "timeoutSeconds": 1,
        "failureThreshold": 3,
    },
    "readinessProbe": {"tcpSocket": {"port": "http"}, "timeoutSeconds": 2},
    "terminationMessagePath": "/dev/termination-log",
    "imagePullPolicy": "IfNotPresent",
    "securityContext": {
        "privileged": False,
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "runAsGroup": -1,
    },
}


def test_deployment_with_full_pod_template() -> None:
    obj = protobuf.decode(envelope("apps/v1", "Deployment", _deployment_raw()))
    assert obj == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "creationTimestamp": "2024-01-02T03:04:05Z",
            "labels": {"app": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [
                {
                    "kind": "Thing",
                    "name": "owner",
                    "uid": "1234",
                    "apiVersion": "example.com/v1",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
            "finalizers": ["example.com/keep"],
            "managedFields": [
                {
                    "manager": "kubectl-create",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": "2024-01-02T03:04:05Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:spec": {"f:replicas": {}}},
                }
            ],
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "volumes": [
                        {
                            "name": "config",
                            "configMap": {"name": "web-config", "defaultMode": 420, "optional": False},
                        },
                        {"name": "scratch", "emptyDir": {}},
                    ],
                    "containers": [EXPECTED_CONTAINER],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "serviceAccountName": "web",
                    "securityContext": {"supplementalGroups": [1000, 2000], "fsGroup": 2000},
                    "schedulerName": "default-scheduler",
                    "tolerations": [
                        {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}
                    ],
                },
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {},
    }


def test_pointer_zero_is_kept_but_absent_pointer_is_absent() -> None:
    raw = m(1, meta("web")) + m(2, m(2), m(3))  # no replicas on the wire
    obj = protobuf.decode(envelope("apps/v1", "Deployment", raw))
    assert "replicas" not in obj["spec"]


@pytest.mark.parametrize("api_version", ["v1", "meta.k8s.io/v1", "apps/v1", "batch/v1"])
def test_delete_options_under_any_group_version(api_version: str) -> None:
    raw = (
        i(1, 0)  # --grace-period=0
        + m(2, s(1, "uid-1"))
        + s(4, "Foreground")
        + s(5, "All")
    )
    assert protobuf.decode(envelope(api_version, "DeleteOptions", raw)) == {
        "apiVersion": api_version,
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1"},
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }


def test_self_subject_access_review_from_kubectl_auth_can_i() -> None:
    attributes = m(
        1,
        s(1, "default"),
        s(2, "create"),
        s(3, "apps"),
        s(4, ""),
        s(5, "deployments"),
        s(6, ""),
        s(7, ""),
    )
    raw = m(1, meta("")) + m(2, attributes) + m(3, b(1, False), s(2, ""), s(3, ""), b(4, False))
    assert protobuf.decode(envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", raw)) == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {
            "resourceAttributes": {
                "namespace": "default",
                "verb": "create",
                "group": "apps",
                "resource": "deployments",
            }
        },
        "status": {},
    }


def test_subject_access_review_extra_values_are_lists() -> None:
    spec = m(2, s(3, "alice"), s(4, "dev"), m(5, s(1, "scopes"), m(2, s(1, "a"), s(1, "b"))))
    obj = protobuf.decode(envelope("authorization.k8s.io/v1", "SubjectAccessReview", spec))
    assert obj["spec"] == {"user": "alice", "groups": ["dev"], "extra": {"scopes": ["a", "b"]}}


def test_eviction_carries_delete_options() -> None:
    raw = m(1, meta("web-1", "shop")) + m(2, i(1, 10))
    assert protobuf.decode(envelope("policy/v1", "Eviction", raw)) == {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "deleteOptions": {"gracePeriodSeconds": 10},
    }


def test_scale_subresource() -> None:
    raw = m(1, meta("web", "shop")) + m(2, i(1, 3)) + m(3, i(1, 0), s(2, ""))
    assert protobuf.decode(envelope("autoscaling/v1", "Scale", raw)) == {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 3},
        "status": {},
    }


def test_events_v1_micro_time_and_core_event() -> None:
    raw = m(1, meta("web.1")) + m(2, i(1, 1704164645), i(2, 123456789)) + s(7, "Scaled")
    obj = protobuf.decode(envelope("events.k8s.io/v1", "Event", raw))
    assert obj["eventTime"] == "2024-01-02T03:04:05.123456Z"
    assert obj["reason"] == "Scaled"
    core = protobuf.decode(envelope("v1", "Event", m(1, meta("x")) + i(8, 2) + m(6, i(1, 0))))
    assert core["count"] == 2
    assert core["firstTimestamp"] == "1970-01-01T00:00:00Z"


def test_service_with_int_or_string_target_port() -> None:
    port = m(1, s(1, "http"), s(2, "TCP"), i(3, 80), intstr_str(4, "web"), i(5, 0))
    raw = m(1, meta("web")) + m(2, port, strmap(2, {"app": "web"}), s(4, "ClusterIP"), s(17, "SingleStack"))
    obj = protobuf.decode(envelope("v1", "Service", raw))
    assert obj["spec"] == {
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"}],
        "selector": {"app": "web"},
        "type": "ClusterIP",
        "ipFamilyPolicy": "SingleStack",
    }


def test_ingress_rule_value_is_inlined_and_api_group_is_renamed() -> None:
    backend = m(2, m(4, s(1, "web"), m(2, s(1, ""), i(2, 80))))
    path = m(1, s(1, "/"), s(3, "Prefix"), backend)
    raw = m(1, meta("web")) + m(2, s(4, "nginx"), m(3, s(1, "example.com"), m(2, m(1, path))))
    obj = protobuf.decode(envelope("networking.k8s.io/v1", "Ingress", raw))
    assert obj["spec"] == {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": "example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    klass = m(1, meta("nginx")) + m(
        2, s(1, "k8s.io/ingress-nginx"), m(2, s(1, "example.com"), s(2, "Params"))
    )
    assert protobuf.decode(envelope("networking.k8s.io/v1", "IngressClass", klass))["spec"] == {
        "controller": "k8s.io/ingress-nginx",
        "parameters": {"apiGroup": "example.com", "kind": "Params"},
    }


def test_controller_revision_raw_extension_is_embedded_json() -> None:
    raw = m(1, meta("web-1")) + m(2, ln(1, b'{"spec":{"template":{"x":1}}}')) + i(3, 2)
    obj = protobuf.decode(envelope("apps/v1", "ControllerRevision", raw))
    assert obj["data"] == {"spec": {"template": {"x": 1}}}
    assert obj["revision"] == 2


def test_negative_numbers_and_unknown_fields() -> None:
    # A field number the table does not know (99) of every wire type is skipped.
    unknown = i(99, 7) + ln(99, b"zz") + tag(99, 1) + b"\x00" * 8 + tag(99, 5) + b"\x00" * 4
    raw = m(1, meta("web"), unknown) + m(2, i(4, (1 << 64) - 5)) + unknown
    obj = protobuf.decode(envelope("batch/v1", "CronJob", raw))
    assert obj["spec"] == {"suspend": True}
    job = m(2, i(1, 1), i(3, (1 << 64) - 30), i(7, 0))
    assert protobuf.decode(envelope("batch/v1", "Job", job))["spec"] == {
        "parallelism": 1,
        "activeDeadlineSeconds": -30,
        "backoffLimit": 0,
    }


def test_packed_and_unpacked_repeated_ints() -> None:
    codes = m(1, s(1, "FailJob"), m(2, s(2, "In"), ln(3, varint(1) + varint(42)), i(3, 7)))
    raw = m(2, m(11, codes))
    obj = protobuf.decode(envelope("batch/v1", "Job", raw))
    rule = obj["spec"]["podFailurePolicy"]["rules"][0]
    assert rule == {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1, 42, 7]}}


def test_every_required_kind_is_in_the_table() -> None:
    required = {
        "v1": [
            "Namespace",
            "ConfigMap",
            "Secret",
            "Pod",
            "Service",
            "ServiceAccount",
            "ResourceQuota",
            "LimitRange",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Event",
            "Endpoints",
        ],
        "apps/v1": ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"],
        "batch/v1": ["Job", "CronJob"],
        "rbac.authorization.k8s.io/v1": ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
        "authorization.k8s.io/v1": ["SelfSubjectAccessReview"],
        "policy/v1": ["Eviction", "PodDisruptionBudget"],
        "networking.k8s.io/v1": ["Ingress", "NetworkPolicy"],
        "autoscaling/v1": ["HorizontalPodAutoscaler", "Scale"],
        "autoscaling/v2": ["HorizontalPodAutoscaler"],
        "storage.k8s.io/v1": ["StorageClass"],
        "events.k8s.io/v1": ["Event"],
        "meta.k8s.io/v1": ["DeleteOptions"],
    }
    kinds = protobuf.supported_kinds()
    for api_version, names in required.items():
        for kind in names:
            assert kind in kinds[api_version], (api_version, kind)
            # Each decodes from a body holding only its metadata (or nothing).
            first = m(1, meta("x")) if api_version != "meta.k8s.io/v1" else b""
            obj = protobuf.decode(envelope(api_version, kind, first))
            assert obj["kind"] == kind


def test_go_duration_strings() -> None:
    cases = {
        0: "0s",
        1: "1ns",
        1500: "1.5µs",
        2_000_000: "2ms",
        1_500_000_000: "1.5s",
        90 * 10**9: "1m30s",
        3600 * 10**9: "1h0m0s",
        -(3 * 3600 + 5) * 10**9: "-3h0m5s",
    }
    for nanos, text in cases.items():
        assert protobuf._go_duration(nanos) == text


# --- bad input ----------------------------------------------------------------


def test_wrong_magic() -> None:
    with pytest.raises(BadRequest, match="magic"):
        protobuf.decode(b"k8s\x01" + m(1, s(2, "Namespace")))
    with pytest.raises(BadRequest):
        protobuf.decode(b"")
    with pytest.raises(BadRequest):
        protobuf.decode(b'{"kind": "Namespace"}')


def test_unknown_kind_is_unsupported_media() -> None:
    with pytest.raises(UnsupportedMedia) as info:
        protobuf.decode(envelope("example.com/v1", "Widget", b""))
    assert info.value.message == (
        'the protobuf body of kind "Widget" (apiVersion "example.com/v1") cannot be decoded by this server'
    )
    assert info.value.code == 415


def test_missing_kind_truncation_and_wire_errors() -> None:
    with pytest.raises(BadRequest, match="kind"):
        protobuf.decode(protobuf.MAGIC + m(1, s(1, "v1")))
    body = envelope("v1", "Namespace", m(1, meta("team-a")))
    for cut in (len(protobuf.MAGIC) + 1, len(body) - 1, len(body) - 5):
        with pytest.raises(BadRequest):
            protobuf.decode(body[:cut])
    with pytest.raises(BadRequest, match="varint"):
        protobuf.decode(protobuf.MAGIC + b"\x8a")
    with pytest.raises(BadRequest, match="wire type"):
        protobuf.decode(envelope("v1", "Namespace", i(1, 5)))  # metadata as a varint
    with pytest.raises(BadRequest, match="wire type"):
        protobuf.decode(envelope("v1", "Secret", s(5, "yes")))  # immutable as a string
    with pytest.raises(BadRequest):
        protobuf.decode(envelope("v1", "Namespace", tag(7, 3)))  # groups are not supported
    with pytest.raises(BadRequest, match="10 bytes"):
        protobuf.decode(envelope("v1", "Namespace", tag(9, 0) + b"\xff" * 11 + b"\x01"))


def test_time_out_of_range_is_bad_request() -> None:
    raw = m(1, s(1, "x"), m(8, i(1, 1 << 62)))
    with pytest.raises(BadRequest):
        protobuf.decode(envelope("v1", "Namespace", raw))


def test_nested_raw_extension_depth_is_bounded() -> None:
    inner = envelope("apps/v1", "ControllerRevision", b"")
    for _ in range(200):
        inner = envelope("apps/v1", "ControllerRevision", m(2, ln(1, inner)))
    with pytest.raises(BadRequest, match="deeply"):
        protobuf.decode(inner)


def test_random_bytes_only_raise_status_errors() -> None:
    rng = random.Random(20240102)
    seeds = [
        envelope("apps/v1", "Deployment", _deployment_raw()),
        envelope("v1", "Secret", m(1, meta("s")) + bytesmap(2, {"k": b"\x00\x01"})),
        envelope("v1", "DeleteOptions", i(1, 0) + m(2, s(1, "u"))),
    ]
    decoded = 0
    for n in range(4000):
        if n % 4 == 0:
            body = protobuf.MAGIC + bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        else:
            mutated = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 6)):
                mutated[rng.randrange(len(protobuf.MAGIC), len(mutated))] = rng.randrange(256)
            if rng.random() < 0.3:
                del mutated[rng.randrange(len(protobuf.MAGIC), len(mutated)) :]
            body = bytes(mutated)
        try:
            protobuf.decode(body)
            decoded += 1
        except StatusError:
            pass
    assert decoded > 0  # some mutations still decode; the rest fail cleanly


def test_decoding_a_5kb_deployment_is_fast() -> None:
    body = envelope("apps/v1", "Deployment", _deployment_raw(extra_annotations=60))
    assert 4000 < len(body) < 7000
    protobuf.decode(body)  # load the table
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        protobuf.decode(body)
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 0.005, f"{per_call * 1000:.2f} ms per decode"


def test_float_fields_decode() -> None:
    # No built-in kind in the table has a float; exercise the scalar path directly.
    value, pos = protobuf._scalar(protobuf._DOUBLE, 1, struct.pack("<d", 1.5), 0, 8, "x")
    assert (value, pos) == (1.5, 8)
