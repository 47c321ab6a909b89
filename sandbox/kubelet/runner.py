"""One pod on a simulated node: pulls images, runs init containers in order and then
the app containers, probes them, restarts them with back-off, and reports the pod's
status, events and logs through the API as a kubelet does.

A pod the kubelet finds running when it starts (the sandbox restarted, or was restored to
a snapshot) is taken back as its status records it, as a real kubelet finds its containers
still running: no new pull, events or start; each program goes on past the log lines it
already printed, and a container in back-off restarts when its back-off ends."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from .. import objects, timefmt
from ..errors import StatusError
from ..podlogs import LogQuery
from ..registry import DeleteOptions, WriteOptions
from ..validation_quantity import parse_quantity
from . import catalog, exec_state
from .catalog import Program, PullError
from .config import ConfigError, environment, files
from .containers import ContainerState
from .probes import check
from .shell import Context, program_steps
from .steps import Exit, Forever, Log, Serve, Sleep, Step

if TYPE_CHECKING:
    from .node import Kubelet

Obj = dict[str, Any]
KUBELET = "kubelet"
KUBELET_VERSION = "1.32"
MAX_BACKOFF = 300.0


class PodRunner:
    def __init__(self, kubelet: Kubelet, pod: Obj, pod_ip: str) -> None:
        self.kubelet = kubelet
        self.registry = kubelet.registry
        self.clock = kubelet.clock
        self.namespace = pod["metadata"].get("namespace", "")
        self.name = pod["metadata"]["name"]
        self.uid = pod["metadata"]["uid"]
        self.pod_ip = pod_ip
        spec = pod.get("spec") or {}
        self.restart_policy = spec.get("restartPolicy", "Always")
        self.inits = [ContainerState(c["name"], c.get("image", ""), init=True,
                                     sidecar=c.get("restartPolicy") == "Always")
                      for c in spec.get("initContainers") or []]
        self.apps = [ContainerState(c["name"], c.get("image", "")) for c in spec.get("containers") or []]
        self.started_at = timefmt.rfc3339()
        self.initialized = not any(not c.sidecar for c in self.inits)
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        self.programs: dict[str, Program] = {}  # container name -> the program it runs now
        self._kills: dict[str, asyncio.Event] = {}  # container name -> set to kill it
        self._contexts: dict[str, tuple[Context, Program]] = {}  # container name -> what it runs with
        self.resumed = self._resume(pod)

    def _resume(self, pod: Obj) -> bool:
        """Take back the containers of a pod past its init containers as its status records
        them; False (start it afresh) when it was not that far yet."""
        status = pod.get("status") or {}
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        if status.get("phase") not in ("Pending", "Running") or conditions.get("Initialized") != "True":
            return False
        inits = {e.get("name"): e for e in status.get("initContainerStatuses") or []}
        apps = {e.get("name"): e for e in status.get("containerStatuses") or []}
        if any(c.name not in inits for c in self.inits) or any(c.name not in apps for c in self.apps):
            return False
        for state in self.inits:
            state.resume(inits[state.name])
        for state in self.apps:
            state.resume(apps[state.name])
        self.initialized = True
        self.started_at = str(status.get("startTime") or self.started_at)
        return True

    # --- the pod ----------------------------------------------------------------

    def pod(self) -> Obj | None:
        pod = self.registry.store.get("pods", self.namespace, self.name)
        if pod is None or pod["metadata"].get("uid") != self.uid:
            return None
        return pod

    def spec_of(self, state: ContainerState) -> Obj:
        pod = self.pod() or {}
        key = "initContainers" if state.init else "containers"
        return next((c for c in (pod.get("spec") or {}).get(key) or [] if c.get("name") == state.name), {})

    def event(self, type_: str, reason: str, message: str, container: str = "", init: bool = False) -> None:
        pod = self.pod()
        if pod is None:
            return
        path = ""
        if container:
            path = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
        self.kubelet.events.record(pod, type_, reason, message, KUBELET, self.kubelet.node_of(pod), path)

    def report(self) -> None:
        """Write the pod's status (only when it changed)."""
        pod = self.pod()
        if pod is None:
            return
        status = self._status(pod)
        if (pod.get("status") or {}) == status:
            return
        updated = objects.copy(pod)
        updated["status"] = status
        with contextlib.suppress(StatusError):
            self.registry.update(self.kubelet.pods, self.namespace, self.name, updated, WriteOptions(),
                                 sub="status")

    def _status(self, pod: Obj) -> Obj:
        old = pod.get("status") or {}
        now = timefmt.rfc3339()
        apps_ready = all(c.ready for c in self.apps) and all(c.ready for c in self.inits if c.sidecar)
        names = [c.name for c in self.apps if not c.ready]
        phase = self._phase()
        conditions = [
            ("PodReadyToStartContainers", True, "", ""),
            ("Initialized", self.initialized, "ContainersNotInitialized",
             f"containers with incomplete status: [{' '.join(c.name for c in self.inits if not c.done)}]"),
            ("Ready", apps_ready and phase == "Running", "ContainersNotReady",
             f"containers with unready status: [{' '.join(names)}]"),
            ("ContainersReady", apps_ready and phase == "Running", "ContainersNotReady",
             f"containers with unready status: [{' '.join(names)}]"),
            ("PodScheduled", True, "", ""),
        ]
        if phase in ("Succeeded", "Failed"):
            conditions[2] = ("Ready", False, "PodCompleted", "")
            conditions[3] = ("ContainersReady", False, "PodCompleted", "")
        previous = {c.get("type"): c for c in old.get("conditions") or []}
        built = []
        for kind, ok, reason, message in conditions:
            entry: Obj = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
            if not ok and reason:
                entry["reason"] = reason
                if message:
                    entry["message"] = message
            prior = previous.get(kind)
            same = prior is not None and prior.get("status") == entry["status"]
            entry["lastTransitionTime"] = prior.get("lastTransitionTime", now) if same and prior else now
            built.append(entry)
        status: Obj = {
            "phase": phase, "conditions": built, "hostIP": self.kubelet.node_ip(pod),
            "hostIPs": [{"ip": self.kubelet.node_ip(pod)}], "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}], "startTime": old.get("startTime", self.started_at),
            "containerStatuses": [c.status() for c in self.apps],
            "qosClass": old.get("qosClass", "BestEffort"),
        }
        if self.inits:
            status["initContainerStatuses"] = [c.status() for c in self.inits]
        return status

    def _phase(self) -> str:
        if not self.initialized:
            return "Pending"
        if self.restart_policy != "Always" and all(c.done for c in self.apps):
            return "Succeeded" if all(c.exit_code == 0 for c in self.apps) else "Failed"
        if any(c.started or c.restart_count or c.done for c in self.apps):
            return "Running"
        return "Pending"

    def _hook(self, state: ContainerState, spec: Obj, which: str) -> str | None:
        """Run a container's postStart or preStop handler; why it failed, or None."""
        handler = (spec.get("lifecycle") or {}).get(which)
        known = self._contexts.get(state.name)
        if not handler or known is None or "sleep" in handler:
            return None
        ctx, program = known
        outcome = check(handler, spec, program, True, self.pod_ip, ctx)
        return None if outcome.ok else outcome.message

    def serving(self, port: int) -> tuple[ContainerState, Program] | None:
        """The container whose program answers on ``port`` of this pod's IP, if one does now."""
        for state in [*self.inits, *self.apps]:
            program = self.programs.get(state.name)
            if program is not None and state.serving and port in program.ports:
                return state, program
        return None

    def faults(self) -> frozenset[str]:
        pod = self.pod()
        return frozenset(self.kubelet.faults.for_pod(pod)) if pod is not None else frozenset()

    def kill(self) -> None:
        """Kill the running containers (the kubelet restarts them as their policy says)."""
        for event in self._kills.values():
            event.set()

    def container(self, name: str) -> ContainerState | None:
        return next((c for c in [*self.inits, *self.apps] if c.name == name), None)

    # --- running ------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:  # the kubelet stops: so do the containers
            for task in self._tasks:
                task.cancel()
            raise

    async def _run(self) -> None:
        if self.resumed:
            for state in [*(c for c in self.inits if c.sidecar), *self.apps]:
                self._tasks.append(asyncio.create_task(self._container(state, resume=True)))
            await asyncio.gather(*self._tasks, return_exceptions=True)
            return
        self.report()
        for state in self.inits:
            if state.sidecar:
                self._tasks.append(asyncio.create_task(self._container(state)))
                continue
            await self._container(state)
            if state.exit_code != 0:
                return  # a failed init container holds the pod (restarts are inside _container)
        self.initialized = True
        self.report()
        for state in self.apps:
            self._tasks.append(asyncio.create_task(self._container(state)))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self, grace: float) -> None:
        """The pod is being deleted: stop the containers, then let the API forget the pod."""
        if self.stopping:
            return
        self.stopping = True
        for state in [*self.apps, *self.inits]:
            if state.started:
                self.event("Normal", "Killing", f"Stopping container {state.name}", state.name, state.init)
                failed = self._hook(state, self.spec_of(state), "preStop")
                if failed is not None:
                    self.event("Warning", "FailedPreStopHook", f"PreStopHook failed: {failed}", state.name,
                               state.init)
                pause = (((self.spec_of(state).get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {})
                if pause.get("seconds"):
                    await self.clock.sleep(min(float(pause["seconds"]), grace))
        for task in self._tasks:
            task.cancel()
        await self.clock.sleep(min(grace, 1.0))
        for state in [*self.apps, *self.inits]:
            if state.started:
                state.terminated(0, "Completed")
        self.report()
        with contextlib.suppress(StatusError):
            self.registry.delete(self.kubelet.pods, self.namespace, self.name, DeleteOptions(grace_period=0))

    async def _container(self, state: ContainerState, resume: bool = False) -> None:
        backoff = 10.0
        if resume and state.done:
            return
        crashed = "terminated" in state.state or (state.state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"
        if resume and crashed and state.last_state.get("terminated"):
            backoff = min(10.0 * 2**state.restart_count, MAX_BACKOFF)  # the back-off it was in
            await self._back_off(state, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        resume = resume and "running" in state.state
        while not self.stopping:
            spec = self.spec_of(state)
            if not spec:
                return
            played = await self._resumed(state, spec) if resume else None
            resume = False
            if played is not None:
                code, reason = played
            else:
                outcome = await self._start(state, spec, backoff)
                if outcome is None:
                    continue
                code, reason = outcome
            state.last_state = {"terminated": state.terminated(code, reason)}
            if state.init and not state.sidecar:
                state.done = code == 0
                state.last_state = {}
                if code == 0:
                    self.report()
                    return
            restart = self.restart_policy == "Always" or state.sidecar or (
                self.restart_policy == "OnFailure" and code != 0) or (state.init and code != 0
                                                                       and self.restart_policy != "Never")
            if not restart:
                state.done = True
                state.last_state = {}
                self.report()
                return
            await self._back_off(state, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _back_off(self, state: ContainerState, backoff: float) -> None:
        """Wait out the back-off of a container that exited, then count its restart."""
        if "waiting" not in state.state:
            self.report()
            await self.clock.sleep(0.5)
            state.waiting("CrashLoopBackOff", f"back-off {int(backoff)}s restarting failed container="
                                              f"{state.name} pod={self.name}_{self.namespace}({self.uid})")
            self.event("Warning", "BackOff", f"Back-off restarting failed container {state.name} in pod "
                                             f"{self.name}_{self.namespace}({self.uid})", state.name, state.init)
            self.report()
        await self.clock.sleep(backoff)
        self.kubelet.registry.logs.restart(self.namespace, self.name, state.name)
        state.restart_count += 1

    async def _resumed(self, state: ContainerState, spec: Obj) -> tuple[int, str] | None:
        """Go on with a container that was running when the kubelet started: (exit code,
        reason) once it exits; None when it cannot be taken back (it starts afresh)."""
        try:
            _, program, _ = catalog.resolve(spec.get("image", ""), present=True, policy="IfNotPresent")
            ctx = Context(environment(self.registry.store, self.pod() or {}, spec),
                          files(self.registry.store, self.pod() or {}, spec),
                          pod=(self.namespace, self.name), container=state.name,
                          world=exec_state.world_of(self.kubelet))
        except (PullError, ConfigError):
            return None
        self.programs[state.name] = program
        self._contexts[state.name] = (ctx, program)
        printed = self.registry.logs.read(self.namespace, self.name, LogQuery(container=state.name)).count("\n")
        return await self._play(state, spec, program, ctx, printed=printed)

    async def _start(self, state: ContainerState, spec: Obj, backoff: float) -> tuple[int, str] | None:
        """Pull, create and start the container and run it: (exit code, reason) once it exits;
        None when it did not start (the pull or its configuration failed: try again)."""
        program = await self._pull(state, spec)
        if program is None:
            return None
        self.programs[state.name] = program
        try:
            ctx = Context(environment(self.registry.store, self.pod() or {}, spec),
                          files(self.registry.store, self.pod() or {}, spec),
                          pod=(self.namespace, self.name), container=state.name,
                          world=exec_state.world_of(self.kubelet))
        except ConfigError as exc:
            state.waiting("CreateContainerConfigError", str(exc))
            self.event("Warning", "Failed", f"Error: {exc}", state.name, state.init)
            self.report()
            await self.clock.sleep(backoff)
            return None
        self.event("Normal", "Created", f"Created container {state.name}", state.name, state.init)
        self.event("Normal", "Started", f"Started container {state.name}", state.name, state.init)
        state.running()
        if not _has_readiness(spec) and (not state.init or state.sidecar):
            state.ready = True
        self.report()
        self._contexts[state.name] = (ctx, program)
        failed = self._hook(state, spec, "postStart")
        if failed is not None:
            self.event("Warning", "FailedPostStartHook", f"PostStartHook failed: {failed}", state.name,
                       state.init)
            self.event("Normal", "Killing", "FailedPostStartHook", state.name, state.init)
            return 137, "Error"
        return await self._play(state, spec, program, ctx)

    async def _pull(self, state: ContainerState, spec: Obj) -> Program | None:
        reference = spec.get("image", "")
        policy = spec.get("imagePullPolicy", "IfNotPresent")
        node = self.kubelet
        try:
            image, program, pulled = catalog.resolve(reference, present=node.has_image(reference), policy=policy)
        except PullError as exc:
            self.event("Normal", "Pulling", f'Pulling image "{reference}"', state.name, state.init)
            self.event("Warning", "Failed", f'Failed to pull image "{reference}": {exc}', state.name, state.init)
            self.event("Warning", "Failed", "Error: ErrImagePull", state.name, state.init)
            state.waiting("ErrImagePull", f'failed to pull and unpack image "{reference}": {exc}'
                          if "failed to pull" not in str(exc) else str(exc))
            self.report()
            await self.clock.sleep(2.0)
            state.waiting("ImagePullBackOff", f'Back-off pulling image "{reference}"')
            self.event("Normal", "BackOff", f'Back-off pulling image "{reference}"', state.name, state.init)
            self.event("Warning", "Failed", "Error: ImagePullBackOff", state.name, state.init)
            self.report()
            await self.clock.sleep(state.pull_backoff)
            state.pull_backoff = min(state.pull_backoff * 2, MAX_BACKOFF)
            return None
        state.image_id = f"docker-pullable://{image.full.rsplit(':', 1)[0]}@{image.digest}"
        if pulled:
            self.event("Normal", "Pulling", f'Pulling image "{reference}"', state.name, state.init)
            await self.clock.sleep(1.0)
            node.add_image(reference)
            self.event("Normal", "Pulled", f'Successfully pulled image "{reference}" in 1.02s (1.02s including '
                                           f"waiting). Image size: 44416526 bytes.", state.name, state.init)
        else:
            self.event("Normal", "Pulled", f'Container image "{reference}" already present on machine',
                       state.name, state.init)
        return program

    async def _play(self, state: ContainerState, spec: Obj, program: Program, ctx: Context,
                    printed: int | None = None) -> tuple[int, str]:
        """Run the program until it exits or the kubelet kills it: (exit code, reason).
        ``printed``: the container was taken back running, having printed that many lines."""
        faults = self.faults()
        if program.shell and "crashloop" not in faults:
            argv = [*(spec.get("command") or []), *(spec.get("args") or [])]
            steps: list[Step] = program_steps(argv, ctx, python_image=state.image.startswith("python"))
        else:
            steps = program.steps(faults)
        limit = parse_quantity(((spec.get("resources") or {}).get("limits") or {}).get("memory"))
        oom = "oom" in faults or (limit is not None and program.memory_mi * 2**20 > limit)
        kill = self._kills[state.name] = asyncio.Event()
        probes = asyncio.create_task(self._probe(state, spec, program, ctx, kill, resumed=printed is not None))
        play = asyncio.create_task(self._steps(state, steps, oom, printed or 0))
        killer = asyncio.create_task(kill.wait())
        try:
            done, _ = await asyncio.wait({play, killer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            probes.cancel()
            killer.cancel()
            if not play.done():  # killed, or the kubelet stops
                play.cancel()
        if play in done:
            code = play.result()
            if oom and code == 137:
                return 137, "OOMKilled"
            return code, "Completed" if code == 0 else "Error"
        play.cancel()
        return 137, "Error"

    async def _steps(self, state: ContainerState, steps: list[Step], oom: bool, printed: int = 0) -> int:
        """Play ``steps``; those up to the ``printed`` lines the program already printed go by at
        once, without printing again."""
        logs = self.registry.logs
        for step in steps:
            if printed > 0 and isinstance(step, Log | Sleep | Serve):
                printed -= isinstance(step, Log)
                state.serving = state.serving or isinstance(step, Serve)
                continue
            if isinstance(step, Log):
                logs.append(self.namespace, self.name, state.name, [catalog.render(step.line)])
            elif isinstance(step, Sleep):
                await self.clock.sleep(step.seconds)
            elif isinstance(step, Serve):
                state.serving = True
            elif isinstance(step, Exit):
                return step.code
            elif isinstance(step, Forever):
                if oom:
                    await self.clock.sleep(3.0)
                    return 137
                while True:  # a loop body logs, then sleeps
                    if step.lines:
                        logs.append(self.namespace, self.name, state.name, [catalog.render(x) for x in step.lines])
                    await self.clock.sleep(step.every or 60.0)
        return 0

    async def _probe(self, state: ContainerState, spec: Obj, program: Program, ctx: Context,
                     kill: asyncio.Event, resumed: bool = False) -> None:
        readiness, liveness = spec.get("readinessProbe"), spec.get("livenessProbe")
        tasks = []
        if readiness:
            tasks.append(self._probe_loop(state, spec, program, ctx, readiness, "Readiness", kill, resumed))
        if liveness:
            tasks.append(self._probe_loop(state, spec, program, ctx, liveness, "Liveness", kill, resumed))
        if tasks:
            await asyncio.gather(*tasks)

    async def _probe_loop(self, state: ContainerState, spec: Obj, program: Program, ctx: Context,
                          probe: Obj, kind: str, kill: asyncio.Event, resumed: bool = False) -> None:
        # a container taken back running is past its initial delay: the first probe comes a period on
        delay = probe.get("periodSeconds", 10) if resumed else probe.get("initialDelaySeconds", 0)
        await self.clock.sleep(float(delay))
        failures = successes = 0
        while True:
            outcome = check(probe, spec, program, state.serving, self.pod_ip, ctx,
                            unhealthy="probe-fail" in self.faults())
            if outcome.path and program.access_log:
                self.registry.logs.append(self.namespace, self.name, state.name, [
                    catalog.render(program.access_log, method="GET", path=outcome.path, status=str(outcome.status),
                          agent=f"kube-probe/{KUBELET_VERSION}",
                          reason={200: "OK", 404: "Not Found", 503: "Service Unavailable"}.get(outcome.status, ""))])
            if outcome.ok:
                failures = 0
                successes += 1
                if kind == "Readiness" and not state.ready and successes >= int(probe.get("successThreshold", 1)):
                    state.ready = True
                    self.report()
            else:
                successes = 0
                failures += 1
                self.event("Warning", "Unhealthy", f"{kind} probe failed: {outcome.message}", state.name,
                           state.init)
                if failures >= int(probe.get("failureThreshold", 3)):
                    if kind == "Readiness" and state.ready:
                        state.ready = False
                        self.report()
                    if kind == "Liveness":
                        self.event("Normal", "Killing", f"Container {state.name} failed liveness probe, will be "
                                                        f"restarted", state.name, state.init)
                        kill.set()
                        return
            await self.clock.sleep(float(probe.get("periodSeconds", 10)))


def _has_readiness(spec: Obj) -> bool:
    return bool(spec.get("readinessProbe"))
