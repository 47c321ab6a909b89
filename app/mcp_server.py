"""kai's typed tools over the Model Context Protocol (the official ``mcp`` SDK's low-level
server, so each tool keeps kai's own JSON schema), behind the same guard and audit as every
other front end: each ``tools/call`` is one :meth:`~tools.executor.Executor.call` as the
server's MCP identity (``mcp:<id>``), audited with source ``mcp``.

- Read-only unless started with ``allow_writes``: without it the policy is put in read-only
  mode, so a write is refused by the guard (and audited) like any other refusal.
- ``tools/list`` shows only what the policy lets this identity do (destructive tools only for
  a role that holds ``destructive``).
- A write that needs approval is asked of the person at the client by MCP elicitation (a
  yes/no form) when the client declared that it supports it; otherwise it is refused, nothing
  is done (fail closed). An unanswered question lapses when the approval expires.
- Every result is text (what a model reads: bounded, never a secret's value), plus the typed
  result as structured content when the call succeeded; refusals and errors are ``isError``
  results. ``_meta`` carries the audit id and the status.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.session import ServerSession
from mcp.shared.exceptions import McpError

from tools.executor import ApprovalAnswer, ApprovalRequest, ApproveFn, Executor, Outcome
from tools.guard import Caller

from .chat import find_kubeconfig

log = logging.getLogger("kai.mcp")
Transport = Literal["stdio", "streamable-http"]
SERVER_NAME = "kai"
MCP_PATH = "/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
APPROVE_FIELD = "approve"
APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {APPROVE_FIELD: {"type": "boolean", "title": "Apply this change?", "default": False,
                                   "description": "Yes applies the change shown; no leaves the cluster as it is."}},
    "required": [APPROVE_FIELD],
}
NO_ELICITATION = ("\nThis MCP client cannot be asked for approval (it declared no support for elicitation), "
                  "so kai refused the change: nothing was done.")
ANSWERS = {"decline": "declined", "cancel": "dismissed"}
READ_ONLY = "\nThis MCP server is read-only: start it with --allow-writes to let it make changes."


@dataclass(frozen=True)
class ServerOptions:
    """What ``kai mcp-server``'s flags chose (``None``: the default)."""

    identity: str = "mcp:default"
    allow_writes: bool = False
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str | None = None
    policy: Path | None = None
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def open_executor(options: ServerOptions) -> Executor:
    """The guarded executor on the chosen cluster, with the policy in read-only mode unless
    writes are allowed. Close it with :func:`close_executor`."""
    from tools import catalog  # noqa: F401  (registers every tool)
    from tools import policy as policies
    from tools.audit import AuditStore
    from tools.cluster import Cluster
    from tools.context import ToolContext

    kubeconfig = find_kubeconfig(options.kubeconfig, options.env)
    policy = policies.load(options.policy)
    if not options.allow_writes:
        policy = policy.model_copy(update={"mode": "read-only"})
    store = AuditStore(options.database_url)
    try:
        ctx = ToolContext(Cluster(kubeconfig=kubeconfig, context=options.context), namespace=options.namespace)
        executor = Executor(ctx, policy, store)
    except BaseException:
        store.close()
        raise
    return executor


def close_executor(executor: Executor) -> None:
    executor.close()
    executor.ctx.cluster.close()
    executor.store.close()


