"""``kai [FLAGS] [QUERY]``: the kubectl-ai compatible front door. A query (positional, stdin,
or both) runs once and prints the answer; no query in a terminal opens the REPL.

Exit codes: 0 done, 1 error, 2 usage, 3 refused (a write needed an approval nobody gave, or
the policy, a person or RBAC said no).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from .chat import ChatOptions
from .columns import columns
from .options import cluster_options

if TYPE_CHECKING:
    from agent.sessions import SessionInfo
    from tools.executor import ApproveFn

EXIT_REFUSED = 3
STDIN_LIMIT = 256 * 1024
PROVIDER_NAMES = ("offline", "gemini", "openai", "openai-compatible")


def _paths(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[Path, ...]:
    """``--extra-prompt-paths a.md,b.md`` or the flag repeated, as kubectl-ai takes it."""
    return tuple(Path(p.strip()) for v in value for p in v.split(",") if p.strip())


@click.command(name="ask", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("query", nargs=-1)
@click.option("--llm-provider", "provider", envvar="KAI_LLM_PROVIDER", metavar="NAME",
              help=f"{', '.join(PROVIDER_NAMES)} (default: offline unless a provider key is set)")
@click.option("--model", envvar="KAI_MODEL", help="the provider's model (default: the provider's current default)")
@click.option("--llm-endpoint", envvar="OPENAI_BASE_URL", metavar="URL",
              help="base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp) or a proxy")
@click.option("--quiet", is_flag=True, help="print only the answer; never ask (writes that need approval are refused)")
@click.option("--skip-permissions", is_flag=True, help="approve writes yourself without being asked (still previewed, "
              "checked by the policy and audited)")
@click.option("--max-iterations", type=click.IntRange(1, 200), default=20, show_default=True,
              help="model turns per query")
@cluster_options
@click.option("--trace-path", type=click.Path(path_type=Path, dir_okay=False),
              help="append a YAML stream of tool requests and responses to this file")
@click.option("--show-tool-output", is_flag=True,
              help="print each tool's output: lists as tables, objects as YAML (-o json: each call's output)")
@click.option("--prompt-template-file-path", "prompt_template", type=click.Path(path_type=Path, dir_okay=False),
              help="replace the system prompt (prompts/system.md) with this file")
@click.option("--extra-prompt-paths", multiple=True, callback=_paths, metavar="FILE[,FILE]",
              help="append these files to the system prompt")
@click.option("--new-session", is_flag=True, help="start a new conversation even when $KAI_RESUME_SESSION is set")
@click.option("--resume-session", metavar="ID|latest", envvar="KAI_RESUME_SESSION",
              help="continue a stored conversation (KAI_RESUME_SESSION=latest: chain one-shot queries)")
@click.option("--list-sessions", is_flag=True, help="list stored conversations and exit")
@click.option("--delete-session", metavar="ID", help="delete a stored conversation and exit")
@click.option("--database-url", envvar="KAI_DATABASE_URL", help="audit and session database "
              "(default: sqlite in .kai/kai.db)")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the answer, tool calls, decisions and audit ids as one document")
def ask(query: tuple[str, ...], provider: str | None, model: str | None, llm_endpoint: str | None, quiet: bool,
        skip_permissions: bool, max_iterations: int, kubeconfig: Path | None, kube_context: str | None,
        namespace: str | None, policy: Path | None, trace_path: Path | None, show_tool_output: bool,
        prompt_template: Path | None, extra_prompt_paths: tuple[Path, ...], new_session: bool,
        resume_session: str | None, list_sessions: bool, delete_session: str | None, database_url: str | None,
        output: str) -> None:
    """Ask kai in plain words: `kai "scale backend to 3"`, `kubectl logs … | kai "explain"`.
    With no query in a terminal, kai opens its REPL."""
    if new_session:
        source = click.get_current_context().get_parameter_source("resume_session")
        if source == click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("--new-session and --resume-session exclude each other")
        resume_session = None  # over $KAI_RESUME_SESSION
    if list_sessions or delete_session:
        _sessions(database_url, delete_session, output)
        return
    if show_tool_output and quiet:
        raise click.UsageError("--show-tool-output and --quiet exclude each other (--quiet prints only the answer)")
    text, attachment = _query(query)
    options = ChatOptions(
        provider=provider, model=model, llm_endpoint=llm_endpoint, kubeconfig=kubeconfig, context=kube_context,
        namespace=namespace, policy=policy, database_url=database_url, max_iterations=max_iterations,
        trace_path=trace_path, prompt_template=prompt_template, extra_prompts=extra_prompt_paths,
        resume=resume_session)
    if text is None:
        if quiet or output == "json" or not sys.stdin.isatty():
            raise click.UsageError("no query: give one as an argument or on stdin (the REPL needs a terminal)")
        from .repl import run_repl

        run_repl(replace(options, identity="repl:local"), skip_permissions=skip_permissions,
                 show_tool_output=show_tool_output)
        return
    code = asyncio.run(_once(options, text, attachment, quiet=quiet, skip_permissions=skip_permissions,
                             show_tool_output=show_tool_output, as_json=output == "json"))
    sys.exit(code)


def _query(words: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The query and what was piped in. Piped text alone is the query (``echo "show pods" |
    kai``); beside a positional query it is input for it (``kubectl logs … | kai "why?"``),
    which the model reads as data, never as its command. At most STDIN_LIMIT bytes are read."""
    typed = " ".join(words).strip()
    piped = ""
    if not sys.stdin.isatty():
        data = sys.stdin.buffer.read(STDIN_LIMIT + 1)
        piped = data[:STDIN_LIMIT].decode("utf-8", "replace").strip()
        if len(data) > STDIN_LIMIT:
            piped += f"\n… input cut at {STDIN_LIMIT // 1024} KiB"
    if not typed:
        return piped or None, None
    return typed, piped or None


