"""The slash command end to end: `/kai scale backend to 3` is acknowledged within Slack's 3
seconds, the approval message comes to the response URL, a signed click approves it and the
deployment scales in the sandbox; rejections, expiry, approvers the policy does not allow, and
a restart of kai serve between the request and the approval."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from sandbox import control
from tests.conftest import Kubectl, replicas, wait_for
from tools.audit import AuditStore

from .conftest import start_kai
from .slack import BOSS_TOKEN, KaiServer, ResponseUrls, approval_id, button, command, free_port, sign, text_of


def ask(kai: KaiServer, slack: ResponseUrls, text: str, hook: str, **who: str) -> tuple[float, str]:
    body = command(text, hook, slack, **who)
    started = time.monotonic()
    response = kai.post("/slack/commands", body, sign(body))
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return elapsed, response.json()["text"]


def click(kai: KaiServer, slack: ResponseUrls, approval: str, action: str, hook: str, **who: str) -> None:
    body = button(approval, action, hook, slack, **who)
    response = kai.post("/slack/interactions", body, sign(body))
    assert response.status_code == 200, response.text


def request_approval(kai: KaiServer, slack: ResponseUrls, namespace: str, count: int, hook: str) -> str:
    elapsed, ack = ask(kai, slack, f"scale backend to {count} in {namespace}", hook)
    assert elapsed < 3 and "Working on it" in ack
    answer, request = slack.wait(hook, 2)
    assert "waits for approval" in text_of(answer)
    assert request["response_type"] == "in_channel" and "Approval needed" in text_of(request)
    assert "kubectl scale" in text_of(request) and f"--replicas={count}" in text_of(request)
    return approval_id(request)


def test_scale_approved_in_slack(kai: KaiServer, slack: ResponseUrls, namespace: str, kc: Kubectl) -> None:
    before = replicas(kc, namespace)
    approval = request_approval(kai, slack, namespace, 3, "scale")
    assert replicas(kc, namespace) == before  # nothing changes before the click
    click(kai, slack, approval, "kai_approve", "scale-click")
    [done] = slack.wait("scale-click", 1)
    assert done["replace_original"] is True and "Approved by <@UADMIN> and done" in text_of(done)
    assert replicas(kc, namespace) == 3
    # the same button again: already used, nothing more happens
    click(kai, slack, approval, "kai_approve", "scale-again")
    [again] = slack.wait("scale-again", 1)
    assert "already approved" in text_of(again) and again["response_type"] == "ephemeral"


def test_reject(kai: KaiServer, slack: ResponseUrls, namespace: str, kc: Kubectl) -> None:
    before = replicas(kc, namespace)
    approval = request_approval(kai, slack, namespace, 5, "reject")
    click(kai, slack, approval, "kai_reject", "reject-click")
    [done] = slack.wait("reject-click", 1)
    assert "Rejected by <@UADMIN>" in text_of(done)
    assert replicas(kc, namespace) == before


def test_an_approver_the_policy_does_not_allow(kai: KaiServer, slack: ResponseUrls, namespace: str,
                                               kc: Kubectl) -> None:
    before = replicas(kc, namespace)
    approval = request_approval(kai, slack, namespace, 4, "notallowed")
    click(kai, slack, approval, "kai_approve", "self-click", user="UOPS")  # the requester (self_approve: false)
    [refused] = slack.wait("self-click", 1)
    assert refused["response_type"] == "ephemeral" and "may not approve" in text_of(refused)
    click(kai, slack, approval, "kai_approve", "viewer-click", user="UNOBODY")  # a viewer
    assert "may not approve" in text_of(slack.wait("viewer-click", 1)[0])
    assert replicas(kc, namespace) == before
    click(kai, slack, approval, "kai_approve", "admin-click")  # still open for someone allowed
    assert "and done" in text_of(slack.wait("admin-click", 1)[0])
    assert replicas(kc, namespace) == 4


def test_expired_approval(cluster: control.Sandbox, namespace: str, slack: ResponseUrls, kc: Kubectl,
                          tmp_path: Path) -> None:
    kai = start_kai(cluster, tmp_path, namespace, ttl=1, KAI_SWEEP_SECONDS="0.5")
    try:
        before = replicas(kc, namespace)
        approval = request_approval(kai, slack, namespace, 6, "expire")
        notice = slack.wait("expire", 3, timeout=20)[2]  # the sweeper says it expired where it was asked
        assert "expired" in text_of(notice) and approval in text_of(notice)
        click(kai, slack, approval, "kai_approve", "expire-click")
        assert "Not done, the approval expired" in text_of(slack.wait("expire-click", 1)[0])
        assert replicas(kc, namespace) == before
        [row] = [r for r in AuditStore(f"sqlite:///{tmp_path / 'kai.db'}").records(tool="scale")]
        assert row.outcome == "expired" and row.decision == "confirm"
    finally:
        kai.stop()


def test_restart_between_request_and_approval(cluster: control.Sandbox, namespace: str, slack: ResponseUrls,
                                              kc: Kubectl, tmp_path: Path) -> None:
    kai = start_kai(cluster, tmp_path, namespace)
    try:
        approval = request_approval(kai, slack, namespace, 2, "restart")
        kai.stop()
        kai.start()  # the same database: the approval waits there
        click(kai, slack, approval, "kai_approve", "restart-click")
        assert "and done" in text_of(slack.wait("restart-click", 1)[0])
        wait_for(lambda: replicas(kc, namespace) == 2)
        rows = AuditStore(f"sqlite:///{tmp_path / 'kai.db'}").records(tool="scale")
        assert [(r.outcome, r.approver) for r in rows] == [("ok", "slack:T1/UADMIN")]
    finally:
        kai.stop()


@pytest.mark.parametrize("text", ["show pods", "list deployments"])
def test_reads_answer_in_the_channel(kai: KaiServer, slack: ResponseUrls, text: str) -> None:
    hook = "read-" + text.replace(" ", "-")
    ask(kai, slack, text, hook)
    [answer] = slack.wait(hook, 1)
    assert answer["response_type"] == "in_channel" and "todo-backend" in text_of(answer)
    assert "✅" in text_of(answer)


def test_another_replica_takes_the_click(kai: KaiServer, slack: ResponseUrls, namespace: str, kc: Kubectl,
                                         tmp_path: Path) -> None:
    other = KaiServer(free_port(), dict(kai.env), list(kai.args), tmp_path / "replica.log").start()
    try:
        approval = request_approval(kai, slack, namespace, 1, "replica")
        click(other, slack, approval, "kai_approve", "replica-click")
        assert "and done" in text_of(slack.wait("replica-click", 1)[0])
        assert replicas(kc, namespace) == 1
    finally:
        other.stop()


def test_an_answer_through_the_api_is_told_in_slack(kai: KaiServer, slack: ResponseUrls, namespace: str,
                                                    kc: Kubectl) -> None:
    approval = request_approval(kai, slack, namespace, 2, "via-api")
    answered = httpx.post(f"{kai.url}/v1/approvals/{approval}", json={"approve": True},
                          headers={"Authorization": f"Bearer {BOSS_TOKEN}"}, timeout=60)
    assert answered.status_code == 200 and answered.json()["status"] == "ok", answered.text
    told = slack.wait("via-api", 3)[2]
    assert told["replace_original"] is False and "Approved by `api:boss` and done" in text_of(told)
    assert replicas(kc, namespace) == 2


def test_a_channel_allowed_by_name_takes_clicks(kai: KaiServer, slack: ResponseUrls, namespace: str) -> None:
    ask(kai, slack, f"scale backend to 5 in {namespace}", "by-name", channel="C777",
        channel_name="ops-prod")  # allowed as ops-*
    approval = approval_id(slack.wait("by-name", 2)[1])
    body = button(approval, "kai_reject", "by-name-click", slack, channel="C777", channel_name="ops-prod")
    assert kai.post("/slack/interactions", body, sign(body)).status_code == 200
    assert "Rejected" in text_of(slack.wait("by-name-click", 1)[0])
