"""A clause's action, read from its verbs and nouns: the first rule that fits wins, writes
before reads and the more specific before the general ("helm history" before "history",
"rollout restart" before "restart", "logs" before "why").

A write needs a request for it: the clause's mood (:mod:`.mood`) must be imperative. A question
or a statement about a change ("how many restarts…?", "backend was scaled to 3 yesterday") is
read as the read it asks for; a negated or how-to clause is answered in words. A case-sensitive
part (``app=web``, ``LOG_LEVEL=debug``, ``backend.replicaCount=3``, ``nginx:1.25``) makes a write
only with a verb that asks for one ("set", "update", "use"…) or a ``--set`` flag: "logs of
backend where container=app" stays a read."""

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
    RESTART_TALK,
    RESTART_WORDS,
    ROLLBACK_WORDS,
    ROLLOUT_STATUS,
    SCALE_WORDS,
    UNINSTALL_WORDS,
    UPGRADE_WORDS,
    VALUES_WORDS,
    WORKLOAD_KIND,
)
from .mood import READ_LEAD, mood_of

IMAGE_TO = re.compile(r"\b(?:to|=|with|:)\s+(?:version\s+|tag\s+|image\s+)?(⟨\w⟩|:?v?\d[\w.+-]*|[a-z][\w./-]*)")
WORD = re.compile(r"[^\s,;?!()\"]+")
STRICT_VERSION = re.compile(r"^:?v\d+(?:\.\d+){0,3}(?:[-+][\w.]+)?$|^\d+(?:\.\d+){1,3}(?:[-+][\w.]+)?$|^latest$")
SCALE_SHAPES = re.compile(r"\b(?:make|have|let)\s+(?:it|them|(?:the\s+)?[a-z][\w-]*)\s+run\s+\d+(?![.\w%:])|"
                          r"\b(add|remove)\s+\d+\b|\bone more\b|\b\d+ (?:more|fewer)\b|\b(?:bump|increase|decrease|"
                          r"reduce|shrink|grow|raise|lower)\b.*\bto\s+\d+(?![.\w%])|\b(?:make|set|have|keep)\s+(?:it|"
                          r"them|(?:the\s+)?[a-z][\w-]*)\s+(?:at\s+|to\s+)?\d+(?![.\w%:])")
AS_QUESTION = {"scale": "get", "restart": "pods_of", "set_image": "images", "undo": "rollout_history",
               "rollback": "history", "helm_rollback": "helm_history", "helm_upgrade": "helm_history",
               "helm_install": "helm_list", "helm_uninstall": "helm_status", "create_namespace": "list_namespaces",
               "delete_namespace": "list_namespaces", "delete": "get"}
UP_QUESTION = re.compile(r"^(?:is|are)\b.*\b(?:up|down|running|alive|available|ready|reachable|deployed|installed)$")


# Verbs that make a case-sensitive part a change ("set LOG_LEVEL=debug", "use nginx:1.25").
WRITE_VERB = re.compile(r"\b(set|update|change|use|switch|deploy|upgrade|bump|roll out|rollout|move|promote|pin|put|"
                        r"apply|configure|make)\b")
# Application settings kai has no tool for ("lower the log level to 2", "set the timeout to 30").
SETTING = re.compile(r"\b(log[- ]?level|loglevel|verbosity|timeouts?|time-outs?|thresholds?|intervals?|retention|ttl|"
                     r"ports?|retries|retry|concurrency|workers|threads|pool size|batch size|cache size|rate limit|"
                     r"max connections|connections|heap|level|debug mode|feature flags?)\b")
CHANGE_VERB = re.compile(r"\b(set|change|lower|raise|increase|decrease|reduce|bump|make|turn|update|adjust|scale|"
                         r"double|halve|keep|put|give)\b")
REPLICA_NOUN = re.compile(r"\b(replicas?|instances?|pods?|copies|copy)\b")


def classify(text: str, marks: dict[str, list[str]]) -> tuple[str | None, str]:
    """The action of a clause (its text with the namespace taken out), or None, and the mood
    that keeps a write from being planned (``negated``, ``howto``; empty otherwise). A write
    asked about or told of (a question, a statement) comes back as the read it is about."""
    action = detect(text, marks)
    if action not in WRITES:
        return action, ""
    mood = mood_of(text)
    if mood == "imperative":
        return action, ""
    if mood in ("negated", "howto"):
        return action, mood
    return ("diagnose" if DIAGNOSE_WORDS.search(text) else AS_QUESTION.get(action or "", "describe")), ""


def detect(text: str, marks: dict[str, list[str]]) -> str | None:
    """The clause's action from its words (see the module docstring of parse for the order)."""
    t = text
    release = bool(RELEASE_WORDS.search(t))
    # a case-sensitive part asks for a change only with a verb that does, and never after a read verb
    asks = bool(marks.get("set_flag")) or (bool(WRITE_VERB.search(t)) and not READ_LEAD.match(t.strip()))
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
    if (marks.get("set") and asks) or (UPGRADE_WORDS.search(t) and release):
        return "helm_upgrade"
    unsets = re.search(r"\b(unset|remove|delete|drop|clear)\b", t)
    if (marks.get("env") and asks) or (marks.get("envname") and unsets) or (
            ENV_WORDS.search(t) and re.search(r"\b(set|unset|remove|delete|add|change)\b", t)):
        return "set_env"
    if ((marks.get("image") or marks.get("container_image")) and asks) or (
            IMAGE_WORDS.search(t) and re.search(r"\b(set|update|change|use|switch|bump|upgrade|roll out|deploy)\b", t)):
        return "set_image"
    target = IMAGE_TO.search(t)
    if target and re.search(r"\b(update|upgrade|bump|move|switch|roll out|promote)\b", t) and STRICT_VERSION.match(
            target.group(1)):
        return "set_image"
    if re.search(r"\b(cpu|memory|mem|ram)\b", t) and re.search(r"\b(limits?|requests?|give|set|allow)\b", t):
        return "set_resources"
    if SETTING.search(t) and CHANGE_VERB.search(t) and not REPLICA_NOUN.search(t):
        return "setting"
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
    if RESTART_TALK.search(t):
        return "pods_of"  # "restart count of backend", "list restarts": the pods show them
    if re.search(r"\bimages?\b", t):
        return "images"
    if VALUES_WORDS.search(t) and (release or marks.get("set") or re.search(
            r"\bvalues (?:of|for|is|are|does|do)\b|\bwhat values\b", t)):
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


