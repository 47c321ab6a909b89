"""Starting, stopping and inspecting a sandbox API server with its state folder.

A state folder holds ``sandbox.db`` (objects), ``token`` (the bearer token),
``kubeconfig``, ``sandbox.pid``, ``port``, ``sandbox.log`` and ``snapshots/`` (named copies
of ``sandbox.db``). ``up`` starts the server as a background process and returns once
``/readyz`` answers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import certs
from .controllers.manager import ClusterOptions

CONTEXT = "kai-sandbox"

# Servers this process started: kept so they are reaped when stopped, not left as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Sandbox:
    state: Path
    port: int
    pid: int | None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"


class SandboxError(Exception):
    """The sandbox could not be started, reached or stopped."""


def token_of(state: Path) -> str:
    path = state / "token"
    if not path.exists():
        state.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def write_kubeconfig(state: Path, port: int) -> Path:
    ca = base64.b64encode(certs.ensure(state).ca.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": f"https://127.0.0.1:{port}",
                                                   "certificate-authority-data": ca}}],
        "users": [{"name": CONTEXT, "user": {"token": token_of(state)}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT,
                                                   "namespace": "default"}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    path = state / "kubeconfig"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    (state / "port").write_text(str(port))
    return path


def ready(port: int, ca: Path, timeout: float = 0.5) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", timeout=timeout,
                                    context=context) as reply:
            return bool(reply.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    return True


def status(state: Path) -> Sandbox | None:
    """The running sandbox of ``state``, if one answers."""
    try:
        pid = int((state / "sandbox.pid").read_text())
        port = int((state / "port").read_text())
    except (OSError, ValueError):
        return None
    if not _alive(pid) or not ready(port, state / "ca.crt"):
        return None
    return Sandbox(state, port, pid)


def up(state: Path, port: int | None = None, timeout: float = 30.0,
       options: ClusterOptions | None = None) -> Sandbox:
    """Start the sandbox of ``state`` in the background (or find it running)."""
    state = state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    running = status(state)
    if running is not None:
        if port is not None and port != running.port:
            raise SandboxError(f"the sandbox of {state} already runs on port {running.port}")
        return running
    if port is None:
        previous = state / "port"
        old = int(previous.read_text()) if previous.exists() else 0
        port = old if old and _port_is_free(old) else free_port()
    elif not _port_is_free(port):
        raise SandboxError(f"port {port} on 127.0.0.1 is in use")
    write_kubeconfig(state, port)
    log = open(state / "sandbox.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--state", str(state), "--port", str(port),
         *option_args(options or ClusterOptions())],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    log.close()
    _children[proc.pid] = proc
    (state / "sandbox.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state / "sandbox.log").read_text(errors="replace")[-2000:]
            raise SandboxError(f"the sandbox server exited with code {proc.returncode}:\n{tail}")
        if ready(port, state / "ca.crt"):
            return Sandbox(state, port, proc.pid)
        time.sleep(0.05)
    proc.kill()
    raise SandboxError(f"the sandbox server did not answer /readyz within {timeout:.0f}s")


def down(state: Path, timeout: float = 10.0) -> bool:
    """Stop the sandbox of ``state``; False when none was running."""
    try:
        pid = int((state / "sandbox.pid").read_text())
    except (OSError, ValueError):
        return False
    stopped = False
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout)
    (state / "sandbox.pid").unlink(missing_ok=True)
    return stopped


def option_args(options: ClusterOptions) -> list[str]:
    """``options`` as ``python -m sandbox serve`` flags."""
    args = ["--nodes", str(options.nodes), "--speed", str(options.speed), "--max-pods", str(options.max_pods)]
    if options.audit_log:
        args.append("--audit-log")
    return [*args, "--no-controllers"] if not options.controllers else args


def serve(state: Path, port: int, host: str = "127.0.0.1", options: ClusterOptions | None = None) -> None:
    """Run the server in this process until it is stopped (after :func:`write_kubeconfig`)."""
    import uvicorn

    from .server import SandboxServer

    state = state.resolve()
    (state / "sandbox.pid").write_text(str(os.getpid()))
    server = SandboxServer(state, token_of(state), f"{host}:{port}", options)
    tls = certs.ensure(state)
    uvicorn.run(server.app(), host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=2, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))


# --- faults (the Python API behind `kai sandbox fault`) --------------------------------

def _call(state: Path, method: str, path: str, body: dict[str, str] | None = None) -> Any:
    running = status(state)
    if running is None:
        raise SandboxError(f"no sandbox is running for {state}")
    request = urllib.request.Request(
        f"{running.url}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token_of(state)}", "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=str(state / "ca.crt"))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", str(exc))
        except ValueError:
            message = str(exc)
        raise SandboxError(message) from exc


def inject_fault(state: Path, kind: str, target: str, namespace: str = "default") -> dict[str, Any]:
    """Start an incident in the running sandbox of ``state`` (see ``sandbox.faults``)."""
    reply: dict[str, Any] = _call(state, "POST", "/sandbox/v1/faults",
                                  {"kind": kind, "target": target, "namespace": namespace})
    return reply


def clear_faults(state: Path, target: str, namespace: str = "default") -> list[dict[str, Any]]:
    """End the incidents on ``target`` (``all``: every one); what was cleared."""
    query = urllib.parse.urlencode({"target": target, "namespace": namespace})
    items: list[dict[str, Any]] = _call(state, "DELETE", f"/sandbox/v1/faults?{query}")["items"]
    return items


def list_faults(state: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _call(state, "GET", "/sandbox/v1/faults")["items"]
    return items


# --- snapshots (``python -m sandbox snapshot|restore``, the eval harness) ---------------------

def snapshot(state: Path, name: str) -> dict[str, Any]:
    """Save the whole state of the running sandbox of ``state`` as ``name`` (replacing a
    snapshot of that name): ``{name, objects, resourceVersion}``."""
    reply: dict[str, Any] = _call(state, "POST", "/sandbox/v1/snapshots", {"name": name})
    return reply


def restore(state: Path, name: str) -> dict[str, Any]:
    """Make the running sandbox's state the snapshot ``name``'s (see ``sandbox.snapshots``):
    ``{name, objects, resourceVersion}``, the resourceVersion being the server's counter now."""
    reply: dict[str, Any] = _call(state, "POST", f"/sandbox/v1/snapshots/{urllib.parse.quote(name, safe='')}/restore")
    return reply


def list_snapshots(state: Path) -> list[dict[str, Any]]:
    """The snapshots saved for ``state``: ``{name, objects, resourceVersion, created, size}`` each."""
    items: list[dict[str, Any]] = _call(state, "GET", "/sandbox/v1/snapshots")["items"]
    return items


def delete_snapshot(state: Path, name: str) -> dict[str, Any]:
    reply: dict[str, Any] = _call(state, "DELETE", f"/sandbox/v1/snapshots/{urllib.parse.quote(name, safe='')}")
    return reply
