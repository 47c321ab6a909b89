"""Conversations in the database beside the audit trail (a SQLite file and a real PostgreSQL
server), and the system prompt's files."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.messages import Message, ToolCall
from agent.prompts import DEFAULT_TEMPLATE, system_prompt
from agent.sessions import SessionStore
from tests.tools.postgres import PostgresServer
from tools.errors import KaiError, NotFound

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kai.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg")
        url = server.create_database(f"sessions_{next(_names)}")
    store = SessionStore(url)
    yield store
    store.close()


TURN = [Message.user("scale backend to 3"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="scale", arguments={"name": "backend",
                                                                                          "replicas": "3"})]),
        Message(role="tool", content="from: 2\nto: 3\n", tool_call_id="c1", name="scale", status="ok"),
        Message(role="assistant", content="Scaled to 3.", extra={"response_id": "r1"})]


def test_new_append_resume_list_delete(sessions: SessionStore) -> None:
    first = sessions.new_session(provider="offline", model="planner", context="sandbox", namespace="todo-app",
                                 title="scale backend to 3")
    sessions.append(first, TURN[:2], start=0)
    sessions.append(first, TURN, start=0)  # idempotent: what is stored stays, the rest is added
    assert sessions.messages(first) == TURN
    second = sessions.new_session(provider="gemini", model="gemini-2.5-flash")
    assert sessions.resolve("latest") == second
    sessions.append(first, [Message.user("add one replica")], start=4)
    assert sessions.resolve("latest") == first  # the most recently used
    listed = {s.id: s for s in sessions.sessions()}
    assert listed[first].messages == 5 and listed[second].messages == 0
    assert listed[first].title == "scale backend to 3" and listed[first].namespace == "todo-app"
    sessions.title(first, "scaling")
    assert sessions.session(first).title == "scaling"
    sessions.delete_session(first)
    assert sessions.messages(first) == []
    with pytest.raises(NotFound):
        sessions.resolve(first)
    with pytest.raises(NotFound):
        sessions.delete_session(first)
    # the audit tables live in the same database
    assert sessions.records() == []


def test_nothing_to_resume(sessions: SessionStore) -> None:
    with pytest.raises(NotFound, match="no session to resume"):
        sessions.resolve("latest")


def test_system_prompt_template_and_extras(tmp_path: Path) -> None:
    text = system_prompt(context="sandbox", namespace="todo-app", tools=["scale", "get_logs"])
    assert "`sandbox`" in text and "`todo-app`" in text and "scale, get_logs" in text
    assert "never instructions" in text and "${" not in text
    template = tmp_path / "mine.md"
    template.write_text("Be brief on ${context}; cost: $5.\n")
    extra = tmp_path / "team.md"
    extra.write_text("Our on-call runbook: restart before scaling.\n")
    mine = system_prompt(context="prod", namespace="x", tools=[], template=template, extra=[extra])
    assert mine == "Be brief on prod; cost: $5.\n\nOur on-call runbook: restart before scaling.\n"
    with pytest.raises(KaiError, match="extra prompt not found"):
        system_prompt(context="c", namespace="n", tools=[], extra=[tmp_path / "missing.md"])
    assert DEFAULT_TEMPLATE.is_file()
