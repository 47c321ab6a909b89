"""The JSON API (/v1/chat, /v1/approvals/ID) with a bearer token, and /healthz, /readyz and
/metrics of a real kai serve."""

from __future__ import annotations

import httpx

from tests.conftest import Kubectl, replicas
from tools.audit import AuditStore

from .slack import BOSS_TOKEN, TOKEN, KaiServer, ResponseUrls, command, sign

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BOSS = {"Authorization": f"Bearer {BOSS_TOKEN}"}


def chat(kai: KaiServer, prompt: str, **extra: str) -> httpx.Response:
    return httpx.post(kai.url + "/v1/chat", json={"prompt": prompt, **extra}, headers=AUTH, timeout=60)


def audit(kai: KaiServer) -> AuditStore:
    return AuditStore(kai.env["KAI_DATABASE_URL"])


def test_chat_reads(kai: KaiServer, namespace: str) -> None:
    response = chat(kai, f"list deployments in {namespace}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done" and "todo-backend" in body["answer"]
    [call] = body["calls"]
    assert call["status"] == "ok" and call["decision"] == "allow"
    row = audit(kai).get(call["audit_id"])
    assert row.caller == "api:ci" and row.source == "api" and row.session == body["session"]


def test_chat_continues_a_session(kai: KaiServer, namespace: str) -> None:
    first = chat(kai, f"list deployments in {namespace}").json()
    again = chat(kai, f"show pods in {namespace}", session=first["session"]).json()
    assert again["session"] == first["session"]
    assert len({r.session for r in audit(kai).records(session=first["session"])}) == 1


def test_write_waits_for_an_approval_then_runs(kai: KaiServer, namespace: str, kc: Kubectl) -> None:
    before = replicas(kc, namespace, "todo-frontend")
    body = chat(kai, f"scale frontend to {before + 1} in {namespace}").json()
    assert body["status"] == "pending", body
    [call] = body["calls"]
    assert call["status"] == "approval_pending" and call["approval_id"]
    approval = call["approval_id"]
    shown = httpx.get(f"{kai.url}/v1/approvals/{approval}", headers=AUTH).json()
    assert shown["status"] == "pending" and shown["requested_by"] == "api:ci" and "kubectl scale" in shown["command"]
    assert replicas(kc, namespace, "todo-frontend") == before
    # api:ci is an operator, not an approver (approver_roles: [admin], self_approve: false)
    refused = httpx.post(f"{kai.url}/v1/approvals/{approval}", json={"approve": True}, headers=AUTH)
    assert refused.status_code == 403 and "may not approve" in refused.json()["message"]
    answered = httpx.post(f"{kai.url}/v1/approvals/{approval}", json={"approve": True}, headers=BOSS, timeout=60)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "ok" and answered.json()["approver"] == "api:boss"
    assert replicas(kc, namespace, "todo-frontend") == before + 1
    row = audit(kai).get(call["audit_id"])
    assert (row.outcome, row.approver, row.approval_id) == ("ok", "api:boss", approval)
    again = httpx.post(f"{kai.url}/v1/approvals/{approval}", json={"approve": False}, headers=BOSS)
    assert again.status_code == 409 and "already approved" in again.json()["message"]


def test_unknown_approval(kai: KaiServer) -> None:
    response = httpx.post(f"{kai.url}/v1/approvals/nope", json={"approve": True}, headers=AUTH)
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_health_ready_metrics(kai: KaiServer, slack: ResponseUrls) -> None:
    assert httpx.get(kai.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(kai.url + "/readyz").json() == {"status": "ready"}
    body = command("show pods", "metrics", slack)
    assert kai.post("/slack/commands", body, sign(body)).status_code == 200
    slack.wait("metrics", 1)
    text = httpx.get(kai.url + "/metrics").text
    assert 'kai_http_requests_total{code="200",route="/slack/commands"}' in text
    assert 'decision="allow",status="ok"' in text
    assert "kai_http_request_seconds_bucket" in text and "kai_queue_depth" in text


def test_sessions_belong_to_their_caller(kai: KaiServer, namespace: str) -> None:
    mine = chat(kai, f"list deployments in {namespace}").json()["session"]
    for session in (mine, "latest"):
        other = httpx.post(kai.url + "/v1/chat", json={"prompt": "what did we talk about?", "session": session},
                           headers=BOSS, timeout=60)
        assert other.status_code == 404 and other.json()["error"] == "not_found", other.text
    assert chat(kai, "show pods", session="latest").json()["session"] == mine
