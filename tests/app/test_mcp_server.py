"""`kai mcp-server` as MCP clients use it: the official SDK's own client spawning kai over
stdio, and connecting over streamable HTTP to a kai process on a loopback port, against the
shared sandbox. What is listed, what reads return, writes approved, declined or refused by
elicitation (or its absence), destructive tools by role, and an audit row for every call."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.session import ElicitationFnT, LoggingFnT
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.context import RequestContext

from sandbox import control
from tests.conftest import Kubectl, replicas, wait_for
from tools.audit import AuditRecord, AuditStore

KAI = str(Path(sys.executable).parent / "kai")
OPERATOR = "mcp:ops"
ADMIN = "mcp:root"


def policy_file(folder: Path, role: str, identity: str, extra: str = "") -> Path:
    path = folder / f"{role}.yaml"
    path.write_text(f'bindings:\n  {role}: ["{identity}"]\n{extra}')
    return path


def server_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(home), "KAI_STATE_DIR": str(home / ".kai")}
    for key in ("KAI_POLICY", "KAI_DATABASE_URL", "KUBECONFIG"):
        env.pop(key, None)
    return env


@dataclass
class Person:
    """Answers kai's approval questions as the person at the client would, and keeps them."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    approve: bool = True
    thinks: float = 0.0  # seconds before answering
    asked: list[types.ElicitRequestParams] = field(default_factory=list)

    async def __call__(self, context: RequestContext[ClientSession, Any],
                       params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params)
        await asyncio.sleep(self.thinks)
        content: dict[str, Any] | None = {"approve": self.approve} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)


