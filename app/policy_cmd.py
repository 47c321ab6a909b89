"""``kai policy``: show the effective policy, check a policy file."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def policy() -> None:
    """The guard's policy: modes, namespaces, roles, bounds, protected objects."""


@policy.command()
@click.option("--policy", "path", type=click.Path(path_type=Path), envvar="KAI_POLICY",
              help="policy file (default: $KAI_POLICY, else the shipped default)")
@click.option("--default", "show_default", is_flag=True, help="print the shipped default, with its comments")
def show(path: Path | None, show_default: bool) -> None:
    """Print the effective policy: the file given over the defaults."""
    from tools import policy as policies

    if show_default:
        click.echo(policies.default_text(), nl=False)
        return
    click.echo(policies.dump(policies.load(path)), nl=False)


@policy.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def check(file: Path) -> None:
    """Validate a policy FILE: each problem with its line and field."""
    from tools import policy as policies

    loaded = policies.load(file)
    bound = sum(len(v) for v in loaded.bindings.values())
    click.echo(f"{file}: valid (mode {loaded.mode}, {len(loaded.roles)} roles, {bound} bindings)")
