"""``kai audit`` against a real SQLite file, through click's runner."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from sqlmodel import col

from app.audit_cmd import audit
from tools.audit import AuditRecord, AuditStore

SECRET = "pl4nted-s3cret-value"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Three calls: an allowed read two days ago, a denied delete, a confirmed and approved scale."""
    url = f"sqlite:///{tmp_path / 'kai.db'}"
    store = AuditStore(url)
    old = store.begin(caller="repl:local", source="repl", session="s1", tool="get_logs", risk="read",
                      arguments={"name": "backend", "tail": 50}, context="sandbox")
    store.decide(old, decision="allow")
    store.finish(old, outcome="ok", result="…", duration_ms=41.2)
    with store.transaction("backdating") as session:
        session.exec(update(AuditRecord).where(col(AuditRecord.id) == old)
                     .values(started_at=datetime.now(UTC) - timedelta(days=2)))
    denied = store.begin(caller="slack:T1/U1", source="slack", session=None, tool="delete_namespace",
                         risk="destructive", arguments={"name": "kube-system", "password": SECRET},
                         context="sandbox")
    store.decide(denied, decision="deny", reason="writes to kube-system are denied")
    store.finish(denied, outcome="denied", duration_ms=0.3)
    scaled = store.begin(caller="slack:T1/U1", source="slack", session=None, tool="scale", risk="write",
                         arguments={"name": "backend", "replicas": 3}, context="sandbox")
    store.decide(scaled, decision="confirm", preview="-1\n+3", command="kubectl scale ...")
    store.approved(scaled, approver="slack:T1/U2", approval_id="a1")
    store.finish(scaled, outcome="ok", result="replicas: 3", duration_ms=120.0)
    store.close()
    return url


def kai_audit(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(audit, list(args), env=env)


def listed(url: str, *args: str) -> list[dict[str, object]]:
    result = kai_audit("--database-url", url, "-o", "json", *args)
    assert result.exit_code == 0, result.output
    items: list[dict[str, object]] = json.loads(result.stdout)
    return items


def test_table_newest_first(db: str) -> None:
    result = kai_audit("--database-url", db)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "STARTED", "(UTC)", "CALLER"]
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]
    assert lines[1].split()[3:9] == ["slack:T1/U1", "scale", "confirm", "ok", "slack:T1/U2", "120"]
    assert "writes to kube-system are denied" in lines[2]
    assert lines[3].split()[-3:] == ["name=backend", "tail=50", "-"]
    assert " 0.3 " in lines[2] and "name=kube-system password=<redacted:" in lines[2]
    assert SECRET not in result.output


def test_json_is_one_array_of_records(db: str) -> None:
    items = listed(db)
    assert [i["id"] for i in items] == [3, 2, 1]
    newest = items[0]
    assert newest["arguments"] == {"name": "backend", "replicas": 3}
    assert (newest["decision"], newest["approver"], newest["preview"], newest["outcome"]) == (
        "confirm", "slack:T1/U2", "-1\n+3", "ok")
    started = datetime.fromisoformat(str(newest["started_at"]))
    assert started.utcoffset() == timedelta(0)
    assert items[1]["arguments"] == {"name": "kube-system", "password": f"<redacted: {len(SECRET)} bytes>"}


def test_filters(db: str) -> None:
    assert [i["id"] for i in listed(db, "--caller", "slack:T1/U1")] == [3, 2]
    assert [i["id"] for i in listed(db, "--tool", "get_logs")] == [1]
    assert [i["id"] for i in listed(db, "--decision", "deny")] == [2]
    assert [i["id"] for i in listed(db, "--caller", "slack:T1/U1", "--decision", "allow")] == []
    assert [i["id"] for i in listed(db, "--limit", "1")] == [3]
    assert [i["id"] for i in listed(db, "--session", "s1")] == [1]


@pytest.mark.parametrize(("since", "ids"), [
    ("1h", [3, 2]), ("10m", [3, 2]), ("3d", [3, 2, 1]), ("1w", [3, 2, 1]), ("90s", [3, 2]),
    ("2020-01-01T00:00:00Z", [3, 2, 1]), ("2999-01-01T00:00:00+02:00", []), ("2999-01-01", []),
])
def test_since(db: str, since: str, ids: list[int]) -> None:
    assert [i["id"] for i in listed(db, "--since", since)] == ids


@pytest.mark.parametrize("since", ["yesterday", "10", "5y", "-1h", "2026-13-01"])
def test_a_bad_since_is_a_usage_error(db: str, since: str) -> None:
    result = kai_audit("--database-url", db, "--since", since)
    assert result.exit_code == 2
    assert "Invalid value for '--since'" in result.output and "neither a duration" in result.output


def test_bad_options_are_usage_errors(db: str) -> None:
    assert kai_audit("--database-url", db, "--decision", "maybe").exit_code == 2
    assert kai_audit("--database-url", db, "--limit", "0").exit_code == 2
    assert kai_audit("--database-url", db, "-o", "yaml").exit_code == 2


def test_the_database_from_the_environment(db: str, tmp_path: Path) -> None:
    result = kai_audit("-o", "json", env={"KAI_DATABASE_URL": db})
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 3
    state = tmp_path / "state"
    empty = kai_audit(env={"KAI_DATABASE_URL": "", "KAI_STATE_DIR": str(state)})
    assert empty.exit_code == 0
    assert empty.stdout == "" and "No audit records." in empty.stderr
    assert (state / "kai.db").exists()
    assert kai_audit("-o", "json", env={"KAI_DATABASE_URL": "", "KAI_STATE_DIR": str(state)}).stdout == "[]\n"


def test_a_database_error_is_one_line(tmp_path: Path) -> None:
    result = kai_audit("--database-url", "mysql://kai@db/kai")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: unsupported database 'mysql': use sqlite:/// or postgresql://"


def test_the_command_loads_no_database_library_until_it_runs() -> None:
    code = ("import sys, app.audit_cmd; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sqlmodel', 'sqlalchemy', 'psycopg', "
            "'tools'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
