"""Parsing the POSIX shell language, far enough for what people type into ``sh``:
simple commands with assignments and redirections (``>``, ``>>``, ``<``, ``2>``,
``2>&1``, ``&>``), pipelines (``|``, ``!``), ``&&``/``||``/``;``/``&``, ``if``,
``for``, ``while``/``until``, ``{ …; }`` and ``( … )``. Words keep their quotes; the
shell expands them when it runs them. Unfinished input raises :class:`Incomplete`
(an interactive shell then asks for more), wrong input :class:`SyntaxError_`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPERATORS = ("&&", "||", ";;", "2>&1", ">&2", "1>&2", "2>>", "&>", ">>", "2>", "1>", ";", "&", "|", "(",
             ")", "<", ">", "\n")
KEYWORDS = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "{", "}", "!"}
REDIRECTS = {">", ">>", "<", "2>", "2>>", "1>", "&>", "2>&1", ">&2", "1>&2"}


class Incomplete(Exception):
    """The input stops inside a construct."""


class SyntaxError_(Exception):
    """The input is not valid shell."""


@dataclass(frozen=True)
class Tok:
    kind: str  # "word" | "op"
    text: str


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(text)
    word: list[str] = []

    def flush() -> None:
        if word:
            toks.append(Tok("word", "".join(word)))
            word.clear()

    while i < n:
        c = text[i]
        if c in " \t":
            flush()
            i += 1
        elif c == "#" and not word:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "\\":
            if i + 1 < n and text[i + 1] == "\n":
                i += 2
                continue
            word.append(text[i:i + 2])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise Incomplete
            word.append(text[i:end + 1])
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise Incomplete
            word.append(text[i:j + 1])
            i = j + 1
        elif (c == "$" and text[i + 1:i + 2] == "(") or c == "`":
            j = _substitution_end(text, i)
            word.append(text[i:j])
            i = j
        elif c == "$" and text[i + 1:i + 2] == "{":
            end = text.find("}", i)
            if end < 0:
                raise Incomplete
            word.append(text[i:end + 1])
            i = end + 1
        else:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            if op is not None and op[0].isdigit() and word:
                op = None
            if op is None:
                word.append(c)
                i += 1
                continue
            flush()
            toks.append(Tok("op", op))
            i += len(op)
    flush()
    return toks


def _substitution_end(text: str, i: int) -> int:
    if text[i] == "`":
        end = text.find("`", i + 1)
        if end < 0:
            raise Incomplete
        return end + 1
    depth, j = 0, i + 1
    while j < len(text):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        elif text[j] == "'":
            j = text.find("'", j + 1)
            if j < 0:
                break
        j += 1
    raise Incomplete


@dataclass
class Redir:
    op: str
    target: str = ""


@dataclass
class Simple:
    assigns: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Node]
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)


@dataclass
class Seq:
    items: list[AndOr] = field(default_factory=list)


@dataclass
class If:
    branches: list[tuple[Seq, Seq]]
    otherwise: Seq | None = None
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class For:
    var: str
    words: list[str]
    body: Seq
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class While:
    cond: Seq
    body: Seq
    until: bool = False
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Group:
    body: Seq
    subshell: bool = False
    redirs: list[Redir] = field(default_factory=list)


Node = Simple | If | For | While | Group


class Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.pos = 0

    def peek(self) -> Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def is_(self, text: str, kind: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.text == text and (kind is None or tok.kind == kind)

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise Incomplete
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise SyntaxError_(f'unexpected "{tok.text}" (expecting "{text}")')

    def skip_newlines(self) -> None:
        while self.is_("\n", "op"):
            self.pos += 1

    def parse(self) -> Seq:
        seq = self.seq(())
        tok = self.peek()
        if tok is not None:
            raise SyntaxError_(f'unexpected "{tok.text}"')
        return seq

    def seq(self, stops: tuple[str, ...]) -> Seq:
        items: list[AndOr] = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok is None or tok.text in stops:
                return Seq(items)
            if tok.kind == "op" and tok.text in (";", "&", ";;", ")", "|", "&&", "||"):
                raise SyntaxError_(f'unexpected "{tok.text}"')
            items.append(self.and_or())
            if self.is_(";", "op") or self.is_("&", "op"):
                self.pos += 1

    def and_or(self) -> AndOr:
        node = AndOr(self.pipeline())
        while self.is_("&&", "op") or self.is_("||", "op"):
            op = self.take().text
            self.skip_newlines()
            node.rest.append((op, self.pipeline()))
        return node

    def pipeline(self) -> Pipeline:
        negate = False
        if self.is_("!", "word"):
            self.pos += 1
            negate = True
        commands = [self.command()]
        while self.is_("|", "op"):
            self.pos += 1
            self.skip_newlines()
            commands.append(self.command())
        return Pipeline(commands, negate)

    def command(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise Incomplete
        node: Node
        if tok.kind == "word" and tok.text == "if":
            node = self.if_()
        elif tok.kind == "word" and tok.text == "for":
            node = self.for_()
        elif tok.kind == "word" and tok.text in ("while", "until"):
            self.pos += 1
            cond = self.seq(("do",))
            self.expect("do")
            body = self.seq(("done",))
            self.expect("done")
            node = While(cond, body, until=tok.text == "until")
        elif tok.kind == "word" and tok.text == "{":
            self.pos += 1
            body = self.seq(("}",))
            self.expect("}")
            node = Group(body)
        elif tok.kind == "op" and tok.text == "(":
            self.pos += 1
            body = self.seq((")",))
            self.expect(")")
            node = Group(body, subshell=True)
        else:
            return self.simple()
        while self.peek() is not None and self.peek().text in REDIRECTS:  # type: ignore[union-attr]
            node.redirs.append(self.redirect())
        return node

    def if_(self) -> If:
        self.expect("if")
        branches: list[tuple[Seq, Seq]] = []
        otherwise: Seq | None = None
        while True:
            cond = self.seq(("then",))
            self.expect("then")
            body = self.seq(("elif", "else", "fi"))
            branches.append((cond, body))
            tok = self.take()
            if tok.text == "elif":
                continue
            if tok.text == "else":
                otherwise = self.seq(("fi",))
                self.expect("fi")
            elif tok.text != "fi":
                raise SyntaxError_(f'unexpected "{tok.text}"')
            return If(branches, otherwise)

    def for_(self) -> For:
        self.expect("for")
        var = self.take().text
        words: list[str] = []
        self.skip_newlines()
        if self.is_("in", "word"):
            self.pos += 1
            while self.peek() is not None and self.peek().kind == "word":  # type: ignore[union-attr]
                words.append(self.take().text)
        else:
            words = ['"$@"']
        if self.is_(";", "op"):
            self.pos += 1
        self.skip_newlines()
        self.expect("do")
        body = self.seq(("done",))
        self.expect("done")
        return For(var, words, body)

    def redirect(self) -> Redir:
        op = self.take().text
        if op in ("2>&1", ">&2", "1>&2"):
            return Redir(op)
        target = self.take()
        if target.kind != "word":
            raise SyntaxError_(f'unexpected "{target.text}"')
        return Redir(op, target.text)

    def simple(self) -> Simple:
        node = Simple()
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok.kind == "op" and tok.text in REDIRECTS:
                node.redirs.append(self.redirect())
                continue
            if tok.kind != "word" or (not node.words and not node.assigns and tok.text in KEYWORDS - {"{", "!"}
                                      and tok.text not in ("in",)):
                break
            self.pos += 1
            if not node.words and _is_assignment(tok.text):
                node.assigns.append(tok.text)
            else:
                node.words.append(tok.text)
        if not node.words and not node.assigns and not node.redirs:
            tok = self.peek()
            raise SyntaxError_(f'unexpected "{tok.text if tok else "end of file"}"')
        return node


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and name.replace("_", "a").isalnum() and not name[0].isdigit()


def parse(text: str) -> Seq:
    return Parser(text).parse()
