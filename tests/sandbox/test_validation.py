"""Decoding and validation of built-in kinds (``sandbox.validation``)."""

from __future__ import annotations

import copy
import importlib.util
import re
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import BadRequest, Invalid
from sandbox.validation import validate
from sandbox.validation_schema import SCHEMA_PATH, schema

ROOT = Path(__file__).resolve().parents[2]


def deployment(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]
                },
            },
        },
    }
    body["spec"].update(spec)
    return body


def pod(*containers: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": list(containers) or [{"name": "c", "image": "busybox"}]},
    }


def invalid(obj: dict[str, Any], old: dict[str, Any] | None = None) -> Invalid:
    with pytest.raises(Invalid) as info:
        validate(obj, old=old)
    return info.value


def causes(err: Invalid) -> set[tuple[str, str]]:
    return {(c["field"], c["reason"]) for c in err.causes}


# ---------------------------------------------------------------------------
# Decoding: unknown fields


def test_valid_deployment_passes_unchanged() -> None:
    body = deployment()
    before = copy.deepcopy(body)
    assert validate(body) == []
    assert body == before


def test_unknown_fields_strict() -> None:
    body = deployment()
    body["spec"] = {"replicaz": 3, **body["spec"]}
    body["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
    with pytest.raises(BadRequest) as info:
        validate(body, field_validation="Strict")
    assert info.value.message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replicaz", unknown field "spec.template.spec.containers[0].foo"'
    )
    assert info.value.code == 400


def test_unknown_fields_warn_prunes_and_warns() -> None:
    body = deployment(replicaz=3)
    body["metadata"]["labelz"] = {}
    body["spec"]["template"]["spec"]["containers"][0]["foo"] = 1
    warnings = validate(body, field_validation="Warn")
    assert warnings == [  # in document order
        'unknown field "metadata.labelz"',
        'unknown field "spec.template.spec.containers[0].foo"',
        'unknown field "spec.replicaz"',
    ]
    assert body == deployment()


def test_unknown_fields_ignore_prunes_silently() -> None:
    body = deployment(replicaz=3)
    assert validate(body, field_validation="Ignore") == []
    assert "replicaz" not in body["spec"]


def test_unknown_field_in_nested_list_and_map() -> None:
    body = pod({"name": "c", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "valeu": "2"}]})
    body["spec"]["volumes"] = [{"name": "v", "emptyDir": {"medium": "Memory", "sizeLimt": "1Gi"}}]
    warnings = validate(body, field_validation="Warn")
    assert warnings == [
        'unknown field "spec.containers[0].env[1].valeu"',
        'unknown field "spec.volumes[0].emptyDir.sizeLimt"',
    ]


def test_field_names_are_case_sensitive() -> None:
    with pytest.raises(BadRequest, match=re.escape('unknown field "spec.Replicas"')):
        validate(deployment(Replicas=1))


def test_invalid_field_validation_directive() -> None:
    with pytest.raises(BadRequest, match="fieldValidation"):
        validate(deployment(), field_validation="Loud")


def test_unknown_kinds_pass_through() -> None:
    custom: dict[str, Any] = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "W!"},
        "spec": {"x": 1},
    }
    assert validate(copy.deepcopy(custom)) == []
    listing: dict[str, Any] = {"apiVersion": "v1", "kind": "List", "items": [{"junk": True}]}
    assert validate(listing) == []


def test_nulls_are_accepted_and_removed() -> None:
    body = deployment(strategy=None, minReadySeconds=None)
    body["metadata"]["annotations"] = None
    body["metadata"]["creationTimestamp"] = None
    assert validate(body) == []
    assert "strategy" not in body["spec"]
    assert "annotations" not in body["metadata"]
    assert "creationTimestamp" not in body["metadata"]


