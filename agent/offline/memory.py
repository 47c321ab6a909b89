"""What earlier turns of the conversation tell about the current one: the last workload and
Helm release acted on (what "it" and "add one replica" refer to), the last namespace, and
a question left open (how many replicas? which of these two?) that this message may answer.

Built from the messages alone, so the planner stays a pure function of the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.messages import Message, ToolCall

from .pasted import typed
from .results import Result, read_result

WORKLOAD_TOOLS = frozenset({"scale", "set_image", "set_env", "set_resources", "rollout_restart", "rollout_status",
                            "rollout_undo", "rollout_history", "autoscale"})
HELM_TOOLS = frozenset({"helm_install", "helm_upgrade", "helm_rollback", "helm_uninstall", "helm_status",
                        "helm_history", "helm_get_values"})
WORKLOAD_KINDS = frozenset({"deployment", "statefulset", "daemonset", "replicaset"})
TARGET = re.compile(r"^(Deployment|StatefulSet|DaemonSet|ReplicaSet|Pod|Service) (\S+) in namespace (\S+)$")
RELEASE_TARGET = re.compile(r"^Helm release (\S+) in namespace (\S+)$")
NAMESPACE_TARGET = re.compile(r"^(?:warnings in )?namespace (\S+)$")


@dataclass(frozen=True)
class Ref:
    """An object named earlier: its name, namespace and kind (when known)."""

    name: str
    namespace: str | None = None
    kind: str | None = None


@dataclass
class Memory:
    workload: Ref | None = None
    release: Ref | None = None
    namespace: str | None = None
    previous_text: str | None = None  # the words of the user's message before this one
    previous_results: list[Result] = field(default_factory=list)  # what the tools said to it

    @property
    def ambiguous(self) -> Result | None:
        """The previous message's call whose name was ambiguous, if its run stopped there."""
        return next((r for r in self.previous_results if r.ambiguous), None)


def run_of(messages: list[Message]) -> list[tuple[ToolCall, Message | None]]:
    """The tool calls of a run (the messages after a user message), each with its result."""
    results = {m.tool_call_id: m for m in messages if m.role == "tool" and m.tool_call_id}
    return [(call, results.get(call.id)) for m in messages if m.role == "assistant" for call in m.tool_calls]


def remember(messages: list[Message]) -> Memory:
    """The memory of the conversation ``messages`` (everything before the current message).

    Runs are read from the newest back, and only until the workload, the release and the
    namespace are known: a long conversation costs what its last few runs cost."""
    memory = Memory()
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        return memory
    last = users[-1]
    memory.previous_text = typed(messages[last])[0]
    memory.previous_results = [read_result(c, m) for c, m in run_of(messages[last + 1:])]
    for start, end in reversed(list(zip(users, [*users[1:], len(messages)], strict=True))):
        run = Memory()
        results = memory.previous_results if start == last else [read_result(c, m) for c, m in
                                                                 run_of(messages[start + 1:end])]
        for result in results:
            _learn(run, result)
        memory.workload = memory.workload or run.workload
        memory.release = memory.release or run.release
        memory.namespace = memory.namespace or run.namespace
        if memory.workload and memory.release and memory.namespace:
            break
    return memory


def _learn(memory: Memory, result: Result) -> None:
    args: dict[str, Any] = result.args
    data = result.data
    if isinstance(args.get("namespace"), str) and not result.not_found:
        memory.namespace = args["namespace"]
    if result.ok:
        namespace = data.get("namespace")
        if isinstance(namespace, str):
            memory.namespace = namespace
        if result.tool in WORKLOAD_TOOLS and isinstance(data.get("name"), str):
            kind = str(data.get("kind") or "deployment").lower()
            memory.workload = Ref(data["name"], namespace if isinstance(namespace, str) else None, kind)
        elif result.tool in HELM_TOOLS:
            name = data.get("release") or data.get("name")
            if isinstance(name, str):
                memory.release = Ref(name, namespace if isinstance(namespace, str) else None)
        elif result.tool in ("get_resource", "describe_resource") and str(data.get("kind", "")).lower() in (
                WORKLOAD_KINDS):
            memory.workload = Ref(str(data["name"]), namespace if isinstance(namespace, str) else None,
                                  str(data["kind"]).lower())
        elif result.tool == "create_namespace" and isinstance(data.get("name"), str):
            memory.namespace = data["name"]
        for key in ("source", "target", "scope"):
            _learn_target(memory, str(data.get(key) or ""))
    elif result.refused or (result.status == "error" and not (result.not_found or result.ambiguous)):
        name = args.get("name") or args.get("release")
        if isinstance(name, str) and result.tool in WORKLOAD_TOOLS:
            memory.workload = Ref(name, args.get("namespace"), args.get("kind") or "deployment")
        elif isinstance(name, str) and result.tool in HELM_TOOLS:
            memory.release = Ref(name, args.get("namespace"))


def _learn_target(memory: Memory, target: str) -> None:
    if match := TARGET.match(target):
        kind, name, namespace = match.group(1).lower(), match.group(2), match.group(3)
        memory.namespace = namespace
        if kind in WORKLOAD_KINDS:
            memory.workload = Ref(name, namespace, kind)
    elif match := RELEASE_TARGET.match(target):
        memory.release = Ref(match.group(1), match.group(2))
        memory.namespace = match.group(2)
    elif match := NAMESPACE_TARGET.match(target):
        memory.namespace = match.group(1)
