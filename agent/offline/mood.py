"""Whether a clause that names a change asks for it. Only an imperative does ("scale backend to 3",
"could you please restart the backend" once its polite wrapper is gone); everything else that
mentions a change is read as what it is:

- ``negated``: "don't scale backend to 5", "I don't want to…", "not sure whether to restart…";
- ``howto``: "explain how to restart backend", "how do I scale…", "tell me how to…";
- ``question``: "should I scale…?", "could restarting backend help", "restart count of backend",
  and a clause that starts with a read verb ("show pods of backend with app=web");
- ``statement``: "I scaled backend to 3 earlier", "backend was scaled…", "backend has 2 replicas",
  "the backend keeps restarting", "backend is crashing after the update to 1.22".

A question or a statement becomes the read it is about (see :mod:`.actions`); a negation or a
how-to is answered in words (:mod:`.replies`). Nothing here plans a write.
"""

from __future__ import annotations

import re

QUESTION = re.compile(r"^(?:how|what|what's|whats|which|when|where|who|why|is|are|does|do|did|has|have|was|were|"
                      r"should|shall|would|will|had|could|can|may|might|must|isn't|aren't|doesn't|didn't|won't)\b")
READ_LEAD = re.compile(r"^(?:show|list|get(?!\s+rid\b)|display|view|describe|print|find|check|tail|grep|watch|count|"
                       r"explain|tell|see|look|fetch|search|filter|logs?|events?|compare|verify|confirm)\b")
WHETHER = re.compile(r"\b(?:whether|wondering if|if (?:i|we) should|is it (?:ok|safe|wise|a good idea) to)\b")
NEGATED = re.compile(r"\b(?:don'?t|dont|do not|never|not sure|unsure|rather not|no need to|shouldn'?t|should not|"
                     r"must not|mustn'?t|cancel|abort|never ?mind|nvm|hold (?:on|off)|not now|not yet)\b|"
                     r"^(?:no|nope|nah|wait)\b")
HOWTO = re.compile(r"\bhow (?:to|do|does|can|could|should|would|might|would one)\b|\b(?:explain|tell me|show me|"
                   r"teach me|describe)\s+how\b|\bwhat(?:'s| is| are) the (?:commands?|way|steps|kubectl command)\b|"
                   r"\bsteps to\b|\binstructions (?:to|for)\b")
# A verb leading an imperative: the words a request starts with once "please", "kai," and the like are gone.
_IMPERATIVE = """
scale rescale resize double triple quadruple treble halve restart restarting bounce reboot recycle redeploy cycle
kick roll rollback rollout revert undo go rewind downgrade install deploy uninstall delete remove destroy drop kill
erase purge nuke wipe tear create make add set unset update upgrade change use switch bump move promote increase
decrease reduce shrink grow raise lower give have let keep run spin launch start get autoscale enable disable
configure turn limit allow cordon uncordon drain apply put bring cut boost pin helm kubectl try take subtract lose
decommission terminate provision expand reset
"""
IMPERATIVE = frozenset(_IMPERATIVE.split())
# Past forms of change verbs: "scaled backend to 3 yesterday" reports a change, it does not ask for one.
_PAST = """
scaled rescaled resized doubled tripled halved restarted bounced rebooted recycled redeployed rolled reverted undid
downgraded installed deployed uninstalled deleted removed destroyed dropped killed created made added updated
upgraded changed switched bumped moved promoted increased decreased reduced raised lowered gave kept ran launched
started stopped autoscaled enabled configured limited cordoned drained applied
"""
PAST = frozenset(_PAST.split())
_AUX = (r"(?:is|are|was|were|has|have|had|'s|'re|keeps?|kept|seems?|seemed|looks?|looked|got|gets|did|does|"
        r"didn't|doesn't|won't|can't|isn't|aren't|wasn't|weren't|hasn't|haven't|will|would|just|already|still|"
        r"recently|apparently|probably|think|thought|guess|believe|noticed|saw|heard|says?|said|became|went|"
        + "|".join(sorted(PAST)) + r")")
STATEMENT = re.compile(r"^(?:(?:the|my|our|your|this|that|these|those|his|her|their)\s+)?[a-z0-9][\w.'-]*"
                       r"(?:\s+[a-z0-9][\w.'-]*){0,2}?\s+" + _AUX + r"\b")


def mood_of(text: str) -> str:
    """``imperative``, ``negated``, ``howto``, ``question`` or ``statement`` for a clause (lower
    case, its polite wrapper gone) that names a change."""
    t = text.strip()
    if HOWTO.search(t):
        return "howto"
    if NEGATED.search(t):
        return "negated"
    if QUESTION.match(t) or READ_LEAD.match(t) or WHETHER.search(t):
        return "question"
    first = t.split(maxsplit=1)[0] if t else ""
    if first in PAST:
        return "statement"
    if first not in IMPERATIVE and STATEMENT.match(t):
        return "statement"
    return "imperative"
