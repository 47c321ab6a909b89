"""The store: transactions are all-or-nothing in memory and on disk, and a reopened
store has every object and the same resourceVersion counter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sandbox.store import Store


def cm(name: str, uid: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "uid": uid}}


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.put("configmaps", cm("kept", "u1"), created=True)
    rv = store.rv
    with pytest.raises(RuntimeError), store.transaction():
        store.put("configmaps", cm("half", "u2"), created=True)
        store.remove("configmaps", store.get("configmaps", "default", "kept") or {})
        raise RuntimeError("boom")
    assert store.rv == rv
    assert store.get("configmaps", "default", "half") is None
    assert store.get("configmaps", "default", "kept") is not None
    assert store.by_uid("u2") is None
    found = store.by_uid("u1")
    assert found is not None and found[1]["metadata"]["name"] == "kept"
    store.close()
    reopened = Store(tmp_path / "s.db")
    assert [o["metadata"]["name"] for o in reopened.list("configmaps")] == ["kept"]
    assert reopened.rv == rv
    reopened.close()


def test_watchers_hear_of_commits_only(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        store = Store(tmp_path / "w.db")
        watcher = store.subscribe("configmaps")
        with store.transaction():
            store.put("configmaps", cm("a", "u1"), created=True)
            assert watcher.queue.empty()  # not before the commit
        with pytest.raises(RuntimeError), store.transaction():
            store.put("configmaps", cm("b", "u2"), created=True)
            raise RuntimeError("rolled back")
        seen = []
        while not watcher.queue.empty():
            change = watcher.queue.get_nowait()
            seen.append(f"{change.type} {change.obj['metadata']['name']}")
        store.close()
        return seen

    assert asyncio.run(scenario()) == ["ADDED a"]


def test_changes_since_and_log_floor(tmp_path: Path) -> None:
    store = Store(tmp_path / "l.db")
    store.put("configmaps", cm("a", "u1"), created=True)
    first = store.rv
    store.put("configmaps", cm("b", "u2"), created=True)
    since = store.changes_since("configmaps", first)
    assert since is not None and [c.obj["metadata"]["name"] for c in since] == ["b"]
    store.close()
    reopened = Store(tmp_path / "l.db")
    assert reopened.changes_since("configmaps", first) is None  # older than this run's log
    assert reopened.changes_since("configmaps", reopened.rv) == []
    reopened.close()