@asynccontextmanager
async def stdio(args: list[str], home: Path, person: ElicitationFnT | None = None,
                logged: LoggingFnT | None = None) -> AsyncIterator[ClientSession]:
    """A client session with `kai mcp-server ARGS` spawned over stdio (its stderr kept in home)."""
    params = StdioServerParameters(command=KAI, args=["mcp-server", *args], env=server_env(home), cwd=home)
    with (home / "stderr.log").open("a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), \
                ClientSession(read, write, elicitation_callback=person, logging_callback=logged) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def http(url: str, person: ElicitationFnT | None = None) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write, _), \
            ClientSession(read, write, elicitation_callback=person) as session:
        await session.initialize()
        yield session


async def call_once(url: str, person: Person | None, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    """One tool call in a session of its own (as a client that connects for one question)."""
    async with http(url, person) as session:
        return await session.call_tool(name, arguments)


def meta(result: types.CallToolResult) -> dict[str, Any]:
    assert result.meta is not None
    return result.meta


def text(result: types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    return first.text


def audit_row(url: str, result: types.CallToolResult) -> AuditRecord:
    store = AuditStore(url)
    try:
        return store.get(int(meta(result)["kai/audit_id"]))
    finally:
        store.close()


def deployment_exists(kc: Kubectl, namespace: str, name: str) -> bool:
    return kc.run("get", "deployment", name, "-n", namespace, check=False).returncode == 0


@dataclass
class HttpServer:
    url: str
    database: str
    home: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def operator_http(cluster: control.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """One `kai mcp-server --transport streamable-http --allow-writes` for the module, its
    identity bound to operator (read and write, nothing destructive), its own audit database."""
    home = tmp_path_factory.mktemp("mcp-http")
    database = f"sqlite:///{home / 'kai.db'}"
    port = free_port()
    args = [KAI, "mcp-server", "--transport", "streamable-http", "--port", str(port), "--allow-writes",
            "--identity", OPERATOR, "--policy", str(policy_file(home, "operator", OPERATOR)),
            "--kubeconfig", str(cluster.kubeconfig), "--database-url", database]
    with (home / "stderr.log").open("w") as errlog:
        process = subprocess.Popen(args, env=server_env(home), cwd=home, stdout=subprocess.DEVNULL, stderr=errlog)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (home / "stderr.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "kai mcp-server did not listen in time"
                time.sleep(0.1)
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", database, home)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- stdio --------------------------------------------------------------------------------------


def test_stdio_read_only_lists_reads_returns_data_refuses_writes(cluster: control.Sandbox, todo: str,
                                                                  tmp_path: Path) -> None:
    """An operator's identity, but no --allow-writes: only reads are offered or run."""
    database = f"sqlite:///{tmp_path / 'kai.db'}"
    policy = policy_file(tmp_path, "operator", OPERATOR)
    args = ["--transport", "stdio", "--identity", OPERATOR, "--policy", str(policy),
            "--kubeconfig", str(cluster.kubeconfig), "--database-url", database]

    async def go() -> dict[str, Any]:
        async with stdio(args, tmp_path) as session:
            tools = (await session.list_tools()).tools
            pods = await session.call_tool("list_resources", {"kind": "pods", "namespace": todo})
            deploy = await session.call_tool("get_resource", {"kind": "deploy", "name": "backend", "namespace": todo})
            scale = await session.call_tool("scale", {"name": "backend", "replicas": "+1", "namespace": todo})
            unknown = await session.call_tool("explode", {})
            invalid = await session.call_tool("list_resources", {"namespace": todo})
            return {"tools": tools, "pods": pods, "deploy": deploy, "scale": scale, "unknown": unknown,
                    "invalid": invalid}

    got = asyncio.run(go())
    names = {t.name for t in got["tools"]}
    assert {"list_resources", "get_resource", "get_logs", "helm_status", "diagnose"} <= names
    assert not names & {"scale", "set_image", "helm_rollback", "delete_resource", "drain", "helm_uninstall"}
    assert all(t.annotations and t.annotations.readOnlyHint for t in got["tools"])
    listed = next(t for t in got["tools"] if t.name == "list_resources")
    assert listed.inputSchema["required"] == ["kind"] and listed.inputSchema["additionalProperties"] is False
    assert "kubectl get" in (listed.description or "")

    pods, deploy = got["pods"], got["deploy"]
    assert not pods.isError and "todo-backend-" in text(pods)
    assert pods.structuredContent is not None and "todo-backend-" in str(pods.structuredContent)
    assert not deploy.isError and "todo-backend" in text(deploy) and meta(deploy)["kai/status"] == "ok"

    scale = got["scale"]
    assert scale.isError and meta(scale)["kai/status"] == "denied"
    assert "read-only" in text(scale) and "--allow-writes" in text(scale)
    assert got["unknown"].isError and "no tool named 'explode'" in text(got["unknown"])
    assert got["invalid"].isError and "kind" in text(got["invalid"])

    store = AuditStore(database)
    try:
        rows = store.records()
    finally:
        store.close()
    assert len(rows) == 5  # every call, refused and malformed ones included
    assert {(r.source, r.caller) for r in rows} == {("mcp", OPERATOR)}
    by_tool = {r.tool: r for r in rows if r.tool != "list_resources"}
    assert by_tool["get_resource"].outcome == "ok"
    assert (by_tool["scale"].decision, by_tool["scale"].outcome) == ("deny", "denied")
    assert by_tool["explode"].outcome == "error"
    assert sorted(r.outcome for r in rows if r.tool == "list_resources") == ["error", "ok"]
    assert f"kai MCP server on stdio as {OPERATOR} (read-only)" in (tmp_path / "stderr.log").read_text()


def test_stdio_admin_gets_destructive_tools_and_deletes_once_approved(cluster: control.Sandbox, kc: Kubectl,
                                                                      fresh_todo: str, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'kai.db'}"
    person = Person()
    args = ["--allow-writes", "--identity", ADMIN, "--policy", str(policy_file(tmp_path, "admin", ADMIN)),
            "--kubeconfig", str(cluster.kubeconfig), "--database-url", database]

    async def go() -> tuple[list[types.Tool], types.CallToolResult]:
        async with stdio(args, tmp_path, person) as session:
            tools = (await session.list_tools()).tools
            return tools, await session.call_tool(
                "delete_resource", {"kind": "deployment", "name": "todo-frontend", "namespace": fresh_todo})

    tools, deleted = asyncio.run(go())
    hints = {t.name: t.annotations for t in tools}
    assert {"delete_resource", "drain", "helm_uninstall", "scale"} <= set(hints)
    assert hints["delete_resource"] and hints["delete_resource"].destructiveHint is True
    assert hints["scale"] and hints["scale"].readOnlyHint is False and not hints["scale"].destructiveHint
    assert not deleted.isError, text(deleted)
    assert len(person.asked) == 1 and "todo-frontend" in person.asked[0].message
    wait_for(lambda: not deployment_exists(kc, fresh_todo, "todo-frontend"), timeout=20)
    assert deployment_exists(kc, fresh_todo, "todo-backend")
    row = audit_row(database, deleted)
    assert (row.source, row.caller, row.risk, row.decision, row.outcome, row.approver) == (
        "mcp", ADMIN, "destructive", "confirm", "ok", ADMIN)


def test_stdio_unanswered_approval_expires(cluster: control.Sandbox, kc: Kubectl, fresh_todo: str,
                                           tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'kai.db'}"
    policy = policy_file(tmp_path, "operator", OPERATOR, "approval:\n  ttl_seconds: 1\n")
    args = ["--allow-writes", "--identity", OPERATOR, "--policy", str(policy), "--kubeconfig", str(cluster.kubeconfig),
            "--database-url", database]
    before = replicas(kc, fresh_todo)
    slow = Person(thinks=1.8)
    told = asyncio.Event()

    async def logged(params: types.LoggingMessageNotificationParams) -> None:
        told.set()

    async def go() -> types.CallToolResult:
        async with stdio(args, tmp_path, slow, logged) as session:
            result = await session.call_tool("scale", {"name": "backend", "replicas": str(before + 1),
                                                       "namespace": fresh_todo})
            # The late answer reaches a server that stopped waiting; the SDK logs it to the client.
            # Stay until then, so the client does not leave while that message is on its way.
            with anyio.move_on_after(10):
                await told.wait()
            return result

    late = asyncio.run(go())
    assert late.isError and meta(late)["kai/status"] == "expired", text(late)
    assert len(slow.asked) == 1
    assert replicas(kc, fresh_todo) == before
    assert audit_row(database, late).outcome == "expired"


def test_cli_refuses_bad_identity_and_stdio_port(tmp_path: Path) -> None:
    bad = subprocess.run([KAI, "mcp-server", "--identity", "alice"], capture_output=True, text=True,
                         env=server_env(tmp_path), cwd=tmp_path, timeout=60, check=False)
    assert bad.returncode == 2 and "an MCP identity is mcp:<id>" in bad.stderr
    assert bad.stdout == ""
    port = subprocess.run([KAI, "mcp-server", "--port", "9000"], capture_output=True, text=True,
                          env=server_env(tmp_path), cwd=tmp_path, timeout=60, check=False)
    assert port.returncode == 2 and "--port is for --transport streamable-http" in port.stderr


def test_stdio_protocol_owns_stdout() -> None:
    """Over stdio, stdout carries MCP messages only: prints and raw writes to fd 1 go to stderr."""
    code = ("import os\nfrom app.mcp_server import protocol_stdout\n"
            "with protocol_stdout() as out:\n"
            "    print('a print')\n    os.write(1, b'a raw write\\n')\n    out.write('{}\\n')\n    out.flush()\n"
            "print('after')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "{}\nafter\n"
    assert "a print" in done.stderr and "a raw write" in done.stderr


# --- streamable HTTP ------------------------------------------------------------------------------


def test_http_lists_writes_but_nothing_destructive_for_an_operator(operator_http: HttpServer, todo: str) -> None:
    async def go() -> tuple[list[types.Tool], types.CallToolResult]:
        async with http(operator_http.url) as session:
            tools = (await session.list_tools()).tools
            return tools, await session.call_tool("get_resource", {"kind": "deploy", "name": "todo-backend",
                                                                   "namespace": todo})

    tools, deploy = asyncio.run(go())
    names = {t.name for t in tools}
    assert {"scale", "set_image", "helm_rollback", "list_resources"} <= names
    assert not names & {"delete_resource", "delete_namespace", "drain", "helm_uninstall"}
    assert not deploy.isError and "todo-backend" in text(deploy)
    assert deploy.structuredContent is not None
    row = audit_row(operator_http.database, deploy)
    assert (row.source, row.caller, row.tool, row.outcome) == ("mcp", OPERATOR, "get_resource", "ok")
    assert row.session  # the streamable HTTP session the call came in


def test_http_write_needs_an_approval_by_elicitation(operator_http: HttpServer, kc: Kubectl,
                                                     fresh_todo: str) -> None:
    before = replicas(kc, fresh_todo)
    scale = {"name": "backend", "replicas": str(before + 1), "namespace": fresh_todo}
    declines, says_no, accepts = Person("decline"), Person("accept", approve=False), Person()

    def call(person: Person | None) -> types.CallToolResult:
        return asyncio.run(call_once(operator_http.url, person, "scale", scale))

    # (c) a client that cannot be asked: refused, nothing done
    unasked = call(None)
    assert unasked.isError and meta(unasked)["kai/status"] == "approval_required"
    assert "declared no support for elicitation" in text(unasked)
    assert replicas(kc, fresh_todo) == before
    row = audit_row(operator_http.database, unasked)
    assert (row.source, row.decision, row.outcome) == ("mcp", "confirm", "denied")

    # (b) the person declines, or answers no: rejected, nothing done
    for person in (declines, says_no):
        rejected = call(person)
        assert rejected.isError and meta(rejected)["kai/status"] == "rejected", text(rejected)
        assert replicas(kc, fresh_todo) == before
        assert audit_row(operator_http.database, rejected).outcome == "rejected"
    asked = declines.asked[0]
    assert isinstance(asked, types.ElicitRequestFormParams)
    assert "kubectl scale" in asked.message and f"--replicas={before + 1}" in asked.message
    assert f"from {before} to {before + 1} replicas" in asked.message
    assert asked.requestedSchema["properties"]["approve"]["type"] == "boolean"

    # (a) the person approves: done
    done = call(accepts)
    assert not done.isError, text(done)
    assert meta(done)["kai/status"] == "ok" and done.structuredContent is not None
    assert replicas(kc, fresh_todo) == before + 1
    row = audit_row(operator_http.database, done)
    assert (row.source, row.caller, row.decision, row.outcome, row.approver) == (
        "mcp", OPERATOR, "confirm", "ok", OPERATOR)
    assert row.approval_id == meta(done)["kai/approval_id"]

    # a destructive tool is refused to an operator even when called by name, and audited
    refused = asyncio.run(call_once(operator_http.url, Person(), "delete_resource",
                                    {"kind": "deployment", "name": "todo-backend", "namespace": fresh_todo}))
    assert refused.isError and meta(refused)["kai/status"] == "denied" and "destructive" in text(refused)
    assert deployment_exists(kc, fresh_todo, "todo-backend")
    assert audit_row(operator_http.database, refused).decision == "deny"
