"""What the terminal shows: tool calls as they run, results as tables (lists) and highlighted
YAML (objects), the preview of a write as a diff, and the answer. rich is imported here only,
when a chat runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from agent.events import Event
    from tools.executor import Outcome, Preview

MARKS = {"ok": ("✔", "green"), "denied": ("✘", "red"), "approval_required": ("✘", "yellow"),
         "rejected": ("✘", "yellow"), "expired": ("✘", "yellow"), "error": ("!", "red")}
MAX_ROWS = 50


def call_line(tool: str, arguments: dict[str, Any]) -> Text:
    args = " ".join(f"{k}={_short(v)}" for k, v in arguments.items())
    return Text.assemble(("→ ", "cyan"), (tool, "bold cyan"), (f" {args}" if args else "", "cyan"))


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else _json_inline(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_inline(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), default=str)


def _yaml(value: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(value, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False))


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    columns: list[str] = []  # scalar fields that are set in at least one row
    for row in rows[:MAX_ROWS]:
        for key, value in row.items():
            if key not in columns and not isinstance(value, dict | list) and value not in (None, ""):
                columns.append(key)
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold", box=None,
                  pad_edge=False)
    for column in columns:
        table.add_column(column.upper())
    for row in rows[:MAX_ROWS]:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    if len(rows) > MAX_ROWS:
        table.caption = f"… {len(rows) - MAX_ROWS} more rows"
    return table


def result_view(result: dict[str, Any]) -> RenderableType:
    """A tool's structured result: lists of objects as tables, long text as text, the rest as YAML."""
    parts: list[RenderableType] = []
    rest: dict[str, Any] = {}
    for key, value in result.items():
        if value in (None, [], {}, ""):
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts.append(_table(value, key))
        elif isinstance(value, str) and "\n" in value:
            parts.append(Group(Text(key, style="bold"), Text(value.rstrip("\n"))))
        else:
            rest[key] = value
    if rest:
        parts.insert(0, Syntax(_yaml(rest).rstrip("\n"), "yaml", theme="ansi_dark", background_color="default"))
    return Group(*parts)


def outcome_view(outcome: Outcome) -> RenderableType:
    if outcome.ok and outcome.result is not None:
        return result_view(outcome.result)
    return Text(outcome.text.rstrip("\n"))


def finished_line(outcome: Outcome) -> Text:
    mark, style = MARKS.get(outcome.status, ("?", "red"))
    note = "" if outcome.ok else f" — {outcome.text.strip().splitlines()[0]}" if outcome.text.strip() else ""
    decided = f" ({outcome.decision}" + (f", approved by {outcome.approver}" if outcome.approver else "") + ")" \
        if outcome.decision in ("confirm",) else ""
    return Text.assemble((f"{mark} ", style), (outcome.tool, "bold"), (f" {outcome.status}{decided}", style),
                         (note, "dim"), (f"  {outcome.duration_ms:.0f} ms", "dim"))


def preview_panel(preview: Preview, reason: str) -> Panel:
    body: list[RenderableType] = [Text(preview.summary, style="bold")]
    if preview.command:
        body.append(Text.assemble(("equivalent: ", "dim"), (preview.command, "cyan")))
    if preview.diff.strip():
        body.append(Syntax(preview.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default"))
    if reason:
        body.append(Text(reason, style="dim"))
    return Panel(Group(*body), title="preview", title_align="left", border_style="yellow")


def answer_view(text: str, markdown: bool = True) -> RenderableType:
    """An LLM's answer as Markdown; the offline planner's preformatted text as it is."""
    if not text.strip():
        return Text("(no answer)", style="dim")
    if not markdown:
        return Text(text.rstrip("\n"))
    from rich.markdown import Markdown

    return Markdown(text)


class EventPrinter:
    """Prints a run's events as they come (``--quiet`` shows none of them)."""

    def __init__(self, console: Console, *, show_tool_output: bool, quiet: bool = False) -> None:
        self.console = console
        self.show_tool_output = show_tool_output
        self.quiet = quiet

    async def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if event.kind == "tool_requested":
            self.console.print(call_line(event.tool, event.arguments))
        elif event.kind == "tool_finished":
            self.console.print(finished_line(event.outcome))
            if self.show_tool_output:
                self.console.print(outcome_view(event.outcome))
        elif event.kind == "preview":
            self.console.print(preview_panel(event.preview, event.reason))
        elif event.kind == "decided":
            verdict = "approved" if event.approved else "rejected"
            self.console.print(Text(f"{verdict} by {event.approver}", style="green" if event.approved else "yellow"))
        elif event.kind == "thinking" and event.text:
            self.console.print(Text(event.text.strip(), style="dim italic"))
