"""What the parser makes of a sentence: one :class:`Intent` per request in it, or a
:class:`Decline` (out of scope, unsafe, not understood) or an :class:`Ask` (a request with
something missing: which workload, how many replicas, which image)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Actions that change the cluster: each needs a clear verb, target and (for scale and image) amount.
WRITES = frozenset({"scale", "set_image", "restart", "undo", "helm_rollback", "rollback", "helm_install",
                    "helm_upgrade", "helm_uninstall", "create_namespace", "delete_namespace", "delete",
                    "set_env", "set_resources", "autoscale", "cordon", "uncordon", "drain", "apply"})
# Actions that need an object's name.
NEEDS_NAME = frozenset({"scale", "set_image", "restart", "undo", "helm_rollback", "rollback", "helm_upgrade",
                        "helm_uninstall", "create_namespace", "delete_namespace", "delete", "set_env",
                        "set_resources", "autoscale", "cordon", "uncordon", "drain", "logs", "get", "describe",
                        "history", "helm_history", "rollout_history", "helm_status", "helm_values",
                        "rollout_status", "pods_of", "helm_install"})
# Actions on workloads, whose name a later "it" may refer to.
ON_WORKLOAD = frozenset({"scale", "set_image", "restart", "undo", "logs", "set_env", "set_resources", "autoscale",
                         "rollout_status", "rollout_history", "pods_of", "diagnose", "health"})
# Actions answered in words, with no call: a change named but not asked for ("don't scale…", "how do I
# restart…"; ``args["_write"]`` holds it) and settings kai has no tool for ("set the timeout to 30").
SAY = frozenset({"refrain", "howto", "setting"})
ON_RELEASE = frozenset({"helm_rollback", "helm_upgrade", "helm_uninstall", "helm_history", "helm_status",
                        "helm_values", "helm_install"})


@dataclass
class Intent:
    """One request: an action, its target and its arguments as the user gave them."""

    action: str
    name: str | None = None
    kind: str | None = None  # a kind as the tools take it ("deployments", "pods"...)
    namespace: str | None = None
    all_namespaces: bool = False
    args: dict[str, Any] = field(default_factory=dict)
    pronoun: bool = False  # the target is "it", "them", "the same": an earlier one
    after: bool = False  # runs after the ones before it ("… and then …")
    text: str = ""

    @property
    def writes(self) -> bool:
        return self.action in WRITES


@dataclass(frozen=True)
class Decline:
    """A request the planner will not act on, and why ("out_of_scope", "unsafe", "unknown",
    "unsupported", "too_long")."""

    reason: str
    message: str


@dataclass(frozen=True)
class Ask:
    """A request with something missing; ``intent`` keeps what was understood, so the next
    sentence ("3", "the one in todo-w1") can complete it."""

    question: str
    intent: Intent | None = None
    missing: str = ""


Parsed = list[Intent] | Decline | Ask
