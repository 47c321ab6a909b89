"""Probes against a simulated program: httpGet, tcpSocket and exec, with the messages
a kubelet writes when they fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import Program
from .shell import Context, program_steps
from .steps import Exit

Obj = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""
    path: str = ""  # the HTTP path requested, for the program's access log
    status: int = 0


def _port(container: Obj, port: Any) -> int | None:
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p.get("containerPort", 0))
    return int(port) if isinstance(port, str) and port.isdigit() else None


def check(probe: Obj, container: Obj, program: Program, serving: bool, pod_ip: str, ctx: Context,
          *, unhealthy: bool = False) -> Outcome:
    """One probe; ``unhealthy``: the program is up but fails its health checks (503)."""
    if "httpGet" in probe:
        http = probe["httpGet"]
        port = _port(container, http.get("port"))
        path = http.get("path", "/")
        scheme = str(http.get("scheme", "HTTP")).lower()
        url = f"{scheme}://{pod_ip}:{port}{path}"
        if port is None:
            return Outcome(False, f'HTTP probe failed: port "{http.get("port")}" not found in container')
        if not serving or port not in program.ports:
            return Outcome(False, f'Get "{url}": dial tcp {pod_ip}:{port}: connect: connection refused')
        if unhealthy:
            return Outcome(False, "HTTP probe failed with statuscode: 503", path=path, status=503)
        if "*" in program.paths or path.split("?")[0] in program.paths:
            return Outcome(True, path=path, status=200)
        return Outcome(False, "HTTP probe failed with statuscode: 404", path=path, status=404)
    if "tcpSocket" in probe:
        port = _port(container, probe["tcpSocket"].get("port"))
        if serving and port in program.ports:
            return Outcome(True)
        return Outcome(False, f"dial tcp {pod_ip}:{port}: connect: connection refused")
    if "exec" in probe:
        argv = list((probe.get("exec") or {}).get("command") or [])
        steps = program_steps(argv, ctx, python_image=False)
        code = next((s.code for s in steps if isinstance(s, Exit)), 0)
        if code == 0:
            return Outcome(True)
        return Outcome(False, f"command {argv!r} exited with {code}" if code != 127 else
                       f'exec failed: unable to start container process: exec: "{argv[0]}": '
                       f"executable file not found in $PATH")
    if "grpc" in probe:
        port = probe["grpc"].get("port")
        if serving and port in program.ports:
            return Outcome(True)
        return Outcome(False, f"timeout: failed to connect service \"{pod_ip}:{port}\" within 1s")
    return Outcome(True)
