"""Tool results as the planner reads them: a tool message's YAML text parsed back into the
fields of the tool's result model, or its error split into code, message and details
(``candidates`` of an ambiguous name, ``closest`` of a missing one, the policy ``rule``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from agent.messages import Message, ToolCall

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CUT = re.compile(r"\n… \d+ more tokens cut to fit the budget\s*$")
_DETAIL_KEYS = re.compile(r"^(candidates|closest|rule):", re.M)
REFUSED = frozenset({"denied", "approval_required", "rejected", "expired"})


@dataclass(frozen=True)
class Result:
    """One tool call and what came back."""

    tool: str
    args: dict[str, Any]
    status: str  # ok, denied, approval_required, rejected, expired, error; "missing" when no result came
    data: dict[str, Any] = field(default_factory=dict)  # the result's fields (status ok)
    code: str = ""  # the error code (not ok): not_found, ambiguous, invalid_input, denied…
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def refused(self) -> bool:
        return self.status in REFUSED

    @property
    def ambiguous(self) -> bool:
        return self.code == "ambiguous"

    @property
    def not_found(self) -> bool:
        return self.code == "not_found"

    @property
    def candidates(self) -> list[str]:
        found = self.details.get("candidates")
        return [str(c) for c in found] if isinstance(found, list) else []


def load_yaml(text: str) -> Any:
    """``text`` as YAML, or None; a result cut to the token budget loses its last line first."""
    for attempt in (text, _CUT.sub("", text)):
        try:
            return yaml.load(attempt, Loader=_LOADER)
        except yaml.YAMLError:
            continue
    lines = text.splitlines()
    while len(lines) > 1:  # cut in the middle of a value: keep the complete lines before it
        lines.pop()
        try:
            return yaml.load("\n".join(lines), Loader=_LOADER)
        except yaml.YAMLError:
            continue
    return None


def read_result(call: ToolCall, message: Message | None) -> Result:
    """The result of ``call`` from its tool message (None: no result came)."""
    if message is None:
        return Result(call.name, dict(call.arguments), "missing")
    text = message.content or ""
    status = message.status or ("ok" if not re.match(r"^[a-z_]+: ", text) else "error")
    if status == "ok":
        data = load_yaml(text)
        return Result(call.name, dict(call.arguments), "ok", data if isinstance(data, dict) else {}, text=text)
    head, _, rest = text.partition("\n")
    code, sep, message_text = head.partition(": ")
    if not sep or not re.fullmatch(r"[a-z_]+", code):
        code, message_text = status, head
    details: dict[str, Any] = {}
    found = _DETAIL_KEYS.search(rest)
    if found:
        parsed = load_yaml(rest[found.start():])
        if isinstance(parsed, dict):
            details = parsed
        message_text = " ".join([message_text, rest[: found.start()].strip()]).strip()
    elif rest.strip():
        message_text = f"{message_text} {rest.strip()}"
    return Result(call.name, dict(call.arguments), status, code=code, message=message_text.strip(),
                  details=details, text=text)
