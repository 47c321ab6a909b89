"""The pod analyzers of ``diagnose``, in the manner of k8sgpt's: each reads what a real
cluster shows of a pod (container states, last terminations, events, the previous
instance's log) and gives a :class:`Finding` with its evidence and a concrete fix.

Image pulls, container config errors, OOM kills, crash loops, scheduling and probes; the
analyzers of Services, HorizontalPodAutoscalers and workloads are in tools/diagnose.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from .budget import tail_lines
from .cluster import Cluster
from .errors import KaiError
from .registry import ToolResult
from .snapshot import (
    WORKLOAD_KINDS,
    Obj,
    Snapshot,
    age,
    container_spec,
    container_statuses,
    event_time,
    memory_text,
    name_of,
    parse_time,
    quantity_bytes,
    selector_text,
    short,
)

# --- findings ----------------------------------------------------------------------------

class Finding(ToolResult):
    """One problem: the object, what is wrong, the facts that show it, and what to do."""

    kind: str
    name: str
    problem: str
    evidence: list[str]
    suggested_fix: str
    severity: Literal["error", "warning"] = "error"
    also_affected: list[str] | None = None  # other objects with the same problem


def ref(kind: str, name: str) -> str:
    """``deployment/todo-backend``, as kubectl takes it."""
    return f"{kind.lower()}/{name}"


PULL_ERRORS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                         "RegistryUnavailable"})
CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
PROBES = {"Startup": "the container is restarted before it starts",
          "Readiness": "the pod gets no Service traffic", "Liveness": "the container is restarted"}
STALE_PROBE_SECONDS = 300  # probe failures older than this, on a container ready now, are history
LOG_LINES = 10
MAX_LOG_READS = 8  # crash logs read per diagnosis (one per workload and container already)
MAX_AFFECTED = 5
_LOG_HINTS = (  # (what a log line says, what it means)
    (("connection refused", "could not connect", "host not found", "no such host", "name or service not known",
      "timed out", "unreachable"), "It cannot reach a service it depends on (see the log): check that service "
                                   "and the address it is configured with. "),
    (("permission denied", "read-only file system", "operation not permitted"),
     "It is refused a file or an operation: check its securityContext and volumes. "),
    (("address already in use",), "Its port is already taken: check the port settings. "),
    (("keyerror", "environment variable", "not set", "missing required"),
     "It misses configuration: check its environment (set_env) and the ConfigMap/Secret it reads. "),
    (("no such file", "not found", "exec format error"), "A file or command it needs is missing: check the "
                                                         "image and the container's command. "),
)


class PodAnalysis:
    """The pod analyzers: one pass over pods, findings grouped so that the pods of one
    workload showing the same problem give one finding (its evidence from the first pod)."""

    def __init__(self, cluster: Cluster, snap: Snapshot) -> None:
        self.cluster, self.snap = cluster, snap
        self.found: dict[tuple[str, ...], tuple[Finding, list[str]]] = {}
        self.log_reads = 0

    async def run(self, pods: Sequence[Obj]) -> list[Finding]:
        for pod in sorted(pods, key=name_of):
            await self.pod(pod)
        out = []
        for finding, others in self.found.values():
            if others:
                finding.also_affected = others[:MAX_AFFECTED] + ([f"… {len(others) - MAX_AFFECTED} more pods"]
                                                                 if len(others) > MAX_AFFECTED else [])
            out.append(finding)
        return out

    def _seen(self, what: str, pod: Obj, container: str = "") -> tuple[str, ...] | None:
        """The group key of a new problem, or None when a sibling pod already showed it."""
        owner = self.snap.owner(pod)
        key = (what, "/".join(owner) if owner else name_of(pod), container)
        if key in self.found:
            self.found[key][1].append(name_of(pod))
            return None
        return key

    def _add(self, key: tuple[str, ...], finding: Finding) -> None:
        self.found[key] = (finding, [])

    def _workload_ref(self, pod: Obj) -> str:
        owner = self.snap.owner(pod)
        if owner and owner[0] in WORKLOAD_KINDS:
            return ref(*owner)
        return ref("Pod", name_of(pod))

    async def pod(self, pod: Obj) -> None:
        self.pending(pod)
        for status in container_statuses(pod):
            container = str(status.get("name", ""))
            state, last = status.get("state") or {}, status.get("lastState") or {}
            waiting = state.get("waiting") or {}
            ended = [t for t in (state.get("terminated"), last.get("terminated")) if t]
            if waiting.get("reason") in PULL_ERRORS:
                self.image_pull(pod, status, waiting)
            elif waiting.get("reason") in CONFIG_ERRORS:
                self.config_error(pod, container, waiting)
            elif any(t.get("reason") == "OOMKilled" for t in ended):
                self.oom(pod, status, next(t for t in ended if t.get("reason") == "OOMKilled"))
            elif (waiting.get("reason") == "CrashLoopBackOff" or any(int(t.get("exitCode", 0)) != 0 for t in ended)) \
                    and not self._killed_by_liveness(pod, container, ended):
                await self.crash(pod, status, ended[0] if ended else {})
        self.probes(pod)

    # --- the analyzers ---------------------------------------------------------------

    def image_pull(self, pod: Obj, status: Obj, waiting: Obj) -> None:
        container = str(status.get("name", ""))
        key = self._seen("image", pod, container)
        if key is None:
            return
        image = str(container_spec(pod, container).get("image") or status.get("image", ""))
        evidence = [f"container {container} image {image}: {waiting.get('reason')}",
                    f"message: {short(waiting.get('message', ''))}"]
        pulls = [e for e in self.snap.events_for("Pod", name_of(pod), "Failed")
                 if "ailed to pull" in str(e.get("message", "")) or "nvalid" in str(e.get("message", ""))]
        if pulls:
            evidence.append(f"event Failed (x{pulls[0].get('count', 1)}): {short(pulls[0].get('message'))}")
        target = self._workload_ref(pod)
        fix = (f"Use an image that exists: check the repository and tag of {image} (a private registry also "
               f"needs imagePullSecrets).")
        previous = self._previous_image(pod, container, image)
        if previous:
            revision, good = previous
            evidence.append(f"revision {revision} of {target} ran {good}")
            fix += (f" To go back to the image that worked: set_image (kubectl set image {target} "
                    f"{container}={good} -n {self.snap.namespace}) or rollout_undo (kubectl rollout undo {target} "
                    f"-n {self.snap.namespace}).")
        else:
            fix += (f" Then set it: set_image (kubectl set image {target} {container}=<image:tag> "
                    f"-n {self.snap.namespace}).")
        self._add(key, Finding(kind="Pod", name=name_of(pod), problem=f"cannot pull image {image}",
                               evidence=evidence, suggested_fix=fix))

    def _previous_image(self, pod: Obj, container: str, image: str) -> tuple[str, str] | None:
        owner = self.snap.owner(pod)
        deployment = self.snap.workload("Deployment", owner[1]) if owner and owner[0] == "Deployment" else None
        for rs in self.snap.replicasets_of(deployment) if deployment else []:
            spec = ((rs.get("spec") or {}).get("template") or {}).get("spec") or {}
            old = next((c.get("image") for c in spec.get("containers") or [] if c.get("name") == container), None)
            if old and old != image:
                annotations = (rs.get("metadata") or {}).get("annotations") or {}
                return str(annotations.get("deployment.kubernetes.io/revision", "?")), str(old)
        return None

    def config_error(self, pod: Obj, container: str, waiting: Obj) -> None:
        key = self._seen("config", pod, container)
        if key is None:
            return
        message = str(waiting.get("message", ""))
        what = "ConfigMap" if "configmap" in message.lower() else "Secret" if "secret" in message.lower() else ""
        fix = (f"Create the {what} (or the key) the message names, e.g. with apply_manifest, or fix the reference to "
               f"it in the pod template of {self._workload_ref(pod)}." if what else
               f"Fix the container's configuration in the pod template of {self._workload_ref(pod)}.")
        self._add(key, Finding(kind="Pod", name=name_of(pod), problem=f"container {container} cannot be created",
                               evidence=[f"container {container}: {waiting.get('reason')}: {short(message)}"],
                               suggested_fix=fix))

    def oom(self, pod: Obj, status: Obj, ended: Obj) -> None:
        container = str(status.get("name", ""))
        key = self._seen("oom", pod, container)
        if key is None:
            return
        resources = container_spec(pod, container).get("resources") or {}
        limit = (resources.get("limits") or {}).get("memory")
        request = (resources.get("requests") or {}).get("memory")
        when = age(parse_time(ended.get("finishedAt")), self.snap.now)
        evidence = [f"container {container}: OOMKilled (exit code {ended.get('exitCode', 137)}), "
                    f"{status.get('restartCount', 0)} restarts, last {when} ago"]
        target, ns = self._workload_ref(pod), self.snap.namespace
        size = quantity_bytes(limit)
        if limit and size:
            evidence.append(f"memory limit {limit}" + (f", request {request}" if request else ""))
            bigger = memory_text(size * 2)
            fix = (f"Raise the memory limit above what the program uses: set_resources on {target} container "
                   f"{container} (kubectl set resources {target} -c {container} --limits=memory={bigger} -n {ns}); "
                   f"if its memory keeps growing, look for a leak (get_logs).")
        else:
            evidence.append("no memory limit: the node ran out of memory")
            fix = (f"Give {container} a memory request and limit it fits in (set_resources on {target}), or find "
                   f"what uses the node's memory.")
        self._add(key, Finding(kind="Pod", name=name_of(pod), problem=f"container {container} is killed for using "
                               f"more memory than its limit (OOMKilled)", evidence=evidence, suggested_fix=fix))

    def _killed_by_liveness(self, pod: Obj, container: str, ended: list[Obj]) -> bool:
        if not any(int(t.get("exitCode", 0)) == 137 for t in ended):
            return False
        return any(str(e.get("message", "")).startswith("Liveness") and _container_of(e) in (container, "")
                   for e in self.snap.events_for("Pod", name_of(pod), "Unhealthy"))

    async def crash(self, pod: Obj, status: Obj, ended: Obj) -> None:
        container = str(status.get("name", ""))
        key = self._seen("crash", pod, container)
        if key is None:
            return
        restarts = int(status.get("restartCount", 0))
        waiting = ((status.get("state") or {}).get("waiting") or {}).get("reason")
        evidence = [f"container {container}: {waiting or 'exited'}, {restarts} restarts"]
        if ended:
            when = age(parse_time(ended.get("finishedAt")), self.snap.now)
            evidence.append(f"last exit: code {ended.get('exitCode')}, reason {ended.get('reason', '?')}, "
                            f"{when} ago" + (f": {short(ended['message'])}" if ended.get("message") else ""))
        which = "the previous instance" if restarts > 0 else "the container"
        lines: list[str] = []
        if self.log_reads < MAX_LOG_READS:
            self.log_reads += 1
            lines = await self.logs(pod, container, previous=restarts > 0)
            evidence += [f"last log lines of {which}:", *(f"| {line}" for line in lines)] if lines else \
                [f"no log of {which}"]
        else:
            evidence.append(f"log not read (only the first {MAX_LOG_READS} crashing containers' logs are read)")
        text = "\n".join(lines).lower()
        hint = next((meaning for words, meaning in _LOG_HINTS if any(w in text for w in words)), "")
        target, ns = self._workload_ref(pod), self.snap.namespace
        fix = (f"{hint}Read why it exits (get_logs {name_of(pod)} container={container} previous=true) and fix "
               f"that (its command, environment with set_env, or the ConfigMap/Secret it reads); if a recent change "
               f"broke it, roll back: rollout_undo (kubectl rollout undo {target} -n {ns}).")
        code = ended.get("exitCode")
        self._add(key, Finding(kind="Pod", name=name_of(pod), problem=f"container {container} keeps crashing"
                               + (f" (exit code {code})" if code is not None else ""),
                               evidence=evidence, suggested_fix=fix))

    async def logs(self, pod: Obj, container: str, previous: bool) -> list[str]:
        path = f"/api/v1/namespaces/{self.snap.namespace}/pods/{name_of(pod)}/log"
        try:
            text = await self.cluster.text(path, query={"container": container, "previous": previous,
                                                        "tailLines": LOG_LINES})
        except KaiError:
            return []  # no previous instance, or logs not readable
        lines, _ = tail_lines(text, 400, LOG_LINES)
        return [line.rstrip() if len(line) <= 200 else line[:199] + "…" for line in lines if line.strip()]

    def pending(self, pod: Obj) -> None:
        status = pod.get("status") or {}
        scheduled: Obj = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
        if status.get("phase") != "Pending" or scheduled.get("status") != "False":
            return
        key = self._seen("pending", pod)
        if key is None:
            return
        events = self.snap.events_for("Pod", name_of(pod), "FailedScheduling")
        message = str(scheduled.get("message") or (events[0].get("message") if events else "") or "")
        evidence = [f"PodScheduled=False ({scheduled.get('reason', 'Unschedulable')}): {short(message)}"]
        if events:
            evidence.append(f"FailedScheduling x{events[0].get('count', 1)}, last "
                            f"{age(event_time(events[0]), self.snap.now)} ago")
        for c in (pod.get("spec") or {}).get("containers") or []:
            requests = (c.get("resources") or {}).get("requests") or {}
            if requests:
                evidence.append(f"container {c.get('name')} requests " + ", ".join(
                    f"{k} {v}" for k, v in sorted(requests.items())))
        selector = (pod.get("spec") or {}).get("nodeSelector")
        if selector:
            evidence.append(f"nodeSelector {selector_text(selector)}")
        target, ns, low = self._workload_ref(pod), self.snap.namespace, message.lower()
        if "insufficient" in low:
            what = "cpu" if "insufficient cpu" in low else "memory"
            fix = (f"No node has the {what} the pod requests: lower the request to what a node can hold "
                   f"(set_resources on {target}: kubectl set resources {target} --requests={what}=<less> -n {ns}), "
                   f"scale down other workloads, or add nodes.")
        elif "taint" in low:
            fix = ("The nodes carry taints the pod does not tolerate (a node NotReady, unreachable or cordoned): "
                   "check the nodes (list_resources nodes; uncordon one that was cordoned) or add a toleration.")
        elif "affinity" in low or "selector" in low:
            fix = (f"No node has the labels the pod's nodeSelector/affinity ask for: fix them in {target} or label "
                   f"a node.")
        elif "persistentvolumeclaim" in low or "unbound" in low:
            fix = "A PersistentVolumeClaim of the pod is not bound: describe_resource the claim to see why."
        elif "too many pods" in low:
            fix = "The nodes hold as many pods as they may: scale down other workloads or add nodes."
        else:
            fix = "The scheduler's message says why no node fits: change the pod's requirements or the nodes."
        self._add(key, Finding(kind="Pod", name=name_of(pod), problem="pod cannot be scheduled (Pending)",
                               evidence=evidence, suggested_fix=fix))

    def probes(self, pod: Obj) -> None:
        """Failing probes, from the kubelet's Unhealthy events: one finding per container."""
        groups: dict[str, dict[str, list[Obj]]] = {}
        for event in self.snap.events_for("Pod", name_of(pod), "Unhealthy"):
            kind = str(event.get("message", "")).split(" probe", 1)[0]
            if kind in PROBES:
                container = _container_of(event) or _only_container(pod)
                groups.setdefault(container, {}).setdefault(kind, []).append(event)
        statuses = {str(s.get("name")): s for s in container_statuses(pod)}
        for container, kinds in groups.items():
            status = statuses.get(container, {})
            then = max((t for t in (event_time(e[0]) for e in kinds.values()) if t), default=None)
            recent = then is not None and (self.snap.now - then).total_seconds() < STALE_PROBE_SECONDS
            if status.get("ready") and not recent:
                continue
            key = self._seen("probe", pod, container)
            if key is not None:
                self._add(key, self._probe_finding(pod, container, kinds, status))

    def _probe_finding(self, pod: Obj, container: str, kinds: dict[str, list[Obj]], status: Obj) -> Finding:
        spec = container_spec(pod, container)
        ports = ", ".join(f"{p.get('containerPort')}" + (f" ({p['name']})" if p.get("name") else "")
                          for p in spec.get("ports") or []) or "none declared"
        evidence, fixes = [], []
        target = self._workload_ref(pod)
        where = f"(the probe is in the pod template of {target}: change it with apply_manifest)"
        for kind in (k for k in PROBES if k in kinds):
            events = kinds[kind]
            probe = spec.get(f"{kind.lower()}Probe") or {}
            described, port, path = describe_probe(probe, spec)
            message = str(events[0].get("message", ""))
            count = sum(int(e.get("count", 1)) for e in events)
            evidence += [f"{kind.lower()}Probe: {described}, every {probe.get('periodSeconds', 10)}s, "
                         f"failureThreshold {probe.get('failureThreshold', 3)}",
                         f"Unhealthy x{count}, last {age(event_time(events[0]), self.snap.now)} ago: {short(message)}"]
            low = message.lower()
            if "statuscode: 404" in low:
                fix = f"The app does not serve {path}: point the probe at a path it answers {where}, or fix the app."
            elif re.search(r"statuscode: 5\d\d", low):
                fix = (f"The app answers {path} with an error: it runs but reports itself unhealthy. Read its logs "
                       f"(get_logs {name_of(pod)}) and check what its health check depends on.")
            elif "connection refused" in low or "not found in container" in low:
                fix = (f"Nothing answers on port {port}: the container declares ports {ports}. Make the probe's port "
                       f"the one the app listens on {where}, or check that the app started (get_logs).")
            elif "timeout" in low or "deadline" in low:
                fix = f"The probe times out: raise its timeoutSeconds {where}, or find why the app is slow (get_logs)."
            else:
                fix = f"The probe fails as the message says: fix the check or the app {where}."
            if fix not in fixes:
                fixes.append(fix)
        evidence.append(f"container {container} ready: {bool(status.get('ready'))}, restarts: "
                        f"{status.get('restartCount', 0)}; ports it declares: {ports}")
        names = " and ".join(k.lower() for k in PROBES if k in kinds)
        effects = [PROBES[k] for k in PROBES if k in kinds]
        problem = f"{names} probe{'s' if len(kinds) > 1 else ''} of container {container} fail: " + "; ".join(effects)
        severity: Literal["error", "warning"] = "error" if not status.get("ready") or "Liveness" in kinds \
            else "warning"
        return Finding(kind="Pod", name=name_of(pod), problem=problem, evidence=evidence,
                       suggested_fix=" ".join(fixes), severity=severity)


def describe_probe(probe: Obj, container: Obj) -> tuple[str, str, str]:
    """(what the probe does, its port as a number where known, its HTTP path)."""
    def number(port: Any) -> str:
        if isinstance(port, int) or str(port).isdigit():
            return str(port)
        found = next((p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == port), None)
        return f"{port} ({found})" if found else f"{port} (not a port of the container)"

    if "httpGet" in probe:
        http = probe["httpGet"]
        port, path = number(http.get("port")), str(http.get("path", "/"))
        return f"{http.get('scheme', 'HTTP')} GET {path} on port {port}", port, path
    if "tcpSocket" in probe:
        port = number(probe["tcpSocket"].get("port"))
        return f"TCP connect to port {port}", port, ""
    if "exec" in probe:
        return f"exec {(probe['exec'] or {}).get('command')}", "", ""
    if "grpc" in probe:
        return f"gRPC health check on port {probe['grpc'].get('port')}", str(probe["grpc"].get("port")), ""
    return "no probe", "", ""


def _container_of(event: Obj) -> str:
    match = re.search(r"\{(.+)\}", str((event.get("involvedObject") or {}).get("fieldPath", "")))
    return match.group(1) if match else ""


def _only_container(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[0].get("name", "")) if len(containers) == 1 else ""
