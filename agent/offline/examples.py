"""Example prompts the offline planner shows when it cannot act on a message: what it
understands, in the words people use."""

from __future__ import annotations

EXAMPLES = (
    "show all pods in todo-app namespace",
    "scale backend to 3 (or: add one replica, double the frontend)",
    "update the image of web-app to 1.22",
    "restart the frontend and then show its pods",
    "last 50 lines of backend logs / backend errors since 10 minutes",
    "why are the backend pods failing?",
    "check health of todo-app",
    "any warnings in todo-app?",
    "show Helm revision history for todo-app / rollback todo-app to previous Helm revision",
)


def help_text(lead: str) -> str:
    """``lead`` followed by a few example prompts."""
    listed = "\n".join(f"- {example}" for example in EXAMPLES)
    return f"{lead}\nI work offline with a fixed set of operations. Try for example:\n{listed}"
