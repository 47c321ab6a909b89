"""A small interpreter for the commands people give shell and Python images:
``echo``, ``sleep``, ``exit N``, ``cat`` of mounted files, ``env``, ``while true; do …;
done`` loops, ``python -c`` that prints, sleeps or raises. What it cannot run fails as
``sh`` would: ``sh: foo: not found``, exit 127."""

from __future__ import annotations

import re
import shlex

from .. import timefmt
from .steps import Exit, Forever, Log, Sleep, Step

SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash"}
PYTHONS = {"python", "python3", "/usr/bin/python3", "/usr/local/bin/python", "/usr/local/bin/python3"}
_LOOP = re.compile(r"while\s+(?:true|:)\s*;?\s*do\s+(?P<body>.*?)\s*;?\s*done", re.S)
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)|\$\(date[^)]*\)")


class Context:
    def __init__(self, env: dict[str, str], files: dict[str, str]) -> None:
        self.env = env
        self.files = files

    def expand(self, text: str) -> str:
        def value(m: re.Match[str]) -> str:
            if m.group(0).startswith("$("):
                return timefmt.now().strftime("%a %b %d %H:%M:%S UTC %Y")
            return self.env.get(m.group(1) or m.group(2) or "", "")
        return _VAR.sub(value, text)


def program_steps(argv: list[str], ctx: Context, *, python_image: bool) -> list[Step]:
    """The steps of a container running ``argv`` (command + args) in a shell image."""
    if not argv:
        # no tty, no command: the image's default shell (or REPL) reads EOF and ends
        return [Exit(0)]
    head = argv[0]
    if head in SHELLS:
        if len(argv) >= 3 and argv[1] in ("-c", "-ec", "-ce"):
            return _script(argv[2], ctx)
        if len(argv) == 1:
            return [Exit(0)]
        return [Log(f"{head}: can't open '{argv[1]}': No such file or directory"), Exit(2)]
    if head in PYTHONS or (python_image and head.startswith("python")):
        return _python(argv[1:], ctx)
    steps, code = _command(argv, ctx)
    return [*steps, Exit(code)]


def _script(script: str, ctx: Context) -> list[Step]:
    steps: list[Step] = []
    code = 0
    rest = script
    while rest.strip():
        loop = _LOOP.search(rest)
        before = rest[: loop.start()] if loop else rest
        for statement in _statements(before):
            more, code = _statement(statement, ctx)
            steps.extend(more)
            if steps and isinstance(steps[-1], Exit):
                return steps
        if loop is None:
            break
        lines: list[str] = []
        every = 0.0
        for statement in _statements(loop.group("body")):
            more, _ = _statement(statement, ctx)
            lines.extend(s.line for s in more if isinstance(s, Log))
            every += sum(s.seconds for s in more if isinstance(s, Sleep))
            if any(isinstance(s, Exit) for s in more):
                return [*steps, *(Log(line) for line in lines), *(s for s in more if isinstance(s, Exit))]
        steps.append(Forever(tuple(lines), every or 1.0))
        return steps
    return [*steps, Exit(code)]


def _statements(text: str) -> list[str]:
    return [s.strip() for s in re.split(r";|\n|&&", text) if s.strip()]


def _statement(statement: str, ctx: Context) -> tuple[list[Step], int]:
    try:
        argv = shlex.split(ctx.expand(statement))
    except ValueError:
        return [Log("sh: syntax error: unterminated quoted string")], 2
    if not argv:
        return [], 0
    return _command(argv, ctx)


def _command(argv: list[str], ctx: Context) -> tuple[list[Step], int]:
    name, args = argv[0], argv[1:]
    base = name.rsplit("/", 1)[-1]
    if base == "echo":
        words = [a for a in args if a not in ("-n", "-e")]
        return [Log(" ".join(words))], 0
    if base == "printf":
        text = args[0].replace("\\n", "\n") % tuple(args[1:]) if args else ""
        return [Log(line) for line in text.rstrip("\n").split("\n")], 0
    if base == "sleep":
        seconds = _seconds(args[0] if args else "0")
        if seconds is None:
            return [Log(f"sleep: invalid number '{args[0]}'")], 1
        return [Sleep(seconds)], 0
    if base == "exit":
        return [Exit(int(args[0]) if args and args[0].lstrip("-").isdigit() else 0)], 0
    if base in ("true", ":"):
        return [], 0
    if base == "false":
        return [], 1
    if base == "date":
        return [Log(timefmt.now().strftime("%a %b %d %H:%M:%S UTC %Y"))], 0
    if base in ("env", "printenv"):
        if args:
            value = ctx.env.get(args[0])
            return ([Log(value)], 0) if value is not None else ([], 1)
        return [Log(f"{k}={v}") for k, v in sorted(ctx.env.items())], 0
    if base == "cat":
        steps: list[Step] = []
        code = 0
        for path in args:
            if path in ctx.files:
                steps.extend(Log(line) for line in ctx.files[path].rstrip("\n").split("\n"))
            else:
                steps.append(Log(f"cat: can't open '{path}': No such file or directory"))
                code = 1
        return steps, code
    if base == "ls":
        folder = (args[0] if args else "/").rstrip("/") + "/"
        names = sorted({p[len(folder):].split("/")[0] for p in ctx.files if p.startswith(folder)})
        if not names and args:
            return [Log(f"ls: {args[0]}: No such file or directory")], 1
        return [Log(n) for n in names], 0
    if base in ("touch", "mkdir", "cd", "export", "set", "trap", "wait", "test", "["):
        return [], 0
    return [Log(f"sh: {name}: not found")], 127


def _seconds(text: str) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text)
    if m is None:
        return None if text != "infinity" else 10.0**9
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    return float(m.group(1)) * scale


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
