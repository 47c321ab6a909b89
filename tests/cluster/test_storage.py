"""PersistentVolumeClaims against the sandbox cluster: the default class, dynamic
provisioning, a missing class, resizing, protection and reclaim."""

from __future__ import annotations

import json

from tests.conftest import Kubectl, wait_for


def claim(name: str, size: str = "1Gi", klass: str | None = None) -> str:
    spec: dict[str, object] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if klass is not None:
        spec["storageClassName"] = klass
    return json.dumps({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
                       "spec": spec})


def bound(kc: Kubectl, ns: str, name: str) -> dict[str, object] | None:
    pvc = kc.json("get", "pvc", name, "-n", ns)
    return pvc if pvc.get("status", {}).get("phase") == "Bound" else None


def test_default_class_is_minikubes(kc: Kubectl) -> None:
    sc = kc.json("get", "storageclass", "standard")
    assert sc["provisioner"] == "k8s.io/minikube-hostpath"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc["reclaimPolicy"] == "Delete" and sc["volumeBindingMode"] == "Immediate"
    assert sc["allowVolumeExpansion"] is True


def test_claim_is_provisioned_and_bound(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=claim("data"))
    wait_for(lambda: bound(kc, ns, "data"))
    pvc = kc.json("get", "pvc", "data", "-n", ns)
    uid = pvc["metadata"]["uid"]
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["spec"]["volumeName"] == f"pvc-{uid}"
    assert pvc["status"]["capacity"] == {"storage": "1Gi"}
    annotations = pvc["metadata"]["annotations"]
    assert annotations["pv.kubernetes.io/bind-completed"] == "yes"
    assert annotations["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert annotations["volume.kubernetes.io/storage-provisioner"] == "k8s.io/minikube-hostpath"
    assert pvc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    pv = kc.json("get", "pv", f"pvc-{uid}")
    assert pv["status"]["phase"] == "Bound"
    assert pv["spec"]["claimRef"]["name"] == "data" and pv["spec"]["claimRef"]["uid"] == uid
    assert pv["spec"]["hostPath"]["path"] == f"/tmp/hostpath-provisioner/{ns}/data"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "k8s.io/minikube-hostpath"
    out = kc("get", "pvc", "-n", ns)
    assert "Bound" in out and f"pvc-{uid}" in out and "standard" in out
    wait_for(lambda: "ProvisioningSucceeded" in kc("describe", "pvc", "data", "-n", ns))
    described = kc("describe", "pvc", "data", "-n", ns)
    assert "ExternalProvisioning" in described
    assert f"Successfully provisioned volume pvc-{uid}" in described


def test_missing_class_stays_pending(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=claim("nope", klass="fast"))
    wait_for(lambda: "ProvisioningFailed" in kc("get", "events", "-n", ns))
    assert kc.json("get", "pvc", "nope", "-n", ns)["status"]["phase"] == "Pending"
    described = kc("describe", "pvc", "nope", "-n", ns)
    assert 'storageclass.storage.k8s.io "fast" not found' in described
    assert "Warning" in described


def test_resize_grows_and_never_shrinks(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=claim("grow"))
    wait_for(lambda: bound(kc, ns, "grow"))
    kc("patch", "pvc", "grow", "-n", ns, "-p", '{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}')
    wait_for(lambda: kc.json("get", "pvc", "grow", "-n", ns)["status"]["capacity"]["storage"] == "3Gi")
    pvc = kc.json("get", "pvc", "grow", "-n", ns)
    assert pvc["status"]["allocatedResources"] == {"storage": "3Gi"}
    assert not pvc["status"].get("conditions")
    assert kc.json("get", "pv", pvc["spec"]["volumeName"])["spec"]["capacity"]["storage"] == "3Gi"
    proc = kc.run("patch", "pvc", "grow", "-n", ns, "-p",
                  '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}', check=False)
    assert proc.returncode != 0
    assert ('The PersistentVolumeClaim "grow" is invalid: spec.resources.requests.storage: Forbidden: '
            "field can not be less than status.capacity") in proc.stderr


def test_class_without_expansion_refuses_resize(kc: Kubectl, ns: str) -> None:
    kc("apply", "-f", "-", stdin=json.dumps({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": f"fixed-{ns}"},
        "provisioner": "k8s.io/minikube-hostpath", "reclaimPolicy": "Retain"}))
    kc("apply", "-n", ns, "-f", "-", stdin=claim("fixed", klass=f"fixed-{ns}"))
    wait_for(lambda: bound(kc, ns, "fixed"))
    proc = kc.run("patch", "pvc", "fixed", "-n", ns, "-p",
                  '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}', check=False)
    assert proc.returncode != 0
    assert ('persistentvolumeclaims "fixed" is forbidden: only dynamically provisioned pvc can be resized '
            "and the storageclass that provisions the pvc must support resize") in proc.stderr
    volume = kc.json("get", "pvc", "fixed", "-n", ns)["spec"]["volumeName"]
    kc("delete", "pvc", "fixed", "-n", ns)
    wait_for(lambda: kc.json("get", "pv", volume)["status"]["phase"] == "Released")  # Retain keeps it


def test_claim_in_use_is_protected_then_its_volume_deleted(kc: Kubectl, ns: str) -> None:
    kc("apply", "-n", ns, "-f", "-", stdin=claim("used"))
    wait_for(lambda: bound(kc, ns, "used"))
    volume = kc.json("get", "pvc", "used", "-n", ns)["spec"]["volumeName"]
    kc("apply", "-n", ns, "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
        "spec": {"containers": [{"name": "app", "image": "nginx", "volumeMounts": [
            {"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "used"}}]}}))
    kc("delete", "pvc", "used", "-n", ns, "--wait=false")
    pvc = kc.json("get", "pvc", "used", "-n", ns)
    assert pvc["metadata"]["deletionTimestamp"] and pvc["status"]["phase"] == "Bound"
    kc("delete", "pod", "user", "-n", ns, "--grace-period=0")
    wait_for(lambda: kc.run("get", "pvc", "used", "-n", ns, check=False).returncode != 0)
    wait_for(lambda: kc.run("get", "pv", volume, check=False).returncode != 0)
