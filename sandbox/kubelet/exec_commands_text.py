"""Text tools of a simulated container (``grep``, ``head``, ``tail``, ``wc``, ``sort``,
``uniq``, ``tr``, ``tee``, ``seq``...), the system tools (``hostname``, ``id``,
``uname``), and which image has which tool."""

from __future__ import annotations

import posixpath
import re

from .exec_commands import (
    Command,
    cat,
    cp_mv,
    date,
    echo,
    env,
    fixed,
    ls,
    mkdir,
    rm,
    rmdir,
    shell,
    sleep,
    touch,
    which,
)
from .exec_io import Input, Out, Proc
from .exec_shell import Shell
from .fs import FsError


def _inputs(sh: Shell, names: list[str], stdin: Input, tool: str) -> Proc:
    """Not a command: yields the errors, returns 0/1; the text lands in ``sh.vars['\\0in']``."""
    chunks: list[str] = []
    code = 0
    for name in names or ["-"]:
        if name == "-":
            chunks.append((yield from stdin.read_all()))
            continue
        try:
            chunks.append(sh.fs.read(sh.path(name)))
        except FsError as exc:
            code = 1 if tool != "grep" else 2
            yield Out(2, f"{tool}: {name}: {exc}\n")
    sh.vars["\0in"] = "".join(chunks)
    return code


