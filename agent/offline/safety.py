"""Requests the planner declines before reading them as operations: attempts to talk it out
of its rules, requests for Secret values, bulk changes, shell access, and things that are not
Kubernetes operations at all. Each decline says why and what kai can do instead."""

from __future__ import annotations

import re

from .intents import Decline
from .lexicon import (
    BULK_TARGET,
    DANGEROUS,
    DELETE_WORDS,
    INJECTION,
    OUT_OF_SCOPE,
    SECRET_NOUNS,
    SECRET_REVEAL,
    UNSUPPORTED,
)

BULK_WRITE = re.compile(r"\b(scale|restart|roll ?back|undo|uninstall|set|update|upgrade|drain|cordon|redeploy|"
                        r"bounce|double|halve|triple)\b")


RULES = Decline("unsafe", "I won't do that: I follow kai's rules and policy whatever a message says, and every "
                         "change goes through the guard and its approval.")


def injected(text: str) -> Decline | None:
    """The decline for text that tries to talk the planner out of its rules (a pasted manifest
    is checked with this: its words are data, but a message carrying them is not applied)."""
    return RULES if INJECTION.search(text) else None


def check(text: str) -> Decline | None:
    """Why ``text`` (lower-cased, normalized) must not be acted on, or None."""
    if INJECTION.search(text):
        return RULES
    if DANGEROUS.search(text):
        return Decline("unsafe", "I won't run that: kai only makes typed, guarded changes to Kubernetes objects, "
                                 "never shell commands.")
    if SECRET_NOUNS.search(text) and SECRET_REVEAL.search(text):
        return Decline("unsafe", "I won't show Secret values, passwords or tokens: kai never reveals them (its tools "
                                 "show only a value's length). I can list the Secrets by name.")
    bulk = BULK_TARGET.search(text)
    if bulk and DELETE_WORDS.search(text):
        return Decline("unsafe", "I won't delete in bulk: name the one object to delete (for example "
                                 "\"delete deployment web-app in staging\"); the change is previewed first.")
    if bulk and BULK_WRITE.search(text):
        return Decline("unsafe", "I change one workload or release at a time: name it (for example "
                                 "\"scale backend to 3 in todo-app\").")
    if UNSUPPORTED.search(text):
        return Decline("unsupported", "kai has no tool for that: it does not run commands inside containers, open "
                                      "shells or forward ports. It can read logs and events and diagnose pods.")
    if OUT_OF_SCOPE.search(text):
        return Decline("out_of_scope", "That is outside what I do: I operate Kubernetes workloads and Helm releases "
                                       "on this cluster.")
    return None
