"""A sentence → the requests in it.

1. Case-sensitive parts (images, ``--set`` items, env assignments, chart references, quoted
   text) are marked (:mod:`.slots`), the rest is lower-cased, polite wrappers are dropped and
   number words become digits.
   A manifest pasted into the message is data: applied only when it is the whole message or the
   words before it ask for that (:mod:`.pasted`); piped input is never read as words.
2. Unsafe and out-of-scope requests are declined (:mod:`.safety`), before a manifest is applied.
3. The sentence is split into clauses at "and", "then", commas and semicolons; each is read
   (:mod:`.clause`); a clause without a verb ("… and frontend to 2") repeats the one before.
4. Clauses lend each other what they lack: a namespace said once, a name ("logs and events
   for backend"), an amount ("scale backend and frontend to 3"); "it"/"its" is the object of
   the clause before, else the one the conversation last acted on.
5. A write with no clear target or amount becomes a question, never a guess; a clause that only
   cancels ("no wait", "cancel") takes back the writes before it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import replace

from . import clause, pasted, safety
from . import slots as s
from .intents import NEEDS_NAME, ON_RELEASE, ON_WORKLOAD, Ask, Decline, Intent, Parsed
from .lexicon import (
    ARTICLE_COUNT,
    ARTICLE_ONE,
    ATTRIBUTES,
    FILLER,
    NUMBER_WORD,
    NUMBER_WORDS,
    ONE_AS_PRONOUN,
    POLITE_HEAD,
    POLITE_TAIL,
)
from .memory import Memory, Ref
from .questions import check

SPLIT = re.compile(r"\s*(;|,?\s*\b(?:and then|then|after that|afterwards|and afterwards|once done|when done)\b\s*|"
                   r",?\s*\b(?:and also|and|also|as well as)\b\s*|[,?]\s*)\s*")
# A clause that takes back what came before it ("restart backend, no wait", "frontend? cancel").
_CANCELS = (r"(?:no|nope|nah|wait|stop|cancel|abort|hold on|hold off|never ?mind|nvm|forget it|forget that|"
            r"scratch that|not now|don'?t|do not)")
_SOFT = r"(?:actually|oh|sorry|please|um|hmm|ok|okay)"
CANCEL = re.compile(r"^(?:" + _SOFT + r"\b[\s,!.]*)*" + _CANCELS + r"\b[\s,!.]*(?:(?:" + _CANCELS + "|" + _SOFT
                    + r")\b[\s,!.]*)*$")
THEN = re.compile(r"then|after|once|when")
_ATTRIBUTE = "(" + "|".join(sorted(ATTRIBUTES, key=len, reverse=True)) + ")"
JOINED = ((re.compile(r"\bbetween (\d+) and (\d+)"), r"between \1 to \2"),
          (re.compile(r"\bup and running\b"), "healthy"),
          (re.compile(r"\b" + _ATTRIBUTE + r" and " + _ATTRIBUTE + r"\b"), r"\1 \2"),  # "labels and annotations"
          (re.compile(r",\s*(including|with|without)\b"), r" \1"))  # "every value, including the defaults"
# A clause that only names what the question before it asks about ("… in todo-app and on which ports?").
DETAIL = re.compile(r"^(?:on |at |and |with )?(?:which|what)\s+(?:\w+\s+)?" + _ATTRIBUTE + r"$")
ON_NAMESPACE = frozenset({"create_namespace", "delete_namespace", "note"})
TYPO_VERBS = ("scale", "restart", "rollback", "describe", "show", "list")  # never a delete: not guessed
MAX_CHARS = 4000  # past this, a message is pasted output, not a request


def _verb_typo(text: str) -> str:
    """``text`` with a misspelt leading verb written right ("scael todo-frontned to 4")."""
    first, _, rest = text.partition(" ")
    if not first.isalpha() or first in clause.VERB_WORDS or first in FILLER:
        return text
    meant = difflib.get_close_matches(first, TYPO_VERBS, n=2, cutoff=0.8)
    return f"{meant[0]} {rest}".strip() if len(meant) == 1 else text


def normalize(text: str) -> str:
    """Lower case, plain quotes, single spaces, no polite wrapper, number words as digits."""
    t = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    t = re.sub(r"\s+", " ", t.lower()).strip()
    t = re.sub(r"[?!.]+$", "", t).strip()
    for _ in range(3):
        t = POLITE_TAIL.sub("", POLITE_HEAD.sub("", t)).strip(" ,")
    protected = ONE_AS_PRONOUN.sub(lambda m: m.group(0).replace("one", "οne"), t)  # Greek omicron: not a number
    t = ARTICLE_COUNT.sub("2 ", ARTICLE_ONE.sub("1 ", protected))
    t = NUMBER_WORD.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), t)
    t = re.sub(r"\b([2-9])0 ([1-9])\b", lambda m: str(int(m.group(1)) * 10 + int(m.group(2))), t)
    t = re.sub(r"\b(\d+) 100\b", lambda m: str(int(m.group(1)) * 100), t)
    t = re.sub(r"\b(\d+) 1000\b", lambda m: str(int(m.group(1)) * 1000), t)
    return _verb_typo(t.replace("οne", "one"))


def parse(text: str, memory: Memory | None = None, piped: str = "") -> Parsed:
    """The requests in ``text`` (the words typed), given what the conversation said before
    (``memory``); ``piped``: text piped in with it, data that is only ever applied as a manifest
    when ``text`` asks for that."""
    memory = memory or Memory()
    if len(text) > MAX_CHARS:
        return Decline("too_long", f"That message is too long for me to read as a request ({len(text)} characters); "
                                  "ask in a sentence or two.")
    whole = text
    text, manifest, _ = pasted.request(text)
    raw = s.take_raw(text)
    flat = normalize(raw.text)
    declined = safety.check(flat) or safety.injected(normalize(whole))
    if declined is not None:
        return declined
    namespace, _, asked, _ = s.take_namespace(flat)
    asked = re.sub(r"\s+", " ", asked).strip()
    if manifest is not None and (not flat or pasted.APPLY.match(asked)):
        return [Intent("apply", namespace=namespace, args={"manifest": manifest})]
    if piped and pasted.APPLY.match(asked) and (found := pasted.manifest_in(piped)[1]) is not None:
        return safety.injected(normalize(piped)) or [Intent("apply", namespace=namespace, args={"manifest": found})]
    if not flat.strip(" ,.;"):
        return Decline("unknown", "Hello! Tell me what to look at or change in the cluster.")
    parsed = _intents(flat, raw)
    memory = _recall(memory)
    if any(i.action == "cancel" for i in parsed):
        parsed = _cancel(parsed, memory)
    notes = [i for i in parsed if i.action == "note"]
    if len(notes) == len(parsed):
        what = repr(notes[0].text) if notes else "that"
        return _complete(flat, raw, memory) or Decline("unknown", f"I did not understand {what}.")
    return check([i for i in _fill(parsed, memory) if i.action != "note"])


def _recall(memory: Memory) -> Memory:
    """The memory with the object of the last message when that message only got a question
    back ("scale backend" → "How many?" → "double it": it is the backend)."""
    if not memory.previous_text or memory.previous_results:
        return memory
    before = parse(memory.previous_text, replace(memory, previous_text=None))
    if isinstance(before, Ask) and before.intent is not None and before.intent.name:
        ref = Ref(before.intent.name, before.intent.namespace)
        if before.intent.action in ON_RELEASE:
            return replace(memory, release=ref)
        return replace(memory, workload=ref)
    return memory


def _cancel(intents: list[Intent], memory: Memory) -> list[Intent]:
    """Take back the writes named before the last cancelling clause; with nothing else said,
    the question the last message left open ("Which workload?" → "frontend? no wait")."""
    last = max(n for n, i in enumerate(intents) if i.action == "cancel")
    for intent in intents[:last]:
        if intent.writes:
            intent.args["_write"], intent.action = intent.action, "refrain"
    kept = [i for i in intents if i.action != "cancel"]
    if any(i.action != "note" for i in kept):
        return kept
    before = parse(memory.previous_text, replace(memory, previous_text=None)) if memory.previous_text else None
    if isinstance(before, Ask) and before.intent is not None:
        asked = before.intent
        return [Intent("refrain", name=asked.name, namespace=asked.namespace,
                       args={**asked.args, "_write": asked.action}, text=asked.text)]
    return [Intent("refrain", text="cancel")]


def _intents(flat: str, raw: s.Raw) -> list[Intent]:
    for pattern, replacement in JOINED:
        flat = pattern.sub(replacement, flat)
    pieces = SPLIT.split(flat)
    intents: list[Intent] = []
    after = False
    lead: str | None = None  # "in the staging namespace, scale …": a clause that only names the namespace
    for index, piece in enumerate(pieces):
        if index % 2 == 1:  # a separator
            after = after or bool(THEN.search(piece))
            continue
        piece = piece.strip(" ,.")
        if not piece or piece in ("please", "thanks", "now", "too", "as well"):
            continue
        if CANCEL.match(piece):
            intents.append(Intent("cancel", text=piece))
            continue
        if intents and DETAIL.match(piece):
            continue
        marks: dict[str, list[str]] = {}
        for letter in s.MARKED.findall(piece):
            what, value = raw.marks.get(letter, ("", ""))
            marks.setdefault(what, []).append(value)
            if what == "set_flag":  # "--set a=b": a Helm value, and a request to set it
                marks.setdefault("set", []).append(value)
        intent = clause.read(piece, marks, intents[-1] if intents else None)
        if intent is None:
            namespace, _, rest, _ = s.take_namespace(piece)
            words, _ = clause.names(rest)
            if namespace and not words:
                lead = namespace
                continue
            if not words:
                continue
            # "the backend is down, restart it": a statement that names what the request is about
            intents.append(Intent("note", name=words[0], namespace=namespace, text=piece))
            continue
        intent.namespace = intent.namespace or lead
        intent.after = after
        after = False
        intents.append(intent)
    return intents


def _fill(intents: list[Intent], memory: Memory) -> list[Intent]:
    """Lend each intent what another one (or the conversation) says."""
    intents = [i for n, i in enumerate(intents) if i.writes or i.name or not any(
        o.action == i.action and o.name for o in intents[:n] + intents[n + 1:])]  # "X is slow, what's going on?"
    given = [i.namespace for i in intents if i.namespace]
    for n, intent in enumerate(intents):
        if intent.action == "scale" and "replicas" not in intent.args:
            later = next((i for i in intents[n + 1:] if i.action == "scale" and "replicas" in i.args), None)
            if later is not None:
                intent.args["replicas"] = later.args["replicas"]
        if intent.name is None and not intent.pronoun and intent.action in NEEDS_NAME | {"events"} and (
                intent.action not in ON_NAMESPACE):
            later = next((i for i in intents[n + 1:] if i.name and i.action not in ON_NAMESPACE), None)
            if later is not None:  # "show logs and events for backend", "restart and scale backend to 3"
                intent.name, intent.kind = later.name, intent.kind or later.kind
                intent.namespace = intent.namespace or later.namespace
            elif n > 0 and intents[n - 1].name and intent.action in NEEDS_NAME:
                intent.pronoun = True
        if intent.pronoun and not intent.writes and not any(i.name for i in intents[:n]) and (
                memory.workload is None and memory.release is None):  # "according to its logs, … the backend"
            later = next((i for i in intents[n + 1:] if i.name and i.action not in ON_NAMESPACE), None)
            if later is not None:
                intent.name, intent.pronoun = later.name, False
                intent.namespace = intent.namespace or later.namespace
        if intent.pronoun or (intent.name is None and intent.action in NEEDS_NAME and intent.writes):
            _refer(intent, intents[:n], memory)
        if intent.action == "note":
            continue
        if intent.namespace is None and intent.action not in ("create_namespace", "delete_namespace"):
            before = [i.namespace for i in intents[:n] if i.namespace]
            intent.namespace = before[-1] if before else (given[0] if given else None)
            if intent.namespace is None and memory.namespace and intent.action not in ("helm_list", "list_namespaces"):
                intent.namespace = memory.namespace
        _settle(intent)
    return intents


def _refer(intent: Intent, earlier: list[Intent], memory: Memory) -> None:
    """Bind "it" to the clause before, else to what the conversation last acted on."""
    before = next((i for i in reversed(earlier) if i.name and i.action not in ("create_namespace",
                                                                                "delete_namespace")), None)
    if before is not None:
        intent.name = before.name
        intent.kind = intent.kind or before.kind
        intent.namespace = intent.namespace or before.namespace
        intent.args["_ref"] = "clause"
        if before.writes and not intent.writes:
            intent.after = True
        return
    ref: Ref | None
    if intent.action in ON_RELEASE:
        ref = memory.release or memory.workload
    elif intent.action in ON_WORKLOAD:
        ref = memory.workload
    else:
        ref = memory.workload or memory.release
    if ref is not None:
        intent.name = ref.name
        intent.namespace = intent.namespace or ref.namespace
        if ref.kind and ref.kind != "deployment" and intent.kind is None:
            intent.kind = ref.kind + "s"
        intent.args["_ref"] = "memory"


def _settle(intent: Intent) -> None:
    """Read a listing of one named thing as what it means: a workload's pods, or one object."""
    if intent.action == "list" and intent.name:
        if intent.kind in (None, "pods"):
            intent.action = "pods_of" if intent.kind == "pods" else "get"
        elif intent.kind == "namespaces":
            intent.action, intent.namespace, intent.name = "list", intent.name, None
        else:
            intent.action = "get"
    if intent.action == "list" and intent.kind in (None, "namespaces") and not intent.name and intent.namespace and (
            re.search(r"\b(labels?|annotations?)\b", intent.text)):  # "the labels of the todo-app namespace"
        intent.action, intent.kind, intent.name, intent.namespace = "get", "namespaces", intent.namespace, None
        intent.args["output"] = "yaml"
    if intent.action == "list" and intent.kind == "namespaces":
        intent.action = "list_namespaces"
    if intent.action == "pods_of" and not intent.name:  # "list restarts": every pod's count
        intent.action, intent.kind = "list", "pods"
    if intent.action == "scale" and "replicas" not in intent.args and re.match(
            r"^(?:how many|what|which|show|list|get(?! rid)|count)\b", intent.text):
        intent.action, intent.kind = "get", intent.kind or "deployments"


