"""``kai serve``: the Slack webhook, the JSON API, health and metrics on uvicorn."""

from __future__ import annotations

from pathlib import Path

import click

from .options import cluster_options


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@cluster_options
@click.option("--database-url", help="Audit database (else KAI_DATABASE_URL, SQLite under KAI_STATE_DIR).")
@click.option("--workers", type=click.IntRange(1, 64), help="Requests run at once (else KAI_WORKERS, 4).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(host: str, port: int, kubeconfig: Path | None, kube_context: str | None, namespace: str | None,
          policy: Path | None, database_url: str | None, workers: int | None, log_level: str) -> None:
    """Serve kai over HTTP: Slack slash commands and approval buttons, the JSON API
    (/v1/chat, /v1/approvals/ID), /healthz, /readyz and /metrics. Settings come from the
    environment (see .env.example); flags win."""
    import uvicorn

    from .serve.app import create_app
    from .serve.service import Service
    from .serve.settings import Settings

    settings = Settings.from_env(kubeconfig=kubeconfig, context=kube_context, namespace=namespace, policy=policy,
                                 database_url=database_url, workers=workers)
    app = create_app(settings, Service(settings))  # built here: a bad setting is an error before listening
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug",
                timeout_graceful_shutdown=20)