async def _once(options: ChatOptions, text: str, attachment: str | None, *, quiet: bool, skip_permissions: bool,
                show_tool_output: bool, as_json: bool) -> int:
    from rich.console import Console

    from .approval import TerminalApprover
    from .approval import skip_permissions as auto
    from .chat import Chat
    from .render import EventPrinter, answer_view

    err = Console(stderr=True, highlight=False, markup=False)
    approve: ApproveFn | None = None
    terminal = None if skip_permissions or quiet or as_json else _terminal()
    if skip_permissions:
        approve = auto(options.identity)
    elif terminal is not None:
        approve = TerminalApprover(options.identity, _reader(terminal), lambda line: err.print(line, style="dim"))
    printer = EventPrinter(err, show_tool_output=show_tool_output, quiet=quiet or as_json)
    try:
        chat = Chat(options, approve=approve, sink=printer)
        try:
            result = await chat.ask(text, attachment)
        finally:
            await chat.aclose()
    finally:
        if terminal is not None and terminal is not sys.stdin:
            terminal.close()
    if as_json:
        document = {"session": chat.session_id, "provider": chat.provider_name, "model": chat.provider.model,
                    **result.as_dict(outputs=show_tool_output)}
        click.echo(json.dumps(document, indent=2, default=str))
    elif quiet:
        click.echo(result.answer)
    else:
        Console(highlight=False, markup=False).print(answer_view(result.answer, chat.provider.markdown))
    if result.status == "refused":
        needed = [c for c in result.calls if c.status == "approval_required"]
        if needed and not as_json:
            how = "Run without --quiet to answer at the prompt" if quiet else "There is no terminal to ask at"
            err.print(f"kai did not run {needed[0].tool}: it needs approval. {how}, or add --skip-permissions "
                      "to approve it yourself.", style="yellow")
        return EXIT_REFUSED
    return 0 if result.status == "done" else 1


def _terminal() -> TextIO | None:
    """Where to ask for approvals: stdin when it is a terminal, else the controlling terminal
    (``kubectl logs … | kai "fix it"`` still asks, as git and ssh do), else nowhere."""
    if sys.stdin.isatty():
        return sys.stdin
    try:
        return open("/dev/tty", encoding="utf-8")  # closed by the caller
    except OSError:
        return None


def _reader(terminal: TextIO) -> Callable[[str], Awaitable[str]]:
    def ask(question: str) -> str:
        sys.stderr.write(question)
        sys.stderr.flush()
        line = terminal.readline()
        if not line:
            raise EOFError
        return line.strip() or "n"

    async def read_line(question: str) -> str:
        return await asyncio.to_thread(ask, question)

    return read_line


def _sessions(database_url: str | None, delete: str | None, output: str) -> None:
    from agent.sessions import SessionStore

    store = SessionStore(database_url)
    try:
        if delete:
            found = store.resolve(delete)
            store.delete_session(found)
            click.echo(f"deleted session {found}")
            return
        rows = store.sessions()
    finally:
        store.close()
    if output == "json":
        click.echo(json.dumps([{**row.__dict__, "created_at": row.created_at.isoformat(),
                                "updated_at": row.updated_at.isoformat()} for row in rows], indent=2))
        return
    click.echo(sessions_table(rows) if rows else "no sessions yet")


def sessions_table(rows: list[SessionInfo], current: str | None = None) -> str:
    """Stored conversations as columns; ``current`` is marked with ``*``."""
    return columns(("ID", "UPDATED (UTC)", "MESSAGES", "PROVIDER/MODEL", "TITLE"), [
        (row.id + (" *" if row.id == current else ""), f"{row.updated_at:%Y-%m-%d %H:%M:%S}", str(row.messages),
         f"{row.provider}/{row.model}", row.title) for row in rows])
