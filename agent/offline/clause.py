"""One clause of a sentence ("scale backend to 3", "frontend to 2", "show its pods") read into
an :class:`~agent.offline.intents.Intent`: its action (:mod:`.actions`), then the slots that
action takes, then the object's name from the words left over."""

from __future__ import annotations

import re

from . import slots as s
from .actions import IMAGE_TO, WORD, classify, kind_of
from .intents import NEEDS_NAME, Intent
from .lexicon import ATTRIBUTES, CAN_I, FILLER, GENERIC, IMAGE_WORDS, INSTALL_WORDS, KINDS, PRONOUNS, WORKLOAD_KIND
from .mood import HOWTO, mood_of
from .steps import local_chart

NS_CREATE = re.compile(r"\b(?:create|make|add|set up|provision)\s+(?:a\s+|an\s+|the\s+)?(?:new\s+)?(?:namespace|ns)\s+"
                       r"(?:called\s+|named\s+)?(" + s.LABEL + r")\b|\b(?:create|make|add)\s+(?:a\s+|the\s+)?"
                       r"(?:new\s+)?(" + s.LABEL + r")\s+(?:namespace|ns)\b")
NS_DELETE = re.compile(r"\b(?:delete|remove|destroy|drop|tear down|get rid of)\s+(?:the\s+)?(?:namespace|ns)\s+("
                       + s.LABEL + r")\b|\b(?:delete|remove|destroy|drop|tear down|get rid of)\s+(?:the\s+)?("
                       + s.LABEL + r")\s+(?:namespace|ns)\b")
SLASHED = re.compile(r"(?<![\w./:-])([a-z]+)/(" + s.NAME + r")(?![\w/])")
VERSION = re.compile(r"^:?v?\d+(?:\.\d+){0,3}(?:[-+][\w.]+)?$|^(?:latest|stable|canary|edge|main|master)$")
RELEASE_AS = re.compile(r"\b(?:as|named|called|with (?:the )?(?:release )?name|release(?: name)?)\s+(" + s.LABEL
                        + r")\b")
HELM_POSITIONAL = re.compile(r"\bhelm install\s+(" + s.LABEL + r")\s+(?=⟨\w⟩)")
# "helm rollback todo-app 1", "rollback todo-app 2": the revision after the name, as helm takes it.
REVISION_AFTER = re.compile(r"\b(?:rollback|roll\s*back|undo)\s+(?:the\s+)?(?:release\s+)?" + s.NAME
                            + r"\s+(\d{1,6})(?![\w.%])(?!\s*(?:replicas?|pods?|instances?|copies)\b)")
# Label keys that name the workload ("-l app=todo-backend" → todo-backend's logs).
NAME_LABELS = frozenset({"app", "name", "app.kubernetes.io/name", "app.kubernetes.io/instance", "k8s-app", "run"})
CHART_VERSION = re.compile(r"\b(?:chart\s+)?version\s+(v?\d+(?:\.\d+){1,2}(?:[-+][\w.]+)?)\b")
MEMORY_UNITS = {"mi": "Mi", "mb": "Mi", "m": "Mi", "gi": "Gi", "gb": "Gi", "g": "Gi", "ki": "Ki"}
RESOURCE_WORD = re.compile(r"\b(cpu|cpus|cores?|memory|mem|ram)\b")
QUANTITY = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mi|gi|ki|mb|gb|m|g)?(?![\w.])", re.I)
AUTOSCALE = re.compile(r"\b(?:between|from)\s+(\d+)\s+(?:and|to)\s+(\d+)|\b(?:max(?:imum)?|up to|at most)\s+(\d+)|"
                       r"\bmin(?:imum)?\s+(\d+)|\b(\d+)\s*%\s*(?:cpu|of cpu)?|\bcpu\s+(?:at\s+)?(\d+)")