def _split(argv: list[str], with_value: str = "") -> tuple[str, dict[str, str], list[str]]:
    flags, values, names = "", {}, []
    args = iter(argv[1:])
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and not arg[1:].isdigit():
            body = arg[1:]
            for index, ch in enumerate(body):
                if ch in with_value:
                    values[ch] = body[index + 1:] or next(args, "")
                    break
                flags += ch
        elif arg.startswith("-") and arg[1:].isdigit():
            values["n"] = arg[1:]
        else:
            names.append(arg)
    return flags, values, names


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def grep(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, values, names = _split(argv, "e")
    pattern = values.get("e")
    if pattern is None:
        if not names:
            yield Out(2, "Usage: grep [-HhnlLoqvsrRiwFE] PATTERN/-e PATTERN.../-f FILE [FILE]...\n")
            return 2
        pattern, names = names[0], names[1:]
    code = yield from _inputs(sh, names, stdin, "grep")
    text = sh.vars.pop("\0in", "")
    if "F" in flags:
        pattern = re.escape(pattern)
    elif "E" not in flags:
        pattern = pattern.replace(r"\|", "|").replace(r"\(", "(").replace(r"\)", ")")
    try:
        regex = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
    except re.error:
        regex = re.compile(re.escape(pattern))
    found = [(n, line) for n, line in enumerate(_lines(text), 1)
             if bool(regex.search(line.rstrip("\n"))) != ("v" in flags)]
    if "q" not in flags:
        if "c" in flags:
            yield Out(1, f"{len(found)}\n")
        else:
            yield Out(1, "".join((f"{n}:" if "n" in flags else "") + line + ("" if line.endswith("\n") else "\n")
                                 for n, line in found))
    return code or (0 if found else 1)


def head_tail(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    _, values, names = _split(argv, "nc")
    code = yield from _inputs(sh, names, stdin, posixpath.basename(argv[0]))
    text = sh.vars.pop("\0in", "")
    count = int(values.get("n", "10").lstrip("+-") or 10)
    lines = _lines(text)
    chosen = lines[:count] if posixpath.basename(argv[0]) == "head" else lines[-count:] if count else []
    yield Out(1, "".join(chosen))
    return code


def wc(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, _, names = _split(argv)
    code = yield from _inputs(sh, names, stdin, "wc")
    text = sh.vars.pop("\0in", "")
    counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
    chosen = [counts[f] for f in "lwc" if f in flags] or list(counts.values())
    suffix = f" {names[0]}" if len(names) == 1 else ""
    if len(chosen) == 1:
        yield Out(1, f"{chosen[0]}{suffix}\n")
    else:
        yield Out(1, " ".join(f"{c:>7}" for c in chosen) + suffix + "\n")
    return code


def sort(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, _, names = _split(argv)
    code = yield from _inputs(sh, names, stdin, "sort")
    lines = [line.rstrip("\n") for line in _lines(sh.vars.pop("\0in", ""))]
    if "n" in flags:
        lines.sort(key=lambda s: float(m.group(0)) if (m := re.match(r"\s*-?\d+(\.\d+)?", s)) else 0.0)
    else:
        lines.sort()
    if "r" in flags:
        lines.reverse()
    if "u" in flags:
        lines = list(dict.fromkeys(lines))
    yield Out(1, "".join(f"{line}\n" for line in lines))
    return code


def uniq(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, _, names = _split(argv)
    code = yield from _inputs(sh, names, stdin, "uniq")
    out: list[tuple[int, str]] = []
    for line in _lines(sh.vars.pop("\0in", "")):
        if out and out[-1][1] == line:
            out[-1] = (out[-1][0] + 1, line)
        else:
            out.append((1, line))
    yield Out(1, "".join(f"{n:>7} {line}" if "c" in flags else line for n, line in out))
    return code


def tr(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, _, sets = _split(argv)
    text = yield from stdin.read_all()

    def expand(spec: str) -> str:
        named = {"[:lower:]": "abcdefghijklmnopqrstuvwxyz", "[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
        for key, value in named.items():
            spec = spec.replace(key, value)
        return re.sub(r"(.)-(.)", lambda m: "".join(chr(c) for c in range(ord(m.group(1)), ord(m.group(2)) + 1)),
                      spec.replace("\\n", "\n"))
    if "d" in flags and sets:
        yield Out(1, "".join(c for c in text if c not in expand(sets[0])))
    elif len(sets) == 2:
        source, target = expand(sets[0]), expand(sets[1])
        target = target + target[-1:] * (len(source) - len(target))
        yield Out(1, text.translate(str.maketrans(source, target[:len(source)])))
    else:
        yield Out(1, text)
    return 0


def tee(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, _, names = _split(argv)
    text = yield from stdin.read_all()
    code = 0
    for name in names:
        try:
            sh.fs.write(sh.path(name), text, append="a" in flags)
        except FsError as exc:
            code = 1
            yield Out(2, f"tee: {name}: {exc}\n")
    yield Out(1, text)
    return code


def seq(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    numbers = [int(a) for a in argv[1:] if a.lstrip("-").isdigit()]
    first, step, last = (1, 1, numbers[0]) if len(numbers) == 1 else (numbers[0], 1, numbers[1]) \
        if len(numbers) == 2 else (numbers[0], numbers[1], numbers[2]) if numbers else (1, 1, 0)
    yield Out(1, "".join(f"{n}\n" for n in range(first, last + (1 if step > 0 else -1), step or 1)))
    return 0


def names(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    if len(argv) < 2:
        yield Out(2, f"{argv[0]}: missing operand\n")
        return 1
    path = argv[1].rstrip("/") or "/"
    if posixpath.basename(argv[0]) == "basename":
        base = posixpath.basename(path)
        if len(argv) > 2 and base.endswith(argv[2]):
            base = base[: -len(argv[2])]
        yield Out(1, base + "\n")
    else:
        yield Out(1, (posixpath.dirname(path) or ".") + "\n")
    return 0


def uname(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    flags, _, _ = _split(argv)
    host = sh.vars.get("HOSTNAME", "localhost")
    parts = {"s": "Linux", "n": host, "r": "6.8.0-sandbox", "v": "#1 SMP PREEMPT_DYNAMIC", "m": "x86_64"}
    if "a" in flags:
        yield Out(1, f"Linux {host} 6.8.0-sandbox #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\n")
    else:
        yield Out(1, " ".join(parts[f] for f in "snrvm" if f in (flags or "s")) + "\n")
    return 0


TOOLS: dict[str, Command] = {
    "cat": cat, "ls": ls, "touch": touch, "mkdir": mkdir, "rm": rm, "rmdir": rmdir, "cp": cp_mv, "mv": cp_mv,
    "env": env, "printenv": env, "sleep": sleep, "date": date, "hostname": fixed("{host}\n"),
    "whoami": fixed("root\n"), "id": fixed("uid=0(root) gid=0(root) groups=0(root)\n"), "uname": uname,
    "grep": grep, "head": head_tail, "tail": head_tail, "wc": wc, "sort": sort, "uniq": uniq, "tr": tr,
    "tee": tee, "seq": seq, "basename": names, "dirname": names, "which": which,
    "sh": shell, "ash": shell, "bash": shell, "true": fixed(""), "false": fixed("", 1), "echo": echo,
}
BIN = {"sh": "/bin", "ash": "/bin", "bash": "/bin", "ls": "/bin", "cat": "/bin", "echo": "/bin"}

# The network tools each image ships; images not named have curl and getent.
NETWORK_TOOLS = {"busybox": {"wget", "nslookup"}, "alpine": {"wget", "nslookup", "getent"},
                 "ubuntu": {"getent"}, "debian": {"getent"}, "python": {"curl", "wget", "getent"},
                 "nginx": {"curl", "getent"}}


def available(sh: Shell, name: str) -> bool:
    if name in ("curl", "wget", "nslookup", "getent"):
        return name in NETWORK_TOOLS.get(sh.image, {"curl", "getent"})
    if name == "bash":
        return not sh.busybox
    if name == "ash":
        return sh.busybox
    return True


def _register() -> None:
    from .exec_net import NET_TOOLS

    TOOLS.update(NET_TOOLS)


_register()
