"""The planner's turn: a pure function of the conversation.

The last user message is parsed into intents; the assistant and tool messages after it are
what was already done. Each intent is a task with rounds of calls (:mod:`.steps`); the
intents of one sentence run together, in one turn, unless a clause came after "then" or
refers to an earlier change ("… and then show its pods"), which starts a new group. A group
starts only when the groups before it all succeeded. When no task has calls left, the answer
is written from the results (:mod:`.answer`).

Call ids say whose they are: ``kai-<user message>-<task>-<round>-<n>``, so the results of
each task are found again on the next turn without any state kept in the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.messages import Message, ModelTurn, ToolCall

from . import answer, pasted, replies, steps
from .examples import help_text
from .intents import SAY, Ask, Decline, Intent
from .memory import remember, run_of
from .parse import parse
from .results import Result, read_result

MAX_TURNS = 12  # a plan never needs more; past it, answer with what there is
ID = re.compile(r"^kai-(\d+)-(\d+)-(\d+)-(\d+)$")
# Tools whose result is one workload, with its resolved name and namespace.
ONE_WORKLOAD = frozenset({"scale", "set_image", "set_env", "set_resources", "rollout_restart", "rollout_undo",
                          "rollout_status", "rollout_history", "get_resource", "describe_resource"})


@dataclass
class Task:
    intent: Intent
    group: int
    rounds: list[list[Result]] = field(default_factory=list)
    missing_tool: str | None = None


def last_user(messages: list[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return -1


def turn(messages: list[Message], tools: set[str]) -> ModelTurn:
    """The next model turn for ``messages`` with the tools named ``tools`` available."""
    u = last_user(messages)
    if u < 0:
        return ModelTurn(text=help_text("Ask me about the cluster."))
    query, piped = pasted.typed(messages[u])
    parsed = parse(query, remember(messages[:u]), piped)
    data = piped or _pasted(query, parsed)
    if isinstance(parsed, Decline):
        if parsed.reason == "unsafe":
            return ModelTurn(text=f"{parsed.message} Nothing was changed.", refusal=parsed.message)
        if data and parsed.reason == "unknown":
            return ModelTurn(text=pasted.note(data))
        return ModelTurn(text=_with_note(help_text(parsed.message), data))
    if isinstance(parsed, Ask):
        return ModelTurn(text=_with_note(f"{parsed.question} Nothing was changed.", data))
    words = pasted.request(query)[0].lower()
    if data and pasted.DEICTIC.search(words) and all(not i.writes and not i.name for i in parsed):
        return ModelTurn(text=pasted.note(data))  # "what's wrong with this?": about the text, not the cluster
    tasks = _tasks(parsed)
    done = messages[u + 1:]
    _collect(tasks, done, u)
    _bind_all(tasks)
    turns = sum(1 for m in done if m.role == "assistant" and m.tool_calls)
    if turns < MAX_TURNS:
        calls = _next(tasks, tools)
        if calls:
            return ModelTurn(tool_calls=[ToolCall(id=f"kai-{u}-{t}-{r}-{n}", name=c.tool, arguments=c.args)
                                         for n, (t, r, c) in enumerate(calls)])
    missing = sorted({t.missing_tool for t in tasks if t.missing_tool})
    refusal = f"not available under the policy: {', '.join(missing)}" if missing else ""
    return ModelTurn(text=_with_note(_answer(tasks), data), refusal=refusal)


def _pasted(query: str, parsed: object) -> str:
    """What was pasted after the first line of a typed message (a manifest applied is not)."""
    if isinstance(parsed, list) and [i.action for i in parsed] == ["apply"]:
        return ""
    _, manifest, rest = pasted.request(query)
    return "\n".join(part for part in (rest, manifest) if part)


def _with_note(text: str, data: str) -> str:
    return f"{text}\n\n{pasted.note(data)}" if data else text


def _tasks(intents: list[Intent]) -> list[Task]:
    group = 0
    tasks = []
    for n, intent in enumerate(intents):
        if intent.after and n > 0:
            group += 1
        tasks.append(Task(intent, group))
    return tasks


def _collect(tasks: list[Task], done: list[Message], u: int) -> None:
    for call, message in run_of(done):
        match = ID.match(call.id)
        if not match or int(match.group(1)) != u or int(match.group(2)) >= len(tasks):
            continue
        task = tasks[int(match.group(2))]
        r = int(match.group(3))
        while len(task.rounds) <= r:
            task.rounds.append([])
        task.rounds[r].append(read_result(call, message))


def _next(tasks: list[Task], tools: set[str]) -> list[tuple[int, int, steps.Call]]:
    """The calls of the current group's next round (empty: nothing left to call)."""
    for group in sorted({t.group for t in tasks}):
        members = [(n, t) for n, t in enumerate(tasks) if t.group == group]
        pending: list[tuple[int, int, steps.Call]] = []
        for n, task in members:
            calls = _calls(task, tools)
            pending += [(n, len(task.rounds), call) for call in calls]
        if pending:
            return pending
        results = [r for _, t in members for round_ in t.rounds[-1:] for r in round_]
        if any(not r.ok for r in results) or any(t.missing_tool for _, t in members):
            return []
    return []