def _complete(flat: str, raw: s.Raw, memory: Memory) -> list[Intent] | None:
    """This message as the answer to the question the last one left open (None if it is not)."""
    if not memory.previous_text or len(flat.split()) > 8:
        return None
    before = parse(memory.previous_text, replace(memory, previous_text=None))
    if isinstance(before, Ask) and before.intent is not None:
        intent = before.intent
        if before.missing == "replicas":
            amount, _ = s.take_replicas(flat)
            bare = re.fullmatch(r"\d{1,7}", flat.strip())
            value = amount or (bare.group(0) if bare else None)
            if value in (None, "?"):
                return None
            intent.args["replicas"] = value
        elif before.missing in ("name", "image"):
            words, _ = clause.names(flat)
            images = s.marks_in(raw.text, raw, "image")
            found = [*images, *words] if before.missing == "image" else words
            if not found:
                return None
            value = found[0]
            intent.args.pop("_extra_names", None)
            if before.missing == "image":
                intent.args["image"] = value
            else:
                intent.name = value
        else:
            return None
        checked = check([intent])
        return checked if isinstance(checked, list) else None
    chosen = _choose(flat, memory)
    if chosen is None or not isinstance(before, list):
        return None
    wrong = memory.ambiguous
    namespace, _, name = chosen.rpartition("/")
    for intent in before:
        if wrong is not None and intent.name in (wrong.args.get("name"), wrong.args.get("release")):
            intent.name, intent.namespace = name, namespace or intent.namespace
    return before


def _choose(flat: str, memory: Memory) -> str | None:
    """The candidate of the last ambiguous answer this message picks ("the one in todo-w1")."""
    wrong = memory.ambiguous
    if wrong is None:
        return None
    candidates = wrong.candidates
    ordinals = {"first": 0, "1st": 0, "1": 0, "second": 1, "2nd": 1, "2": 1, "third": 2, "3rd": 2, "3": 2,
                "last": len(candidates) - 1}
    words = re.findall(r"[\w./-]+", flat)
    hits = [c for c in candidates if c in words or any(w in c.split("/") for w in words)]
    if len(hits) == 1:
        return hits[0]
    for word in words:
        if word in ordinals and ordinals[word] < len(candidates):
            return candidates[ordinals[word]]
    return None


__all__ = ["normalize", "parse"]