class KaiMcp:
    """The MCP server of one executor and one identity."""

    def __init__(self, executor: Executor, identity: str, *, allow_writes: bool) -> None:
        self.executor = executor
        self.identity = identity
        self.allow_writes = allow_writes
        self.server: Server[Any, Any] = Server(SERVER_NAME, instructions=(
            "Typed Kubernetes and Helm tools, guarded by kai's policy and audited. Changes are previewed with a "
            "server-side dry run; when the policy wants an approval, the user is asked through this client."))
        # The SDK's list_tools decorator carries no annotations (its call_tool one does).
        self.server.list_tools()(self.list_tools)  # type: ignore[no-untyped-call]
        self.server.call_tool(validate_input=False)(self.call_tool)  # the executor validates, and audits it

    async def list_tools(self) -> list[types.Tool]:
        """The tools this identity may use under the policy (reads only, unless writes are allowed)."""
        policy = self.executor.policy
        found = []
        for schema in self.executor.schemas():
            tool = self.executor.registry.get(schema["name"])
            if not policy.can(self.identity, tool.risk):
                continue
            found.append(types.Tool(
                name=schema["name"], description=schema["description"], inputSchema=schema["parameters"],
                annotations=types.ToolAnnotations(readOnlyHint=not tool.writes,
                                                  destructiveHint=tool.risk == "destructive" if tool.writes else None,
                                                  openWorldHint=False)))
        return found

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """One call through the executor as this server's identity."""
        context = self.server.request_context
        session: ServerSession = context.session
        asks = can_elicit(session)
        approve = elicitation_approver(session, context.request_id, self.identity, self.executor) if asks else None
        outcome = await self.executor.call(name, arguments, Caller(self.identity, _session_id(context.request)),
                                           approve)
        return self.result(outcome, asked=asks)

    def result(self, outcome: Outcome, *, asked: bool) -> types.CallToolResult:
        text = outcome.text
        if outcome.status == "approval_required" and not asked:
            text += NO_ELICITATION
        elif outcome.details.get("rule") == "mode" and not self.allow_writes:
            text += READ_ONLY
        meta: dict[str, Any] = {"kai/audit_id": outcome.audit_id, "kai/status": outcome.status}
        if outcome.approval_id:
            meta["kai/approval_id"] = outcome.approval_id
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structuredContent=outcome.result if outcome.ok else None,
            isError=not outcome.ok,
            _meta=meta,
        )

    async def serve_stdio(self) -> None:
        """Serve one client on stdin/stdout until it closes them."""
        from mcp.server.stdio import stdio_server

        with protocol_stdout() as out:
            async with stdio_server(stdout=anyio.wrap_file(out)) as (read, write):
                await self.server.run(read, write, self.server.create_initialization_options())

    async def serve_http(self, host: str, port: int) -> None:
        """Serve streamable HTTP at ``http://host:port/mcp`` (stateful sessions, so elicitation
        can reach the client while a call waits) until interrupted."""
        import uvicorn
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings
        from starlette.applications import Starlette
        from starlette.routing import Route
        from starlette.types import Receive, Scope, Send

        security = None
        if host in LOOPBACK:  # DNS rebinding protection: only loopback names in Host and Origin
            security = TransportSecuritySettings(
                enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"])
        manager = StreamableHTTPSessionManager(self.server, security_settings=security)

        class Endpoint:  # an ASGI app, not a function: Starlette passes every method through to it
            async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
                await manager.handle_request(scope, receive, send)

        app = Starlette(routes=[Route(MCP_PATH, endpoint=Endpoint())], lifespan=lambda _app: manager.run())
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=5)
        await uvicorn.Server(config).serve()


def can_elicit(session: ServerSession) -> bool:
    """Whether the client declared form elicitation (an empty ``elicitation`` capability means form)."""
    params = session.client_params
    declared = params.capabilities.elicitation if params is not None else None
    return declared is not None and (declared.form is not None or declared.url is None)