# ---------------------------------------------------------------------------
# Decoding: types


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda b: b["spec"].update(replicas="3"),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        (
            lambda b: b["spec"].update(replicas=1.5),
            "json: cannot unmarshal number 1.5 into Go struct field "
            "DeploymentSpec.spec.replicas of type int32",
        ),
        (
            lambda b: b["spec"]["template"]["spec"]["containers"][0].update(env=[{"name": "A", "value": 1}]),
            "json: cannot unmarshal number into Go struct field "
            "EnvVar.spec.template.spec.containers.env.value of type string",
        ),
        (
            lambda b: b["metadata"].update(labels={"version": 2}),
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
        ),
        (
            lambda b: b["spec"]["template"]["spec"].update(containers={"name": "x"}),
            "json: cannot unmarshal object into Go struct field "
            "PodSpec.spec.template.spec.containers of type []v1.Container",
        ),
        (
            lambda b: b["spec"].update(paused="yes"),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool",
        ),
        (
            lambda b: b["spec"].update(selector=["app"]),
            "json: cannot unmarshal array into Go struct field "
            "DeploymentSpec.spec.selector of type v1.LabelSelector",
        ),
        (
            lambda b: b["spec"]["template"]["spec"]["containers"][0].update(args="--x"),
            "json: cannot unmarshal string into Go struct field "
            "Container.spec.template.spec.containers.args of type []string",
        ),
    ],
)
def test_type_mismatches(mutate: Any, message: str) -> None:
    body = deployment()
    mutate(body)
    with pytest.raises(BadRequest) as info:
        validate(body, field_validation="Ignore")
    assert info.value.message == f'Deployment in version "v1" cannot be handled as a Deployment: {message}'


def test_int_or_string_fields() -> None:
    body = deployment(
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}
    )
    assert validate(body) == []
    body = deployment(strategy={"rollingUpdate": {"maxSurge": True}})
    with pytest.raises(BadRequest, match=re.escape("of type intstr.IntOrString")):
        validate(body)


def test_quantities_accept_numbers_and_are_stringified() -> None:
    resources = {"limits": {"cpu": 1, "memory": "128Mi"}, "requests": {"cpu": 0.5, "memory": 2000}}
    body = pod({"name": "c", "image": "x", "resources": resources})
    assert validate(body) == []
    assert body["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1", "memory": "128Mi"},
        "requests": {"cpu": "500m", "memory": "2k"},
    }
    quota: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q"},
        "spec": {"hard": {"pods": 10}},
    }
    validate(quota)
    assert quota["spec"]["hard"] == {"pods": "10"}
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": 1073741824}}},
    }
    validate(claim)
    assert claim["spec"]["resources"]["requests"]["storage"] == "1073741824"
    limits: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "l"},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": 1},
                    "defaultRequest": {"cpu": 0.1},
                    "max": {"cpu": 2},
                }
            ]
        },
    }
    validate(limits)
    assert limits["spec"]["limits"][0]["defaultRequest"] == {"cpu": "100m"}


def test_malformed_quantity_is_refused() -> None:
    body = pod({"name": "c", "image": "x", "resources": {"limits": {"cpu": "lots"}}})
    with pytest.raises(BadRequest, match="quantities must match the regular expression"):
        validate(body)


def test_ordinary_string_maps_refuse_numbers() -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"port": 8080}}
    with pytest.raises(BadRequest, match=re.escape("ConfigMap.data of type string")):
        validate(body)


def test_object_fields_accept_anything_and_times_parse() -> None:
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "kind": "Widget"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "default": {"size": 3}, "items": [1, "x"]}
                            },
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    assert validate(crd) == []
    crd["metadata"]["creationTimestamp"] = "yesterday"
    with pytest.raises(BadRequest, match='parsing time "yesterday"'):
        validate(crd)


def test_secret_data_must_be_base64() -> None:
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "not base64!"},
    }
    with pytest.raises(BadRequest, match="illegal base64 data at input byte 3"):
        validate(secret)
    secret["data"] = {"password": "aHVudGVyMg=="}
    assert validate(secret) == []


# ---------------------------------------------------------------------------
# Required fields and message format


def test_required_fields_and_selector_mismatch_message() -> None:
    body = deployment()
    del body["spec"]["selector"]
    body["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    err = invalid(body)
    assert err.code == 422
    assert err.message == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, '
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
        "`selector` does not match template `labels`]"
    )
    assert err.causes == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"},
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: map[string]string{"app":"x"}: '
            "`selector` does not match template `labels`",
            "field": "spec.template.metadata.labels",
        },
    ]
    assert (err.name, err.kind, err.group) == ("web", "Deployment", "apps")


def test_single_error_has_no_brackets_and_core_kinds_no_group() -> None:
    body = pod({"name": "c"})
    err = invalid(body)
    assert err.message == 'Pod "p" is invalid: spec.containers[0].image: Required value'
    assert err.group == ""


