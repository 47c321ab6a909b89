"""A clause's action, read from its verbs and nouns: the first rule that fits wins, writes
before reads and the more specific before the general ("helm history" before "history",
"rollout restart" before "restart", "logs" before "why"). A question about a change ("how
many restarts…?", "what changed in the last upgrade?") is read as the read it asks for: a
write is never planned from a question."""

from __future__ import annotations

import re

from .intents import WRITES
from .lexicon import (
    AUTOSCALE_WORDS,
    CAN_I,
    DELETE_WORDS,
    DESCRIBE_WORDS,
    DIAGNOSE_WORDS,
    ENV_WORDS,
    EVENT_WORDS,
    HEALTH_WORDS,
    HISTORY_WORDS,
    IMAGE_WORDS,
    INSTALL_WORDS,
    KINDS,
    LIST_WORDS,
    LOG_WORDS,
    NODE_VERBS,
    RELEASE_WORDS,
    RESTART_WORDS,
    ROLLBACK_WORDS,
    ROLLOUT_STATUS,
    SCALE_WORDS,
    UNINSTALL_WORDS,
    UPGRADE_WORDS,
    VALUES_WORDS,
    WORKLOAD_KIND,
)

IMAGE_TO = re.compile(r"\b(?:to|=|with|:)\s+(?:version\s+|tag\s+|image\s+)?(⟨\w⟩|:?v?\d[\w.+-]*|[a-z][\w./-]*)")
WORD = re.compile(r"[^\s,;?!()\"]+")
STRICT_VERSION = re.compile(r"^:?v\d+(?:\.\d+){0,3}(?:[-+][\w.]+)?$|^\d+(?:\.\d+){1,3}(?:[-+][\w.]+)?$|^latest$")
SCALE_SHAPES = re.compile(r"\b(?:make|have|let)\s+(?:it|them|(?:the\s+)?[a-z][\w-]*)\s+run\s+\d+(?![.\w%:])|"
                          r"\b(add|remove)\s+\d+\b|\bone more\b|\b\d+ (?:more|fewer)\b|\b(?:bump|increase|decrease|"
                          r"reduce|shrink|grow|raise|lower)\b.*\bto\s+\d+(?![.\w%])|\b(?:make|set|have|keep)\s+(?:it|"
                          r"them|(?:the\s+)?[a-z][\w-]*)\s+(?:at\s+|to\s+)?\d+(?![.\w%:])")
QUESTION = re.compile(r"^(?:how|what|what's|whats|which|when|where|who|why|is|are|does|do|did|has|have|was|were|"
                      r"should|shall|would|will|had)\b")
AS_QUESTION = {"scale": "get", "restart": "pods_of", "set_image": "images", "undo": "rollout_history",
               "rollback": "history", "helm_rollback": "helm_history", "helm_upgrade": "helm_history",
               "helm_install": "helm_list", "helm_uninstall": "helm_status", "create_namespace": "list_namespaces",
               "delete_namespace": "list_namespaces", "delete": "get"}
UP_QUESTION = re.compile(r"^(?:is|are)\b.*\b(?:up|down|running|alive|available|ready|reachable|deployed|installed)$")


def action_of(text: str, marks: dict[str, list[str]]) -> str | None:
    """The action of a clause (its text with the namespace taken out), or None."""
    action = detect(text, marks)
    if action in WRITES and QUESTION.match(text.strip()):
        return "diagnose" if DIAGNOSE_WORDS.search(text) else AS_QUESTION.get(action, "describe")
    return action


def detect(text: str, marks: dict[str, list[str]]) -> str | None:
    """The clause's action from its words (see the module docstring of parse for the order)."""
    t = text
    release = bool(RELEASE_WORDS.search(t))
    if CAN_I.search(t):
        return "can_i"
    if UNINSTALL_WORDS.search(t) or (DELETE_WORDS.search(t) and re.search(r"\b(release|helm)\b", t)):
        return "helm_uninstall"
    if AUTOSCALE_WORDS.search(t):
        return "autoscale"
    if match := NODE_VERBS.search(t):
        return match.group(1)
    if ROLLOUT_STATUS.search(t):
        return "rollout_status"
    if HISTORY_WORDS.search(t) or re.search(r"\brevision history\b", t):
        if re.search(r"\brollout\b", t) or workload_kind(t):
            return "rollout_history"
        return "helm_history" if release else "history"
    if ROLLBACK_WORDS.search(t):
        if release:
            return "helm_rollback"
        return "undo" if re.search(r"\b(rollout|undo)\b", t) or workload_kind(t) else "rollback"
    if RESTART_WORDS.search(t) or re.search(r"\brollout restart\b", t):
        return "restart"
    if INSTALL_WORDS.search(t) and (release or marks.get("chart")) and not marks.get("image"):
        return "helm_install"
    if marks.get("set") or (UPGRADE_WORDS.search(t) and release):
        return "helm_upgrade"
    if marks.get("env") or (marks.get("envname") and re.search(r"\b(unset|remove|delete|drop|clear)\b", t)) or (
            ENV_WORDS.search(t) and re.search(r"\b(set|unset|remove|delete|add|change)\b", t)):
        return "set_env"
    if marks.get("image") or marks.get("container_image") or (
            IMAGE_WORDS.search(t) and re.search(r"\b(set|update|change|use|switch|bump|upgrade|roll out|deploy)\b", t)):
        return "set_image"
    target = IMAGE_TO.search(t)
    if target and re.search(r"\b(update|upgrade|bump|move|switch|roll out|promote)\b", t) and STRICT_VERSION.match(
            target.group(1)):
        return "set_image"
    if re.search(r"\b(cpu|memory|mem|ram)\b", t) and re.search(r"\b(limits?|requests?|give|set|allow)\b", t):
        return "set_resources"
    if SCALE_WORDS.search(t) or SCALE_SHAPES.search(t):
        return "scale"
    if DELETE_WORDS.search(t):
        return "delete"
    if LOG_WORDS.search(t):
        return "logs"
    if EVENT_WORDS.search(t):
        return "events"
    if DIAGNOSE_WORDS.search(t):
        return "diagnose"
    if re.search(r"\bimages?\b", t):
        return "images"
    if VALUES_WORDS.search(t) and (release or re.search(r"\bvalues (?:of|for)\b", t)):
        return "helm_values"
    if UP_QUESTION.search(t.strip()):
        return "health"
    if HEALTH_WORDS.search(t) and not re.search(r"\bstatus\b", t) and not LIST_WORDS.search((t.split() or [""])[0]):
        return "health"
    if release and re.search(r"\bstatus\b", t):
        return "helm_status"
    if release or re.search(r"\brevision\b", t):
        return "helm_list" if re.search(r"\breleases\b|\bhelm (?:list|ls)\b|\binstalled\b", t) else "helm_status"
    if kind_of(t) and LIST_WORDS.match(t.strip()):
        return "list"
    if DESCRIBE_WORDS.search(t):
        return "describe"
    if HEALTH_WORDS.search(t):
        return "health"
    if re.search(r"\b(errors?|exceptions?|failures?|tracebacks?)\b", t):
        return "logs"
    if kind_of(t) or LIST_WORDS.search(t):
        return "list"
    return None


def workload_kind(text: str) -> str | None:
    for word in WORD.findall(text):
        kind = KINDS.get(word)
        if kind in WORKLOAD_KIND:
            return WORKLOAD_KIND[kind]
    return None


def kind_of(text: str) -> str | None:
    for word in WORD.findall(text):
        if word in KINDS:
            return KINDS[word]
    return None