def _calls(task: Task, tools: set[str]) -> list[steps.Call]:
    if task.missing_tool or task.intent.action in SAY:
        return []
    if not task.rounds:
        calls = steps.first(task.intent)
        absent = [c.tool for c in calls if c.tool not in tools]
        if absent:
            task.missing_tool = absent[0]
            return []
        return calls
    calls = steps.follow(task.intent, task.rounds) or []
    return [c for c in calls if c.tool in tools]


def _bind_all(tasks: list[Task]) -> None:
    earlier: list[Result] = []
    for group in sorted({t.group for t in tasks}):
        members = [t for t in tasks if t.group == group]
        for task in members:
            _bind(task.intent, earlier)
        earlier += [r for t in members for round_ in t.rounds for r in round_]


def _bind(intent: Intent, earlier: list[Result]) -> None:
    """An intent that refers to an earlier clause's object ("… then show its pods") takes the
    name and namespace the earlier call resolved."""
    if intent.args.get("_ref") != "clause":
        return
    for result in reversed(earlier):
        data: dict[str, Any] = result.data
        name = data.get("name") if result.tool in ONE_WORKLOAD else None
        if result.ok and isinstance(name, str) and isinstance(data.get("namespace"), str):
            intent.args["_resolved"] = name
            if intent.action != "pods_of":
                intent.name = name
            intent.namespace = data["namespace"]
            return


def _answer(tasks: list[Task]) -> str:
    parts: list[str] = []
    skipped: list[Task] = []
    for task in tasks:
        if task.intent.action == "refrain":
            refrains = [t.intent for t in tasks if t.intent.action == "refrain"]
            if task.intent is refrains[0]:  # one reply for all the changes not to make
                parts.append(replies.refrain(refrains))
        elif task.intent.action in SAY:
            parts.append(replies.say(task.intent))
        elif task.missing_tool:
            parts.append(f"I can't {_describe(task.intent)} here: the tool {task.missing_tool} is not available "
                         "(the policy does not allow it). Nothing was changed.")
        elif task.rounds:
            parts.append(answer.part(task.intent, task.rounds))
        else:
            skipped.append(task)
    if skipped:
        parts.append("I stopped there and did not " + "; ".join(_describe(t.intent) for t in skipped) + ".")
    text = "\n".join(p for p in parts if p) if all("\n" not in p for p in parts) else "\n\n".join(p for p in parts if p)
    return text or help_text("I had nothing to do for that.")


def _describe(intent: Intent) -> str:
    words = {"pods_of": "show the pods of", "list": f"list {intent.kind or 'pods'}", "logs": "read the logs of",
             "events": "read the events of", "health": "check the health of", "diagnose": "diagnose",
             "restart": "restart", "undo": "roll back", "helm_rollback": "roll back", "rollback": "roll back"}
    verb = words.get(intent.action, intent.action.replace("_", " "))
    return f"{verb} {intent.name or ''}".strip()
