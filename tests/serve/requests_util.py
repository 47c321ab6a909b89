"""What the bad-request, fuzz and database suites look at besides the HTTP answer: the rows
``kai serve`` keeps (its inbox, the audit trail) and the posts to the response URLs, so a test
can say "nothing was accepted, nothing ran, nothing was said"; a ``kai serve`` with a policy of
the test's own; and raw requests that httpx will not send (a Content-Length that lies)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.serve.inbox import InboxRequest, ServeStore
from sandbox import control
from tools.audit import AuditRecord, AuditStore

from .slack import KaiServer, ResponseUrls, free_port, serve_env


def database(kai: KaiServer) -> str:
    return kai.env["KAI_DATABASE_URL"]


def inbox(kai: KaiServer) -> list[InboxRequest]:
    """Every request the server accepted, oldest first."""
    store = ServeStore(database(kai))
    try:
        return store.requests(limit=100_000)
    finally:
        store.close()


def audit(kai: KaiServer, *, caller: str | None = None, tool: str | None = None) -> list[AuditRecord]:
    """The server's audit rows (newest first), of ``caller`` and ``tool`` when given."""
    store = AuditStore(database(kai))
    try:
        return store.records(caller=caller, tool=tool, limit=100_000)
    finally:
        store.close()


def idle(kai: KaiServer, timeout: float = 30.0) -> list[InboxRequest]:
    """Wait until every accepted request has run; the inbox then."""
    deadline = time.monotonic() + timeout
    while True:
        rows = inbox(kai)
        if all(row.state in ("done", "failed") for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"requests still running: {[(r.id, r.state) for r in rows]}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Traces:
    """How much a server has accepted, audited and posted."""

    inbox: int
    audit: int
    posts: int


def traces(kai: KaiServer, slack: ResponseUrls) -> Traces:
    with slack.changed:
        posts = len(slack.posts)
    return Traces(len(inbox(kai)), len(audit(kai)), posts)


@contextmanager
def nothing_happens(kai: KaiServer, slack: ResponseUrls, settle: float = 0.0) -> Iterator[None]:
    """Assert that what runs inside leaves no trace: no request accepted, no audit row, no post
    (after ``settle`` seconds, for work that would run in the background)."""
    idle(kai)
    before = traces(kai, slack)
    yield
    if settle:
        time.sleep(settle)
    after = traces(kai, slack)
    assert after == before, f"a refused request left traces: {before} -> {after}"


def start_serve(cluster: control.Sandbox, root: Path, namespace: str, policy: str, **env: str) -> KaiServer:
    """``kai serve`` on ``cluster`` with the policy text ``policy`` and a SQLite file in ``root``
    (``env`` overrides, e.g. ``KAI_DATABASE_URL``)."""
    path = root / "policy.yaml"
    path.write_text(policy)
    environment = serve_env(f"sqlite:///{root / 'kai.db'}", path)
    environment.update(env)
    server = KaiServer(free_port(), environment,
                       ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace], root / "serve.log")
    return server.start()


def raw_post(kai: KaiServer, path: str, headers: dict[str, str], body: bytes, timeout: float = 10.0) -> int:
    """POST exactly these headers and body bytes (no Content-Length added, none checked); the
    status of the answer."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{kai.port}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", kai.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.startswith("HTTP/1.1 "), f"no HTTP answer: {answer[:200]!r}"
    return int(status_line.split()[1])
