"""``python -m sandbox up|down|status|serve|fault|snapshot|restore --state DIR``: the sandbox's
own command line.

``kai sandbox …`` hands its arguments to this module, so the ``app`` layer never
imports the sandbox.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .clock import DEFAULT_SPEED
from .control import (
    SandboxError,
    clear_faults,
    delete_snapshot,
    down,
    free_port,
    inject_fault,
    list_faults,
    list_snapshots,
    restore,
    serve,
    snapshot,
    status,
    up,
    write_kubeconfig,
)
from .controllers.manager import ClusterOptions
from .faults import KINDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kai sandbox", description="The kai sandbox cluster.")
    sub = parser.add_subparsers(dest="command", required=True)
    fault = sub.add_parser("fault", help="start (or clear) an incident: " + ", ".join((*KINDS, "clear")))
    fault.add_argument("--state", type=Path, default=Path(".kai/sandbox"), help="state folder")
    fault.add_argument("kind", nargs="?", choices=(*KINDS, "clear", "list"), default="list")
    fault.add_argument("target", nargs="?", default="",
                       help="deployment/NAME (or NAME), statefulset/NAME, pod/NAME, node/NAME; clear: also all")
    fault.add_argument("-n", "--namespace", default="default")
    snap = sub.add_parser("snapshot", help="save the sandbox's whole state under a name (no name: list them)")
    snap.add_argument("--state", type=Path, default=Path(".kai/sandbox"), help="state folder")
    snap.add_argument("name", nargs="?", default="", help="the snapshot's name")
    snap.add_argument("--delete", action="store_true", help="remove the snapshot instead")
    back = sub.add_parser("restore", help="make the sandbox's state a snapshot's")
    back.add_argument("--state", type=Path, default=Path(".kai/sandbox"), help="state folder")
    back.add_argument("name", help="the snapshot's name")
    for name, text in (("up", "start the sandbox API server"),
                       ("status", "tell whether the sandbox runs"),
                       ("down", "stop the sandbox API server"),
                       ("serve", "run the server in the foreground (used by up)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--state", type=Path, default=Path(".kai/sandbox"),
                         help="state folder (default: .kai/sandbox)")
        if name in ("up", "serve"):
            cmd.add_argument("--port", type=int, default=None, help="port on 127.0.0.1")
            cmd.add_argument("--nodes", type=int, default=1, choices=(1, 2, 3),
                             help="simulated nodes (default 1, shaped like the seed's Minikube)")
            cmd.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                             help=f"simulated seconds per wall-clock second (default {DEFAULT_SPEED:g})")
            cmd.add_argument("--max-pods", type=int, default=110,
                             help="pods each node takes, as the kubelet's maxPods (default 110)")
            cmd.add_argument("--no-controllers", action="store_true",
                             help="the API server alone: no controllers, scheduler or kubelets")
            cmd.add_argument("--audit-log", action="store_true",
                             help="write every request to <state>/audit.log (audit.k8s.io/v1 Events, JSON lines)")
        if name == "up":
            cmd.add_argument("--foreground", action="store_true",
                             help="run in this process instead of the background")
    args = parser.parse_args(argv)
    state: Path = args.state.resolve()
    options = None
    if args.command in ("up", "serve"):
        if args.speed <= 0:
            parser.error("--speed must be positive")
        if args.max_pods < 1:
            parser.error("--max-pods must be at least 1")
        options = ClusterOptions(controllers=not args.no_controllers, nodes=args.nodes, speed=args.speed,
                                 max_pods=args.max_pods, audit_log=args.audit_log)
    try:
        if args.command == "fault":
            return _fault(state, args.kind, args.target, args.namespace, parser)
        if args.command == "snapshot":
            return _snapshot(state, args.name, args.delete, parser)
        if args.command == "restore":
            done = restore(state, args.name)
            print(f"restored {done['name']}: {done['objects']} objects, resourceVersion {done['resourceVersion']}")
            return 0
        if args.command == "serve" or (args.command == "up" and args.foreground):
            port = args.port or free_port()
            path = write_kubeconfig(state, port)
            print(f"kubeconfig: {path}\nexport KUBECONFIG={path}", flush=True)
            serve(state, port, options=options)
            return 0
        if args.command == "up":
            sandbox = up(state, args.port, options=options)
            print(f"sandbox API server at {sandbox.url} (pid {sandbox.pid})")
            print(f"kubeconfig: {sandbox.kubeconfig}")
            print(f"export KUBECONFIG={sandbox.kubeconfig}")
            return 0
        if args.command == "status":
            running = status(state)
            if running is None:
                print(f"no sandbox is running for {state}")
                return 1
            print(f"running at {running.url} (pid {running.pid}), kubeconfig {running.kubeconfig}")
            return 0
        stopped = down(state)
        print("stopped" if stopped else f"no sandbox was running for {state}")
        return 0
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _fault(state: Path, kind: str, target: str, namespace: str, parser: argparse.ArgumentParser) -> int:
    if kind == "list":
        for f in list_faults(state):
            scope = f" -n {f['namespace']}" if f["namespace"] else ""
            print(f"{f['kind']} {f['target']}{scope} (since {f['created']})")
        return 0
    if not target:
        parser.error(f"fault {kind} needs a target")
    if kind == "clear":
        gone = clear_faults(state, target, namespace)
        print(f"cleared {len(gone)} fault(s)" + (": " + ", ".join(f"{f['kind']} {f['target']}" for f in gone)
                                                 if gone else ""))
        return 0
    made = inject_fault(state, kind, target, namespace)
    scope = f" in namespace {made['namespace']}" if made["namespace"] else ""
    print(f"{made['kind']} on {made['target']}{scope}")
    return 0


def _snapshot(state: Path, name: str, delete: bool, parser: argparse.ArgumentParser) -> int:
    if not name:
        if delete:
            parser.error("snapshot --delete needs a name")
        for s in list_snapshots(state):
            print(f"{s['name']}: {s['objects']} objects, resourceVersion {s['resourceVersion']} "
                  f"(saved {s['created']})")
        return 0
    if delete:
        gone = delete_snapshot(state, name)
        print(f"deleted snapshot {gone['name']}")
        return 0
    saved = snapshot(state, name)
    print(f"saved {saved['name']}: {saved['objects']} objects, resourceVersion {saved['resourceVersion']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
