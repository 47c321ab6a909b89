"""``kai audit``: the audit trail, newest first, as a table or as JSON.

The store (and SQLAlchemy with it) is imported when the command runs, so that ``kai --help``
stays instant.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from .columns import columns

if TYPE_CHECKING:
    from tools.audit import AuditRecord

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DURATION = re.compile(r"(\d+)\s*([smhdw])")
COLUMNS = ("ID", "STARTED (UTC)", "CALLER", "TOOL", "DECISION", "OUTCOME", "APPROVER", "MS", "ARGUMENTS", "NOTE")
WIDE = 40


def parse_since(text: str) -> datetime:
    """``30s``, ``10m``, ``1h``, ``2d``, ``1w`` ago, or an ISO 8601 time (this machine's local
    time unless it carries a zone), as an aware UTC datetime."""
    text = text.strip()
    duration = DURATION.fullmatch(text)
    if duration:
        return datetime.now(UTC) - timedelta(**{UNITS[duration[2]]: int(duration[1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither a duration (30s, 10m, 1h, 2d, 1w) nor an ISO 8601 time "
                                 "(2026-11-26T08:00:00Z)") from None
    return when.astimezone(UTC)


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    return None if value is None else parse_since(value)


def _cut(text: str | None, width: int = WIDE) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _arguments(text: str) -> str:
    """``name=backend replicas=3``: the arguments on one line."""
    try:
        arguments = json.loads(text)
    except ValueError:
        return text
    if not isinstance(arguments, dict):
        return text
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                    for k, v in arguments.items() if v is not None)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _row(record: AuditRecord) -> tuple[str, ...]:
    return (str(record.id), record.started_at.strftime("%Y-%m-%d %H:%M:%S"), record.caller, record.tool,
            record.decision, record.outcome, record.approver or "-", _ms(record.duration_ms),
            _cut(_arguments(record.arguments)) or "-", _cut(record.error or record.reason) or "-")


def table(records: list[AuditRecord]) -> str:
    """Plain columns, as kubectl prints them."""
    return columns(COLUMNS, [_row(r) for r in records])


def as_json(records: list[AuditRecord]) -> str:
    """One JSON array; times in ISO 8601 UTC, arguments as an object."""
    out = []
    for record in records:
        item = record.model_dump()
        item["arguments"] = json.loads(record.arguments)
        for key in ("started_at", "finished_at"):
            item[key] = item[key].isoformat() if item[key] is not None else None
        out.append(item)
    return json.dumps(out, indent=2, ensure_ascii=False)


@click.command()
@click.option("--since", callback=_since, metavar="DURATION|TIME",
              help="only calls since then: 30s, 10m, 1h, 2d, 1w, or an ISO 8601 time")
@click.option("--caller", help="only calls by this identity (repl:local, slack:T0123/U0456, ...)")
@click.option("--tool", help="only calls of this tool (scale, get_logs, ...)")
@click.option("--decision", type=click.Choice(["allow", "confirm", "deny", "pending"]),
              help="only calls the guard decided so (pending: it never decided)")
@click.option("--session", help="only calls of this conversation (kai --list-sessions shows them)")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="at most this many")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--database-url", metavar="URL",
              help="sqlite:///PATH or postgresql://... (default: $KAI_DATABASE_URL, else kai.db in "
                   "$KAI_STATE_DIR or ./.kai)")
def audit(since: datetime | None, caller: str | None, tool: str | None, decision: str | None, session: str | None,
          limit: int, output: str, database_url: str | None) -> None:
    """List the audit trail: every tool call kai made or refused, newest first."""
    from tools.audit import AuditStore
    from tools.errors import KaiError

    try:
        store = AuditStore(database_url)
        try:
            records = store.records(since=since, caller=caller, tool=tool, decision=decision, session=session,
                                    limit=limit)
        finally:
            store.close()
    except KaiError as exc:
        raise click.ClickException(exc.message) from exc
    if output == "json":
        click.echo(as_json(records))
    elif records:
        click.echo(table(records))
    else:
        click.echo("No audit records.", err=True)