_VERBS = """
scale scaled scales scaling resize double triple quadruple treble halve half replicas replica instances instance copies
copy restart restarted restarts restarting bouncing rebooting recycling redeploying rolling deleting removing
installing upgrading updating bounce reboot recycle redeploy cycle kick rollback roll rolled revert undo rewind
downgrade install installed deploy deployed uninstall delete remove destroy drop kill erase purge create make add
new upgrade update upgraded updated set change changed image images tag version logs log lines line output stdout
stderr printing events event warnings warning happened happening why wrong whats diagnose diagnosis troubleshoot
debug investigate failing fail fails failed crash crashing crashed crashes crashloop broken unhealthy problem problems
issue issues health healthy ok okay fine alive doing working history revisions revision versions values helm release
releases chart charts describe details detail detailed inspect explain rollout rollouts status errors error exceptions
exception failures failure more extra additional times percent increase decrease reduce grow shrink raise bump boost
lower cut plus minus by up down going went go bring back previous prior earlier former before after env environment
variable variables var vars autoscale autoscaling autoscaler cordon uncordon drain uninstalled yaml json wide output
container containers tail since ago last recent latest minutes minute hours hour seconds second matching containing
pods pod dead died terminated running starting stuck pending ready not print printed show list get display shown
listing listed tell info information summary overview state states using use grep contain contains mention apply
applied limit limits request requests memory cpu ram mem give allow allowed happen been there any start spin launch
stop unset clear cores core cpus manifest notes enable disable turn configure bounced rebooted deleted removed
"""
VERB_WORDS = frozenset(_VERBS.split())
FEWER = re.compile(r"\b(remove|drop|kill|delete|rid|lose|fewer|less|down|reduce|decrease|shrink|add|more|extra|up)\b")
NUMBERISH = re.compile(r"^\d[\d.]*(?:e\d+)?[a-z%]{0,3}$")  # 3, 3.5, 1e3, 10m, 512mi: amounts, not names
POSSESSIVE = re.compile(r"'s\b|’s\b")
# "which port does …", "what Next.js version does …": the words a question asks for, before its verb.
WH_SUBJECT = re.compile(r"\b(?:which|what)\s+((?:[\w.-]+\s+){1,2}?)(?=(?:do|does|did|is|are|was|were|has|have|can|"
                        r"will)\b)")
# A read that asks about what an object's manifest holds (annotations, probes, env, data): its YAML.
MANIFEST_WORDS = re.compile(r"\b(annotations?|labels?|probes?|path|env|environment|variables?|values?|set to|"
                            r"contents?|what'?s in|what is in|summari[sz]e|data)\b")


def names(text: str) -> tuple[list[str], bool]:
    """The words of ``text`` that can be (part of) an object's name, adjacent ones joined
    ("todo backend" → "todo-backend"), and whether a pronoun ("it", "them") stood for one."""
    groups: list[list[str]] = []
    pronoun = False
    previous_was_name = False
    for raw in WORD.findall(POSSESSIVE.sub("", text)):
        word = raw.strip(".:'’")
        if word in PRONOUNS:
            pronoun = True
        is_name = bool(s.TOKEN.match(word)) and word not in FILLER and word not in VERB_WORDS and (
            word not in KINDS) and word not in ATTRIBUTES and not NUMBERISH.match(word)
        if is_name:
            if previous_was_name and groups:
                groups[-1].append(word)
            else:
                groups.append([word])
        previous_was_name = is_name
    groups = [g[:-1] if len(g) > 1 and g[-1] in ("server", "servers") else g for g in groups]  # "backend server"
    found = ["-".join(g) for g in groups if not (len(g) == 1 and g[0] in GENERIC)]
    return found, pronoun and not found


def read(text: str, marks: dict[str, list[str]], inherit: Intent | None = None) -> Intent | None:
    """The clause's intent; a clause with no verb of its own ("frontend to 2") takes the
    action and kind of ``inherit``, the clause before it. None when nothing is recognized."""
    text = re.sub(r"^(?:kubectl|k|helm)\s+(?=\w)", lambda m: "helm " if m.group(0).startswith("helm") else "", text)
    if match := NS_CREATE.search(text):
        return _asked(Intent("create_namespace", name=match.group(1) or match.group(2), text=text))
    if (match := NS_DELETE.search(text)) and not re.search(r"\b(pod|deployment|service|release)s?\b", text):
        return _asked(Intent("delete_namespace", name=match.group(1) or match.group(2), text=text))
    namespace, every, rest, weak = s.take_namespace(text)
    intent = Intent("?", namespace=namespace, all_namespaces=every, text=text)
    if slashed := SLASHED.search(rest):
        head, tail = slashed.group(1), slashed.group(2)
        if head in KINDS:
            intent.kind, intent.name = KINDS[head], tail
            rest = rest[: slashed.start()] + " " + rest[slashed.end():]
        elif s.LABEL_TOKEN.match(head) and intent.namespace is None:
            intent.namespace, intent.name = head, tail
            rest = rest[: slashed.start()] + " " + rest[slashed.end():]
    action, mood = classify(rest, marks)
    if action is None and INSTALL_WORDS.search(rest) and any(local_chart(n) for n in names(rest)[0][:1]):
        action = "helm_install"  # "install todo-app": a chart kai has
    if action is None:
        if inherit is None or not (names(rest)[0] or re.search(r"\d|⟨", rest) or namespace):
            return None
        action = inherit.action
        if action in ("refrain", "howto"):  # "don't restart backend or frontend": neither
            action, mood = inherit.args["_write"], "negated" if action == "refrain" else "howto"
        intent.kind = intent.kind or (inherit.kind if inherit.kind in WORKLOAD_KIND else None)
        intent.args.update({k: v for k, v in inherit.args.items() if k in ("warnings_only", "output")})
    intent.action = action
    if mood == "howto":
        rest = HOWTO.sub(" ", rest)  # "what's the command to scale backend": not a name
    rest = _slots(intent, rest, marks)
    if intent.kind is None:
        kind = kind_of(rest)
        if kind is not None and not (kind == "namespaces" and action != "list"):
            intent.kind = kind
    found, pronoun = names(rest)
    if len(found) > 1 and (wh := WH_SUBJECT.search(rest)):  # the object, not what is asked about it
        without = names(rest[: wh.start(1)] + " " + rest[wh.end(1):])[0]
        found = without or found
    if weak and not found and intent.name is None and not pronoun and action in NEEDS_NAME - {"pods_of"} and not (
            action == "helm_install" and intent.args.get("chart")):
        intent.name, intent.namespace = namespace, None  # "logs from backend": the object, not a namespace
    if intent.name is None and found:
        intent.name = found[0]
        if len(found) > 1:
            intent.args["_extra_names"] = found[1:]
    intent.pronoun = pronoun
    if mood:  # the write was named, not asked for: kept whole, to be answered in words
        intent.args["_write"] = intent.action
        intent.action = "refrain" if mood == "negated" else "howto"
    return intent


