"""The commands containers of shell and Python images run, as the steps the pod
runner plays: ``sh -c`` scripts and plain commands go through the container shell
(:mod:`.exec_shell`, the same one ``kubectl exec`` talks to), played lazily so each
command runs when its turn comes (a ``wget`` reaches the network as the container
runs it, a ``touch`` happens after the ``sleep`` before it); a ``while true; do …;
done`` loop becomes a :class:`Forever` step; ``python -c`` prints, sleeps or raises.
What cannot run fails as ``sh`` would: ``sh: foo: not found``, exit 127."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .. import timefmt
from .exec_io import Input, Out, Proc, Read, ShellExit, Wait
from .exec_parse import Incomplete, SyntaxError_, parse
from .exec_shell import Shell
from .fs import FileSystem, ReadOnlyVolume, Volume
from .steps import Exit, Forever, Log, Sleep, Step

if TYPE_CHECKING:
    from .exec_state import World

SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash"}
PYTHONS = {"python", "python3", "/usr/bin/python3", "/usr/local/bin/python", "/usr/local/bin/python3"}
_LOOP = re.compile(r"while\s+(?:true|:)\s*;?\s*do\s+(?P<body>.*?)\s*;?\s*done", re.S)
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)|\$\(date[^)]*\)")
MAX_STEPS = 100_000  # a script that never sleeps is cut here when its steps are counted


class Context:
    """What a container command sees: its environment and mounted files. ``pod``
    (namespace, name) and ``container`` say whose it is, and ``world`` (the kubelet's
    filesystems and network) what it reaches, when the caller knows."""

    def __init__(self, env: dict[str, str], files: dict[str, str], *, pod: tuple[str, str] | None = None,
                 container: str | None = None, world: World | None = None) -> None:
        self.env = env
        self.files = files
        self.pod = pod
        self.container = container
        self.world = world

    def expand(self, text: str) -> str:
        def value(m: re.Match[str]) -> str:
            if m.group(0).startswith("$("):
                return timefmt.now().strftime("%a %b %d %H:%M:%S UTC %Y")
            return self.env.get(m.group(1) or m.group(2) or "", "")
        return _VAR.sub(value, text)

    def shell(self) -> Shell:
        """The container's shell: its own filesystem and network when the kubelet can tell
        whose container this is, else one over the mounted files alone."""
        world = self.world
        if world is not None:
            runner, container = _whose(world, self)
            if runner is not None and container is not None:
                return world.shell(runner, container, env=self.env)
        root = Volume()
        fs = FileSystem(root)
        folders: dict[str, dict[str, str]] = {}
        for path, text in self.files.items():
            folder, _, name = path.rpartition("/")
            folders.setdefault(folder or "/", {})[name] = text
        for folder, entries in folders.items():
            fs.mount(folder, ReadOnlyVolume(entries))
        fs.mkdir("/tmp", force=True)
        net = None
        if world is not None:
            runner, _ = _whose(world, self)
            if runner is not None:
                net = world.network.client(runner.namespace, runner.pod_ip)
        return Shell(self.env, fs, net=net)


def _whose(world: World, ctx: Context) -> tuple[Any, str | None]:
    found = [r for r in world.kubelet.runners() if (r.namespace, r.name) == ctx.pod]
    if len(found) != 1:
        return None, None
    runner = found[0]
    names = [c.name for c in [*runner.inits, *runner.apps]]
    container = ctx.container or (names[0] if len(names) == 1 else None)
    return runner, container


class Steps(list[Step]):
    """Steps made as they are played: iterating runs the process up to its next step."""

    def __init__(self, source: Iterator[Step]) -> None:
        super().__init__()
        self._source: Iterator[Step] | None = source

    def __iter__(self) -> Iterator[Step]:
        index = 0
        while True:
            if index < list.__len__(self):
                yield list.__getitem__(self, index)
                index += 1
                continue
            if self._source is None or index >= MAX_STEPS:
                return
            step = next(self._source, None)
            if step is None:
                self._source = None
                return
            self.append(step)

    def _all(self) -> None:
        for _ in self:
            pass

    def __len__(self) -> int:
        self._all()
        return list.__len__(self)

    def __getitem__(self, index: Any) -> Any:
        self._all()
        return list.__getitem__(self, index)

    def __eq__(self, other: object) -> bool:
        self._all()
        return list.__eq__(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        self._all()
        return list.__repr__(self)


def program_steps(argv: list[str], ctx: Context, *, python_image: bool) -> list[Step]:
    """The steps of a container running ``argv`` (command + args) in a shell image."""
    if not argv:
        # no tty, no command: the image's default shell (or REPL) reads EOF and ends
        return [Exit(0)]
    head = argv[0]
    if head in SHELLS:
        if len(argv) >= 3 and re.fullmatch(r"-[a-z]*c[a-z]*", argv[1]):
            return Steps(_script(argv[2], ctx))
        if len(argv) == 1:
            return [Exit(0)]
        if argv[1] not in ctx.files:
            return [Log(f"{head}: can't open '{argv[1]}': No such file or directory"), Exit(2)]
        return Steps(_script(ctx.files[argv[1]], ctx))
    if head in PYTHONS or (python_image and head.startswith("python")):
        return _python(argv[1:], ctx)

    def run(sh: Shell) -> Proc:
        return sh.command(argv, Input(""))
    return Steps(_played(run, ctx))


def _played(make: Any, ctx: Context) -> Iterator[Step]:
    sh = ctx.shell()
    code, _ = yield from _steps(make(sh))
    yield Exit(code)


def _script(script: str, ctx: Context) -> Iterator[Step]:
    loop = _LOOP.search(script)
    before = script[: loop.start()] if loop else script
    sh = ctx.shell()
    try:
        seq = parse(before)
    except (Incomplete, SyntaxError_) as exc:
        yield Log(f"sh: syntax error: {exc or 'unexpected end of file'}")
        yield Exit(2)
        return
    code, exited = yield from _steps(sh.execute(seq, Input("")))
    if exited or loop is None:
        yield Exit(code)
        return
    try:
        body = parse(loop.group("body"))
    except (Incomplete, SyntaxError_):
        yield Exit(2)
        return
    collected = list(_steps_bounded(sh.execute(body, Input(""))))
    lines = tuple(s.line for s in collected if isinstance(s, Log))
    if any(isinstance(s, Exit) for s in collected):
        yield from (Log(line) for line in lines)
        yield next(s for s in collected if isinstance(s, Exit))
        return
    yield Forever(lines, sum(s.seconds for s in collected if isinstance(s, Sleep)) or 1.0)


def _steps_bounded(proc: Proc) -> Iterator[Step]:
    steps = _steps(proc)
    try:
        while True:
            yield next(steps)
    except StopIteration as stop:
        code, exited = stop.value
        if exited:
            yield Exit(code)


def _steps(proc: Proc) -> Any:
    """Play ``proc`` as steps (output lines as Log, waits as Sleep); returns (code, exited)."""
    pending = ""
    reply: str | None = None
    try:
        event = next(proc)
        while True:
            reply = None
            if isinstance(event, Out):
                pending += event.text
                *lines, pending = pending.split("\n")
                for line in lines:
                    yield Log(line)
            elif isinstance(event, Wait):
                if pending:
                    yield Log(pending)
                    pending = ""
                yield Sleep(event.seconds)
            elif isinstance(event, Read):
                reply = None
            event = proc.send(reply)
    except StopIteration as stop:
        if pending:
            yield Log(pending)
        return int(stop.value or 0), False
    except ShellExit as done:
        if pending:
            yield Log(pending)
        return done.code, True


def _python(args: list[str], ctx: Context) -> list[Step]:
    if not args:
        return [Exit(0)]
    if args[0] != "-c":
        script = args[0]
        if script not in ctx.files:
            return [Log(f"python: can't open file '{script}': [Errno 2] No such file or directory"), Exit(2)]
        code = ctx.files[script]
    else:
        code = args[1] if len(args) > 1 else ""
    steps: list[Step] = []
    for line in re.split(r";|\n", code):
        line = line.strip()
        printed = re.fullmatch(r"print\((['\"])(.*)\1\)", line)
        slept = re.fullmatch(r"(?:time\.)?sleep\((\d+(?:\.\d+)?)\)", line)
        raised = re.fullmatch(r"raise\s+(\w+)(?:\((['\"]?)(.*?)\2\))?", line)
        exited = re.fullmatch(r"(?:sys\.)?exit\((\d+)\)", line)
        if printed:
            steps.append(Log(printed.group(2)))
        elif slept:
            steps.append(Sleep(float(slept.group(1))))
        elif raised:
            message = raised.group(3) or ""
            steps += [Log("Traceback (most recent call last):"),
                      Log('  File "<string>", line 1, in <module>'),
                      Log(f"{raised.group(1)}: {message}" if message else raised.group(1)), Exit(1)]
            return steps
        elif exited:
            return [*steps, Exit(int(exited.group(1)))]
        elif line.startswith("while True"):
            return [*steps, Forever((), 1.0)]
    return [*steps, Exit(0)]
