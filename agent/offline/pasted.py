"""What the user typed, apart from what they pasted or piped in: only the typed words are read
as a request; the rest is data the planner does not analyse (it says so). A manifest is
applied only when it is the whole message or the words typed ask for it ("apply", "create this").

Piped input comes as the user message's ``extra["query"]`` (the words typed) with ``content``
that query followed by the input (``"why?\n\nInput from stdin:\n```\n…\n```"``).
"""

from __future__ import annotations

import re

from agent.messages import Message

MANIFEST = re.compile(r"^\s*apiVersion:\s*\S+", re.M)
KIND_LINE = re.compile(r"^\s*kind:\s*\S+", re.M)
FENCED = re.compile(r"^\s*(?:Input from stdin:\s*)?```[^\n]*\n(.*?)\n?```\s*$", re.S)
# The typed words that ask for a pasted manifest to be applied (lower case, namespace taken out).
APPLY = re.compile(r"^(?:kubectl\s+)?(?:apply(?:\s+(?:-f\s*-?|this|it|that|these|them|the|above|following|attached|"
                   r"piped|manifests?|yaml|file))*|create\s+(?:this|these|that|it|them)(?:\s+(?:manifests?|yaml|file|"
                   r"objects?|resources?))?)$")
DEICTIC = re.compile(r"\b(this|these|those|that|it|above|following|attached|piped|pasted|input|stdin|manifest|yaml|"
                     r"output|file|text|trace|traceback|stack ?trace|error message)\b")
EXAMPLES = ("show logs for todo-backend pods in todo-app", "why are the backend pods failing?",
            "any warnings in todo-app?")


def typed(message: Message) -> tuple[str, str]:
    """The words the user typed and the text piped after them ("" when none was)."""
    query, content = message.query, message.content
    if query == content:
        return content, ""
    rest = content[len(query):] if content.startswith(query) else content
    match = FENCED.match(rest)
    return query, (match.group(1) if match else rest).strip()


def manifest_in(text: str) -> tuple[str, str | None]:
    """The words before a manifest pasted into ``text`` and the manifest, or (text, None)."""
    match = MANIFEST.search(text)
    if match is None or not KIND_LINE.search(text, match.start()):
        return text, None
    before = [line for line in text[: match.start()].splitlines()
              if line.strip() != "---" and not line.lstrip().startswith("#")]
    return "\n".join(before).strip(), text[match.start():].strip()


def request(text: str) -> tuple[str, str | None, str]:
    """A typed message split into the request (its first line), a manifest pasted after it (or
    None) and the other lines pasted with it: a paste of logs that says "scale backend to 0" on
    its fifth line is data, not a request."""
    lead, manifest = manifest_in(text)
    lines = [line for line in lead.splitlines() if line.strip()]
    if not lines:
        return "", manifest, ""
    return lines[0].strip(), manifest, "\n".join(lines[1:])


def note(data: str) -> str:
    """What the answer says about text it did not read."""
    lines = len(data.splitlines()) or 1
    listed = "\n".join(f"- {example}" for example in EXAMPLES)
    return (f"I work offline and do not analyse pasted or piped text: I act only on the first line you type "
            f"({lines} more line{'s' if lines != 1 else ''} not read). I can read the cluster myself, for "
            f"example:\n{listed}\nTo apply a manifest, send it alone or type \"apply this\" with it.")