def _asked(intent: Intent) -> Intent:
    """``intent`` (a namespace created or deleted) as a request only when its clause asks for it."""
    mood = mood_of(intent.text)
    if mood in ("negated", "howto"):
        intent.args["_write"] = intent.action
        intent.action = "refrain" if mood == "negated" else "howto"
    elif mood != "imperative":
        intent.action = "list_namespaces"
    return intent


def _slots(intent: Intent, text: str, marks: dict[str, list[str]]) -> str:
    """Take the action's own slots out of ``text``; what is left holds the name."""
    a = intent.action
    args = intent.args
    if a == "logs":
        since, text = s.take_since(text)  # "the last 10 minutes" before "the last 10 (lines)"
        tail, text = s.take_tail(text)
        if tail is not None:
            args["tail"] = tail
        if since is not None:
            args["since"] = since
        if s.PREVIOUS.search(text):
            args["previous"] = True
        if match := s.GREP.search(text):
            value = match.group(1)
            quoted = value.startswith("⟨") and marks.get("quoted")
            # a word typed is matched in any case (the sentence was lower-cased); quoted text as written
            args["grep"] = marks["quoted"][0] if quoted else "(?i)" + re.escape(value)
            text = text[: match.start()] + " " + text[match.end():]
        elif s.ERRORS.search(text):
            args["grep"] = s.ERROR_PATTERN
        match = s.CONTAINER[0].search(text) or s.CONTAINER[1].search(text)
        if match:
            args["container"] = next(g for g in match.groups() if g)
            text = text[: match.start()] + " " + text[match.end():]
        _log_filters(intent, marks)
    elif a == "scale":
        amount, text = s.take_replicas(text)
        if amount is None and re.match(r"^\s*(?:scale|resize)\b", text) and not FEWER.search(text):
            bare = re.findall(r"(?<![\w.-])(\d{1,7})(?![\w.%-])", text)
            if len(bare) == 1:
                amount = bare[0]
                text = text.replace(bare[0], " ", 1)
        if amount is not None:
            args["replicas"] = amount
    elif a in ("helm_rollback", "undo", "rollback"):
        if match := s.REVISION.search(text):
            args["revision"] = int(next(g for g in match.groups() if g))
            text = text[: match.start()] + " " + text[match.end():]
        elif match := REVISION_AFTER.search(text):
            args["revision"] = int(match.group(1))
            text = text[: match.start(1)] + " " + text[match.end(1):]
    elif a == "set_image":
        text = _image(intent, text, marks)
    elif a in ("helm_install", "helm_upgrade"):
        if marks.get("chart"):
            args["chart"] = marks["chart"][0]
        if marks.get("set"):
            args["set"] = [item for value in marks["set"] for item in _split_sets(value)]
        if match := CHART_VERSION.search(text):
            args["version"] = match.group(1)
            text = text[: match.start()] + " " + text[match.end():]
        if a == "helm_install" and (match := HELM_POSITIONAL.search(text) or RELEASE_AS.search(text)):
            args["release"] = match.group(1)
            text = text[: match.start()] + " " + text[match.end():]
        if re.search(r"create[- ]namespace|creating the namespace|new namespace", text):
            args["create_namespace"] = True
    elif a == "set_env":
        args["env"] = dict(item.split("=", 1) for item in marks.get("env", []))
        if re.search(r"\b(unset|remove|delete|drop|clear)\b", text):
            args["unset"] = marks.get("envname", [])
    elif a == "set_resources":
        text = _resources(intent, text)
    elif a == "autoscale":
        for match in AUTOSCALE.finditer(text):
            g = match.groups()
            if g[0]:
                args["min"], args["max"] = int(g[0]), int(g[1])
            elif g[2]:
                args["max"] = int(g[2])
            elif g[3]:
                args["min"] = int(g[3])
            elif g[4] or g[5]:
                args["cpu_percent"] = int(g[4] or g[5])
        text = AUTOSCALE.sub(" ", text)
    elif a == "events" and re.search(r"\bwarnings?\b|\bproblems?\b|\berrors?\b", text):
        args["warnings_only"] = True
    elif (a in ("get", "list", "describe") and re.search(r"-o\s*yaml|\byaml\b|\bmanifest\b", text)) or (
            a in ("get", "list") and (MANIFEST_WORDS.search(text) or kind_of(text) == "configmaps")):
        args["output"] = "yaml"
    elif a == "can_i" and (match := CAN_I.search(text)):
        args["verb"] = {"scale": "update", "exec": "create"}.get(match.group(1), match.group(1))
    if a in ("list", "pods_of") and (selector := _selector(text, marks)):
        args["label_selector"] = selector
    return text


