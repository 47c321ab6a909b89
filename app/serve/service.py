"""What ``kai serve`` does behind its routes: accept requests into the inbox and run them with
a few workers, answer approvals, expire the late ones, post replies to Slack, and check that
the database and the cluster answer.

One :class:`Service` per process. Requests run through the same :class:`~agent.runner.Runner`,
guard and audit as the CLI; writes are deferred (:class:`~tools.executor.Defer`): they wait in
the database for an approval that any kai process on it may take.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tools.errors import Conflict, Denied, InvalidInput, KaiError, NotFound

from . import blocks
from .errors import Busy, TimedOut, public
from .limits import RateLimiter
from .metrics import Metrics
from .settings import Settings

if TYPE_CHECKING:
    import aiohttp

    from agent.events import Event
    from agent.runner import RunResult
    from tools.executor import Outcome

    from .inbox import InboxRequest, ServeStore

log = logging.getLogger("kai.serve")
POST_ATTEMPTS = 3
LEFT_OVER = timedelta(seconds=30)  # a queued request this old was left by a process that stopped
PROBE_SECONDS = 2.0
STOP_GRACE = 15.0  # seconds the requests being run get to finish when kai serve stops
STOP = ""  # what tells a worker to end (no request key is empty)


@dataclass(frozen=True)
class Reply:
    """A finished command: the run and the outcomes that wait for approval."""

    session: str
    result: RunResult
    pending: list[Outcome]


class Service:
    def __init__(self, settings: Settings) -> None:
        from agent.prompts import system_prompt
        from agent.provider import ProviderSettings, create_provider, default_provider
        from tools import catalog  # noqa: F401  (registers every tool)
        from tools import policy as policies
        from tools.cluster import Cluster
        from tools.context import ToolContext
        from tools.executor import Executor

        from ..chat import find_kubeconfig
        from .inbox import Acceptor, ServeStore

        self.settings = settings
        self.metrics = Metrics()
        self.policy = policies.load(settings.policy)
        kubeconfig = find_kubeconfig(settings.kubeconfig, settings.env)
        self.provider_name = settings.provider or default_provider(settings.env)
        self.provider = create_provider(self.provider_name, ProviderSettings(model=settings.model, env=settings.env))
        self.store: ServeStore = ServeStore(settings.database_url)
        self.acceptor = Acceptor(self.store, self._queue)
        ctx = ToolContext(Cluster(kubeconfig=kubeconfig, context=settings.context, timeout=15.0),
                          namespace=settings.namespace)
        self.executor = Executor(ctx, self.policy, self.store)
        names = [schema["name"] for schema in self.executor.schemas()]
        self.prompt = system_prompt(context=self.executor.context_name, namespace=ctx.default_namespace, tools=names)
        self.limiter = RateLimiter(self.policy.chatops.requests_per_minute)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.running = asyncio.Semaphore(settings.workers)
        self._tasks: list[asyncio.Task[None]] = []
        self._sweeping: asyncio.Task[None] | None = None
        self._current: dict[str, InboxRequest] = {}  # claimed by this process and running
        self._queued: set[str] = set()  # keys in self.queue
        self._stopping = False
        self._session: aiohttp.ClientSession | None = None  # one connection pool for every reply

    # --- life --------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(), name=f"kai-worker-{i}")
                       for i in range(self.settings.workers)]
        self._sweeping = asyncio.create_task(self._sweeper(), name="kai-sweeper")
        await self._pick_up(timedelta(0))  # what a stopped process accepted and never ran

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Let the requests being run finish (for ``grace`` seconds), then stop. Requests still
        queued stay in the inbox for the next process; one cut off while running is ended
        ``failed``, and its requester told (it is not run again: part of it may have happened)."""
        self._stopping = True
        if self._sweeping is not None:
            self._sweeping.cancel()
        for _ in self._tasks:
            self.queue.put_nowait(STOP)
        _, late = await asyncio.wait(self._tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*filter(None, [self._sweeping, *self._tasks]), return_exceptions=True)
        for request in list(self._current.values()):
            await self._abandon(request, "kai stopped while working on this")
        if self._session is not None:
            await self._session.close()
        self.acceptor.close()
        await self.provider.aclose()
        self.executor.close()
        self.executor.ctx.cluster.close()
        self.store.close()

    async def ready(self) -> list[str]:
        """What is not working (empty: ready); both asked at once, each given 2 seconds."""

        async def ask(what: str, check: Awaitable[object]) -> str | None:
            try:
                await asyncio.wait_for(check, PROBE_SECONDS)
                return None
            except (KaiError, TimeoutError) as exc:  # the details (host, driver) go to the log only
                log.warning("not ready: %s: %s", what, exc or f"no answer in {PROBE_SECONDS} s")
                return f"{what}: does not answer"

        found = await asyncio.gather(
            ask("database", asyncio.to_thread(self.store.ping)),
            ask("cluster", self.executor.ctx.cluster.request("GET", "/version", idempotent=False)))  # no retries
        return [problem for problem in found if problem]

    # --- who may ---------------------------------------------------------------------

    def admit(self, identity: str, channels: tuple[str, ...] = ()) -> None:
        """Refuse (Denied) a channel that is not allowed or an identity that holds no role."""
        if channels and not self.policy.channel_allowed(*channels):
            raise Denied(f"kai does not answer in this channel ({channels[0]}); ask an admin to allow it",
                         "chatops.channels")
        if not self.policy.roles_of(identity):
            raise Denied(f"{identity} may not use kai (no role in the policy)", "bindings")

    def reply_allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("https", "http") and (parts.hostname or "") in self.settings.response_hosts and (
            parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost"))

    # --- the inbox ---------------------------------------------------------------------

    async def submit(self, key: str, *, kind: str, identity: str, body: str, channel: str = "",
                     reply_to: str | None = None) -> bool:
        """Store a request and queue it; False when it was accepted before. StoreError when
        the database cannot take it, Busy when this process has too much queued (then nothing
        was accepted)."""
        if self._stopping:
            raise Busy("kai is restarting; nothing was done, try again in a moment")
        if self.queue.qsize() >= self.settings.max_queue:
            raise Busy(f"kai is busy ({self.queue.qsize()} requests waiting); nothing was done, try again shortly")
        return await self.acceptor.accept(dict(id=key, kind=kind, identity=identity, body=body, channel=channel,
                                               reply_to=reply_to))

    def _queue(self, key: str) -> None:
        if key in self._queued:  # already waiting here (the sweeper finds it queued in the database)
            return
        self._queued.add(key)
        self.queue.put_nowait(key)
        self.metrics.queued.set(self.queue.qsize())

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            self._queued.discard(key)
            self.metrics.queued.set(self.queue.qsize())
            if self._stopping or key == STOP:
                return
            try:
                request = await asyncio.to_thread(self.store.claim, key, self.owner)
                if request is None:
                    continue  # another process took it
                self._current[key] = request
                await self._handle(request)
            except asyncio.CancelledError:
                raise  # cut off: stop() ends what is left in _current
            except Exception:
                log.exception("request %s failed", key)
            self._current.pop(key, None)

    async def _handle(self, request: InboxRequest) -> None:
        ok, said = True, ""
        try:
            if request.kind == "command":
                said = await self._command(request)
            else:
                said = await self._answer(request)
        except KaiError as exc:
            ok, said = False, f"kai could not do that: {public(exc)}"
            await self.reply(request.reply_to, blocks.notice(said))
        except Exception:
            log.exception("request %s failed", request.id)
            ok, said = False, "kai failed on this request (see its log); nothing more was done"
            await self.reply(request.reply_to, blocks.notice(said))
        self.metrics.commands.labels("ok" if ok else "failed").inc()
        await asyncio.to_thread(self.store.complete, request.id, ok=ok, reply=said, owner=self.owner)

    async def _command(self, request: InboxRequest) -> str:
        meta = {"reply_to": request.reply_to, "channel": request.channel, "request": request.id}
        reply = await self.run(request.identity, request.body, meta=meta)
        await self.reply(request.reply_to, blocks.answer(request.body, request.identity, reply.result))
        for outcome in reply.pending:
            await self.reply(request.reply_to, await self._approval_message(outcome))
        return reply.result.answer

    async def _approval_message(self, outcome: Outcome) -> blocks.Message:
        approval = await asyncio.to_thread(self.store.approval, outcome.approval_id or "")
        tool = self.executor.registry.find(outcome.tool)
        return blocks.approval(outcome, approval.requested_by, tool.risk if tool else "write", approval.expires_at)

    async def _answer(self, request: InboxRequest) -> str:
        data = json.loads(request.body)
        try:  # judged as of the click (accepted then), however long it waited in the queue
            outcome, summary = await self.answer(data["approval_id"], request.identity, bool(data["approve"]),
                                                 at=request.created_at, notify=False)
        except (Denied, Conflict, NotFound, InvalidInput) as exc:
            await self.reply(request.reply_to, blocks.notice(exc.message))
            return exc.message
        await self.reply(request.reply_to, blocks.decided(summary, outcome))
        return outcome.text

    # --- running and answering ---------------------------------------------------------

    async def run(self, identity: str, prompt: str, *, meta: dict[str, Any], session: str | None = None) -> Reply:
        """One prompt by ``identity`` through the agent, in ``session`` (a new one if None)."""
        from agent.events import ToolFinished
        from agent.runner import Runner
        from tools.executor import Defer
        from tools.guard import Caller

        history = []
        if session is None:
            session = await asyncio.to_thread(
                self.store.new_owned_session, identity, provider=self.provider_name, model=self.provider.model,
                context=self.executor.context_name, namespace=self.executor.ctx.default_namespace,
                title=prompt.strip().splitlines()[0] if prompt.strip() else "")
        else:
            session = await asyncio.to_thread(self.store.resolve_owned, session, identity)
            history = await asyncio.to_thread(self.store.messages, session)
        start = len(history)
        pending: list[Outcome] = []

        async def sink(event: Event) -> None:
            if isinstance(event, ToolFinished):
                outcome = event.outcome
                self.metrics.tool_calls.labels(outcome.tool, outcome.decision or "none", outcome.status).inc()
                if outcome.status == "approval_pending":
                    pending.append(outcome)

        runner = Runner(self.provider, self.executor, Caller(identity, session), system_prompt=self.prompt,
                        approve=Defer({**meta, "session": session}), sink=sink, history=history)
        async with self.running:
            try:
                result = await asyncio.wait_for(runner.run(prompt), self.settings.run_timeout)
            except TimeoutError:
                raise TimedOut(f"the request took longer than {self.settings.run_timeout:.0f} s and was stopped; "
                               "what ran before is in the audit") from None
        await asyncio.to_thread(self.store.append, session, runner.history[start:], start=start)
        return Reply(session, result, pending)

    async def answer(self, approval_id: str, approver: str, approve: bool, note: str = "", *,
                     at: datetime | None = None, notify: bool = True) -> tuple[Outcome, str]:
        """``approver``'s answer to a deferred call, and the change's summary. ``notify``: also say
        what became of it where it was asked (a Slack channel), for answers given elsewhere."""
        from tools.executor import front_meta

        approval = await asyncio.to_thread(self.store.approval, approval_id)
        try:
            outcome = await self.executor.answer(approval_id, approver, approve, note, at)
        except Denied:
            self.metrics.approvals.labels("not_permitted").inc()
            raise
        self.metrics.approvals.labels(outcome.status).inc()
        self.metrics.tool_calls.labels(outcome.tool, outcome.decision or "none", outcome.status).inc()
        reply_to = front_meta(approval).get("reply_to")
        if notify and isinstance(reply_to, str):
            await self.reply(reply_to, {**blocks.decided(approval.summary, outcome), "replace_original": False})
        return outcome, approval.summary

    # --- housekeeping --------------------------------------------------------------------

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_seconds)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except KaiError as exc:  # the database is away: say so once a sweep, no traceback
                log.warning("sweeping failed: %s", exc)
            except Exception:
                log.exception("sweeping failed")

    async def sweep(self) -> None:
        """Expire late approvals (and say so where they were asked); run left-over requests."""
        from tools.executor import front_meta

        for approval in await self.executor.expire():
            self.metrics.approvals.labels("expired").inc()
            reply_to = front_meta(approval).get("reply_to")
            if isinstance(reply_to, str):
                await self.reply(reply_to, blocks.expired(approval.summary, approval.id))
        await self._pick_up(LEFT_OVER)
        if self._current:  # still at work on these: other processes must not take them for abandoned
            await asyncio.to_thread(self.store.beat, list(self._current), self.owner)
        stale = timedelta(seconds=3 * self.settings.sweep_seconds + 30)  # three beats missed: the process is gone
        for request in await asyncio.to_thread(self.store.stale, older_than=stale):
            if request.id not in self._current:
                await self._abandon(request, "the kai process working on this stopped")

    async def _abandon(self, request: InboxRequest, why: str) -> None:
        said = f"{why}; it was not finished and will not be run again. `kai audit` shows what it did."
        if await asyncio.to_thread(self.store.complete, request.id, ok=False, reply=said):
            self.metrics.commands.labels("abandoned").inc()
            await self.reply(request.reply_to, blocks.notice(said))

    async def _pick_up(self, older_than: timedelta) -> None:
        for request in await asyncio.to_thread(self.store.queued, older_than=older_than):
            self._queue(request.id)

    # --- replies -------------------------------------------------------------------------

    async def reply(self, url: str | None, message: blocks.Message) -> bool:
        """Post to a Slack ``response_url``, in order, retrying 5xx, 429 and connection errors."""
        if not url:
            return False
        import aiohttp
        from slack_sdk.webhook.async_client import AsyncWebhookClient

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        client = AsyncWebhookClient(url, timeout=10, session=self._session)
        for attempt in range(POST_ATTEMPTS):
            try:
                response = await client.send_dict(message)
                if response.status_code < 500 and response.status_code != 429:
                    if response.status_code >= 400:
                        log.warning("Slack refused a reply (%s): %s", response.status_code, response.body[:200])
                    return response.status_code < 400
            except Exception as exc:  # connection errors: try again
                log.warning("posting a reply failed: %s", exc)
            await asyncio.sleep(0.5 * 2 ** attempt)
        return False
