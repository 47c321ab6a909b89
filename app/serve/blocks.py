"""Slack messages, as Block Kit built with ``slack_sdk.models.blocks``: an answer (text, its
tables as code blocks, one line per call), an approval request (the change, the kubectl
equivalent, the diff, Approve and Reject buttons; a confirmation dialog on destructive ones),
and the outcome that replaces it. Each message also carries plain ``text`` for notifications."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.runner import RunResult, ToolRecord
    from tools.executor import Outcome

Message = dict[str, Any]
SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section's text
APPROVE = "kai_approve"
REJECT = "kai_reject"
MARKS = {"ok": "✅", "denied": "⛔", "approval_required": "⛔", "approval_pending": "⏳", "rejected": "✋",
         "expired": "⌛", "error": "⚠️"}
_TABLE_ROW = re.compile(r"\S {2,}\S")


def clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 20] + "\n… (cut)"


def escape(text: str) -> str:
    """Text shown as is: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str, limit: int = SECTION_LIMIT) -> str:
    return "```" + clip(escape(text).replace("```", "`\u200b``"), limit - 6) + "```"


def mrkdwn(text: str) -> str:
    """An answer as Slack mrkdwn: runs of table-like lines become code blocks, ``**bold**`` *bold*."""
    out: list[str] = []
    table: list[str] = []
    fenced = False

    def flush() -> None:
        if len(table) >= 2:
            out.append(code("\n".join(table)))
        else:
            out.extend(escape(line) for line in table)
        table.clear()

    for line in text.splitlines():
        if line.strip().startswith("```"):
            flush()
            fenced = not fenced
            out.append("```")
            continue
        if fenced:
            out.append(escape(line))
        elif _TABLE_ROW.search(line):
            table.append(line)
        else:
            flush()
            out.append(re.sub(r"\*\*(.+?)\*\*", r"*\1*", escape(line)))
    flush()
    return "\n".join(out)


def _sections(text: str) -> list[Any]:
    from slack_sdk.models.blocks import SectionBlock

    chunks, current = [], ""
    for line in text.splitlines(keepends=True):
        if len(current) + len(line) > SECTION_LIMIT and current:
            chunks.append(current)
            current = ""
        current += line
    if current.strip():
        chunks.append(current)
    return [SectionBlock(text=clip(chunk)) for chunk in chunks[:20]]


def _call_line(call: ToolRecord) -> str:
    where = f" · audit #{call.audit_id}" if call.audit_id else ""
    by = f" · approved by {call.approver}" if call.approver else ""
    return f"{MARKS.get(call.status, '•')} `{call.tool}` {call.status}{where}{by}"


def answer(prompt: str, identity: str, result: RunResult) -> Message:
    """The answer to a command, for the channel."""
    from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

    blocks: list[Any] = [ContextBlock(elements=[MarkdownTextObject(text=clip(
        f"{_who(identity)}: `{escape(prompt)}`", 2000))])]
    blocks += _sections(mrkdwn(result.answer or "(no answer)"))
    lines = [_call_line(c) for c in result.calls]
    if lines:
        blocks.append(SectionBlock(fields=[MarkdownTextObject(text=clip(line, 1900)) for line in lines[:10]]))
    return {"response_type": "in_channel", "text": clip(result.answer or "(no answer)", 3000),
            "blocks": [b.to_dict() for b in blocks[:50]]}


def approval(outcome: Outcome, requester: str, risk: str, expires_at: datetime | None) -> Message:
    """The request to approve one deferred change."""
    from slack_sdk.models.blocks import (
        ActionsBlock,
        ButtonElement,
        ConfirmObject,
        ContextBlock,
        HeaderBlock,
        MarkdownTextObject,
        SectionBlock,
    )

    preview = outcome.preview or {}
    summary = preview.get("summary") or outcome.tool
    approval_id = outcome.approval_id or ""
    confirm = ConfirmObject(title="Destructive change", text=clip(f"Really {escape(summary)}? This cannot be undone.",
                                                                 300),
                            confirm="Yes, do it", deny="Cancel", style="danger") if risk == "destructive" else None
    blocks: list[Any] = [
        HeaderBlock(text="Approval needed" + (" (destructive)" if risk == "destructive" else "")),
        SectionBlock(text=clip(f"{_who(requester)} asks to *{escape(summary)}*")),
    ]
    if preview.get("command"):
        blocks.append(SectionBlock(text="kubectl equivalent:\n" + code(preview["command"], 1500)))
    if preview.get("diff"):
        blocks.append(SectionBlock(text=code(preview["diff"])))
    until = f"expires {expires_at:%H:%M} UTC · " if expires_at else ""
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"{until}approval `{approval_id}`")]))
    blocks.append(ActionsBlock(block_id=f"kai:{approval_id}", elements=[
        ButtonElement(text="Approve", action_id=APPROVE, value=approval_id, style="primary", confirm=confirm),
        ButtonElement(text="Reject", action_id=REJECT, value=approval_id, style="danger"),
    ]))
    return {"response_type": "in_channel", "text": f"Approval needed: {summary}",
            "blocks": [b.to_dict() for b in blocks]}


def decided(summary: str, outcome: Outcome) -> Message:
    """What became of an approved (or rejected, or expired) change: replaces the request."""
    from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

    mark = MARKS.get(outcome.status, "•")
    who = f" by {_who(outcome.approver)}" if outcome.approver else ""
    head = {"ok": f"{mark} Approved{who} and done: *{escape(summary)}*",
            "rejected": f"{mark} Rejected{who}: *{escape(summary)}*",
            "expired": f"{mark} Not done, the approval expired: *{escape(summary)}*",
            "denied": f"{mark} Approved{who} but refused by the policy: *{escape(summary)}*"}.get(
                outcome.status, f"{mark} Approved{who} but it failed: *{escape(summary)}*")
    blocks: list[Any] = [SectionBlock(text=clip(head))]
    if outcome.status != "rejected":
        blocks.append(SectionBlock(text=code(outcome.text)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"audit #{outcome.audit_id}")]))
    return {"replace_original": True, "response_type": "in_channel", "text": head,
            "blocks": [b.to_dict() for b in blocks]}


def expired(summary: str, approval_id: str) -> Message:
    text = f"⌛ The approval `{approval_id}` expired; nothing was done: *{escape(summary)}*"
    return notice(text, in_channel=True)


def notice(text: str, *, in_channel: bool = False) -> Message:
    """A short text message (ephemeral unless ``in_channel``)."""
    return {"response_type": "in_channel" if in_channel else "ephemeral", "text": clip(text, 3000),
            "replace_original": False}


def _who(identity: str) -> str:
    """``slack:T/U`` as a mention; other identities as they are."""
    if identity.startswith("slack:") and "/" in identity:
        return f"<@{identity.rsplit('/', 1)[1]}>"
    return f"`{identity}`"
