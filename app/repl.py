"""The REPL: a conversation in the terminal (prompt_toolkit for input with history and
completion, rich for output). Tools show as they run, lists as tables, objects as YAML,
writes as a preview diff with three choices; Ctrl-C cancels the turn and keeps the REPL."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.history import FileHistory, InMemoryHistory
from rich.console import Console
from rich.status import Status
from rich.table import Table
from rich.text import Text

from agent.events import Event
from tools.errors import KaiError

from .approval import TerminalApprover
from .approval import skip_permissions as auto_approve
from .chat import Chat, ChatOptions
from .render import EventPrinter, answer_view

META = {
    "help": "this list",
    "models": "the provider's models",
    "model NAME": "switch to model NAME",
    "tools": "the tools kai may use under the policy",
    "policy": "the policy in force",
    "audit": "the last tool calls of this session",
    "sessions": "stored conversations",
    "save-session [TITLE]": "name this conversation (it is saved after every turn)",
    "resume-session ID": "continue a stored conversation (or `latest`)",
    "clear / reset": "start a new conversation",
    "exit / quit": "leave (Ctrl-D too)",
}
BARE = {"help", "models", "tools", "policy", "audit", "sessions", "clear", "reset", "exit", "quit"}  # take no words
WORDS = ["help", "models", "model", "tools", "policy", "audit", "sessions", "save-session", "resume-session",
         "clear", "reset", "exit", "quit"]


def history_file(env: dict[str, str]) -> Path:
    state = Path(env.get("KAI_STATE_DIR") or ".kai").expanduser()
    state.mkdir(parents=True, exist_ok=True)
    return state / "repl_history"


class _Sink(EventPrinter):
    """Prints events, with a spinner while the model or a tool works; the spinner stops for
    the approval question."""

    def __init__(self, console: Console, show_tool_output: bool) -> None:
        super().__init__(console, show_tool_output=show_tool_output)
        self.status: Status | None = None

    def spin(self, what: str) -> None:
        if self.status is None:
            self.status = self.console.status(what, spinner="dots")
            self.status.start()
        else:
            self.status.update(what)

    def stop(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None

    async def __call__(self, event: Event) -> None:
        if event.kind in ("preview", "answer"):
            self.stop()
        await super().__call__(event)
        if event.kind == "thinking":
            self.spin("thinking…")
        elif event.kind == "tool_requested":
            self.spin(f"running {event.tool}…")


class Repl:
    def __init__(self, options: ChatOptions, *, skip_permissions: bool, show_tool_output: bool,
                 console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, markup=False)  # names and logs may hold [brackets]
        env = dict(options.env)
        self.input: PromptSession[str] = PromptSession(
            history=FileHistory(str(history_file(env))), completer=WordCompleter(WORDS, sentence=True),
            complete_while_typing=False)
        self.questions: PromptSession[str] = PromptSession(history=InMemoryHistory())
        self.sink = _Sink(self.console, show_tool_output)
        self.approver: TerminalApprover | None = None
        if not skip_permissions:
            self.approver = TerminalApprover(options.identity, self._ask_line,
                                             lambda line: self.console.print(line, style="dim"))
        approve = self.approver or auto_approve(options.identity)
        self.chat = Chat(options, approve=approve, sink=self.sink)

    async def _ask_line(self, question: str) -> str:
        return await self.questions.prompt_async(question)

    async def run(self) -> None:
        chat = self.chat
        self.console.print(Text.assemble(
            ("kai", "bold"), f" on {chat.executor.context_name} (namespace {chat.namespace}) with ",
            (f"{chat.provider_name}/{chat.provider.model}", "cyan"), ". Type a request, or help."))
        if chat.session_id:
            self.console.print(f"resumed session {chat.session_id} ({len(chat.runner.history)} messages)",
                               style="dim")
        while True:
            try:
                line = (await self.input.prompt_async("kai> ")).strip()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if not line:
                continue
            try:
                if not await self._meta(line):
                    await self._turn(line)
            except _Quit:
                break
            except KaiError as exc:  # the REPL's one place for kai's errors: say it, keep going
                self.sink.stop()
                self.console.print(f"error: {exc}", style="red")
            except Exception as exc:  # a bug must not end the session: say what broke, keep going
                self.sink.stop()
                self.console.print(f"internal error: {type(exc).__name__}: {exc}", style="red")

    async def _turn(self, line: str) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(self.chat.ask(line))
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            result = await task
        except asyncio.CancelledError:
            self.sink.stop()
            self.console.print("cancelled: the turn is dropped from the conversation; anything already applied "
                               "stays (kai audit shows it)", style="yellow")
            return
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            self.sink.stop()
        self.console.print(answer_view(result.answer, self.chat.provider.markdown))
        stats = result.stats
        self.console.print(Text(f"{len(result.calls)} tool calls · {stats.usage.input_tokens}+"
                                f"{stats.usage.output_tokens} model tokens · {stats.tool_output_tokens} tool tokens · "
                                f"{stats.latency_ms / 1000:.2f} s", style="dim"))

    async def _meta(self, line: str) -> bool:
        """Run a meta-command; False when ``line`` is a request for the agent."""
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        commands: dict[str, Callable[[str], Awaitable[None]]] = {
            "help": self._help, "models": self._models, "model": self._model, "tools": self._tools,
            "policy": self._policy, "audit": self._audit, "sessions": self._sessions,
            "save-session": self._save, "resume-session": self._resume, "clear": self._clear, "reset": self._clear,
            "exit": self._quit, "quit": self._quit}
        name = word.lower()
        command = commands.get(name)
        if command is None or (rest and name in BARE) or (name == "model" and (" " in rest or "?" in rest)):
            return False  # "exit code of the backend pod?", "policy for todo-app?" are requests
        await command(rest)
        return True

    async def _help(self, _rest: str) -> None:
        table = Table(box=None, show_header=False, pad_edge=False)
        for name, what in META.items():
            table.add_row(Text(name, style="bold"), what)
        self.console.print(table)
        self.console.print("Anything else is a request: \"scale backend to 3\", \"show logs for todo-backend pods "
                           "in todo-app\", \"why are the backend pods failing?\"", style="dim")

    async def _models(self, _rest: str) -> None:
        for name in self.chat.provider.models():
            mark = "*" if name == self.chat.provider.model else " "
            self.console.print(f"{mark} {name}")

    async def _model(self, rest: str) -> None:
        if not rest:
            self.console.print(f"model: {self.chat.provider.model} (model NAME switches)")
            return
        await self.chat.use_model(rest)
        self.console.print(f"now using {self.chat.provider_name}/{self.chat.provider.model}")

    async def _tools(self, _rest: str) -> None:
        table = Table("TOOL", "RISK", "WHAT", box=None, pad_edge=False, header_style="bold")
        risks = {t.name: t.risk for t in self.chat.executor.registry}
        for schema in self.chat.executor.schemas():
            table.add_row(schema["name"], risks.get(schema["name"], ""), schema["description"].split(". ")[0])
        self.console.print(table)

    async def _policy(self, _rest: str) -> None:
        from rich.syntax import Syntax

        from tools import policy as policies

        text = policies.dump(self.chat.executor.policy)
        self.console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))

    async def _audit(self, _rest: str) -> None:
        from .audit_cmd import table

        session = self.chat.session_id
        records = self.chat.store.records(session=session, limit=15) if session else []
        if not records:
            self.console.print("no tool calls in this session yet", style="dim")
            return
        self.console.print(table(records))

    async def _sessions(self, _rest: str) -> None:
        from .ask_cmd import sessions_table

        rows = self.chat.store.sessions(limit=20)
        if not rows:
            self.console.print("no sessions yet", style="dim")
            return
        self.console.print(sessions_table(rows, self.chat.session_id))

    async def _save(self, rest: str) -> None:
        if self.chat.session_id is None:
            self.console.print("nothing to save yet: the session starts with the first request", style="yellow")
            return
        if rest:
            self.chat.store.title(self.chat.session_id, rest)
        self.console.print(f"session {self.chat.session_id} is saved (kai --resume-session {self.chat.session_id})")

    async def _resume(self, rest: str) -> None:
        if not rest:
            self.console.print("resume-session needs an id (sessions lists them) or latest", style="yellow")
            return
        found = self.chat.resume(rest)
        self._forget_always()
        self.console.print(f"resumed session {found} ({len(self.chat.runner.history)} messages)")

    def _forget_always(self) -> None:
        """"[a]lways" holds for one conversation, not for the next one."""
        if self.approver is not None:
            self.approver.always = False

    async def _clear(self, _rest: str) -> None:
        self.chat.reset()
        self._forget_always()
        self.console.clear()
        self.console.print("new conversation", style="dim")

    async def _quit(self, _rest: str) -> None:
        raise _Quit


class _Quit(Exception):
    pass


def run_repl(options: ChatOptions, *, skip_permissions: bool, show_tool_output: bool) -> None:
    """Open the REPL until exit."""

    async def main() -> None:
        repl = Repl(options, skip_permissions=skip_permissions, show_tool_output=show_tool_output)
        try:
            await repl.run()
        finally:
            await repl.chat.aclose()

    os.environ.setdefault("PROMPT_TOOLKIT_NO_CPR", "1")
    asyncio.run(main())
