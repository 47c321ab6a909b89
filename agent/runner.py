"""The run loop: ask the provider, run the tool calls it asks for through the guard, feed the
results back, until it answers (or the iterations run out).

Every tool call goes through :meth:`tools.executor.Executor.call`; denials, refusals and
errors come back to the model as results so it can explain them. Events stream to the front
end as they happen (:mod:`agent.events`); a run ends with a :class:`RunResult` holding the
answer, each call with its decision and audit id, and the run's figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from tools.budget import count_tokens
from tools.errors import KaiError
from tools.executor import ApprovalAnswer, ApprovalRequest, ApproveFn, Defer, Executor
from tools.guard import Caller

from .events import Answer, Decided, Event, EventSink, PreviewShown, Thinking, ToolFinished, ToolRequested
from .messages import Message, ModelTurn, ToolCall, Usage
from .provider import ModelRequest, Provider, ProviderError
from .retry import Backoff, with_retries
from .trace import Trace

DEFAULT_MAX_ITERATIONS = 20
EMPTY_REPLY_NUDGE = ("Your last reply was empty. Answer the user's request in words, or call one of the tools "
                     "if you need information first.")
RunStatus = Literal["done", "refused", "pending", "error", "max_iterations"]
REFUSED = {"denied", "approval_required", "rejected", "expired"}


@dataclass
class ToolRecord:
    """One tool call of a run, as ``-o json`` and the evals report it."""

    call_id: str
    tool: str
    arguments: dict[str, Any]
    status: str
    decision: str | None = None
    audit_id: int | None = None
    approver: str | None = None
    text: str = ""
    duration_ms: float = 0.0
    approval_id: str | None = None

    def as_dict(self, output: bool = False) -> dict[str, Any]:
        return {"id": self.call_id, "tool": self.tool, "arguments": self.arguments, "status": self.status,
                "decision": self.decision, "audit_id": self.audit_id, "approver": self.approver,
                **({"approval_id": self.approval_id} if self.approval_id else {}),
                "duration_ms": round(self.duration_ms, 2), **({"output": self.text} if output else {})}


@dataclass
class RunStats:
    iterations: int = 0
    usage: Usage = field(default_factory=Usage)
    tool_outputs: list[str] = field(default_factory=list, repr=False)
    model_ms: float = 0.0
    tool_ms: float = 0.0
    latency_ms: float = 0.0
    retries: int = 0

    @property
    def tool_output_tokens(self) -> int:
        """Tokens of what the tools showed the model (counted when asked: loading the
        tokenizer costs a one-shot run a quarter of a second)."""
        return sum(count_tokens(text) for text in self.tool_outputs)

    def as_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "model_tokens_in": self.usage.input_tokens,
                "model_tokens_out": self.usage.output_tokens, "tool_output_tokens": self.tool_output_tokens,
                "model_ms": round(self.model_ms, 2), "tool_ms": round(self.tool_ms, 2),
                "latency_ms": round(self.latency_ms, 2), "retries": self.retries}


@dataclass
class RunResult:
    answer: str
    status: RunStatus
    calls: list[ToolRecord]
    stats: RunStats

    @property
    def refused(self) -> list[ToolRecord]:
        return [c for c in self.calls if c.status in REFUSED]

    def as_dict(self, outputs: bool = False) -> dict[str, Any]:
        """The run as ``-o json`` prints it (``outputs``: with what each tool returned)."""
        return {"answer": self.answer, "status": self.status,
                "tool_calls": [c.as_dict(outputs) for c in self.calls], "stats": self.stats.as_dict()}


async def _ignore(_event: Event) -> None:
    return None


class Runner:
    """Runs turns of one conversation (``history``, extended in place) for one caller."""

    def __init__(self, provider: Provider, executor: Executor, caller: Caller, *, system_prompt: str,
                 approve: ApproveFn | Defer | None = None, sink: EventSink | None = None,
                 max_iterations: int = DEFAULT_MAX_ITERATIONS, trace: Trace | None = None,
                 backoff: Backoff | None = None, history: list[Message] | None = None) -> None:
        if max_iterations < 1:
            raise KaiError("max iterations must be at least 1")
        self.provider = provider
        self.executor = executor
        self.caller = caller
        self.system_prompt = system_prompt
        self.approve = approve
        self.sink: EventSink = sink or _ignore
        self.max_iterations = max_iterations
        self.trace = trace
        self.backoff = backoff or Backoff()
        self.history: list[Message] = history if history is not None else []

    async def run(self, prompt: str, attachment: str | None = None) -> RunResult:
        """One user turn (``attachment``: text piped in, data for the model, never its command).
        Cancelling it (Ctrl-C) removes the turn from the history, so the conversation stays well
        formed; what already ran in the cluster stays in the audit."""
        started = time.monotonic()
        mark = len(self.history)
        self._trace("user-input", {"text": prompt, **({"stdin": attachment} if attachment else {})})
        self.history.append(Message.user(prompt, attachment))
        run = _Turn(self)
        try:
            result = await run.loop()
        except BaseException:  # cancelled (Ctrl-C) or failed: no half-written turn stays
            del self.history[mark:]
            raise
        result.stats.latency_ms = (time.monotonic() - started) * 1000
        if self.trace is not None:
            self._trace("answer", {"text": result.answer, "status": result.status, **result.stats.as_dict()})
        await self.sink(Answer(result.answer))
        return result

    def _trace(self, action: str, payload: dict[str, Any]) -> None:
        if self.trace is not None:
            self.trace.write(action, payload)


class _Turn:
    """The state of one run: its calls, its figures, the corrections already made."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.calls: list[ToolRecord] = []
        self.stats = RunStats()
        self.nudged = False  # one corrective turn for an empty reply
        self.corrected = False  # and one for unreadable tool arguments

    async def loop(self) -> RunResult:
        r = self.runner
        for iteration in range(1, r.max_iterations + 1):
            self.stats.iterations = iteration
            await r.sink(Thinking(iteration))
            turn = await self._ask()
            if turn.thinking:
                await r.sink(Thinking(iteration, turn.thinking))
            if turn.empty:
                if self.nudged:
                    return self._end("The model gave no answer.", "error")
                self.nudged = True
                r.history.append(Message.user(EMPTY_REPLY_NUDGE))
                continue
            r.history.append(turn.message())
            if not turn.tool_calls:
                return self._end(turn.text.strip(), "refused" if turn.refusal else self._status())
            malformed = [c for c in turn.tool_calls if c.error]
            if malformed and self.corrected:
                for call in turn.tool_calls:
                    r.history.append(Message.tool_result(call, "not run: the turn ended", "error"))
                return self._end(f"The model sent unreadable arguments for {malformed[0].name} twice; "
                                 "nothing more was done.", "error")
            self.corrected = self.corrected or bool(malformed)
            for call in turn.tool_calls:
                await self._tool(call)
        return self._end(f"Stopped after {r.max_iterations} iterations without a final answer "
                         "(raise --max-iterations to allow more).", "max_iterations")

    async def _ask(self) -> ModelTurn:
        r = self.runner
        request = ModelRequest(system=r.system_prompt, messages=list(r.history), tools=r.executor.schemas())

        def retried(_exc: ProviderError, _wait: float) -> None:
            self.stats.retries += 1

        started = time.monotonic()
        try:
            turn = await with_retries(lambda: r.provider.respond(request), r.backoff, on_retry=retried)
        finally:
            self.stats.model_ms += (time.monotonic() - started) * 1000
        self.stats.usage = self.stats.usage + turn.usage
        if turn.tool_calls:
            r._trace("llm-response", {"text": turn.text, "tool_calls": [c.model_dump() for c in turn.tool_calls]})
        return turn

    async def _tool(self, call: ToolCall) -> None:
        r = self.runner
        r._trace("tool-request", {"id": call.id, "name": call.name, "arguments": call.arguments})
        await r.sink(ToolRequested(call.id, call.name, call.arguments))
        if call.error:
            text = (f"invalid_arguments: {call.error}. Call {call.name} again with a JSON object that "
                    "matches its parameters.")
            record = ToolRecord(call.id, call.name, call.arguments, "error", text=text)
            r.history.append(Message.tool_result(call, text, "error"))
            self.calls.append(record)
            r._trace("tool-response", {"id": call.id, "name": call.name, "status": "error", "text": text})
            return
        started = time.monotonic()
        outcome = await r.executor.call(call.name, call.arguments, r.caller, self._approver(call))
        self.stats.tool_ms += (time.monotonic() - started) * 1000
        self.stats.tool_outputs.append(outcome.text)
        self.calls.append(ToolRecord(call.id, call.name, call.arguments, outcome.status, outcome.decision,
                                     outcome.audit_id, outcome.approver, outcome.text, outcome.duration_ms,
                                     outcome.approval_id))
        r.history.append(Message.tool_result(call, outcome.text, outcome.status))
        r._trace("tool-response", {"id": call.id, "name": call.name, "status": outcome.status,
                                   "decision": outcome.decision, "audit_id": outcome.audit_id,
                                   "text": outcome.text})
        await r.sink(ToolFinished(call.id, outcome))

    def _approver(self, call: ToolCall) -> ApproveFn | Defer | None:
        r = self.runner
        if r.approve is None or isinstance(r.approve, Defer):
            return r.approve
        ask = r.approve

        async def approve(request: ApprovalRequest) -> ApprovalAnswer:
            await r.sink(PreviewShown(call.id, request.tool, request.preview, request.reason))
            answer = await ask(request)
            r._trace("approval", {"id": call.id, "name": request.tool, "approved": answer.approved,
                                  "approver": answer.approver, "summary": request.preview.summary})
            await r.sink(Decided(call.id, request.tool, answer.approved, answer.approver))
            return answer

        return approve

    def _status(self) -> RunStatus:
        if any(c.status in REFUSED for c in self.calls):
            return "refused"
        if any(c.status == "approval_pending" for c in self.calls):
            return "pending"  # a deferred write waits for its approval
        if self.calls and all(c.status == "error" for c in self.calls):
            return "error"  # nothing the model asked for could be done (a missing name, an unreachable cluster)
        return "done"

    def _end(self, answer: str, status: RunStatus) -> RunResult:
        return RunResult(answer, status, self.calls, self.stats)