def elicitation_approver(session: ServerSession, request_id: types.RequestId, identity: str,
                         executor: Executor) -> ApproveFn:
    """An approval asked of the person at the MCP client as a yes/no form, tied to the tool
    call's request. Declined, cancelled, unanswered or failed: not approved."""

    async def approve(request: ApprovalRequest) -> ApprovalAnswer:
        if not executor.policy.may_approve(identity, request.caller.identity):  # asking would be in vain
            return ApprovalAnswer(False, identity, f"the policy does not let {identity} approve this "
                                                   "(approval.self_approve, approval.approver_roles)")
        wait = max((request.expires_at - executor.now()).total_seconds(), 0.0)
        result: types.ElicitResult | None = None
        try:
            with anyio.move_on_after(wait):
                result = await session.elicit_form(approval_message(request), APPROVAL_SCHEMA,
                                                   related_request_id=request_id)
        except McpError as exc:
            return ApprovalAnswer(False, identity, f"the client could not ask: {exc.error.message}")
        if result is None:  # the approval has expired by now, and the executor says so
            return ApprovalAnswer(False, identity, "no answer before the approval expired")
        if result.action != "accept":
            return ApprovalAnswer(False, identity, f"{ANSWERS[result.action]} in the MCP client")
        yes = (result.content or {}).get(APPROVE_FIELD) is True
        return ApprovalAnswer(yes, identity, "" if yes else "answered no in the MCP client")

    return approve


def approval_message(request: ApprovalRequest) -> str:
    """What the person at the client reads before answering."""
    parts = [f"kai wants to {request.preview.summary} ({request.risk}, {request.tool}).",
             f"Command: {request.preview.command}"]
    if request.preview.diff:
        parts.append(f"Change (server-side dry run):\n{request.preview.diff.rstrip()}")
    parts.append(f"Asked because {request.reason}. The question lapses at {request.expires_at:%H:%M:%S} UTC.")
    return "\n\n".join(parts)


def _session_id(request: object) -> str | None:
    """The streamable HTTP session the call came in (none on stdio: one process, one client)."""
    headers = getattr(request, "headers", None)
    value = headers.get("mcp-session-id") if headers is not None else None
    return value if isinstance(value, str) else None


@contextmanager
def protocol_stdout() -> Iterator[IO[str]]:
    """The process's stdout for the protocol alone: file descriptor 1 and ``sys.stdout`` are
    pointed at stderr meanwhile, so no print, log or library can corrupt the message stream."""
    sys.stdout.flush()
    saved_fd, saved = os.dup(1), sys.stdout
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield out
    finally:
        out.close()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sys.stdout = saved


def serve(options: ServerOptions, transport: Transport, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the MCP server until the client leaves (stdio) or the process is stopped (HTTP)."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="kai mcp-server: %(levelname)s %(message)s")
    quiet_sdk_logs()
    executor = open_executor(options)
    try:
        kai = KaiMcp(executor, options.identity, allow_writes=options.allow_writes)
        mode = "read-write" if options.allow_writes else "read-only"
        where = "stdio" if transport == "stdio" else f"http://{_url_host(host)}:{port}{MCP_PATH}"
        sys.stderr.write(f"kai MCP server on {where} as {options.identity} ({mode}), cluster context "
                         f"{executor.context_name or '(current)'}\n")
        sys.stderr.flush()
        if transport == "stdio":
            asyncio.run(kai.serve_stdio())
        else:
            if host not in LOOPBACK:
                log.warning("listening on %s: MCP has no authentication here; anyone who reaches the port "
                            "acts as %s", host, options.identity)
            asyncio.run(kai.serve_http(host, port))
    except KeyboardInterrupt:
        pass
    finally:
        close_executor(executor)


class _ClosedStandaloneStream(logging.Filter):
    """Drops the SDK's traceback when a client ends its HTTP session while its GET stream is
    open (mcp 1.30 logs the stream's ClosedResourceError as an error; nothing is wrong)."""

    def filter(self, record: logging.LogRecord) -> bool:
        closed = record.exc_info is not None and isinstance(record.exc_info[1], anyio.ClosedResourceError)
        return not (closed and record.getMessage() == "Error in standalone SSE writer")


def quiet_sdk_logs() -> None:
    """The SDK's warnings that are noise here: a refused tool "not listed, no validation will
    be performed" (kai validates every call itself), and the closed-stream traceback above."""
    logging.getLogger("mcp.server.lowlevel.server").setLevel(logging.ERROR)
    logging.getLogger("mcp.server.streamable_http").addFilter(_ClosedStandaloneStream())


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
