"""Slots taken out of a sentence before its verbs are read: the things whose case or
punctuation matters (images, ``--set`` items, environment variables, chart references, quoted
text), then namespaces, log slices, revisions and replica amounts.

Each ``take_*`` returns what it found and the text with that span replaced by a space, so the
words left over are the verb and the object's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexicon import KINDS

NAME = r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?"
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
TOKEN = re.compile(r"^" + NAME + r"$")
LABEL_TOKEN = re.compile(r"^" + LABEL + r"$")

# --- case-sensitive slots, taken from the raw sentence -------------------------------------------

QUOTED = re.compile(r"\"([^\"]{1,200})\"|'([^'\s][^']{0,199})'|`([^`]{1,200})`")
SET_FLAG = re.compile(r"--set(?:-string)?(?:=|\s+)(\S+)")
# A label selector: "-l app=web", "--selector=tier!=db", "selector app=web", "with label app=web".
_SELECTOR_ITEM = r"!?[A-Za-z0-9][\w./-]*(?:\s*(?:!=|==|=)\s*[\w.-]*)?"
SELECTOR = re.compile(r"(?:(?<!\S)(?:-l|--selector)(?:\s+|=)|\b(?:label[- ]?selector|selector|labels?|labell?ed)"
                      r"\s*[:=]?\s*)['\"]?([A-Za-z0-9][\w./-]*\s*(?:!=|==|=)\s*[\w.-]*(?:," + _SELECTOR_ITEM
                      + r")*)['\"]?(?![\w=/])")
# A chart as Helm repositories name it ("bitnami/redis") right after "install [release]".
CHART_REPO = re.compile(r"(\binstall\s+(?:(?:the\s+)?[a-z0-9][\w-]*\s+)?)(?!(?:" + "|".join(KINDS) + r")/)"
                        r"([a-z0-9][\w.-]*/[a-z0-9][\w.-]*)(?=[\s,;]|$)", re.I)
# An image named by repository alone ("bitnami/nginx") after "image … to" or "image".
IMAGE_REPO = re.compile(r"(\bimages?\b[^,;\n]*?\b(?:to|with|as)\s+|\bimages?\s*(?:[=:]\s*)?)(?!(?:"
                        + "|".join(KINDS) + r")/)([a-z0-9][\w.-]*(?:/[a-z0-9][\w.-]*)+)(?=[\s,;]|$)", re.I)
SET_ITEM = re.compile(r"(?<![\w.-])((?:[A-Za-z_][\w-]*(?:\[\d+\])?\.)+[A-Za-z_][\w-]*(?:\[\d+\])?=[^\s,;]*"
                      r"(?:,(?:[A-Za-z_][\w-]*(?:\[\d+\])?\.)*[A-Za-z_][\w-]*=[^\s,;]*)*)")
ENV_ITEM = re.compile(r"(?<![\w.-])([A-Z_][A-Z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s,;]*)")
ENV_NAME = re.compile(r"(?<![\w.=-])([A-Z][A-Z0-9]*_[A-Z0-9_]+)(?![\w=.-])")
CHART_REF = re.compile(r"(?<!\S)((?:oci|https?)://\S+|\.{1,2}/[\w./-]+|/[\w.-]+(?:/[\w.-]+)+|[\w.-]+\.tgz)(?!\S)")
IMAGE_REF = re.compile(r"(?<![\w./:-])((?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*"
                       r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?/[a-z0-9._/-]+"
                       r"(?::[\w.-]+)?)(?![\w:/])")
CONTAINER_IMAGE = re.compile(r"(?<![\w./-])([a-z0-9][a-z0-9-]*)=((?:[a-z0-9.-]+/)*[a-z0-9][a-z0-9._/-]*"
                             r"(?::[A-Za-z0-9_.-]+)?)(?!\S)")
MARK = "⟨{}⟩"
MARKED = re.compile(r"⟨(\w)⟩")


@dataclass
class Raw:
    """The sentence with its case-sensitive parts replaced by marks ``⟨a⟩``, ``⟨b⟩``…"""

    text: str
    marks: dict[str, tuple[str, str]] = field(default_factory=dict)  # mark letter -> (what, value)

    def mark(self, what: str, value: str) -> str:
        letter = chr(ord("a") + len(self.marks)) if len(self.marks) < 26 else "z"
        self.marks[letter] = (what, value)
        return f" {MARK.format(letter)} "


def take_raw(text: str) -> Raw:
    """Mark quoted text, ``--set`` items, env assignments, chart references and images."""
    raw = Raw(text)
    raw.text = SELECTOR.sub(lambda m: raw.mark("selector", re.sub(r"\s+", "", m.group(1))), raw.text)
    raw.text = QUOTED.sub(lambda m: raw.mark("quoted", next(g for g in m.groups() if g is not None)), raw.text)
    raw.text = SET_FLAG.sub(lambda m: raw.mark("set_flag", m.group(1)), raw.text)
    raw.text = SET_ITEM.sub(lambda m: raw.mark("set", m.group(1)), raw.text)
    raw.text = ENV_ITEM.sub(lambda m: raw.mark("env", f"{m.group(1)}={m.group(2).strip(chr(34) + chr(39))}"),
                            raw.text)
    raw.text = ENV_NAME.sub(lambda m: raw.mark("envname", m.group(1)), raw.text)
    raw.text = CHART_REF.sub(lambda m: raw.mark("chart", m.group(1)), raw.text)
    raw.text = CHART_REPO.sub(lambda m: m.group(1) + raw.mark("chart", m.group(2)), raw.text)
    raw.text = CONTAINER_IMAGE.sub(lambda m: raw.mark("container_image", f"{m.group(1)}={m.group(2)}"), raw.text)
    raw.text = IMAGE_REF.sub(lambda m: raw.mark("image", m.group(1)), raw.text)
    raw.text = IMAGE_REPO.sub(lambda m: m.group(1) + raw.mark("image", m.group(2)), raw.text)
    return raw


def marks_in(text: str, raw: Raw, what: str) -> list[str]:
    return [raw.marks[m][1] for m in MARKED.findall(text) if m in raw.marks and raw.marks[m][0] == what]


# --- namespaces -----------------------------------------------------------------------------------

ALL_NAMESPACES = re.compile(r"(?:\s|^)(?:-a|--all-namespaces)(?=\s|$)|\b(?:in |across |from |of )?(?:all|every|each)"
                            r" (?:the )?namespaces?\b|\bcluster[- ]wide\b|\beverywhere\b|\bacross the cluster\b|"
                            r"\bin the (?:whole |entire )?cluster\b")
NAMESPACE_FORMS = (
    re.compile(r"(?:\s|^)(?:-n|--namespace)(?:\s+|=)(" + LABEL + r")(?=\s|$)"),
    re.compile(r"\b(?:in|from|of|on|within|inside|for|under)\s+(?:the\s+)?(?:namespace|ns)\s+(" + LABEL + r")\b"),
    re.compile(r"\b(?:in|from|of|on|within|inside|for|under)\s+(?:the\s+)?(" + LABEL + r")\s+(?:namespace|ns)\b"),
    re.compile(r"\b(?:namespace|ns)[ =:]+(" + LABEL + r")\b"),
    re.compile(r"\b(" + LABEL + r")\s+(?:namespace|ns)\b"),
)
IN_NAME = re.compile(r"\b(?:in|inside|within|from)\s+(" + LABEL + r")(?=\s*$|\s+(?:and|then|but|also|please|now|with|"
                     r"since|for|from|over|during|to|by|at)\b|[,;?!.])")
NOT_NAMESPACES = frozenset({"the", "a", "an", "my", "it", "all", "last", "this", "that", "there", "here", "order",
                            "total", "detail", "details", "yaml", "json", "place", "case", "general", "parallel",
                            "full", "short", "production", "prod", "half", "addition", "one", "use", "them", "logs",
                            "log", "events", "it's", "time", "minutes", "seconds", "hours", "progress"})


def take_namespace(text: str) -> tuple[str | None, bool, str, bool]:
    """The namespace the clause names ("-n x", "in namespace x", "in the x namespace", "in x",
    "from x"), whether it asks for all namespaces, the text without them, and whether the
    namespace is only likely ("in x", "from x": x may be the object itself, "logs from backend")."""
    every = False
    if ALL_NAMESPACES.search(text):
        every = True
        text = ALL_NAMESPACES.sub(" ", text)
    for form in NAMESPACE_FORMS:
        match = form.search(text)
        if match and match.group(1) not in NOT_NAMESPACES - {"prod", "production"}:
            return match.group(1), every, text[: match.start()] + " " + text[match.end():], False
    match = IN_NAME.search(text)
    if match and match.group(1) not in NOT_NAMESPACES and not match.group(1).isdigit() and match.group(1) not in KINDS:
        return match.group(1), every, text[: match.start()] + " " + text[match.end():], True
    return None, every, text, False


# --- logs ------------------------------------------------------------------------------------------

UNIT = {"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s", "m": "m", "min": "m", "mins": "m",
        "minute": "m", "minutes": "m", "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "d": "d",
        "day": "d", "days": "d"}
_UNITS = r"(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)"
SINCE = re.compile(r"(?:--since[= ]|\b(?:since|in the (?:last|past)|over the (?:last|past)|for the (?:last|past)|"
                   r"from the (?:last|past)|within the (?:last|past)|during the (?:last|past)|(?:last|past))\s+)"
                   r"(?:(\d{1,4})\s*" + _UNITS + r"|(?:an?|one)\s+(hour|minute|day)|(hour|minute|day))\b(?:\s+ago)?")
SINCE_AGO = re.compile(r"\b(\d{1,4})\s*" + _UNITS + r"\s+ago\b")
TAIL = re.compile(r"(?:--tail[= ]|\btail\s+(?:-n\s*)?|\b(?:last|latest|recent|final|first)\s+)(\d{1,4})\b"
                  r"(?:\s+(?:log\s+)?(?:lines?|entries|messages))?|\b(\d{1,4})\s+(?:last\s+|latest\s+)?(?:log\s+)?lines?\b")
PREVIOUS = re.compile(r"(?:\s|^)(?:-p|--previous)(?=\s|$)|\b(?:previous|prior|last|earlier|old)\s+"
                      r"(?:instance|container|run|logs?|crash)\b|\bprevious\b|"
                      r"\bbefore (?:it|they|the pods?) (?:crashed|died|restarted)\b|"
                      r"\b(?:crashed|died|dead|restarted|terminated)\b")
ERRORS = re.compile(r"\b(errors?|exceptions?|failures?|stack ?traces?|tracebacks?|fatal|panics?)\b")
GREP = re.compile(r"\b(?:matching|containing|that (?:contain|mention|match)|with the (?:word|text)|grep(?: for)?|"
                  r"mentioning|about)\s+(?:the\s+|a\s+|an\s+)?(⟨\w⟩|[\w./:-]+)")
CONTAINER = (re.compile(r"(?:\s|^)-c(?:\s+|=)(" + LABEL + r")\b|\b(?:in |of |from |for )?(?:the )?container\s+(" + LABEL
                        + r")\b"), re.compile(r"\b(" + LABEL + r")\s+container\b"))
ERROR_PATTERN = "(?i)(error|exception|fatal|panic|fail|traceback)"


def take_since(text: str) -> tuple[str | None, str]:
    match = SINCE.search(text) or SINCE_AGO.search(text)
    if not match:
        return None, text
    groups = [g for g in match.groups() if g]
    if groups[0].isdigit():
        value = f"{int(groups[0])}{UNIT[groups[1]]}"
    else:
        value = f"1{UNIT[groups[0]]}"
    if value.endswith("d"):
        value = f"{int(value[:-1]) * 24}h"
    return value, text[: match.start()] + " " + text[match.end():]


def take_tail(text: str) -> tuple[int | None, str]:
    match = TAIL.search(text)
    if not match:
        return None, text
    value = int(match.group(1) or match.group(2))
    return max(1, min(value, 500)), text[: match.start()] + " " + text[match.end():]


# --- revisions and replicas ----------------------------------------------------------------------

REVISION = re.compile(r"\b(?:to\s+)?(?:revision|rev|version|release)\s*#?\s*(\d{1,6})\b|--to-revision[= ](\d{1,6})|"
                      r"\b(?:to|back to)\s+#(\d{1,6})\b")

_N = r"(?<![\d.])(\d{1,7})(?!\d|\.\d)"
NEGATIVE = re.compile(r"(?:\bto|=|\bat)\s*-\s*\d+")  # a whole count: never the 3 of 3.5
REPLICA_NOUN = r"(?:\s+(?:more\s+|extra\s+|additional\s+)?(?:replicas?|pods?|instances?|copies|copy|nodes))"
NAMED_REPLICAS = r"(?:\s+(?!more\b|extra\b)(?P<mid>[a-z][\w-]*))?" + REPLICA_NOUN  # "2 frontend replicas"
FACTORS = {"double": "x2", "twice": "x2", "triple": "x3", "treble": "x3", "quadruple": "x4"}
AMOUNTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(double|twice|triple|treble|quadruple)\b"), "factor"),
    (re.compile(r"\b(?:halve|half|in half|by half|by 50\s?%)\b"), "half"),
    (re.compile(r"(?:\bup|\bincrease|\bgrow|\braise|\bbump|\bboost|\bmore)\b(?P<mid>[\w\s-]{0,40}?)\bby\s+" + _N
                + r"\s*%"), "up%"),
    (re.compile(r"(?:\bdown|\bdecrease|\breduce|\bshrink|\blower|\bcut|\bless)\b(?P<mid>[\w\s-]{0,40}?)\bby\s+" + _N
                + r"\s*%"), "down%"),
    (re.compile(r"\bby\s+" + _N + r"\s*%"), "by%"),
    (re.compile(r"\bto\s+" + _N + r"\s*%"), "to%"),
    (re.compile(r"(?:\bx|×|\*)\s*" + _N + r"\b|\b" + _N + r"\s*(?:x|×|times)(?!\w)|\bby a factor of\s+" + _N + r"\b|"
                r"\btimes\s+" + _N + r"\b|\bmultipl\w*\s+(?:[\w-]+\s+){0,3}by\s+" + _N + r"\b"), "times"),
    (re.compile(r"--replicas[= ]" + _N + r"\b"), "to"),
    (re.compile(r"\b(?:up|increase|grow|raise|bump|boost|scale out)\b(?P<mid>[\w\s-]{0,40}?)\bby\s+" + _N + r"\b"),
     "up"),
    (re.compile(r"\b(?:down|decrease|reduce|shrink|lower|cut|scale in)\b(?P<mid>[\w\s-]{0,40}?)\bby\s+" + _N + r"\b"),
     "down"),
    (re.compile(r"\b" + _N + r"\s+(?:more|extra|additional)\b"), "add"),
    (re.compile(r"(?:\badd|\bplus|\+|\bstart|\bspin up|\blaunch|\bone more)\s*(?:" + _N + ")?" + NAMED_REPLICAS
                + r"?\b"), "add"),
    (re.compile(r"(?:\bremove|\bminus|\bdrop|\bsubtract|\btake away|\bkill|\bstop|\bdelete|\bdecommission|"
                r"\bget rid of|\blose|\bterminate)\s*" + _N
                + NAMED_REPLICAS + r"\b|\b" + _N + r"\s+(?:fewer|less)\b|(?<![\w-])-\s*" + _N + r"\b"), "remove"),
    (re.compile(r"\b(?:to|=|at|with|have|has|run|runs|running|keep|make it|make them|set it to)\s+" + _N + r"\b(?!\s*%)"
                r"|\b" + _N + REPLICA_NOUN + r"\b|\breplicas?\s*(?:=|:|to|of)?\s*" + _N + r"\b"), "to"),
    (re.compile(r"\bzero\b|\bto nothing\b|\bdown to none\b"), "zero"),
)


def take_replicas(text: str) -> tuple[str | None, str]:
    """The replica amount as the scale tool takes it ("3", "+1", "-2", "x2", "50%"), or
    None; "?" when a change is asked with no clear amount ("scale up by some"); "negative"
    for a count below zero ("to -1": the tool would read it as one fewer, so it is asked about)."""
    if match := NEGATIVE.search(text):
        return "negative", text[: match.start()] + " " + text[match.end():]
    for pattern, how in AMOUNTS:
        match = pattern.search(text)
        if not match:
            continue
        numbers = [g for g in match.groups() if g is not None and g.isdigit()]
        n = int(numbers[0]) if numbers else None
        middle = match.groupdict().get("mid") or ""
        rest = text[: match.start()] + " " + middle + " " + text[match.end():]
        if how == "factor":
            return FACTORS[match.group(1)], rest
        if how == "half":
            return "50%", rest
        if how == "zero":
            return "0", rest
        if how in ("add", "remove") and n is None:
            n = 1 if how == "add" or "fewer" not in match.group(0) else None
        if n is None:
            return "?", rest
        value = {"up%": f"{100 + n}%", "down%": f"{max(0, 100 - n)}%", "by%": "?", "to%": f"{n}%", "times": f"x{n}",
                 "up": f"+{n}", "down": f"-{n}", "add": f"+{n}", "remove": f"-{n}", "to": str(n)}[how]
        return value, rest
    return None, text
