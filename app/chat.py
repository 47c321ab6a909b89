"""One conversation wired up for a front end: the provider, the guarded executor on the
chosen cluster, the session store and the runner, built from the CLI's options.

The REPL and the one-shot CLI both use :class:`Chat`; heavy modules (the kubernetes client,
SQLAlchemy, provider SDKs) load here, when a chat starts, never at ``kai --help``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tools.cluster import in_pod
from tools.errors import KaiError

if TYPE_CHECKING:
    from agent.events import EventSink
    from agent.provider import Provider
    from agent.runner import Runner, RunResult
    from agent.sessions import SessionStore
    from agent.trace import Trace
    from tools.executor import ApproveFn, Executor

SANDBOX_KUBECONFIG = Path(".kai/sandbox/kubeconfig")


@dataclass(frozen=True)
class ChatOptions:
    """What the CLI's flags chose (``None``: the default)."""

    identity: str = "cli:local"
    provider: str | None = None
    model: str | None = None
    llm_endpoint: str | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str | None = None
    policy: Path | None = None
    database_url: str | None = None
    max_iterations: int = 20
    trace_path: Path | None = None
    prompt_template: Path | None = None
    extra_prompts: tuple[Path, ...] = ()
    resume: str | None = None  # a session id or "latest"
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def find_kubeconfig(given: Path | None, env: Mapping[str, str]) -> Path | None:
    """``--kubeconfig``, else ``$KUBECONFIG`` (its first file), else ``~/.kube/config``, else
    None inside a pod (its ServiceAccount), else the sandbox's (``kai sandbox up`` writes it to
    .kai/sandbox/kubeconfig)."""
    if given is not None:
        if not given.expanduser().is_file():
            raise KaiError(f"no kubeconfig at {given}")
        return given.expanduser()
    listed = env.get("KUBECONFIG")
    if listed:
        return Path(listed.split(os.pathsep)[0]).expanduser()
    home = Path(env.get("HOME") or Path.home()) / ".kube" / "config"
    if home.is_file():
        return home
    if in_pod(env):
        return None
    if SANDBOX_KUBECONFIG.is_file():
        return SANDBOX_KUBECONFIG.resolve()
    raise KaiError("no cluster: pass --kubeconfig, set KUBECONFIG, or start kai's sandbox with "
                   "`kai sandbox up --with-todo-app` (or `make chat`)")


class Chat:
    """A conversation with its provider, executor, runner and stored session."""

    def __init__(self, options: ChatOptions, *, approve: ApproveFn | None, sink: EventSink | None = None) -> None:
        from agent.prompts import system_prompt
        from agent.provider import ProviderSettings, create_provider, default_provider
        from agent.runner import Runner
        from agent.sessions import SessionStore
        from agent.trace import Trace
        from tools import catalog  # noqa: F401  (registers every tool)
        from tools import policy as policies
        from tools.cluster import Cluster
        from tools.context import ToolContext
        from tools.executor import Executor
        from tools.guard import Caller

        self.options = options
        self.provider_name = options.provider or (
            "openai-compatible" if options.llm_endpoint else default_provider(options.env))
        kubeconfig = find_kubeconfig(options.kubeconfig, options.env)
        policy = policies.load(options.policy)
        self.store: SessionStore = SessionStore(options.database_url)
        ctx = ToolContext(Cluster(kubeconfig=kubeconfig, context=options.context), namespace=options.namespace)
        self.executor: Executor = Executor(ctx, policy, self.store)
        self.trace: Trace | None = None
        try:  # what is opened below is closed again if a later step fails
            self.session_id: str | None = None
            history = []
            if options.resume:
                self.session_id = self.store.resolve(options.resume)
                history = self.store.messages(self.session_id)
            self.saved = len(history)
            names = [schema["name"] for schema in self.executor.schemas()]
            prompt = system_prompt(context=self.executor.context_name, namespace=ctx.default_namespace,
                                   tools=names, template=options.prompt_template, extra=options.extra_prompts)
            self.trace = Trace(options.trace_path) if options.trace_path else None
            provider = create_provider(self.provider_name, ProviderSettings(
                model=options.model, base_url=options.llm_endpoint or None, env=options.env))
        except BaseException:
            self._close_sync()
            raise
        self.provider: Provider = provider
        self.runner: Runner = Runner(self.provider, self.executor, Caller(options.identity, self.session_id),
                                     system_prompt=prompt, approve=approve, sink=sink,
                                     max_iterations=options.max_iterations, trace=self.trace, history=history)

    @property
    def namespace(self) -> str:
        return self.executor.ctx.default_namespace

    async def ask(self, prompt: str, attachment: str | None = None) -> RunResult:
        """One turn, saved to the session when it completes. The session starts with the
        first turn (its calls are audited under its id) and is dropped again if that turn fails."""
        started = self.session_id is None
        if started:
            self.session_id = self.store.new_session(
                provider=self.provider_name, model=self.provider.model, context=self.executor.context_name,
                namespace=self.namespace, title=prompt.strip().splitlines()[0] if prompt.strip() else "")
            self.runner.caller = replace(self.runner.caller, session=self.session_id)
        session = self.session_id
        assert session is not None
        try:
            result = await self.runner.run(prompt, attachment)
        except BaseException:
            if started:
                self.store.delete_session(session)
                self.session_id = None
            raise
        self.store.append(session, self.runner.history[self.saved:], start=self.saved)
        self.saved = len(self.runner.history)
        return result

    def reset(self) -> None:
        """Forget the conversation: the next turn starts a new session."""
        self.runner.history.clear()
        self.session_id, self.saved = None, 0

    def resume(self, session_id: str) -> str:
        found = self.store.resolve(session_id)
        self.runner.history[:] = self.store.messages(found)
        self.session_id, self.saved = found, len(self.runner.history)
        self.runner.caller = replace(self.runner.caller, session=found)
        return found

    async def use_model(self, model: str) -> None:
        """Switch the model of the current provider (the REPL's ``model NAME``)."""
        from agent.provider import ProviderSettings, create_provider

        chosen = create_provider(self.provider_name, ProviderSettings(
            model=model, base_url=self.options.llm_endpoint or None, env=self.options.env))
        await self.provider.aclose()
        self.provider = self.runner.provider = chosen

    async def aclose(self) -> None:
        await self.provider.aclose()
        self._close_sync()

    def _close_sync(self) -> None:
        self.executor.close()
        self.executor.ctx.cluster.close()
        self.store.close()
        if self.trace is not None:
            self.trace.close()
