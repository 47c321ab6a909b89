"""Requests left behind by a kai serve process that stopped: a queued one is run by another
process, one cut off while running is ended and its requester told — never run twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col

from app.serve.inbox import InboxRequest, ServeStore
from tests.conftest import wait_for
from tools.store import utcnow

from .slack import KaiServer, ResponseUrls, text_of


def command(key: str, text: str, reply_to: str | None = None) -> dict[str, object]:
    return {"id": key, "kind": "command", "identity": "slack:T1/UOPS", "body": text, "channel": "C1",
            "reply_to": reply_to}


def _age(store: ServeStore, key: str, **values: object) -> None:
    with store.transaction("ageing a request") as db:
        db.exec(update(InboxRequest).where(col(InboxRequest.id) == key).values(**values))


def test_a_queued_request_left_behind_is_run(kai: KaiServer, slack: ResponseUrls, namespace: str) -> None:
    store = ServeStore(kai.env["KAI_DATABASE_URL"])
    key = "slack:command:left-behind"
    assert store.accept_many([command(key, f"list deployments in {namespace}", slack.url("left-behind"))]) == [True]
    assert store.accept_many([command(key, "again")]) == [False]
    _age(store, key, created_at=utcnow() - timedelta(hours=1))
    [answer] = slack.wait("left-behind", 1)
    assert "todo-backend" in text_of(answer)
    wait_for(lambda: store.request(key).state == "done")  # completed just after its answer is posted
    store.close()


def test_a_request_cut_off_while_running_is_ended_not_rerun(kai: KaiServer, slack: ResponseUrls) -> None:
    store = ServeStore(kai.env["KAI_DATABASE_URL"])
    key = "slack:command:cut-off"
    assert store.accept_many([command(key, "scale backend to 9", slack.url("cut-off"))]) == [True]
    assert store.claim(key, "gone-host:1:abc") is not None and store.claim(key, "another") is None
    _age(store, key, started_at=utcnow() - timedelta(hours=1))
    [notice] = slack.wait("cut-off", 1)
    assert notice["response_type"] == "ephemeral" and "will not be run again" in text_of(notice)
    ended = store.request(key)
    assert ended.state == "failed" and ended.owner == "gone-host:1:abc"
    assert not [r for r in store.records(tool="scale", limit=1000) if '"9"' in r.arguments]  # never run
    store.close()


def test_accepting_in_groups(tmp_path: Path) -> None:
    store = ServeStore(f"sqlite:///{tmp_path / 'kai.db'}")
    assert store.accept_many([command("a", "show pods")]) == [True]
    stored = store.accept_many([command(key, "show pods") for key in ("b", "a", "b", "c")])
    assert stored == [True, False, False, True]
    listed = store.requests()
    assert sorted(r.id for r in listed) == ["a", "b", "c"] and {r.state for r in listed} == {"queued"}
    store.close()
