"""The commands a simulated container has: shell builtins, the usual file and text
tools with busybox's or GNU coreutils' messages (by image), and the network tools of
:mod:`.exec_net`. Each is a process (:mod:`.exec_io`) run by a :class:`Shell`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator

from .. import timefmt
from .exec_io import Input, Out, Proc, ShellExit, Wait
from .exec_shell import Shell
from .fs import FsError

Command = Callable[[Shell, list[str], Input], Proc]


def _err(tool: str, text: str) -> Out:
    return Out(2, f"{tool}: {text}\n")


def echo(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    args, newline, escapes = argv[1:], True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = escapes or "e" in args[0]
        args = args[1:]
    text = " ".join(args)
    if escapes or sh.flavor == "dash":
        text = text.replace("\\n", "\n").replace("\\t", "\t")
    yield Out(1, text + ("\n" if newline else ""))
    return 0


def printf(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    if len(argv) < 2:
        yield _err("printf", "usage: printf format [arguments]")
        return 2
    fmt = argv[1].replace("\\n", "\n").replace("\\t", "\t")
    args = argv[2:]
    count = max(1, len(re.findall(r"%[sdif]", fmt)))
    chunks = [args[i:i + count] for i in range(0, len(args), count)] or [[]]
    for chunk in chunks:
        yield Out(1, _format(fmt, iter(chunk)))
    return 0


def _format(fmt: str, values: Iterator[str]) -> str:
    def one(m: re.Match[str]) -> str:
        return "%" if m.group(1) == "%" else next(values, "")
    return re.sub(r"%([sdif%])", one, fmt)


def cat(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    code = 0
    for name in argv[1:] or ["-"]:
        if name == "-":
            yield Out(1, (yield from stdin.read_all()))
            continue
        try:
            yield Out(1, sh.fs.read(sh.path(name)))
        except FsError as exc:
            code = 1
            if sh.busybox:
                yield _err("cat", "read error: Is a directory" if str(exc) == "Is a directory"
                           else f"can't open '{name}': {exc}")
            else:
                yield _err("cat", f"{name}: {exc}")
    return code


def ls(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-") and len(a) > 1)
    names = [a for a in argv[1:] if not a.startswith("-") or a == "-"] or ["."]
    code = 0
    listings: list[tuple[str, list[str]]] = []
    files: list[str] = []
    for name in names:
        path = sh.path(name)
        if not sh.fs.exists(path):
            yield _err("ls", f"{name}: No such file or directory" if sh.busybox
                       else f"cannot access '{name}': No such file or directory")
            code = 1 if sh.busybox else 2
        elif sh.fs.is_dir(path) and "d" not in flags:
            entries = sh.fs.listdir(path)
            if "a" in flags:
                entries = [".", "..", *entries]
            listings.append((name, entries))
        else:
            files.append(name)
    blocks: list[str] = []
    if files:
        blocks.append(_ls_lines(sh, files, flags, "."))
    for name, entries in listings:
        head = f"{name}:\n" if len(names) > 1 else ""
        blocks.append(head + _ls_lines(sh, entries, flags, name))
    yield Out(1, "\n".join(b for b in blocks if b))
    return code


def _ls_lines(sh: Shell, entries: list[str], flags: str, base: str) -> str:
    if not entries:
        return ""
    if "l" not in flags:
        return "".join(f"{e}\n" for e in entries)
    lines = []
    for entry in entries:
        path = sh.path(posixpath.join(base, entry))
        folder = sh.fs.is_dir(path)
        size = 4096 if folder else len(sh.fs.read(path).encode()) if sh.fs.is_file(path) else 0
        mode = "drwxr-xr-x" if folder else "-rw-r--r--"
        stamp = timefmt.now().strftime("%b %d %H:%M")
        lines.append(f"{mode}    2 root     root     {size:>9} {stamp} {entry}\n" if sh.busybox
                     else f"{mode} 1 root root {size:>5} {stamp} {entry}\n")
    return "".join(lines)


def pwd(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    yield Out(1, sh.cwd + "\n")
    return 0


def cd(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    target = argv[1] if len(argv) > 1 else sh.vars.get("HOME", "/")
    if target == "-":
        target = sh.vars.get("OLDPWD", sh.cwd)
    path = sh.path(target)
    if not sh.fs.is_dir(path):
        why = "Not a directory" if sh.fs.exists(path) else "No such file or directory"
        if sh.flavor == "ash":
            yield Out(2, f"sh: cd: can't cd to {target}: {why}\n")
        elif sh.flavor == "dash":
            yield Out(2, f"sh: 1: cd: can't cd to {target}\n")
        else:
            yield Out(2, f"bash: cd: {target}: {why}\n")
        return 1 if sh.flavor != "dash" else 2
    sh.vars["OLDPWD"], sh.cwd = sh.cwd, path
    sh.vars["PWD"] = path
    return 0


def _each(tool: str, verb_bb: str, verb_gnu: str, action: Callable[[Shell, str], None]) -> Command:
    def run(sh: Shell, argv: list[str], stdin: Input) -> Proc:
        names = [a for a in argv[1:] if not a.startswith("-")]
        if not names:
            yield _err(tool, "missing operand")
            return 1
        code = 0
        for name in names:
            try:
                action(sh, name)
            except FsError as exc:
                code = 1
                if tool == "rm" and "f" in "".join(a for a in argv[1:] if a.startswith("-")) and \
                        str(exc).startswith("No such"):
                    code = 0
                    continue
                if tool == "rm" and str(exc) == "Is a directory":
                    yield _err(tool, f"'{name}' is a directory" if sh.busybox else f"cannot remove '{name}': {exc}")
                    continue
                verb = verb_bb if sh.busybox else verb_gnu
                yield _err(tool, f"{verb} '{name}': {exc}".lstrip())
        return code
    return run


def rm(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    recursive = "r" in flags or "R" in flags

    def action(shell: Shell, name: str) -> None:
        shell.fs.remove(shell.path(name), recursive=recursive)
    return (yield from _each("rm", "can't remove", "cannot remove", action)(sh, argv, stdin))


def _touch(sh: Shell, name: str) -> None:
    sh.fs.touch(sh.path(name))


def mkdir(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    parents = any(a.startswith("-") and "p" in a for a in argv[1:])

    def action(shell: Shell, name: str) -> None:
        shell.fs.mkdir(shell.path(name), parents=parents)
    return (yield from _each("mkdir", "can't create directory", "cannot create directory", action)(sh, argv, stdin))


def _rmdir(sh: Shell, name: str) -> None:
    sh.fs.rmdir(sh.path(name))


rmdir = _each("rmdir", "", "failed to remove", _rmdir)


def touch(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    code = 0
    for name in [a for a in argv[1:] if not a.startswith("-")]:
        try:
            _touch(sh, name)
        except FsError as exc:
            code = 1
            yield _err("touch", f"{name}: {exc}" if sh.busybox else f"cannot touch '{name}': {exc}")
    return code


def cp_mv(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    tool = posixpath.basename(argv[0])
    names = [a for a in argv[1:] if not a.startswith("-")]
    if len(names) < 2:
        yield _err(tool, "missing file operand")
        return 1
    target = sh.path(names[-1])
    code = 0
    for name in names[:-1]:
        dest = posixpath.join(target, posixpath.basename(name)) if sh.fs.is_dir(target) else target
        try:
            sh.fs.write(dest, sh.fs.read(sh.path(name)))
            if tool == "mv":
                sh.fs.remove(sh.path(name))
        except FsError as exc:
            code = 1
            yield _err(tool, f"can't stat '{name}': {exc}" if sh.busybox else f"cannot stat '{name}': {exc}")
    return code


def env(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    values = sh.env()
    if posixpath.basename(argv[0]) == "printenv" and len(argv) > 1:
        found = [values[k] for k in argv[1:] if k in values]
        yield Out(1, "".join(f"{v}\n" for v in found))
        return 0 if len(found) == len(argv) - 1 else 1
    yield Out(1, "".join(f"{k}={v}\n" for k, v in values.items()))
    return 0


def export(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    for arg in argv[1:]:
        name, eq, value = arg.partition("=")
        if name == "-p":
            yield Out(1, "".join(f"export {k}='{v}'\n" for k, v in sh.env().items()))
            continue
        if eq:
            sh.vars[name] = value
        sh.exported.add(name)
    return 0


def unset(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    for name in argv[1:]:
        sh.vars.pop(name, None)
        sh.exported.discard(name)
    yield from ()
    return 0


def exit_(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    yield from ()
    code = int(argv[1]) if len(argv) > 1 and argv[1].lstrip("-").isdigit() else sh.status
    raise ShellExit(code & 0xFF)


def sleep(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    total = 0.0
    for arg in argv[1:]:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", arg)
        if m is None:
            if arg == "infinity":
                total = 10.0**9
                continue
            yield _err("sleep", f"invalid number '{arg}'")
            return 1
        total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    yield Wait(total)
    return 0


def fixed(text: str, code: int = 0) -> Command:
    def run(sh: Shell, argv: list[str], stdin: Input) -> Proc:
        if text:
            yield Out(1, text.format(host=sh.vars.get("HOSTNAME", "localhost")))
        return code
    return run


def date(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    now = timefmt.now()
    yield Out(1, now.strftime("%a %b ") + f"{now.day:>2}" + now.strftime(" %H:%M:%S UTC %Y") + "\n")
    return 0


def read(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    line = yield from stdin.read_line()
    if line is None:
        return 1
    words = line.rstrip("\n").split(None, len(names) - 1)
    for index, name in enumerate(names):
        sh.vars[name] = words[index] if index < len(words) else ""
    return 0


def test(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    args = argv[1:-1] if argv[0] == "[" else argv[1:]
    yield from ()
    return 0 if _test(sh, args) else 1


def _test(sh: Shell, args: list[str]) -> bool:
    if args and args[0] == "!":
        return not _test(sh, args[1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, value = args
        path = sh.path(value)
        checks = {"-n": value != "", "-z": value == "", "-e": sh.fs.exists(path), "-f": sh.fs.is_file(path),
                  "-d": sh.fs.is_dir(path), "-s": sh.fs.is_file(path) and sh.fs.read(path) != "",
                  "-r": sh.fs.exists(path), "-w": sh.fs.exists(path) and not sh.fs.read_only(path),
                  "-x": sh.fs.is_dir(path)}
        return checks.get(op, False)
    if len(args) == 3:
        left, op, right = args
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        try:
            a, b = int(left), int(right)
        except ValueError:
            return False
        return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}.get(op, False)
    return False


def which(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    from .exec_commands_text import BIN

    code = 0
    for name in [a for a in argv[1:] if not a.startswith("-")]:
        if find(sh, name) is not None and name not in BUILTINS:
            yield Out(1, f"{BIN.get(name, '/usr/bin')}/{name}\n")
        elif name in BUILTINS and argv[0] != "which":
            yield Out(1, f"{name}\n")
        else:
            code = 1
    return code


def shell(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flavor = "bash" if posixpath.basename(argv[0]) == "bash" else "ash" if sh.busybox else "dash"
    args = argv[1:]
    opts = [a for a in args if a.startswith("-") and a != "-"]
    rest = [a for a in args if not (a.startswith("-") and a != "-")]
    if any("c" in o for o in opts):
        if not rest:
            yield Out(2, f"{posixpath.basename(argv[0])}: -c: option requires an argument\n")
            return 2
        sub = sh.child(flavor, args=rest[2:])
        sub.arg0 = rest[1] if len(rest) > 1 else posixpath.basename(argv[0])
        return (yield from sub.run(rest[0], stdin))
    sub = sh.child(flavor, args=rest[1:])
    if rest:
        try:
            script = sh.fs.read(sh.path(rest[0]))
        except FsError as exc:
            yield Out(2, f"{posixpath.basename(argv[0])}: can't open '{rest[0]}': {exc}\n")
            return 2 if flavor != "bash" else 127
        return (yield from sub.run(script, stdin))
    return (yield from sub.repl(stdin, sh.tty and stdin.is_stream))


def exec_(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    if len(argv) < 2:
        return 0
    code = yield from sh.command(argv[1:], stdin)
    raise ShellExit(code)


BUILTINS: dict[str, Command] = {
    "echo": echo, "printf": printf, "pwd": pwd, "cd": cd, "export": export, "unset": unset, "exit": exit_,
    "true": fixed(""), ":": fixed(""), "false": fixed("", 1), "read": read, "test": test, "[": test,
    "command": which, "type": which, "exec": exec_, "set": fixed(""), "trap": fixed(""), "wait": fixed(""),
    "ulimit": fixed("unlimited\n"), "umask": fixed("0022\n"),
}


def find(sh: Shell, name: str) -> Command | None:
    """The command ``name`` runs in this container's shell, if it has one."""
    from .exec_commands_text import TOOLS, available

    if name in BUILTINS:
        return BUILTINS[name]
    base = posixpath.basename(name)
    if "/" in name and not sh.fs.exists(sh.path(name)) and base not in TOOLS:
        return None
    if base in TOOLS and available(sh, base):
        return TOOLS[base]
    return None
