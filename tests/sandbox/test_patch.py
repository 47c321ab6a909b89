"""Unit tests of sandbox.patch against kube-apiserver's patch semantics.

Strategic merge patch follows k8s.io/apimachinery/pkg/util/strategicpatch (mergeMap,
mergeSlice, normalizeElementOrder); JSON merge patch follows RFC 7386; JSON patch
failures are 422 as kube-apiserver answers them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sandbox.errors import BadRequest, Invalid, UnsupportedMedia
from sandbox.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    apply_patch,
    merge_patch,
    server_side_apply,
    strategic_merge,
)

Obj = dict[str, Any]


def pod(**spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "labels": {"app": "web"}},
            "spec": spec}


def smp(current: Obj, patch: Obj, kind: str = "Pod") -> Obj:
    return apply_patch(kind, current, STRATEGIC_PATCH, patch)


# --- strategic merge patch: merge keys -------------------------------------------

def test_smp_merges_containers_by_name_keeping_unmentioned_fields() -> None:
    current = pod(containers=[
        {"name": "app", "image": "nginx:1", "args": ["-v"], "imagePullPolicy": "Always"},
        {"name": "side", "image": "busybox"},
    ])
    out = smp(current, {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}})
    assert out["spec"]["containers"] == [
        {"name": "app", "image": "nginx:2", "args": ["-v"], "imagePullPolicy": "Always"},
        {"name": "side", "image": "busybox"},
    ]
    assert out["metadata"] == current["metadata"]


def test_smp_does_not_modify_its_input() -> None:
    current = pod(containers=[{"name": "app", "image": "nginx:1"}])
    before = copy.deepcopy(current)
    patch = {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}
    patch_before = copy.deepcopy(patch)
    smp(current, patch)
    assert current == before
    assert patch == patch_before


def test_smp_new_list_item_goes_before_the_live_items() -> None:
    # mergeSortedSlice: items the live list lacks come first (kubectl patch adding a
    # container shows it first in `kubectl get -o yaml`).
    current = pod(containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])
    out = smp(current, {"spec": {"containers": [{"name": "c", "image": "z"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["c", "a", "b"]


def test_smp_patched_items_keep_their_live_position() -> None:
    current = pod(containers=[{"name": n, "image": n} for n in "abc"])
    out = smp(current, {"spec": {"containers": [{"name": "b", "image": "B"}]}})
    assert [(c["name"], c["image"]) for c in out["spec"]["containers"]] == [
        ("a", "a"), ("b", "B"), ("c", "c")]


def test_smp_patch_order_interleaved_with_live_order() -> None:
    # Patch items sorted by the patch ([c, a]); the server-only b goes in front of a patch
    # item that comes after it in the live list (mergeSortedSlice): b before c, then a.
    current = pod(containers=[{"name": n, "image": n} for n in "abc"])
    out = smp(current, {"spec": {"containers": [{"name": "c", "image": "C"}, {"name": "a", "image": "A"}]}})
    assert [(c["name"], c["image"]) for c in out["spec"]["containers"]] == [
        ("b", "b"), ("c", "C"), ("a", "A")]


def test_smp_env_merged_by_name() -> None:
    current = pod(containers=[{"name": "app", "env": [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])
    out = smp(current, {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]


def test_smp_container_ports_merged_by_container_port() -> None:
    current = pod(containers=[{"name": "app", "ports": [
        {"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}]}])
    out = smp(current, {"spec": {"containers": [{"name": "app", "ports": [
        {"containerPort": 80, "protocol": "TCP"}]}]}})
    assert out["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443, "name": "https"}]


def test_smp_service_ports_merged_by_port() -> None:
    svc = {"kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080, "name": "http"},
                              {"port": 443, "targetPort": 8443, "name": "https"}]}}
    out = smp(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, kind="Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090, "name": "http"},
                                    {"port": 443, "targetPort": 8443, "name": "https"}]
    # A pod's ports are keyed by containerPort, so a "port" key does not match there.
    assert strategic_merge({"ports": [{"port": 80, "containerPort": 1}]},
                           {"ports": [{"port": 80, "containerPort": 2}]},
                           ports_key="containerPort")["ports"] == [
        {"port": 80, "containerPort": 2}, {"port": 80, "containerPort": 1}]


def test_smp_volume_mounts_merged_by_mount_path() -> None:
    current = pod(containers=[{"name": "app", "volumeMounts": [
        {"name": "data", "mountPath": "/data"}, {"name": "cfg", "mountPath": "/etc/cfg"}]}])
    out = smp(current, {"spec": {"containers": [{"name": "app", "volumeMounts": [
        {"name": "data2", "mountPath": "/data", "readOnly": True}]}]}})
    assert out["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "data2", "mountPath": "/data", "readOnly": True}, {"name": "cfg", "mountPath": "/etc/cfg"}]


def test_smp_volumes_merged_by_name() -> None:
    current = pod(volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "configMap": {"name": "cm"}}])
    out = smp(current, {"spec": {"volumes": [{"name": "b", "configMap": {"optional": True}}]}})
    assert out["spec"]["volumes"] == [{"name": "a", "emptyDir": {}},
                                      {"name": "b", "configMap": {"name": "cm", "optional": True}}]


def test_smp_lists_without_merge_strategy_are_replaced() -> None:
    current = pod(containers=[{"name": "app", "args": ["a", "b"], "command": ["sh"]}],
                  tolerations=[{"key": "k", "operator": "Exists"}])
    out = smp(current, {"spec": {"containers": [{"name": "app", "args": ["c"]}],
                                 "tolerations": [{"key": "other", "operator": "Exists"}]}})
    assert out["spec"]["containers"][0] == {"name": "app", "args": ["c"], "command": ["sh"]}
    assert out["spec"]["tolerations"] == [{"key": "other", "operator": "Exists"}]


def test_smp_maps_merge_and_scalars_replace() -> None:
    current = pod(nodeSelector={"disk": "ssd", "zone": "a"}, restartPolicy="Always")
    out = smp(current, {"metadata": {"labels": {"tier": "fe"}},
                        "spec": {"nodeSelector": {"zone": "b"}, "restartPolicy": "Never"}})
    assert out["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert out["spec"]["nodeSelector"] == {"disk": "ssd", "zone": "b"}
    assert out["spec"]["restartPolicy"] == "Never"


def test_smp_null_deletes_a_key() -> None:
    current = pod(nodeSelector={"disk": "ssd", "zone": "a"}, hostname="h")
    out = smp(current, {"metadata": {"labels": {"app": None}},
                        "spec": {"nodeSelector": {"zone": None}, "hostname": None}})
    assert out["metadata"]["labels"] == {}
    assert out["spec"] == {"nodeSelector": {"disk": "ssd"}}


def test_smp_null_for_an_absent_key_adds_nothing() -> None:
    out = smp(pod(), {"spec": {"hostname": None, "nodeSelector": {"zone": None}}})
    assert "hostname" not in out["spec"]
    assert out["spec"]["nodeSelector"] == {}


def test_smp_merge_key_list_added_where_absent() -> None:
    out = smp(pod(containers=[{"name": "app"}]),
              {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}})
    assert out["spec"]["containers"] == [{"name": "app", "env": [{"name": "A", "value": "1"}]}]


# --- strategic merge patch: directives -------------------------------------------

def test_smp_patch_delete_on_list_element() -> None:
    current = pod(containers=[{"name": "app", "env": [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]}])
    out = smp(current, {"spec": {"containers": [{"name": "app", "env": [
        {"name": "B", "$patch": "delete"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]


def test_smp_patch_delete_whole_container() -> None:
    current = pod(containers=[{"name": "a"}, {"name": "b"}])
    out = smp(current, {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}})
    assert out["spec"]["containers"] == [{"name": "b"}]


def test_smp_patch_delete_element_without_merge_key_is_rejected() -> None:
    with pytest.raises(BadRequest):
        smp(pod(containers=[{"name": "a"}]), {"spec": {"containers": [{"$patch": "delete"}]}})


def test_smp_patch_replace_on_a_map() -> None:
    current = pod(nodeSelector={"disk": "ssd", "zone": "a"})
    out = smp(current, {"spec": {"nodeSelector": {"$patch": "replace", "gpu": "yes"}}})
    assert out["spec"]["nodeSelector"] == {"gpu": "yes"}


def test_smp_patch_delete_on_a_map_empties_it() -> None:
    current = pod(nodeSelector={"disk": "ssd"})
    out = smp(current, {"spec": {"nodeSelector": {"$patch": "delete"}}})
    assert out["spec"]["nodeSelector"] == {}


def test_smp_patch_replace_on_a_list() -> None:
    current = pod(containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])
    out = smp(current, {"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "z"}]}})
    assert out["spec"]["containers"] == [{"name": "c", "image": "z"}]


def test_smp_unknown_directive_is_rejected() -> None:
    with pytest.raises(BadRequest):
        smp(pod(nodeSelector={"a": "b"}), {"spec": {"nodeSelector": {"$patch": "merge"}}})


def test_smp_set_element_order_reorders_containers() -> None:
    current = pod(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "2"},
                              {"name": "c", "image": "3"}])
    out = smp(current, {"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
        "containers": [{"name": "a", "image": "1b"}],
    }})
    assert [(c["name"], c["image"]) for c in out["spec"]["containers"]] == [
        ("c", "3"), ("a", "1b"), ("b", "2")]
    assert "$setElementOrder/containers" not in out["spec"]


def test_smp_set_element_order_without_the_list_in_the_patch() -> None:
    current = pod(containers=[{"name": "a"}, {"name": "b"}])
    out = smp(current, {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}})
    assert out["spec"]["containers"] == [{"name": "b"}, {"name": "a"}]


def test_smp_set_element_order_with_an_added_item() -> None:
    # kubectl apply adding container "c" between a and b.
    current = pod(containers=[{"name": "a"}, {"name": "b"}])
    out = smp(current, {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}, {"name": "b"}],
        "containers": [{"name": "c", "image": "z"}],
    }})
    assert [c["name"] for c in out["spec"]["containers"]] == ["a", "c", "b"]


def test_smp_set_element_order_for_a_primitive_list() -> None:
    current = {"metadata": {"finalizers": ["x", "y", "z"]}}
    out = smp(current, {"metadata": {"$setElementOrder/finalizers": ["z", "y", "x"]}})
    assert out["metadata"]["finalizers"] == ["z", "y", "x"]


def test_smp_delete_from_primitive_list_finalizers() -> None:
    current = {"metadata": {"name": "n", "finalizers": ["a", "b", "c"]}}
    out = smp(current, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "nope"]}})
    assert out["metadata"]["finalizers"] == ["a", "c"]
    assert not any(k.startswith("$") for k in out["metadata"])


def test_smp_finalizers_merge_as_a_set() -> None:
    current = {"metadata": {"finalizers": ["a", "b"]}}
    out = smp(current, {"metadata": {"finalizers": ["b", "c"]}})
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]
    # An item the live list lacks comes first (normalizeElementOrder).
    out = smp(current, {"metadata": {"finalizers": ["c"]}})
    assert out["metadata"]["finalizers"] == ["c", "a", "b"]


def test_smp_retain_keys_clears_unlisted_fields() -> None:
    # Deployment strategy switching from RollingUpdate to Recreate, as kubectl apply sends it.
    current = {"spec": {"strategy": {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}}
    out = smp(current, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
              kind="Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_keeps_listed_live_fields() -> None:
    current = {"vol": {"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}}
    out = strategic_merge(current, {"vol": {"$retainKeys": ["name", "hostPath"],
                                            "hostPath": {"type": "Directory"}}})
    assert out["vol"] == {"name": "v", "hostPath": {"path": "/x", "type": "Directory"}}


def test_smp_retain_keys_must_list_every_patched_field() -> None:
    with pytest.raises(Invalid):
        strategic_merge({"s": {"a": 1}}, {"s": {"$retainKeys": ["a"], "b": 2}})
    with pytest.raises(BadRequest):
        strategic_merge({"s": {"a": 1}}, {"s": {"$retainKeys": "a"}})


def test_smp_top_level_patch_replace() -> None:
    out = strategic_merge({"a": 1, "b": {"c": 2}}, {"$patch": "replace", "b": {"d": 3}})
    assert out == {"b": {"d": 3}}


# --- JSON merge patch (RFC 7386) -------------------------------------------------

def test_merge_patch_replaces_lists_wholesale() -> None:
    current = pod(containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])
    out = apply_patch("Pod", current, MERGE_PATCH, {"spec": {"containers": [{"name": "a", "image": "z"}]}})
    assert out["spec"]["containers"] == [{"name": "a", "image": "z"}]


def test_merge_patch_merges_maps_and_null_deletes() -> None:
    current = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}}
    out = merge_patch(current, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": None})
    assert out == {"metadata": {"labels": {"b": "2", "c": "3"}}}
    assert current == {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}}


@pytest.mark.parametrize(("target", "patch", "result"), [
    # RFC 7386 appendix A examples.
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_rfc7386_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


# --- JSON patch (RFC 6902) -------------------------------------------------------

def test_json_patch_test_remove_add() -> None:
    current = pod(containers=[{"name": "a", "image": "x"}])
    out = apply_patch("Pod", current, JSON_PATCH, [
        {"op": "test", "path": "/metadata/labels/app", "value": "web"},
        {"op": "remove", "path": "/metadata/labels/app"},
        {"op": "add", "path": "/metadata/labels/tier", "value": "fe"},
        {"op": "add", "path": "/spec/containers/-", "value": {"name": "b", "image": "y"}},
        {"op": "replace", "path": "/spec/containers/0/image", "value": "x2"},
    ])
    assert out["metadata"]["labels"] == {"tier": "fe"}
    assert out["spec"]["containers"] == [{"name": "a", "image": "x2"}, {"name": "b", "image": "y"}]
    assert current["metadata"]["labels"] == {"app": "web"}


def test_json_patch_escaped_pointer() -> None:
    current = {"metadata": {"annotations": {"example.com/key": "v"}}}
    out = apply_patch("Pod", current, JSON_PATCH, [
        {"op": "replace", "path": "/metadata/annotations/example.com~1key", "value": "w"}])
    assert out["metadata"]["annotations"] == {"example.com/key": "w"}


def test_json_patch_failing_test_op_is_422() -> None:
    with pytest.raises(Invalid):
        apply_patch("Pod", pod(), JSON_PATCH, [
            {"op": "test", "path": "/metadata/labels/app", "value": "db"},
            {"op": "remove", "path": "/metadata/labels/app"},
        ])


@pytest.mark.parametrize("ops", [
    [{"op": "remove", "path": "/metadata/labels/missing"}],
    [{"op": "add", "path": "/spec/missing/deep", "value": 1}],
    [{"op": "replace", "path": "/spec/containers/5", "value": {}}],
    [{"op": "test", "path": "/nope", "value": 1}],
])
def test_json_patch_apply_failures_are_422(ops: list[Obj]) -> None:
    with pytest.raises(Invalid):
        apply_patch("Pod", pod(containers=[]), JSON_PATCH, ops)


@pytest.mark.parametrize("body", [{"op": "add"}, "x", [1], None])
def test_json_patch_body_must_be_a_list_of_operations(body: Any) -> None:
    with pytest.raises(BadRequest):
        apply_patch("Pod", pod(), JSON_PATCH, body)


# --- dispatch --------------------------------------------------------------------

@pytest.mark.parametrize("patch_type", [MERGE_PATCH, STRATEGIC_PATCH])
def test_object_patches_need_an_object_body(patch_type: str) -> None:
    with pytest.raises(BadRequest):
        apply_patch("Pod", pod(), patch_type, [{"op": "add"}])


def test_unknown_patch_type_is_415() -> None:
    with pytest.raises(UnsupportedMedia):
        apply_patch("Pod", pod(), "application/xml", {})
    with pytest.raises(UnsupportedMedia):
        apply_patch("Pod", pod(), APPLY_PATCH, {})  # apply goes through server_side_apply


# --- server-side apply -----------------------------------------------------------

def test_ssa_keeps_server_metadata_and_status_and_replaces_spec_and_labels() -> None:
    current: Obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "42",
                     "creationTimestamp": "2024-01-01T00:00:00Z", "generation": 3,
                     "labels": {"old": "1"}, "annotations": {"keep": "me"}},
        "spec": {"replicas": 3, "paused": True,
                 "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}},
        "status": {"replicas": 3, "readyReplicas": 2},
    }
    applied: Obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"new": "2"}, "uid": "forged", "resourceVersion": "1"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}},
        "status": {"replicas": 99},
    }
    out = server_side_apply(current, applied)
    meta = out["metadata"]
    assert (meta["uid"], meta["resourceVersion"], meta["creationTimestamp"], meta["generation"]) == (
        "u-1", "42", "2024-01-01T00:00:00Z", 3)
    assert meta["labels"] == {"new": "2"}
    assert meta["annotations"] == {"keep": "me"}
    assert out["spec"] == applied["spec"]
    assert out["status"] == {"replicas": 3, "readyReplicas": 2}
    assert current["metadata"]["labels"] == {"old": "1"}