def _pairs(marks: dict[str, list[str]]) -> list[str]:
    """The ``key=value`` parts of a clause (read as a filter when the clause is a read)."""
    return [*marks.get("container_image", []), *marks.get("env", []), *marks.get("set", [])]


def _selector(text: str, marks: dict[str, list[str]]) -> str | None:
    """The label selector of a listing: "-l app=web", "selector app=web", or ``k=v`` after
    "with", "where" or "having" ("show pods of backend with app=web")."""
    given = list(marks.get("selector", []))
    if re.search(r"\b(?:with|where|having|whose|that have)\b", text):
        given += [p for p in _pairs(marks) if "=" in p]
    return ",".join(given) or None


def _log_filters(intent: Intent, marks: dict[str, list[str]]) -> None:
    """``container=app`` picks the container; another ``k=v`` is a text to look for
    ("logs of backend where LEVEL=error"); "-l app=todo-backend" names the workload."""
    args = intent.args
    for pair in _pairs(marks):
        key, _, value = pair.partition("=")
        if key.lower() in ("container", "c") and value and "container" not in args:
            args["container"] = value
        elif "grep" not in args:
            args["grep"] = re.escape(pair)
    for selector in marks.get("selector", []):
        key, _, value = selector.partition("=")
        if key in NAME_LABELS and value and re.fullmatch(s.NAME, value) and intent.name is None:
            intent.name = value


def _split_sets(value: str) -> list[str]:
    parts = re.split(r",(?=[A-Za-z_][\w.\[\]-]*=)", value)
    return [p for p in parts if p]


def _image(intent: Intent, text: str, marks: dict[str, list[str]]) -> str:
    if marks.get("container_image"):
        container, image = marks["container_image"][0].split("=", 1)
        intent.args.update(image=image, container=container)
        return text
    if marks.get("image"):
        intent.args["image"] = marks["image"][0]
        return text
    for match in IMAGE_TO.finditer(text):
        value = match.group(1)
        if value.startswith("⟨"):
            continue
        if VERSION.match(value) or IMAGE_WORDS.search(text[: match.start()]):
            if value in FILLER or value in VERB_WORDS:
                continue
            intent.args["image"] = value
            return text[: match.start()] + " " + text[match.end():]
    return text


def _resources(intent: Intent, text: str) -> str:
    """CPU and memory amounts, each paired with the nearest "cpu"/"memory" word; limits unless
    the clause says request."""
    limit = not re.search(r"\brequests?\b|\bguarantee", text)
    words = [(m.start(), "cpu" if m.group(1).startswith(("cpu", "core")) else "memory")
             for m in RESOURCE_WORD.finditer(text)]
    for match in QUANTITY.finditer(text):
        if not words:
            break
        what = min(words, key=lambda w: abs(w[0] - match.start()))[1]
        number, unit = match.group(1), (match.group(2) or "").lower()
        if what == "cpu":
            amount = number + ("m" if unit == "m" else "")
            intent.args["cpu_limit" if limit else "cpu_request"] = amount
        else:
            amount = number + MEMORY_UNITS.get(unit, "")
            intent.args["memory_limit" if limit else "memory_request"] = amount
    return QUANTITY.sub(" ", text)
