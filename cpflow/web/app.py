"""`create_app(db)`: the FastAPI app over one database. No module-level state: each call
builds a new app, so tests build one per database and workers share nothing but the
database."""

from __future__ import annotations

from importlib.resources import files

from fastapi import Depends, FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from cpflow.db import Database
from cpflow.web import errors, store
from cpflow.web.auth import csrf_guard
from cpflow.web.derived import DerivedCache
from cpflow.web.security import SecurityHeaders, refuse_nul


def create_app(db: Database | str | None = None, *, plugins=None) -> FastAPI:
    """The web app for `db` (a Database or a URL); its tables are created when missing."""
    from cpflow.web.routes import accounts, plans, records, reports, review, session, tokens, tracker

    if not isinstance(db, Database):
        db = Database(db)
    store.ensure_tables(db)
    app = FastAPI(
        title="cpflow", version=_version(), docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
        dependencies=[Depends(refuse_nul), Depends(csrf_guard)],
        description="The working group's plans, progress and review queue. Errors are JSON `{\"error\": message}`.",
    )  # fmt: skip
    app.state.db = db
    app.state.secret = store.signing_secret(db)
    if plugins is None:
        from cpflow.plugins.manager import get_plugins

        plugins = get_plugins()
    app.state.plugins = plugins
    app.state.derived = DerivedCache()  # keyed by the record's head: it changes how fast, never what
    errors.install(app)
    app.mount("/static", StaticFiles(packages=[("cpflow.web", "static")]), name="static")

    @app.get("/static-report/report.css", include_in_schema=False)
    def report_css() -> Response:
        css = files("cpflow.reports").joinpath("templates/report.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"cache-control": "public, max-age=3600"})

    for module in (session, plans, records, review, reports, tracker, tokens, accounts):
        app.include_router(module.pages)
        app.include_router(module.api, prefix="/api/v1")
    app.add_middleware(SecurityHeaders)
    return app


def _version() -> str:
    from cpflow import __version__

    return __version__
