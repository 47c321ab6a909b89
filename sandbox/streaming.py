"""``pods/exec`` and ``pods/attach``: commands inside simulated containers over the
WebSocket streaming protocol kubectl ≥ 1.30 speaks (:mod:`.streaming_session`).

A request is authenticated like any other, authorized as ``create`` on the
subresource, and checked as the API server and kubelet check it; a failure answers
the upgrade with the error instead of switching protocols (a ``Status``, or the
kubelet's plain text for a container that is not running), which client-go reports
and then retries over SPDY: the SPDY attempt, a plain HTTP request with an
``Upgrade: SPDY/3.1`` header, gets the same answer here, so kubectl prints it.

``exec`` runs the command in the container's shell (:mod:`.kubelet.exec_state`) and
ends with its exit code; ``attach`` streams what the container writes from now on
(from its start for a container with ``stdin``, as ``kubectl run -i`` expects) until it
ends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket

from . import bodies, rbac
from .errors import BadRequest, NotFound, StatusError
from .handlers import json_response
from .kubelet import exec_state
from .kubelet.exec_commands import find
from .kubelet.exec_io import Input, Out, Proc
from .podlogs import LogQuery
from .streaming_session import PROTOCOLS, Session, exit_status

if TYPE_CHECKING:
    from .kubelet.node import Kubelet
    from .kubelet.runner import PodRunner
    from .server import SandboxServer

log = logging.getLogger("sandbox")
Obj = dict[str, Any]
FOLLOW_EVERY = 0.1  # seconds between looks at an attached container's log


class NotRunning(Exception):
    """The kubelet has no running container to stream to; the message is its reply."""


@dataclass(frozen=True)
class Target:
    runner: PodRunner
    container: str
    spec: Obj
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


class Streaming:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server

    def kubelet(self) -> Kubelet | None:
        return self.server.controllers.kubelet

    # --- checks -----------------------------------------------------------------------

    def target(self, request: Request, namespace: str, name: str, sub: str) -> Target:
        user = self.server.authenticate(request)
        self.server.authorize(user, rbac.Attributes(verb="create", group="", resource="pods", subresource=sub,
                                                    namespace=namespace, name=name))
        pod = self.server.store.get("pods", namespace, name)
        if pod is None:
            raise NotFound(f'pods "{name}" not found', name=name, kind="pods")
        query = request.query_params
        names = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
        inits = [c.get("name", "") for c in (pod.get("spec") or {}).get("initContainers") or []]
        container = query.get("container") or ""
        if not container:
            if len(names) != 1:
                raise BadRequest(f"a container name must be specified for pod {name}, choose one of: "
                                 f"[{' '.join(names)}]" + (f" or one of the init containers: [{' '.join(inits)}]"
                                                           if inits else ""))
            container = names[0]
        elif container not in names and container not in inits:
            raise BadRequest(f"container {container} is not valid for pod {name}")
        command = query.getlist("command")
        if sub == "exec" and not command:
            raise BadRequest("you must specify at least one command for the container")
        if not (pod.get("spec") or {}).get("nodeName"):
            raise BadRequest(f"pod {name} does not have a host assigned")
        spec = exec_state.container_spec(pod, container)
        flags = {k: bodies.flag(query.get(k)) for k in ("stdin", "stdout", "stderr", "tty")}
        kubelet = self.kubelet()
        runner = kubelet.runner_for(namespace, name) if kubelet is not None else None
        state = runner.container(container) if runner is not None else None
        replay = sub == "attach" and bool(spec.get("stdin")) and state is not None and state.container_id
        if runner is None or state is None or not (state.started or replay):
            raise NotRunning(f'container not found ("{container}")')
        return Target(runner, container, spec, command, flags["stdin"], flags["stdout"],
                      flags["stderr"] and not flags["tty"], flags["tty"])

    # --- endpoints ----------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        params = ws.path_params
        sub = ws.url.path.rsplit("/", 1)[-1]
        try:
            target = self.target(Request({**ws.scope, "type": "http"}), params["namespace"], params["name"], sub)
        except StatusError as exc:
            await ws.send_denial_response(json_response(exc.status(), exc.code))
            return
        except NotRunning as exc:
            await ws.send_denial_response(PlainTextResponse(str(exc), status_code=404))
            return
        offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        protocol = next((p for p in offered if p in PROTOCOLS), None)
        if protocol is None:
            error = BadRequest(f"unable to upgrade: unsupported subprotocols {offered}; this server speaks "
                               f"{', '.join(PROTOCOLS)}")
            await ws.send_denial_response(json_response(error.status(), error.code))
            return
        await ws.accept(subprotocol=protocol)
        kubelet = target.runner.kubelet
        session = Session(ws, protocol, stdin=target.stdin, stdout=target.stdout, stderr=target.stderr,
                          tty=target.tty, clock=kubelet.clock)
        if sub == "exec":
            await session.run(self._exec(session, target))
        else:
            await session.run(self._attach(session, target))

    async def http(self, request: Request) -> Response:
        """Non-WebSocket requests: a SPDY upgrade gets the same checks (and errors) as a
        WebSocket one; anything else goes to the API as usual."""
        if "upgrade" not in request.headers:
            return await self.server.dispatch(request)
        params = request.path_params
        try:
            self.target(request, params["namespace"], params["name"], request.url.path.rsplit("/", 1)[-1])
        except StatusError as exc:
            return json_response(exc.status(), exc.code)
        except NotRunning as exc:
            return PlainTextResponse(str(exc), status_code=404)
        error = BadRequest("the sandbox streams exec and attach over WebSocket (v5.channel.k8s.io) only")
        return json_response(error.status(), error.code)

    # --- work ---------------------------------------------------------------------------

    async def _exec(self, session: Session, target: Target) -> dict[str, Any]:
        kubelet = target.runner.kubelet
        world = exec_state.world_of(kubelet)
        shell = world.shell(target.runner, target.container)
        shell.tty = target.tty
        if target.tty:
            shell.vars["TERM"] = "xterm"
            shell.exported.add("TERM")
        stdin = Input() if target.stdin else Input("")
        argv = target.command
        proc: Proc
        if find(shell, argv[0]) is None:
            proc = _missing(argv[0])
        else:
            proc = shell.command(argv, stdin)
        code = await session.drive(proc)
        return exit_status(code, argv)

    async def _attach(self, session: Session, target: Target) -> dict[str, Any]:
        runner = target.runner
        state = runner.container(target.container)
        logs = runner.registry.logs
        query = LogQuery(container=target.container)
        sent = 0 if target.spec.get("stdin") else logs.read(runner.namespace, runner.name, query).count("\n")
        cid = state.container_id if state else ""
        while True:
            text = logs.read(runner.namespace, runner.name, query)
            lines = text.splitlines(keepends=True)
            if len(lines) > sent:
                await session.write(1, "".join(lines[sent:]))
                sent = len(lines)
            state = runner.container(target.container)
            alive = runner.kubelet.runner_for(runner.namespace, runner.name) is runner
            if state is None or not alive or not state.started or state.container_id != cid:
                return exit_status(0)
            await asyncio.sleep(FOLLOW_EVERY)


def _missing(name: str) -> Proc:
    yield Out(1, f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{name}": '
                 f"executable file not found in $PATH: unknown\r\n")
    return 126
