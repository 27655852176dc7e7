"""``ris serve``: the HTTP API and the web page over the system the global options open."""

from __future__ import annotations

import os

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.errors import BackendUnavailableError, ConfigurationError

__all__ = ["serve"]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--token",
    envvar="RIS_TOKEN",
    default=None,
    help="API token, required off loopback. Prefer $RIS_TOKEN: a command line is visible to other users.",
)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--max-upload-mb", type=click.FloatRange(min=0.001), default=32.0, show_default=True, help="Largest upload."
)
@click.option(
    "--folder",
    "folders",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="A server folder the page may ingest from and move duplicates into (repeatable).",
)
@click.option("--allow-origin", "origins", multiple=True, help="Another origin allowed to call the API (repeatable).")
@click.option("--thumbnails", type=click.Path(file_okay=False), help="Thumbnail cache (default: $RIS_HOME/thumbnails).")
@pass_state
def serve(
    state: CliState,
    host: str,
    port: int,
    token: str | None,
    workers: int,
    max_upload_mb: float,
    folders: tuple[str, ...],
    origins: tuple[str, ...],
    thumbnails: str | None,
) -> None:
    """Serve the HTTP API and the web page (see /openapi.json for the routes).

    Off loopback (--host other than 127.0.0.1, ::1 or localhost) a token is required.
    """
    try:
        import uvicorn

        from ris_core.server import ServerSettings, create_app
        from ris_core.server.settings import is_loopback
    except ImportError as exc:
        raise BackendUnavailableError(f"ris serve needs the server extra: pip install 'ris[server]' ({exc})") from exc
    if not is_loopback(host) and not token:
        raise ConfigurationError(
            f"refusing to listen on {host!r} without a token: set $RIS_TOKEN (or --token), or listen on 127.0.0.1"
        )
    settings = ServerSettings(
        backend=state.backend,
        options=dict(state.options),
        catalog=state.catalog,
        host=host,
        port=port,
        token=token or None,
        max_upload=int(max_upload_mb * 1024 * 1024),
        folders=tuple(os.path.abspath(folder) for folder in folders),
        origins=origins,
        thumbnails=thumbnails,
    )
    # Opened here first, so a bad backend or option fails before anything listens.
    system = state.system()
    click.echo(f"ris serve: http://{host}:{port}/ ({system.backend_name} backend, {workers} worker(s))", err=True)
    if workers == 1:
        uvicorn.run(create_app(settings, system), host=host, port=port, log_level="info")
        return
    os.environ.update(settings.to_environment())
    uvicorn.run(
        "ris_core.server.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
        log_level="info",
    )  # fmt: skip
