"""The ``kai`` command line.

Start-up stays instant: subcommands import what they need when they run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from tools.errors import KaiError

from .ask_cmd import ask
from .audit_cmd import audit
from .eval_cmd import eval_
from .mcp_cmd import mcp_server
from .policy_cmd import policy
from .serve_cmd import serve

VERSION = "0.1.0"
REPO = Path(__file__).resolve().parent.parent
TODO_CHART = REPO / "helm" / "todo-app"
DEFAULT_STATE = Path(".kai/sandbox")


class KaiGroup(click.Group):
    """``kai COMMAND …`` for the subcommands, ``kai [FLAGS] [QUERY]`` for everything else (as
    kubectl-ai takes it), and the one place the CLI turns kai's errors into a message: one red
    line, exit 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help", "--version")):
            args = [ASK, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KaiError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("kai", "[FLAGS] [QUERY]...\n    kai COMMAND [ARGS]...")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The query's flags first (they are what people use), then the commands."""
        ask_cmd = self.commands[ASK]
        with click.Context(ask_cmd, info_name="kai", parent=None) as sub:
            ask_cmd.format_options(sub, formatter)
        self.format_commands(ctx, formatter)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in super().list_commands(ctx) if name != ASK]


ASK = "ask"


@click.group(cls=KaiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="kai")
def main() -> None:
    """kai: turn plain sentences into guarded Kubernetes and Helm operations.

    \b
    kai "scale backend to 3"                one query, then exit
    kubectl logs deploy/x | kai "explain"   stdin joins the query
    kai                                     the REPL (in a terminal)
    make chat                               the REPL on kai's sandbox with the todo stack
    """


main.add_command(ask)
main.add_command(policy)
main.add_command(audit)
main.add_command(mcp_server)
main.add_command(serve)
main.add_command(eval_)


@main.command()
def version() -> None:
    """Print kai's version."""
    click.echo(f"kai {VERSION}")


@main.group()
def sandbox() -> None:
    """The sandbox cluster: a Kubernetes API server of kai's own, with simulated nodes
    and pods, that real kubectl, the Python client and Helm use over HTTPS."""


def _sandbox(*args: str) -> int:
    """Run ``python -m sandbox`` (the sandbox is its own process, reached over HTTP)."""
    return subprocess.run([sys.executable, "-m", "sandbox", *args], check=False).returncode


STATE = click.option("--state", type=click.Path(path_type=Path), default=DEFAULT_STATE, show_default=True,
                     help="state folder: the store, token, CA and kubeconfig")


@sandbox.command()
@STATE
@click.option("--port", type=int, help="port on 127.0.0.1 (default: the last one, or a free one)")
@click.option("--nodes", type=click.IntRange(1, 3), default=1, show_default=True,
              help="simulated nodes, shaped like the seed's Minikube (4 CPUs, 6 GiB)")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="simulated seconds per wall-clock second")
@click.option("--no-controllers", is_flag=True, help="the API server alone: no controllers, scheduler or kubelets")
@click.option("--foreground", is_flag=True, help="run in this terminal instead of the background")
@click.option("--with-todo-app", is_flag=True,
              help="install the todo stack (helm/todo-app) into namespace todo-app and wait until it is ready")
def up(state: Path, port: int | None, nodes: int, speed: float, no_controllers: bool, foreground: bool,
       with_todo_app: bool) -> None:
    """Start the sandbox and print its kubeconfig."""
    args = ["up", "--state", str(state), "--nodes", str(nodes), "--speed", str(speed)]
    if port is not None:
        args += ["--port", str(port)]
    if no_controllers:
        args.append("--no-controllers")
    if with_todo_app and foreground:
        raise click.UsageError("--with-todo-app needs the sandbox in the background")
    if with_todo_app and no_controllers:
        raise click.UsageError("--with-todo-app needs the controllers (drop --no-controllers)")
    if foreground:
        os.execv(sys.executable, [sys.executable, "-m", "sandbox", *args, "--foreground"])
    code = _sandbox(*args)
    if code or not with_todo_app:
        sys.exit(code)
    install_todo_app(state.resolve() / "kubeconfig")


def install_todo_app(kubeconfig: Path) -> None:
    """The seed's todo stack as Helm release todo-app, revision 1, all pods ready."""
    from tools import helm

    try:
        current = helm.status(kubeconfig, "todo-app", "todo-app")
        if current is not None:
            click.echo(f"todo-app is installed: revision {current.revision}, {current.status}")
            return
        click.echo("installing todo-app (Helm, waiting until its pods are ready)")
        release = helm.install(kubeconfig, TODO_CHART, "todo-app", "todo-app", wait=True)
    except helm.HelmError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"todo-app installed: revision {release.revision}, {release.status}, chart {release.chart}")


@sandbox.command()
@STATE
@click.argument("kind", default="list")
@click.argument("target", required=False, default="")
@click.option("-n", "--namespace", default="default", show_default=True)
def fault(state: Path, kind: str, target: str, namespace: str) -> None:
    """Start an incident of KIND on TARGET (deployment/NAME or NAME, statefulset/NAME, pod/NAME,
    node/NAME), `clear` the ones on TARGET (or `all`), or `list` them.

    \b
    crashloop   containers crash on start        image-pull  a deploy to a missing tag
    oom         memory grows past the limit      probe-fail  health checks answer 503
    pending     a deploy asking for 64 CPUs      node-down   the node's kubelet stops
    slow-start  minutes before serving           high-cpu    CPU burns (drives the HPA)
    """
    args = ["fault", "--state", str(state), kind]
    if target:
        args.append(target)
    sys.exit(_sandbox(*args, "--namespace", namespace))


@sandbox.command()
@STATE
def status(state: Path) -> None:
    """Tell whether the sandbox runs."""
    sys.exit(_sandbox("status", "--state", str(state)))


@sandbox.command()
@STATE
def down(state: Path) -> None:
    """Stop the sandbox (its state stays for the next `up`)."""
    sys.exit(_sandbox("down", "--state", str(state)))
