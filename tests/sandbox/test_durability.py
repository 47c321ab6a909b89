"""Concurrent writers lose no update; a SIGKILL in the middle of a write storm
leaves a consistent store whose resourceVersions keep rising."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox import control

NS = "default"
CM = f"/api/v1/namespaces/{NS}/configmaps"


def client(sandbox: control.Sandbox) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, timeout=10,
                        verify=ssl.create_default_context(cafile=str(sandbox.state / "ca.crt")),
                        headers={"Authorization": f"Bearer {control.token_of(sandbox.state)}"})


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[control.Sandbox]:
    running = control.up(tmp_path / "state")
    yield running
    control.down(tmp_path / "state")


def test_concurrent_writers_lose_no_update(own_sandbox: control.Sandbox) -> None:
    with client(own_sandbox) as http:
        assert http.post(CM, json={"metadata": {"name": "counter"}, "data": {"n": "0"}}).status_code == 201
    writers, rounds = 8, 20
    accepted = [0] * writers
    rejected = [0] * writers
    unexpected: list[str] = []

    def write(i: int) -> None:
        with client(own_sandbox) as http:
            done = 0
            while done < rounds:
                current = http.get(f"{CM}/counter").json()
                current["data"]["n"] = str(int(current["data"]["n"]) + 1)
                current["data"][f"w{i}"] = str(done)
                reply = http.put(f"{CM}/counter", json=current)
                if reply.status_code == 200:
                    accepted[i] += 1
                    done += 1
                elif reply.status_code == 409 and reply.json()["reason"] == "Conflict":
                    rejected[i] += 1
                else:
                    unexpected.append(f"{reply.status_code} {reply.text}")
                    return

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert unexpected == []
    with client(own_sandbox) as http:
        final = http.get(f"{CM}/counter").json()
    assert int(final["data"]["n"]) == sum(accepted) == writers * rounds
    assert all(final["data"][f"w{i}"] == str(rounds - 1) for i in range(writers))
    assert sum(rejected) > 0  # the writers really did race


def test_sigkill_during_write_storm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = control.up(state)
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def storm(i: int) -> None:
        with client(first) as http:
            n = 0
            while not stop.is_set():
                name = f"storm-{i}-{n}"
                try:
                    reply = http.post(CM, json={"metadata": {"name": name}, "data": {"i": str(n)}})
                except httpx.HTTPError:
                    return
                if reply.status_code == 201:
                    with lock:
                        acknowledged[name] = int(reply.json()["metadata"]["resourceVersion"])
                n += 1

    threads = [threading.Thread(target=storm, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    while len(acknowledged) < 200:
        time.sleep(0.01)
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join()
    control.down(state)

    db = sqlite3.connect(str(state / "sandbox.db"))
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    second = control.up(state)
    try:
        with client(second) as http:
            listed = http.get(CM).json()
            names = {o["metadata"]["name"]: int(o["metadata"]["resourceVersion"]) for o in listed["items"]}
            # every acknowledged write survived, with the resourceVersion it was acknowledged with
            for name, rv in acknowledged.items():
                assert names.get(name) == rv
            list_rv = int(listed["metadata"]["resourceVersion"])
            assert list_rv >= max(acknowledged.values())
            created = http.post(CM, json={"metadata": {"name": "after-restart"}}).json()
            assert int(created["metadata"]["resourceVersion"]) > list_rv
            # a watch from before the restart is too old for the new log: 410 Expired
            reply = http.get(f"{CM}?watch=true&resourceVersion=1&timeoutSeconds=2")
            event = json.loads(reply.text.splitlines()[0])
            assert event["type"] == "ERROR" and event["object"]["code"] == 410
            assert event["object"]["reason"] == "Expired"
    finally:
        control.down(state)


def test_terminating_namespace_waits_for_finalizers_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = control.up(state)
    held = "/api/v1/namespaces/held/configmaps"
    with client(first) as http:
        http.post("/api/v1/namespaces", json={"metadata": {"name": "held"}}).raise_for_status()
        http.post(held, json={"metadata": {"name": "pinned", "finalizers": ["kai.dev/hold"]}}).raise_for_status()
        http.post(held, json={"metadata": {"name": "loose"}}).raise_for_status()
        assert http.delete("/api/v1/namespaces/held").json()["status"]["phase"] == "Terminating"
        deadline = time.monotonic() + 10
        while http.get(f"{held}/loose").status_code != 404 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http.get(f"{held}/loose").status_code == 404
        assert http.get("/api/v1/namespaces/held").json()["status"]["phase"] == "Terminating"
        refused = http.post(held, json={"metadata": {"name": "new"}})
        assert refused.status_code == 403 and "is being terminated" in refused.json()["message"]
    control.down(state)
    second = control.up(state)
    try:
        with client(second) as http:
            pinned = http.get(f"{held}/pinned").json()
            assert pinned["metadata"]["deletionTimestamp"]
            http.patch(f"{held}/pinned", content=json.dumps({"metadata": {"finalizers": None}}),
                       headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
            deadline = time.monotonic() + 10
            while http.get("/api/v1/namespaces/held").status_code != 404 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert http.get("/api/v1/namespaces/held").status_code == 404
    finally:
        control.down(state)
