"""The shell of a simulated container: runs parsed shell (:mod:`.exec_parse`) as a
process (:mod:`.exec_io`) over the container's files (:mod:`.fs`), with word
expansion (quotes, ``$VAR``, ``${VAR:-x}``, ``$?``, ``$(…)``, ``$((…))``, ``~``,
globs), redirections, pipelines and the control structures; commands come from
:mod:`.exec_commands`. Its messages follow the image's shell: busybox ``ash``
(busybox, alpine), ``dash`` as ``sh`` elsewhere, or ``bash``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import TYPE_CHECKING

from .exec_expand import Expansion
from .exec_io import Event, Gen, Input, Out, Proc, ShellExit, Wait, capture
from .exec_parse import (
    AndOr,
    For,
    Group,
    If,
    Incomplete,
    Node,
    Pipeline,
    Redir,
    Seq,
    Simple,
    SyntaxError_,
    While,
    parse,
)
from .fs import FileSystem, FsError, normalize

if TYPE_CHECKING:
    from ..network import Client

BUSYBOX_IMAGES = {"busybox", "alpine"}
Route = dict[int, tuple[str, str]]  # fd -> ("fd", "1") | ("file", path) | ("null", "")


class Shell(Expansion):
    def __init__(self, env: dict[str, str], fs: FileSystem, *, image: str = "busybox", flavor: str = "",
                 net: Client | None = None, cwd: str = "/", args: list[str] | None = None) -> None:
        self.vars = dict(env)
        self.vars.setdefault("HOME", "/root")
        self.exported = set(env)
        self.fs = fs
        self.image = image
        self.busybox = image in BUSYBOX_IMAGES
        self.flavor = flavor or ("ash" if self.busybox else "dash")
        self.net = net
        self.cwd = cwd
        self.vars["PWD"] = cwd
        self.status = 0
        self.params = list(args or [])
        self.arg0 = "sh" if self.flavor != "bash" else "bash"
        self.tty = False

    # --- helpers commands use ------------------------------------------------------

    def path(self, name: str) -> str:
        return normalize(name, self.cwd)

    def env(self) -> dict[str, str]:
        return {k: v for k, v in self.vars.items() if k in self.exported}

    def prefix(self) -> str:
        """How this shell starts its own error messages."""
        return {"ash": "sh: ", "dash": "sh: 1: ", "bash": "bash: "}[self.flavor]

    def child(self, flavor: str | None = None, args: list[str] | None = None) -> Shell:
        sub = Shell(self.env(), self.fs, image=self.image, flavor=flavor or self.flavor, net=self.net,
                    cwd=self.cwd, args=self.params if args is None else args)
        if flavor is None:
            sub.vars, sub.exported = dict(self.vars), set(self.exported)
        sub.tty = self.tty
        return sub

    def prompt(self) -> str:
        if self.flavor == "ash":
            home = self.vars.get("HOME", "/root")
            shown = "~" + self.cwd[len(home):] if self.cwd == home or self.cwd.startswith(home + "/") else self.cwd
            return f"{shown} # "
        if self.flavor == "bash":
            shown = "~" if self.cwd == self.vars.get("HOME") else self.cwd
            return f"root@{self.vars.get('HOSTNAME', 'localhost')}:{shown}# "
        return "# "

    # --- running ---------------------------------------------------------------------

    def run(self, text: str, stdin: Input) -> Proc:
        """Run a script (``sh -c``): its exit code, or the code of ``exit``."""
        try:
            seq = parse(text)
        except (Incomplete, SyntaxError_) as exc:
            detail = str(exc) or "unexpected end of file"
            yield Out(2, f"{self.prefix()}syntax error: {detail}\n")
            return 2
        try:
            return (yield from self.execute(seq, stdin))
        except ShellExit as done:
            return done.code

    def repl(self, stdin: Input, tty: bool) -> Proc:
        """An interactive shell reading commands from ``stdin``."""
        buffer = ""
        while True:
            if tty:
                yield Out(1, "> " if buffer else self.prompt())
            line = yield from stdin.read_line()
            if line is None:
                if tty and self.flavor == "bash":
                    yield Out(1, "exit\n")
                return self.status
            buffer += line
            try:
                seq = parse(buffer)
            except Incomplete:
                continue
            except SyntaxError_ as exc:
                yield Out(2, f"{self.prefix()}syntax error: {exc}\n")
                buffer, self.status = "", 2
                continue
            buffer = ""
            try:
                self.status = yield from self.execute(seq, stdin)
            except ShellExit as done:
                return done.code

    def execute(self, seq: Seq, stdin: Input) -> Proc:
        for item in seq.items:
            self.status = yield from self.and_or(item, stdin)
        return self.status

    def and_or(self, node: AndOr, stdin: Input) -> Proc:
        code = yield from self.pipeline(node.first, stdin)
        for op, pipe in node.rest:
            if (op == "&&") == (code == 0):
                code = yield from self.pipeline(pipe, stdin)
        return code

    def pipeline(self, pipe: Pipeline, stdin: Input) -> Proc:
        if len(pipe.commands) == 1:
            code = yield from self.node(pipe.commands[0], stdin)
        else:
            source = stdin
            code = 0
            for index, command in enumerate(pipe.commands):
                sub = self.child()
                proc = _subshell(sub.node(command, source))
                if index == len(pipe.commands) - 1:
                    code = yield from proc
                else:
                    code, text = yield from capture(proc)
                    source = Input(text)
        self.status = (1 if code == 0 else 0) if pipe.negate else code
        return self.status

    def node(self, node: Node, stdin: Input) -> Proc:
        if isinstance(node, Simple):
            return (yield from self.simple(node, stdin))
        route, source, code = yield from self.redirections(node.redirs, stdin)
        if code:
            return code
        return (yield from self.routed(self.compound(node, source), route))

    def compound(self, node: Node, stdin: Input) -> Proc:
        if isinstance(node, If):
            for cond, body in node.branches:
                if (yield from self.execute(cond, stdin)) == 0:
                    return (yield from self.execute(body, stdin))
            return (yield from self.execute(node.otherwise, stdin)) if node.otherwise else 0
        if isinstance(node, For):
            values: list[str] = []
            for word in node.words:
                values += yield from self.expand(word)
            code = 0
            for value in values:
                self.vars[node.var] = value
                code = yield from self.execute(node.body, stdin)
            return code
        if isinstance(node, While):
            code = 0
            while True:
                yield Wait(0)
                ok = (yield from self.execute(node.cond, stdin)) == 0
                if ok == node.until:
                    return code
                code = yield from self.execute(node.body, stdin)
        assert isinstance(node, Group)
        if node.subshell:
            return (yield from _subshell(self.child().execute(node.body, stdin)))
        return (yield from self.execute(node.body, stdin))

    def simple(self, node: Simple, stdin: Input) -> Proc:
        argv: list[str] = []
        for word in node.words:
            argv += yield from self.expand(word)
        assigns: dict[str, str] = {}
        for text in node.assigns:
            name, _, raw = text.partition("=")
            assigns[name] = "".join((yield from self.expand(raw, split=False)))
        route, source, code = yield from self.redirections(node.redirs, stdin)
        if code:
            return code
        if not argv:
            self.vars.update(assigns)
            return 0
        saved = {k: self.vars.get(k) for k in assigns}
        saved_exported = set(self.exported)
        self.vars.update(assigns)
        self.exported.update(assigns)
        try:
            return (yield from self.routed(self.command(argv, source), route))
        finally:
            for key, value in saved.items():
                if value is None:
                    self.vars.pop(key, None)
                else:
                    self.vars[key] = value
            self.exported = saved_exported | (self.exported - set(assigns))

    def command(self, argv: list[str], stdin: Input) -> Proc:
        from .exec_commands import find

        run = find(self, argv[0])
        if run is None:
            if self.flavor == "bash":
                yield Out(2, f"bash: {argv[0]}: command not found\n" if "/" not in argv[0]
                          else f"bash: {argv[0]}: No such file or directory\n")
            else:
                yield Out(2, f"{self.prefix()}{argv[0]}: not found\n")
            return 127
        return (yield from run(self, argv, stdin))

    # --- redirections -------------------------------------------------------------------

    def redirections(self, redirs: list[Redir], stdin: Input) -> Generator[Event, str | None,
                                                                             tuple[Route, Input, int]]:
        route: Route = {1: ("fd", "1"), 2: ("fd", "2")}
        source = stdin
        for redir in redirs:
            if redir.op == "2>&1":
                route[2] = route[1]
                continue
            if redir.op in (">&2", "1>&2"):
                route[1] = route[2]
                continue
            target = "".join((yield from self.expand(redir.target, split=False)))
            path = self.path(target)
            if redir.op == "<":
                try:
                    source = Input(self.fs.read(path))
                except FsError as exc:
                    yield Out(2, f"{self.prefix()}can't open '{target}': {exc}\n" if self.flavor == "ash"
                              else f"{self.prefix()}{target}: {exc}\n")
                    return route, source, 1
                continue
            entry: tuple[str, str]
            if path == "/dev/null":
                entry = ("null", "")
            elif path in ("/dev/stdout", "/dev/stderr"):
                entry = ("fd", "1" if path.endswith("out") else "2")
            else:
                try:
                    self.fs.write(path, "", append=redir.op.endswith(">>"))
                except FsError as exc:
                    verb = {"ash": "can't create ", "dash": "cannot create "}.get(self.flavor, "")
                    yield Out(2, f"{self.prefix()}{verb}{target}: {exc}\n")
                    return route, source, 1
                entry = ("file", path)
            for fd in {"&>": (1, 2), "2>": (2,), "2>>": (2,)}.get(redir.op, (1,)):
                route[fd] = entry
        return route, source, 0

    def routed(self, proc: Proc, route: Route) -> Proc:
        if route == {1: ("fd", "1"), 2: ("fd", "2")}:
            return (yield from proc)
        files: dict[str, list[str]] = {}
        reply: str | None = None
        code = 0
        try:
            event = next(proc)
            while True:
                reply = None
                if isinstance(event, Out):
                    kind, where = route.get(event.fd, ("fd", str(event.fd)))
                    if kind == "fd":
                        reply = yield Out(int(where), event.text)
                    elif kind == "file":
                        files.setdefault(where, []).append(event.text)
                else:
                    reply = yield event
                event = proc.send(reply)
        except StopIteration as stop:
            code = int(stop.value or 0)
        finally:
            for path, parts in files.items():
                with contextlib.suppress(FsError):
                    self.fs.write(path, "".join(parts), append=True)
        return code


def _subshell(proc: Proc) -> Proc:
    try:
        return (yield from proc)
    except ShellExit as done:
        return done.code


def output(text: str) -> Gen:
    """Yield ``text`` on stdout (a helper for one-line commands)."""
    yield Out(1, text)
    return 0
