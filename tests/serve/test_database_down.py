"""``kai serve`` on a PostgreSQL server of its own, which is stopped and started again: while
the database does not answer, ``/readyz`` fails and names it, ``/healthz`` still answers, and
Slack commands and clicks get a clear refusal within Slack's 3 seconds with nothing half-done
(nothing accepted, nothing posted, nothing changed in the cluster); once it is back, kai is
ready again and what was refused can simply be sent again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from sandbox import control
from tests.conftest import Kubectl, replicas, wait_for

from .conftest import start_kai
from .requests_util import audit, idle, inbox
from .slack import TOKEN, KaiServer, ResponseUrls, approval_id, button, command, sign, text_of

if TYPE_CHECKING:
    from tests.tools.postgres import PostgresServer


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this module alone (it is stopped here); skipped like ``pg``."""
    from tests.tools import postgres

    reason = postgres.unavailable()
    if reason:
        pytest.skip(reason)
    with postgres.PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def kai_on_postgres(cluster: control.Sandbox, namespace: str, postgres: PostgresServer,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[KaiServer]:
    server = start_kai(cluster, tmp_path_factory.mktemp("serve-pg"), namespace,
                       KAI_DATABASE_URL=postgres.create_database("serve"), KAI_SWEEP_SECONDS="1")
    yield server
    server.stop()


def stop_database(postgres: PostgresServer) -> None:
    postgres._halt()  # a fast shutdown; the data folder stays
    assert postgres.process is None


def start_database(postgres: PostgresServer) -> None:
    assert postgres._launch(), f"PostgreSQL did not start again on port {postgres.port}: {postgres.log()[-2000:]}"


def slash(kai: KaiServer, body: bytes, path: str = "/slack/commands") -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = kai.post(path, body, sign(body))
    return time.monotonic() - started, response


def ready(kai: KaiServer) -> httpx.Response:
    return httpx.get(kai.url + "/readyz", timeout=30)


def test_commands_are_refused_cleanly_while_the_database_is_down(
        kai_on_postgres: KaiServer, postgres: PostgresServer, slack: ResponseUrls, namespace: str,
        kc: Kubectl) -> None:
    kai = kai_on_postgres
    assert kai.env["KAI_DATABASE_URL"].startswith("postgresql://")

    # up: ready, a read is answered, a change waits for its approval
    assert ready(kai).json() == {"status": "ready"}
    _, ack = slash(kai, command("show pods", "pg-read", slack))
    assert ack.status_code == 200
    assert "todo-backend" in text_of(slack.wait("pg-read", 1)[0])
    before = replicas(kc, namespace)
    _, ack = slash(kai, command(f"scale backend to {before + 1} in {namespace}", "pg-ask", slack))
    assert ack.status_code == 200
    approval = approval_id(slack.wait("pg-ask", 2)[1])
    idle(kai)
    accepted, audited = len(inbox(kai)), len(audit(kai))

    stop_database(postgres)
    try:
        problems = ready(kai)
        assert problems.status_code == 503, problems.text
        assert problems.json()["status"] == "not ready"
        assert [p for p in problems.json()["problems"] if p.startswith("database:")], problems.json()
        assert not [p for p in problems.json()["problems"] if p.startswith("cluster:")], problems.json()
        assert httpx.get(kai.url + "/healthz", timeout=10).status_code == 200

        # a command: acknowledged in time, with a refusal that says why and that nothing was done
        elapsed, refusal = slash(kai, command(f"scale backend to {before + 2} in {namespace}", "pg-down", slack))
        assert refusal.status_code == 200 and elapsed < 3, (refusal.status_code, elapsed)
        said = refusal.json()
        assert said["response_type"] == "ephemeral"
        assert "database does not answer" in said["text"] and "Nothing was done" in said["text"], said
        # a click on the waiting approval: the same
        click = button(approval, "kai_approve", "pg-down-click", slack)
        elapsed, refused_click = slash(kai, click, "/slack/interactions")
        assert refused_click.status_code == 200 and elapsed < 3
        assert "database does not answer" in text_of(refused_click.json())
        # the JSON API: 503, naming the database
        answer = httpx.post(kai.url + "/v1/chat", json={"prompt": "show pods"},
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert answer.status_code == 503 and "database" in answer.json()["message"], answer.text
        assert httpx.get(kai.url + "/metrics", timeout=10).status_code == 200

        time.sleep(2)  # longer than the sweeps: nothing runs in the background either
        assert slack.messages("pg-down") == [] and slack.messages("pg-down-click") == []
        assert replicas(kc, namespace) == before
    finally:
        start_database(postgres)

    # back: ready again; nothing of the refused requests was kept
    wait_for(lambda: ready(kai).status_code == 200, timeout=30)
    assert (len(inbox(kai)), len(audit(kai))) == (accepted, audited)
    assert replicas(kc, namespace) == before

    # the refused click, sent again, approves the change that waited
    elapsed, again = slash(kai, click, "/slack/interactions")
    assert again.status_code == 200 and elapsed < 3
    assert "and done" in text_of(slack.wait("pg-down-click", 1)[0])
    wait_for(lambda: replicas(kc, namespace) == before + 1, timeout=30)
    # and commands work again
    _, ack = slash(kai, command("show pods", "pg-back", slack))
    assert ack.status_code == 200 and "Working on it" in ack.json()["text"]
    assert "todo-backend" in text_of(slack.wait("pg-back", 1)[0])
    rows = idle(kai)
    assert len(rows) == accepted + 2 and {row.state for row in rows} == {"done"}
    [scale] = [row for row in audit(kai, tool="scale") if row.outcome == "ok"]
    assert scale.approver == "slack:T1/UADMIN"