def test_schema_required_fields() -> None:
    body = pod({"image": "x", "env": [{"value": "v"}], "ports": [{"name": "http"}]})
    err = invalid(body)
    assert {
        ("spec.containers[0].name", "FieldValueRequired"),
        ("spec.containers[0].env[0].name", "FieldValueRequired"),
        ("spec.containers[0].ports[0].containerPort", "FieldValueRequired"),
    } <= causes(err)
    binding: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "rb"},
        "subjects": [{"kind": "User"}],
    }
    assert causes(invalid(binding)) == {
        ("roleRef", "FieldValueRequired"),
        ("subjects[0].name", "FieldValueRequired"),
    }


def test_status_is_not_checked_for_required_fields() -> None:
    body = deployment()
    body["status"] = {"conditions": [{"message": "no type or status"}]}
    assert validate(body) == []


# ---------------------------------------------------------------------------
# Names and labels


def test_name_required_unless_generate_name() -> None:
    body = pod()
    del body["metadata"]["name"]
    err = invalid(body)
    assert err.message == 'Pod "" is invalid: metadata.name: Required value: name or generateName is required'
    body["metadata"]["generateName"] = "web-"
    assert validate(body) == []


def test_subdomain_names() -> None:
    err = invalid(pod(name="Web_1"))
    assert err.message == (
        'Pod "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must '
        "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )
    assert validate(pod(name="web.v1-2")) == []
    assert causes(invalid(pod(name="a" * 254))) == {("metadata.name", "FieldValueInvalid")}


def test_label_names_for_namespaces_and_services() -> None:
    namespace: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team.a"}}
    assert "a lowercase RFC 1123 label must consist of" in invalid(namespace).message
    service: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "1web"},
        "spec": {"ports": [{"port": 80}]},
    }
    assert "a DNS-1035 label must consist of" in invalid(service).message
    service["metadata"]["name"] = "web"
    assert validate(service) == []


def test_rbac_names_allow_colons() -> None:
    role: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:controller:web"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    assert validate(role) == []
    role["metadata"]["name"] = "a/b"
    assert "may not contain '/'" in invalid(role).message


def test_label_keys_and_values() -> None:
    body = pod()
    body["metadata"]["labels"] = {
        "app": "web",
        "bad key": "x",
        "example.com/ok": "bad value!",
        "tier": "a" * 64,
    }
    err = invalid(body)
    messages = [c["message"] for c in err.causes]
    assert all(c["field"] == "metadata.labels" for c in err.causes)
    assert any(
        m.startswith('Invalid value: "bad key": name part must consist of alphanumeric') for m in messages
    )
    assert any(
        m.startswith('Invalid value: "bad value!": a valid label must be an empty string') for m in messages
    )
    assert any("must be no more than 63 characters" in m for m in messages)
    body["metadata"]["labels"] = {"app.kubernetes.io/name": "web", "empty": ""}
    assert validate(body) == []


def test_system_kinds_without_names() -> None:
    review: dict[str, Any] = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}},
    }
    assert validate(review) == []
    options: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Foreground",
        "junk": 1,
    }
    assert validate(options, field_validation="Warn") == ['unknown field "junk"']


# ---------------------------------------------------------------------------
# Workloads


def test_replicas_must_not_be_negative() -> None:
    for kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        body = deployment(replicas=-1)
        body["kind"] = kind
        err = invalid(body)
        assert err.message == f'{kind}.apps "web" is invalid: spec.replicas: Invalid value: -1: ' + (
            "must be greater than or equal to 0"
        )


def test_selector_must_match_template_for_every_workload() -> None:
    for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        body = deployment(selector={"matchLabels": {"app": "other"}})
        body["kind"] = kind
        if kind == "DaemonSet":
            del body["spec"]["replicas"]
        assert causes(invalid(body)) == {("spec.template.metadata.labels", "FieldValueInvalid")}


def test_selector_expressions() -> None:
    expr = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}
    assert validate(deployment(selector=expr)) == []
    expr = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
    assert causes(invalid(deployment(selector=expr))) == {
        ("spec.template.metadata.labels", "FieldValueInvalid")
    }
    expr = {"matchExpressions": [{"key": "app", "operator": "Is"}]}
    assert ("spec.selector.matchExpressions[0].operator", "FieldValueInvalid") in causes(
        invalid(deployment(selector=expr))
    )


def test_empty_selector_is_invalid() -> None:
    err = invalid(deployment(selector={}))
    assert "spec.selector: Invalid value: " in err.message
    assert "empty selector is invalid for deployment" in err.message


