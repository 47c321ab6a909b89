"""The state of one simulated container, and its entry in a pod's status."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .. import timefmt

Obj = dict[str, Any]


@dataclass
class ContainerState:
    name: str
    image: str
    init: bool = False
    sidecar: bool = False  # an init container with restartPolicy Always
    image_id: str = ""
    container_id: str = ""
    restart_count: int = 0
    started: bool = False
    ready: bool = False
    serving: bool = False
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    done: bool = False  # finished for good (init containers, run-to-completion)
    exit_code: int | None = None
    pull_backoff: float = 10.0  # seconds before the next pull, doubling to 5 minutes

    def waiting(self, reason: str, message: str = "") -> None:
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.ready = self.started = self.serving = False

    def running(self) -> None:
        self.container_id = secrets.token_hex(32)
        self.state = {"running": {"startedAt": timefmt.rfc3339()}}
        self.started = True
        self.ready = False

    def terminated(self, code: int, reason: str, message: str = "") -> Obj:
        started = (self.state.get("running") or {}).get("startedAt", timefmt.rfc3339())
        term: Obj = {"exitCode": code, "reason": reason, "startedAt": started,
                     "finishedAt": timefmt.rfc3339(), "containerID": f"docker://{self.container_id}"}
        if message:
            term["message"] = message
        self.state = {"terminated": term}
        self.ready = self.started = self.serving = False
        self.exit_code = code
        return term

    def resume(self, entry: Obj) -> None:
        """Take the container back as its entry in the pod's status records it (the kubelet
        restarted while it ran)."""
        self.image_id = str(entry.get("imageID") or "")
        self.container_id = str(entry.get("containerID") or "").removeprefix("docker://")
        self.restart_count = int(entry.get("restartCount") or 0)
        self.started = bool(entry.get("started"))
        self.ready = bool(entry.get("ready"))
        self.state = dict(entry.get("state") or self.state)
        self.last_state = dict(entry.get("lastState") or {})
        terminated = self.state.get("terminated")
        if terminated is not None:
            self.exit_code = int(terminated.get("exitCode") or 0)
            # an init container that succeeded; an app container that ended for good (none to restart)
            self.done = self.exit_code == 0 if self.init and not self.sidecar else not self.last_state

    def status(self) -> Obj:
        entry: Obj = {
            "name": self.name, "image": self.image, "imageID": self.image_id,
            "ready": self.ready, "restartCount": self.restart_count, "started": self.started,
            "state": self.state, "lastState": self.last_state,
        }
        if self.container_id:
            entry["containerID"] = f"docker://{self.container_id}"
        return entry
