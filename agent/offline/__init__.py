"""The offline planner: a deterministic, network-free provider that turns everyday sentences
into calls of kai's typed tools and answers from their results.

    pasted.py         the words typed apart from text pasted or piped in (data, never a request)
    parse.py          a sentence → intents, or a question (questions.py), or a decline (safety.py)
    clause.py         one clause → an intent: its action (actions.py), slots (slots.py), words (lexicon.py)
    mood.py           whether a clause that names a change asks for it (never: "don't…", "how do I…", "I scaled…")
    replies.py        the answer in words when a change is named but not asked for
    memory.py         what earlier turns named ("it", "add one replica") and the question left open
    steps.py          intents → tool calls, and the follow-up calls computed from results
    results.py        tool messages parsed back into result fields or error code and details
    answer.py         results → the answer (render.py, tables.py); examples.py for help
    plan.py           the turn, from the messages alone; provider.py the provider interface
"""

from __future__ import annotations

from .provider import OfflineProvider

__all__ = ["OfflineProvider"]
