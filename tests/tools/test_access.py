"""can_i against the sandbox's RBAC, for kai's own credentials and for an impersonated user,
each answer checked against ``kubectl auth can-i``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tools.access  # noqa: F401  (registers the tool)
from sandbox.control import Sandbox
from tests.conftest import Kubectl
from tests.tools.conftest import read
from tests.tools.recording import RecordingCluster
from tools.context import ToolContext
from tools.errors import InvalidInput
from tools.registry import REGISTRY

NS = "rd-access"
USER = "rd-alice"

RBAC = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: pod-reader, namespace: {NS}}}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments/scale]
  verbs: [update]
  resourceNames: [web]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: alice-reads-pods, namespace: {NS}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {USER}}}
"""




@pytest.fixture(scope="module")
def rbac(cluster: Sandbox, kc: Kubectl) -> Iterator[str]:
    kc("apply", "-f", "-", stdin=RBAC)
    yield NS
    kc("delete", "namespace", NS, "--wait=false")


def kubectl_says(kc: Kubectl, *args: str) -> bool:
    """``kubectl auth can-i``: yes (exit 0) or no (exit 1)."""
    proc = kc.run("auth", "can-i", *args, check=False)
    assert proc.stdout.strip() in ("yes", "no"), proc.stderr
    return proc.stdout.strip() == "yes"


def test_the_tool_documents_every_argument() -> None:
    item = REGISTRY.get("can_i")
    assert item.risk == "read" and set(item.input_model.model_fields) == set(item.args_doc)


def test_own_credentials(ctx: ToolContext, kc: Kubectl, rbac: str) -> None:
    result = read(ctx, "can_i", verb="delete", resource="deploy", namespace=rbac)
    assert result.allowed is kubectl_says(kc, "delete", "deployments.apps", "-n", rbac) is True
    assert result.answer == "yes" and result.user == "kai's own credentials"
    assert result.question == f"delete deployments.apps in namespace {rbac}" and result.reason


@pytest.mark.parametrize(("arguments", "kubectl_args"), [
    ({"verb": "get", "resource": "po"}, ("get", "pods")),
    ({"verb": "list", "resource": "pods"}, ("list", "pods")),
    ({"verb": "delete", "resource": "pod"}, ("delete", "pods")),
    ({"verb": "get", "resource": "pods", "subresource": "log"}, ("get", "pods", "--subresource=log")),
    ({"verb": "create", "resource": "pods", "subresource": "exec"}, ("create", "pods", "--subresource=exec")),
    ({"verb": "update", "resource": "deploy", "name": "web", "subresource": "scale"},
     ("update", "deployments.apps/web", "--subresource=scale")),
    ({"verb": "update", "resource": "deploy", "name": "api", "subresource": "scale"},
     ("update", "deployments.apps/api", "--subresource=scale")),
    ({"verb": "get", "resource": "secrets"}, ("get", "secrets")),
    ({"verb": "list", "resource": "nodes"}, ("list", "nodes")),
])
def test_impersonated_user_matches_kubectl(ctx: ToolContext, kc: Kubectl, rbac: str, arguments: dict[str, Any],
                                           kubectl_args: tuple[str, ...]) -> None:
    result = read(ctx, "can_i", namespace=rbac, as_user=USER, **arguments)
    expected = kubectl_says(kc, *kubectl_args, "-n", rbac, "--as", USER)
    assert result.allowed is expected and result.answer == ("yes" if expected else "no")
    assert result.user == USER
    if expected:
        assert "pod-reader" in result.reason or "alice-reads-pods" in result.reason
    else:
        assert result.reason


def test_answers_differ_by_namespace(ctx: ToolContext, kc: Kubectl, rbac: str, todo: str) -> None:
    here = read(ctx, "can_i", verb="get", resource="pods", namespace=rbac, as_user=USER)
    there = read(ctx, "can_i", verb="get", resource="pods", namespace=todo, as_user=USER)
    assert (here.allowed, there.allowed) == (True, False)
    assert there.allowed is kubectl_says(kc, "get", "pods", "-n", todo, "--as", USER)
    nodes = read(ctx, "can_i", verb="list", resource="no", namespace=rbac, as_user=USER)
    assert nodes.question == "list nodes (cluster-wide)" and not nodes.allowed
    assert ctx.cluster.impersonate is None  # the impersonation stayed on its own connection
    assert read(ctx, "can_i", verb="list", resource="nodes").allowed


@pytest.fixture
def spy(cluster: Sandbox) -> Iterator[ToolContext]:
    context = ToolContext(RecordingCluster(kubeconfig=cluster.kubeconfig))
    yield context
    context.cluster.close()


@pytest.mark.parametrize("arguments", [
    {"verb": "destroy", "resource": "pods"},
    {"verb": "get", "resource": "pods; rm -rf /"},
    {"verb": "get", "resource": "pods", "namespace": "../default"},
    {"verb": "get", "resource": "pods", "name": "a;b"},
    {"verb": "get", "resource": "pods", "name": "../x"},
    {"verb": "get", "resource": "pods", "subresource": "log/../exec"},
    {"verb": "get", "resource": "pods", "as_user": "alice; rm -rf /"},
    {"verb": "get", "resource": "pods", "as_user": ""},
    {"verb": "get"},
])
def test_bad_input_is_refused_before_any_request(spy: ToolContext, arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="invalid arguments for can_i"):
        read(spy, "can_i", **arguments)
    assert isinstance(spy.cluster, RecordingCluster) and spy.cluster.sent == []


def test_unknown_resource(spy: ToolContext) -> None:
    with pytest.raises(InvalidInput, match="unknown kind 'pdos'"):
        read(spy, "can_i", verb="get", resource="pdos")
    assert isinstance(spy.cluster, RecordingCluster)
    assert not any("selfsubjectaccessreviews" in path for _, path, _ in spy.cluster.sent)
