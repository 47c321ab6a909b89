"""``kai mcp-server``: kai's typed tools for MCP clients (Claude Desktop, VS Code, agents),
behind the same policy, approvals and audit as the CLI. The server itself is in
:mod:`app.mcp_server`, imported when the command runs."""

from __future__ import annotations

from pathlib import Path

import click

from .options import cluster_options


def _identity(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not value.startswith("mcp:") or value == "mcp:":
        raise click.BadParameter(f"an MCP identity is mcp:<id> (its calls are audited with source mcp), not {value!r}")
    return value


@click.command(name="mcp-server", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--transport", type=click.Choice(["stdio", "streamable-http"]), default="stdio", show_default=True,
              help="stdio: the client starts kai as its subprocess; streamable-http: kai listens at "
                   "http://HOST:PORT/mcp")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address for streamable-http (there is no authentication: keep it on loopback)")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True,
              help="port for streamable-http")
@click.option("--allow-writes", is_flag=True, help="offer the tools that change the cluster, as far as the policy "
              "lets IDENTITY; a change that needs approval is asked in the client (elicitation), else refused")
@click.option("--identity", default="mcp:default", show_default=True, metavar="mcp:ID", callback=_identity,
              help="the policy identity every call runs as (kai policy show: bindings)")
@cluster_options
@click.option("--database-url", envvar="KAI_DATABASE_URL", help="audit database (default: sqlite in .kai/kai.db)")
def mcp_server(transport: str, host: str, port: int, allow_writes: bool, identity: str, kubeconfig: Path | None,
               kube_context: str | None, namespace: str | None, policy: Path | None, database_url: str | None) -> None:
    """Serve kai's tools over the Model Context Protocol. Read-only unless --allow-writes;
    every call is checked by the policy as IDENTITY and audited (source mcp)."""
    from .mcp_server import ServerOptions, serve

    if transport == "stdio" and click.get_current_context().get_parameter_source("port") == \
            click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--port is for --transport streamable-http")
    options = ServerOptions(identity=identity, allow_writes=allow_writes, kubeconfig=kubeconfig,
                            context=kube_context, namespace=namespace, policy=policy, database_url=database_url)
    serve(options, "stdio" if transport == "stdio" else "streamable-http", host, port)
