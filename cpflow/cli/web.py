"""`cpflow serve`: the web app (needs the `web` extra)."""

from __future__ import annotations

import click

from cpflow.cli.common import Context, pass_ctx


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless told otherwise).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--behind-proxy", is_flag=True,
              help="Trust X-Forwarded-For/-Proto from the proxy on loopback (client address, https for Secure cookies).")  # fmt: skip
@pass_ctx
def serve(c: Context, host: str, port: int, workers: int, behind_proxy: bool) -> None:
    """Serve the working group's web app and JSON API (docs/deployment.md)."""
    import importlib.util
    import os

    from cpflow.errors import BadInput

    missing = [name for name in ("fastapi", "uvicorn", "multipart", "itsdangerous") if importlib.util.find_spec(name) is None]
    if missing:
        raise BadInput(f"the web app needs the web extra: pip install 'cpflow[web]' ({', '.join(missing)} missing)")
    import uvicorn

    c.db.require_schema()
    os.environ["CPFLOW_DB"] = c.db.url.render_as_string(hide_password=False)
    click.echo(f"cpflow serves {c.db.display_url} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(
        "cpflow.web.serve:app", factory=True, host=host, port=port, workers=workers, proxy_headers=behind_proxy,
        forwarded_allow_ips="127.0.0.1" if behind_proxy else None, server_header=False, log_level="info",
    )  # fmt: skip


COMMANDS = (serve,)