def test_containers_required_unique_and_with_image() -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["containers"] = []
    assert causes(invalid(body)) == {("spec.template.spec.containers", "FieldValueRequired")}
    body = pod(
        {"name": "a", "image": "x"}, {"name": "a", "image": "y"}, {"name": "Bad", "image": "z"}, {"name": "b"}
    )
    err = invalid(body)
    assert causes(err) == {
        ("spec.containers[1].name", "FieldValueDuplicate"),
        ("spec.containers[2].name", "FieldValueInvalid"),
        ("spec.containers[3].image", "FieldValueRequired"),
    }
    assert 'spec.containers[1].name: Duplicate value: "a"' in err.message


def test_init_container_names_share_the_namespace() -> None:
    body = pod({"name": "a", "image": "x"})
    body["spec"]["initContainers"] = [{"name": "a", "image": "y"}]
    assert causes(invalid(body)) == {("spec.containers[0].name", "FieldValueDuplicate")}


def test_container_ports() -> None:
    ports = [
        {"containerPort": 0},
        {"containerPort": 70000},
        {"containerPort": 80, "protocol": "tcp"},
        {"containerPort": 81, "protocol": "UDP", "hostPort": 8081, "name": "metrics"},
    ]
    err = invalid(pod({"name": "c", "image": "x", "ports": ports}))
    assert causes(err) == {
        ("spec.containers[0].ports[0].containerPort", "FieldValueRequired"),
        ("spec.containers[0].ports[1].containerPort", "FieldValueInvalid"),
        ("spec.containers[0].ports[2].protocol", "FieldValueNotSupported"),
    }
    assert (
        "spec.containers[0].ports[1].containerPort: Invalid value: 70000: "
        "must be between 1 and 65535, inclusive" in (err.message)
    )
    assert 'Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"' in err.message


def test_volume_mounts_must_name_volumes() -> None:
    container: dict[str, Any] = {
        "name": "c",
        "image": "x",
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    assert causes(invalid(pod(container))) == {
        ("spec.containers[0].volumeMounts[0].name", "FieldValueNotFound")
    }
    statefulset = deployment(serviceName="web", volumeClaimTemplates=[{"metadata": {"name": "data"}}])
    statefulset["kind"] = "StatefulSet"
    statefulset["spec"]["template"]["spec"]["containers"] = [container]
    assert validate(statefulset) == []


def test_requests_may_not_exceed_limits() -> None:
    resources = {"limits": {"cpu": "500m"}, "requests": {"cpu": 1}}
    err = invalid(pod({"name": "c", "image": "x", "resources": resources}))
    assert err.message == (
        'Pod "p" is invalid: spec.containers[0].resources.requests: Invalid value: "1": '
        "must be less than or equal to cpu limit of 500m"
    )


def test_deployment_strategy_and_template_restart_policy() -> None:
    body = deployment(
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}
    )
    assert causes(invalid(body)) == {("spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid")}
    body = deployment()
    body["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert causes(invalid(body)) == {("spec.template.spec.restartPolicy", "FieldValueNotSupported")}


def test_jobs_and_cronjobs() -> None:
    job: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "x"}]}}
        },
    }
    assert causes(invalid(job)) == {("spec.template.spec.restartPolicy", "FieldValueNotSupported")}
    job["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert validate(job) == []
    cron: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"schedule": "every minute", "jobTemplate": {"spec": job["spec"]}},
    }
    err = invalid(cron)
    assert err.message == (
        'CronJob.batch "c" is invalid: spec.schedule: Invalid value: "every minute": '
        "expected exactly 5 fields, found 2: every minute"
    )
    cron["spec"]["schedule"] = "*/5 * * * *"
    assert validate(cron) == []
    cron["spec"]["schedule"] = "@hourly"
    assert validate(cron) == []


def job(**pod_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}], **pod_spec}}},
    }


def cronjob(job_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job_spec}},
    }


def test_job_restart_policy_is_required() -> None:
    err = invalid(job())
    assert err.message == (
        'Job.batch "j" is invalid: spec.template.spec.restartPolicy: '
        'Required value: valid values: "OnFailure", "Never"'
    )
    assert causes(err) == {("spec.template.spec.restartPolicy", "FieldValueRequired")}
    assert causes(invalid(job(restartPolicy=""))) == {("spec.template.spec.restartPolicy", "FieldValueRequired")}
    no_pod_spec = job()
    del no_pod_spec["spec"]["template"]["spec"]
    assert causes(invalid(no_pod_spec)) == {("spec.template.spec.restartPolicy", "FieldValueRequired")}
    err = invalid(cronjob(job()["spec"]))
    assert err.message == (
        'CronJob.batch "c" is invalid: spec.jobTemplate.spec.template.spec.restartPolicy: '
        'Required value: valid values: "OnFailure", "Never"'
    )
    assert causes(err) == {("spec.jobTemplate.spec.template.spec.restartPolicy", "FieldValueRequired")}


