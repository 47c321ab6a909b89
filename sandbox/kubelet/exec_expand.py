"""Word expansion of the container shell: quotes, ``$VAR``, ``${VAR:-x}``, ``${#VAR}``,
``$?``/``$#``/``$1``…, ``$(…)`` and backquotes, ``$((…))``, ``~``, field splitting and
globs over the container's files."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Generator
from typing import TYPE_CHECKING

from .exec_io import Event, Input, capture
from .fs import FileSystem, FsError

if TYPE_CHECKING:
    from .exec_shell import Shell


class Expansion:
    """The expansion half of :class:`~.exec_shell.Shell`."""

    vars: dict[str, str]
    params: list[str]
    status: int
    arg0: str
    fs: FileSystem

    def path(self, name: str) -> str:
        raise NotImplementedError

    def child(self, flavor: str | None = None, args: list[str] | None = None) -> Shell:
        raise NotImplementedError

    def expand(self, word: str, split: bool = True) -> Generator[Event, str | None, list[str]]:
        """The fields a word expands to."""
        parts: list[tuple[str, bool]] = []  # (text, subject to splitting and globbing)
        i, n = 0, len(word)
        if word.startswith("~") and (n == 1 or word[1] == "/"):
            parts.append((self.vars.get("HOME", "/root"), False))
            i = 1
        while i < n:
            c = word[i]
            if c == "\\":
                parts.append((word[i + 1:i + 2], False))
                i += 2
            elif c == "'":
                end = word.index("'", i + 1)
                parts.append((word[i + 1:end], False))
                i = end + 1
            elif c == '"':
                j = i + 1
                text: list[str] = []
                while j < n and word[j] != '"':
                    if word[j] == "\\" and word[j + 1:j + 2] in ('"', "\\", "$", "`"):
                        text.append(word[j + 1])
                        j += 2
                    elif word[j] in "$`":
                        value, j = yield from self.dollar(word, j)
                        text.append(value)
                    else:
                        text.append(word[j])
                        j += 1
                parts.append(("".join(text), False))
                i = j + 1
            elif c in "$`":
                value, i = yield from self.dollar(word, i)
                parts.append((value, split))
            else:
                j = i
                while j < n and word[j] not in "\\'\"$`":
                    j += 1
                parts.append((word[i:j], False))
                i = j
        fields = _fields(parts) if split else ["".join(p for p, _ in parts)]
        quoted = any(q in word for q in "'\"\\")
        if split and not quoted and any(ch in word for ch in "*?["):
            globbed: list[str] = []
            for field in fields:
                globbed += self.glob(field) or [field]
            return globbed
        return fields

    def dollar(self, word: str, i: int) -> Generator[Event, str | None, tuple[str, int]]:
        """The value of the expansion starting at ``word[i]``, and where it ends."""
        if word[i] == "`":
            end = word.index("`", i + 1)
            return (yield from self.substitute(word[i + 1:end])), end + 1
        rest = word[i + 1:]
        if rest.startswith("(("):
            end = word.index("))", i)
            inner = "".join((yield from self.expand(word[i + 3:end], split=False)))
            return _arith(inner, self.vars), end + 2
        if rest.startswith("("):
            depth, j = 0, i + 1
            while j < len(word):
                depth += {"(": 1, ")": -1}.get(word[j], 0)
                if depth == 0:
                    break
                j += 1
            return (yield from self.substitute(word[i + 2:j])), j + 1
        if rest.startswith("{"):
            end = word.index("}", i)
            return self.parameter(word[i + 2:end]), end + 1
        m = re.match(r"[A-Za-z_]\w*|[0-9?$#@*!-]", rest)
        if m is None:
            return "$", i + 1
        return self.parameter(m.group(0)), i + 1 + m.end()

    def parameter(self, spec: str) -> str:
        if spec.startswith("#") and len(spec) > 1:
            return str(len(self.parameter(spec[1:])))
        m = re.fullmatch(r"(\w+|[?$#@*!])(:?[-=+?])(.*)", spec)
        if m:
            value = self.parameter(m.group(1))
            empty = not value if m.group(2).startswith(":") else m.group(1) not in self.vars
            op = m.group(2)[-1]
            if op in "-=":
                if empty and op == "=":
                    self.vars[m.group(1)] = m.group(3)
                return m.group(3) if empty else value
            if op == "+":
                return "" if empty else m.group(3)
            return value
        special = {"?": str(self.status), "$": "1", "#": str(len(self.params)), "!": "",
                   "@": " ".join(self.params), "*": " ".join(self.params), "0": self.arg0, "-": "h"}
        if spec in special:
            return special[spec]
        if spec.isdigit():
            index = int(spec) - 1
            return self.params[index] if 0 <= index < len(self.params) else ""
        return self.vars.get(spec, "")

    def substitute(self, script: str) -> Generator[Event, str | None, str]:
        _, text = yield from capture(self.child().run(script, Input("")))
        return text.rstrip("\n")

    def glob(self, pattern: str) -> list[str]:
        absolute = pattern.startswith("/")
        found = ["/" if absolute else ""]
        for part in [p for p in pattern.split("/") if p]:
            following: list[str] = []
            for base in found:
                folder = self.path(base or ".")
                if not any(ch in part for ch in "*?["):
                    if self.fs.exists(posixpath.join(folder, part)):
                        following.append(posixpath.join(base, part) if base else part)
                    continue
                try:
                    names = self.fs.listdir(folder)
                except FsError:
                    continue
                following += [posixpath.join(base, name) if base else name for name in names
                              if fnmatch.fnmatchcase(name, part) and (part.startswith(".") or not name.startswith("."))]
            found = following
        return sorted(found)


def _fields(parts: list[tuple[str, bool]]) -> list[str]:
    fields: list[str] = []
    current, started = "", False
    for text, split in parts:
        if not split:
            current += text
            started = True
            continue
        pieces = re.split(r"[ \t\n]+", text)
        for index, piece in enumerate(pieces):
            if index > 0 and (started or current):
                fields.append(current)
                current, started = "", False
            if piece:
                current += piece
                started = True
    if started or current:
        fields.append(current)
    return fields


def _arith(expr: str, names: dict[str, str]) -> str:
    expr = re.sub(r"[A-Za-z_]\w*", lambda m: names.get(m.group(0), "0") or "0", expr)
    if not re.fullmatch(r"[\d\s+\-*/%()<>=!&|]*", expr):
        return "0"
    try:
        value = eval(expr.replace("/", "//").replace("&&", " and ").replace("||", " or "),
                     {"__builtins__": {}})
    except Exception:
        return "0"
    return str(int(value))
