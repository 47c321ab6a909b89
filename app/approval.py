"""Who answers a preview in a terminal: the person at it, or ``--skip-permissions``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tools.executor import ApprovalAnswer, ApprovalRequest

ReadLine = Callable[[str], Awaitable[str]]
QUESTION = "Apply this change? [y]es / [a]lways in this session / [n]o: "


class TerminalApprover:
    """Asks yes / yes and don't ask again in this session / no. The preview itself is printed
    by the event printer just before (the runner announces it). "Always" never covers a
    destructive call (delete, uninstall, drain): those are asked each time. End of input or
    Ctrl-C at the question is a no."""

    def __init__(self, identity: str, read_line: ReadLine, say: Callable[[str], None]) -> None:
        self.identity = identity
        self.read_line = read_line
        self.say = say
        self.always = False

    async def __call__(self, request: ApprovalRequest) -> ApprovalAnswer:
        if self.always and request.risk != "destructive":
            self.say("approved: you chose not to be asked again in this session")
            return ApprovalAnswer(True, self.identity, "approved for the rest of the session")
        while True:
            try:
                reply = (await self.read_line(QUESTION)).strip().lower()
            except (EOFError, KeyboardInterrupt):
                return ApprovalAnswer(False, self.identity, "no answer at the terminal")
            if reply in ("y", "yes"):
                return ApprovalAnswer(True, self.identity)
            if reply in ("a", "always"):
                self.always = True
                return ApprovalAnswer(True, self.identity, "approved for the rest of the session")
            if reply in ("n", "no"):
                return ApprovalAnswer(False, self.identity, "declined at the terminal")
            self.say("answer y, a or n")


def skip_permissions(identity: str) -> Callable[[ApprovalRequest], Awaitable[ApprovalAnswer]]:
    """``--skip-permissions``: the caller approves their own writes (the policy must allow
    self-approval; every one is still previewed and audited)."""

    async def approve(_request: ApprovalRequest) -> ApprovalAnswer:
        return ApprovalAnswer(True, identity, "--skip-permissions")

    return approve
