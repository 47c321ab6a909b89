"""Tools as typed async functions, registered by name with their risk class.

A tool is ``async def name(ctx: ToolContext, args: SomeInput) -> SomeResult`` for reads, or
``-> Change`` for writes: a write tool only *plans* (resolves names, dry-runs on the server,
builds the preview); the guard decides, and :meth:`Change.apply` does it. The function's
docstring is what the model reads: its summary says what the tool does and when to use it,
its ``Args:`` section describes each field of the input model (a test checks that every field
is described). :meth:`Registry.schemas` emits the JSON schemas providers and MCP need.
"""

from __future__ import annotations

import difflib
import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .errors import UnknownTool

if typing.TYPE_CHECKING:
    from .context import ToolContext

Risk = Literal["read", "write", "destructive"]


class ToolInput(BaseModel):
    """Arguments of a tool: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ToolResult(BaseModel):
    """A tool's compact result."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Target:
    """One object a change touches, as it was when the change was planned."""

    kind: str
    name: str
    namespace: str | None = None
    resource_version: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def ref(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind}/{self.name}{where}"


@dataclass
class Change:
    """A write planned but not yet done: what the guard previews, decides on and runs.

    ``before``/``after`` are YAML documents (``after`` from a server-side dry run, or a Helm
    dry-run manifest); ``command`` is the kubectl or helm line a human would type. The bound
    facts (``replicas``, ``images``, ``chart``) are what the policy's bounds check.
    """

    summary: str
    command: str
    targets: list[Target]
    apply: Callable[[], Awaitable[ToolResult]]
    before: str = ""
    after: str = ""
    replicas: int | None = None
    images: list[str] = field(default_factory=list)
    chart: str | None = None
    idempotent: bool = True

    @property
    def namespaces(self) -> list[str]:
        return sorted({t.namespace for t in self.targets if t.namespace} | (
            {t.name for t in self.targets if t.kind == "Namespace"}))

    @property
    def diff(self) -> str:
        lines = difflib.unified_diff(self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
                                     fromfile="before", tofile="after")
        return "".join(lines)

    def fingerprint(self) -> str:
        """What an approval is bound to: the change itself and each object's resourceVersion."""
        import hashlib

        parts = [self.command] + [f"{t.ref()}@{t.resource_version}" for t in self.targets]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


ToolFn = Callable[[Any, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Tool:
    name: str
    risk: Risk
    summary: str
    args_doc: dict[str, str]
    input_model: type[ToolInput]
    result_model: type[ToolResult]
    fn: ToolFn

    @property
    def writes(self) -> bool:
        return self.risk != "read"

    def validate(self, arguments: dict[str, Any]) -> ToolInput:
        """The typed input, or :class:`~tools.errors.InvalidInput` naming each bad field."""
        from pydantic import ValidationError

        from .errors import InvalidInput

        try:
            return self.input_model.model_validate(arguments)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "arguments"
                problems.append(f"{where}: {err['msg']}")
            raise InvalidInput(f"invalid arguments for {self.name}: " + "; ".join(problems)) from None

    async def run(self, ctx: ToolContext, args: ToolInput) -> ToolResult:
        """A read tool's result."""
        assert not self.writes, f"{self.name} writes: plan it"
        result = await self.fn(ctx, args)
        assert isinstance(result, ToolResult)
        return result

    async def plan(self, ctx: ToolContext, args: ToolInput) -> Change:
        """A write tool's planned change (nothing is changed yet)."""
        assert self.writes, f"{self.name} only reads: run it"
        change = await self.fn(ctx, args)
        assert isinstance(change, Change)
        return change

    def schema(self) -> dict[str, Any]:
        """``{"name", "description", "parameters"}`` with a self-contained JSON schema."""
        params = _clean(self.input_model.model_json_schema())
        for key, prop in params.get("properties", {}).items():
            if key in self.args_doc:
                prop["description"] = self.args_doc[key]
        params.setdefault("properties", {})
        params["type"] = "object"
        params["additionalProperties"] = False
        risk = {"read": "", "write": " (changes the cluster)", "destructive": " (destructive)"}[self.risk]
        return {"name": self.name, "description": self.summary + risk, "parameters": params}


class Registry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def add(self, item: Tool) -> None:
        if item.name in self._tools:
            raise ValueError(f"tool {item.name} registered twice")
        self._tools[item.name] = item

    def find(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._tools, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UnknownTool(f"no tool named {name!r}{hint}") from None

    def __iter__(self) -> typing.Iterator[Tool]:
        return iter(sorted(self._tools.values(), key=lambda t: t.name))

    def names(self) -> list[str]:
        return sorted(self._tools)

    def schemas(self, risks: tuple[Risk, ...] = ("read", "write", "destructive")) -> list[dict[str, Any]]:
        return [t.schema() for t in self if t.risk in risks]


REGISTRY = Registry()


def tool(risk: Risk, result: type[ToolResult] | None = None) -> Callable[[ToolFn], ToolFn]:
    """Register ``fn`` as a tool. Read tools take their result model from the return
    annotation; write tools (which return a :class:`Change`) name it with ``result``."""

    def register(fn: ToolFn) -> ToolFn:
        hints = typing.get_type_hints(fn)
        params = list(inspect.signature(fn).parameters)
        input_model = hints[params[1]]
        output = hints.get("return")
        result_model = result if result is not None else output
        assert isinstance(result_model, type) and issubclass(result_model, ToolResult), fn.__name__
        if risk == "read":
            assert output is not Change, f"{fn.__name__}: a read tool returns its result"
        else:
            assert result is not None, f"{fn.__name__}: a write tool names its result model"
        summary, args_doc = parse_docstring(inspect.getdoc(fn) or "")
        REGISTRY.add(Tool(name=fn.__name__, risk=risk, summary=summary, args_doc=args_doc,
                          input_model=input_model, result_model=result_model, fn=fn))
        return fn

    return register


_ARG = re.compile(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring's text before ``Args:`` and its argument descriptions."""
    head, _, rest = doc.partition("\nArgs:\n")
    args: dict[str, str] = {}
    current = ""
    for line in rest.splitlines():
        if line and not line[0].isspace():
            break  # the next section
        match = _ARG.match(line)
        if match and (len(line) - len(line.lstrip())) <= 4:
            current = match.group(1)
            args[current] = match.group(2).strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return " ".join(head.split()), args


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$ref``s, collapse ``anyOf[X, null]`` to X and drop titles: the subset of
    JSON schema every provider (Gemini's function declarations included) accepts."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = defs[node["$ref"].rsplit("/", 1)[-1]]
                merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged)
            any_of = node.get("anyOf")
            if isinstance(any_of, list):
                rest = [s for s in any_of if s != {"type": "null"}]
                if len(rest) == 1:
                    return walk({**{k: v for k, v in node.items() if k != "anyOf"}, **rest[0]})
            return {k: walk(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    cleaned = walk(schema)
    assert isinstance(cleaned, dict)
    return cleaned
