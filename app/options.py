"""Options that every command reaching a cluster takes, declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def cluster_options(command: F) -> F:
    """``--kubeconfig``, ``--context`` (as ``kube_context``), ``-n/--namespace`` and ``--policy``."""
    for option in reversed([
        click.option("--kubeconfig", type=click.Path(path_type=Path), help="kubeconfig (default: $KUBECONFIG, "
                     "~/.kube/config, a pod's ServiceAccount, else kai's sandbox)"),
        click.option("--context", "kube_context", help="kubeconfig context (default: the current one)"),
        click.option("-n", "--namespace", help="default namespace (default: the context's)"),
        click.option("--policy", type=click.Path(path_type=Path, dir_okay=False), envvar="KAI_POLICY",
                     help="policy file over the default (kai policy show)"),
    ]):
        command = option(command)
    return command
