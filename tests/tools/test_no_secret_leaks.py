"""No Secret value ever leaves: known values are planted (a Secret made with kubectl, Helm
values given with --set, a Secret in an applied manifest, an env var named like a token),
every tool that could show them is run through the executor, and the values are searched
for — in the outcomes the model and the front ends get, in the audit database's raw files,
and in every log record written meanwhile."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tools.catalog  # noqa: F401  (registration)
from sandbox.control import Sandbox
from tests.tools.conftest import CHART, Kubectl
from tools import policy as policies
from tools.audit import AuditStore
from tools.cluster import Cluster
from tools.context import ToolContext
from tools.executor import Executor, Outcome
from tools.guard import Caller

PLANTED = {
    "kubectl": "kubectl-PLANTED-8f1d2c",
    "helm": "helm-PLANTED-4b7e91",
    "manifest": "manifest-PLANTED-a3c55d",
    "env": "env-PLANTED-93e0aa",
}
NS = "leaks"


def forms(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode()]


@pytest.fixture(scope="module")
def executor(cluster: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Executor, Path]]:
    state = tmp_path_factory.mktemp("leaks")
    ctx = ToolContext(Cluster(kubeconfig=cluster.kubeconfig))
    store = AuditStore(f"sqlite:///{state / 'kai.db'}")
    running = Executor(ctx, policies.parse("mode: auto\n"), store)
    yield running, state
    running.close()
    store.close()
    ctx.cluster.close()


def run(executor: Executor, tool: str, **arguments: Any) -> Outcome:
    outcome = asyncio.run(executor.call(tool, arguments, Caller("repl:local")))
    assert outcome.ok, (tool, outcome.text)
    return outcome


def test_planted_secrets_appear_nowhere(executor: tuple[Executor, Path], kc: Kubectl,
                                        caplog: pytest.LogCaptureFixture) -> None:
    kai, state = executor
    caplog.set_level(logging.DEBUG)
    kc("create", "namespace", NS)
    kc("create", "secret", "generic", "planted", "-n", NS, f"--from-literal=password={PLANTED['kubectl']}")
    small = ["frontend.service.type=ClusterIP", "frontend.resources.requests.cpu=10m",
             "backend.resources.requests.cpu=10m"]
    outcomes = [
        run(kai, "helm_install", chart=str(CHART), release="vault", namespace=NS, wait=True,
            set=[f"secrets.values.GEMINI_API_KEY={PLANTED['helm']}", *small]),
        run(kai, "helm_upgrade", release="vault", namespace=NS, set=["backend.replicaCount=1"], wait=False),
        run(kai, "apply_manifest", namespace=NS, manifest=(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n"
            f"stringData:\n  token: {PLANTED['manifest']}\n")),
        run(kai, "set_env", name="todo-backend", namespace=NS, env={"API_TOKEN": PLANTED["env"]}),
    ]
    helm_secret = next(s["metadata"]["name"] for s in kc.json("get", "secrets", "-n", NS)["items"]
                       if s["metadata"]["name"].startswith("sh.helm.release"))
    for name in ("planted", "applied", "vault-todo-app-secrets", helm_secret):
        outcomes += [run(kai, "get_resource", kind="secret", name=name, namespace=NS, output="yaml"),
                     run(kai, "get_resource", kind="secret", name=name, namespace=NS),
                     run(kai, "describe_resource", kind="secret", name=name, namespace=NS)]
    outcomes += [
        run(kai, "list_resources", kind="secrets", namespace=NS),
        run(kai, "get_resource", kind="deployment", name="todo-backend", namespace=NS, output="yaml"),
        run(kai, "describe_resource", kind="deployment", name="todo-backend", namespace=NS),
        run(kai, "helm_get_values", release="vault", namespace=NS),
        run(kai, "helm_get_values", release="vault", namespace=NS, all_values=True),
        run(kai, "helm_status", release="vault", namespace=NS),
        run(kai, "helm_history", release="vault", namespace=NS),
        run(kai, "check_health", namespace=NS),
        run(kai, "diagnose", namespace=NS),
        run(kai, "get_events", namespace=NS),
        run(kai, "get_logs", name="todo-backend", namespace=NS),
        run(kai, "rollout_history", name="todo-backend", namespace=NS),
    ]
    # the values really are in the cluster: the search below would find them if they leaked
    stored = kc.json("get", "secret", "planted", "-n", NS)["data"]["password"]
    assert base64.b64decode(stored).decode() == PLANTED["kubectl"]
    assert PLANTED["env"] in kc("get", "deploy", "todo-backend", "-n", NS, "-o", "yaml")

    texts = [o.model_dump_json() for o in outcomes]
    database = b"".join(p.read_bytes() for p in state.iterdir() if p.name.startswith("kai.db"))
    rows = [r.model_dump_json() for r in kai.store.records(limit=1000)]
    logs = [record.getMessage() for record in caplog.records]
    assert len(rows) == len(outcomes)
    for value in PLANTED.values():
        for form in forms(value):
            assert not [t for t in texts if form in t], f"{form} in a tool outcome"
            assert form.encode() not in database, f"{form} in the audit database"
            assert not [r for r in rows if form in r], f"{form} in an audit row"
            assert not [line for line in logs if form in line], f"{form} in a log line"
    kc("delete", "namespace", NS, "--wait=false")


def test_list_items_without_kind_are_still_redacted() -> None:
    """A real API server leaves kind out of list items (the sandbox sends it): redaction must
    not depend on it."""
    from tools.redact import redact_object

    listed = {"kind": "SecretList", "items": [{"metadata": {"name": "a"}, "data": {"k": forms(PLANTED["kubectl"])[1]}}]}
    assert PLANTED["kubectl"] not in str(redact_object(listed)) and forms(PLANTED["kubectl"])[1] not in str(
        redact_object(listed))