def test_job_restart_policy_must_be_on_failure_or_never() -> None:
    err = invalid(job(restartPolicy="Always"))
    assert err.message == (
        'Job.batch "j" is invalid: spec.template.spec.restartPolicy: '
        'Unsupported value: "Always": supported values: "OnFailure", "Never"'
    )
    assert causes(err) == {("spec.template.spec.restartPolicy", "FieldValueNotSupported")}
    err = invalid(cronjob(job(restartPolicy="Sometimes")["spec"]))
    assert err.message == (
        'CronJob.batch "c" is invalid: spec.jobTemplate.spec.template.spec.restartPolicy: '
        'Unsupported value: "Sometimes": supported values: "OnFailure", "Never"'
    )
    for policy in ("OnFailure", "Never"):
        assert validate(job(restartPolicy=policy)) == []
        assert validate(cronjob(job(restartPolicy=policy)["spec"])) == []


# ---------------------------------------------------------------------------
# Services, ConfigMaps, Secrets


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


def test_service_rules() -> None:
    assert causes(invalid(service())) == {("spec.ports", "FieldValueRequired")}
    assert validate(service(type="ExternalName", externalName="db.example.com")) == []
    assert validate(service(ports=[{"port": 80, "targetPort": "http"}], selector={"app": "web"})) == []
    err = invalid(service(type="Magic", ports=[{"port": 0}]))
    assert causes(err) == {
        ("spec.type", "FieldValueNotSupported"),
        ("spec.ports[0].port", "FieldValueInvalid"),
    }
    assert (
        'spec.type: Unsupported value: "Magic": supported values: '
        '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' in err.message
    )
    err = invalid(service(ports=[{"port": 80}, {"port": 443, "protocol": "HTTP"}]))
    assert causes(err) == {
        ("spec.ports[0].name", "FieldValueRequired"),
        ("spec.ports[1].name", "FieldValueRequired"),
        ("spec.ports[1].protocol", "FieldValueNotSupported"),
    }
    err = invalid(service(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81}]))
    assert causes(err) == {("spec.ports[1].name", "FieldValueDuplicate")}


def test_configmap_and_secret_keys() -> None:
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"ok.key_1": "v"},
    }
    assert validate(config) == []
    config["data"]["bad key"] = "v"
    err = invalid(config)
    assert err.message == (
        'ConfigMap "c" is invalid: data[bad key]: Invalid value: "bad key": '
        "a valid config key must consist of "
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
        "regex used for validation is '[-._a-zA-Z0-9]+')"
    )
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"a/b": "x"},
    }
    assert causes(invalid(secret)) == {("stringData[a/b]", "FieldValueInvalid")}
    tls: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "t"},
        "type": "kubernetes.io/tls",
        "data": {},
    }
    assert causes(invalid(tls)) == {
        ("data[tls.crt]", "FieldValueRequired"),
        ("data[tls.key]", "FieldValueRequired"),
    }


# ---------------------------------------------------------------------------
# Immutable fields on update


def test_workload_selector_is_immutable() -> None:
    for kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        old = deployment()
        new = deployment(selector={"matchLabels": {"app": "web", "tier": "x"}})
        new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
        old["kind"] = new["kind"] = kind
        if kind == "DaemonSet":
            del old["spec"]["replicas"], new["spec"]["replicas"]
        err = invalid(new, old=old)
        assert causes(err) == {("spec.selector", "FieldValueInvalid")}
        assert err.message.endswith(": field is immutable")
    assert validate(deployment(replicas=5), old=deployment()) == []


def test_job_selector_and_template_are_immutable() -> None:
    spec = {
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
        "template": {
            "metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u1"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]},
        },
    }
    old: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": spec}
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "y"
    assert causes(invalid(new, old=old)) == {("spec.template", "FieldValueInvalid")}
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["x"] = "y"
    assert ("spec.selector", "FieldValueInvalid") in causes(invalid(new, old=old))
    new = copy.deepcopy(old)
    new["spec"]["parallelism"] = 3
    assert validate(new, old=old) == []


