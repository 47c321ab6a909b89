"""The ``kai`` command line.

Start-up stays instant: subcommands import what they need when they run.
"""

from __future__ import annotations

import os
import sys

import click

VERSION = "0.1.0"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="kai")
def main() -> None:
    """kai: turn plain sentences into guarded Kubernetes and Helm operations."""


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                      "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def sandbox(args: tuple[str, ...]) -> None:
    """Run the sandbox cluster: up, status, down (see `kai sandbox --help`).

    The sandbox is a Kubernetes API server of kai's own that real kubectl, the
    Python client and Helm use over HTTPS. It runs as its own process, so this
    command hands its arguments to `python -m sandbox`.
    """
    os.execv(sys.executable, [sys.executable, "-m", "sandbox", *args])