def test_service_cluster_ip_is_immutable() -> None:
    old = service(ports=[{"port": 80}], clusterIP="10.96.0.10")
    new = service(ports=[{"port": 80}], clusterIP="10.96.0.11")
    err = invalid(new, old=old)
    assert (
        err.message
        == 'Service "web" is invalid: spec.clusterIP: Invalid value: "10.96.0.11": field is immutable'
    )
    assert validate(service(ports=[{"port": 8080}], clusterIP="10.96.0.10"), old=old) == []
    assert validate(service(ports=[{"port": 8080}]), old=old) == []


def test_pvc_spec_is_immutable_except_requests() -> None:
    old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    grown = copy.deepcopy(old)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert validate(grown, old=old) == []
    changed = copy.deepcopy(old)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    err = invalid(changed, old=old)
    assert causes(err) == {("spec", "FieldValueForbidden")}
    assert "spec is immutable after creation except resources.requests" in err.message


def test_immutable_configmaps_and_secrets() -> None:
    old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1"},
        "immutable": True,
    }
    new = copy.deepcopy(old)
    new["data"]["a"] = "2"
    err = invalid(new, old=old)
    assert (
        err.message == 'ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    new = copy.deepcopy(old)
    new["immutable"] = False
    assert causes(invalid(new, old=old)) == {("immutable", "FieldValueForbidden")}
    secret_old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": "MQ=="},
    }
    secret_new = copy.deepcopy(secret_old)
    secret_new["data"]["a"] = "Mg=="
    assert validate(secret_new, old=secret_old) == []
    secret_old["immutable"] = secret_new["immutable"] = True
    assert causes(invalid(secret_new, old=secret_old)) == {("data", "FieldValueForbidden")}


def test_rolebinding_role_ref_is_immutable() -> None:
    old: dict[str, Any] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "rb"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}],
    }
    new = copy.deepcopy(old)
    new["roleRef"]["name"] = "b"
    assert causes(invalid(new, old=old)) == {("roleRef", "FieldValueInvalid")}


# ---------------------------------------------------------------------------
# Schema file and performance


def test_kind_table_covers_the_important_kinds() -> None:
    sch = schema()
    expected = {
        ("v1", "Pod"): "V1Pod",
        ("v1", "Event"): "CoreV1Event",
        ("events.k8s.io/v1", "Event"): "EventsV1Event",
        ("apps/v1", "Deployment"): "V1Deployment",
        ("batch/v1", "CronJob"): "V1CronJob",
        ("autoscaling/v1", "HorizontalPodAutoscaler"): "V1HorizontalPodAutoscaler",
        ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
        ("autoscaling/v1", "Scale"): "V1Scale",
        ("policy/v1", "Eviction"): "V1Eviction",
        ("networking.k8s.io/v1", "Ingress"): "V1Ingress",
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
        ("storage.k8s.io/v1", "StorageClass"): "V1StorageClass",
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "V1SelfSubjectAccessReview",
        ("meta/v1", "DeleteOptions"): "V1DeleteOptions",
    }
    for (api_version, kind), model in expected.items():
        assert sch.lookup(api_version, kind) == model


def test_schema_file_is_fresh() -> None:
    pytest.importorskip("kubernetes")
    spec = importlib.util.spec_from_file_location("gen_k8s_schema", ROOT / "scripts" / "gen_k8s_schema.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert SCHEMA_PATH.read_text(encoding="utf-8") == module.generate(), (
        "sandbox/data/k8s_schema.json is stale: run .venv/bin/python scripts/gen_k8s_schema.py"
    )


def test_validation_is_fast() -> None:
    validate(deployment())  # load the schema
    bodies = [deployment() for _ in range(200)]
    start = time.perf_counter()
    for body in bodies:
        validate(body)
    per_deployment = (time.perf_counter() - start) / len(bodies)
    assert per_deployment < 0.001
    pods = [
        pod({"name": "c", "image": "x", "ports": [{"containerPort": 80}]}, name=f"p{i}") for i in range(1000)
    ]
    start = time.perf_counter()
    for body in pods:
        validate(body)
    assert time.perf_counter() - start < 0.3


def test_quantity_strings_are_stored_canonical() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
           "spec": {"containers": [{"name": "c", "image": "x", "resources": {
               "requests": {"cpu": "0.25", "memory": "1.5Gi"}, "limits": {"cpu": "1000m", "memory": "2e9"}}}]}}
    validate(pod, field_validation="Strict")
    resources = pod["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "250m", "memory": "1536Mi"}, "limits": {"cpu": "1", "memory": "2e9"}}
