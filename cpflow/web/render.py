"""Pages: one Jinja2 environment (autoescaped; user text is never marked safe), templates
that extend one base, and the context every page gets (the viewer, the CSRF token, the
CSP nonce). JSON for /api/v1 goes through cpflow.safe_output like every other output."""

from __future__ import annotations

import functools
import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from cpflow.safe_output import to_jsonable


@functools.cache
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("cpflow.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from cpflow.reports.cells import figure_text

    env.globals["figure_text"] = figure_text
    return env


def csrf_token(request: Request) -> str:
    from cpflow.web.auth import read_session

    session = read_session(request)
    return session.csrf if session else ""


def page(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> HTMLResponse:
    from cpflow.web.auth import current_viewer

    try:
        viewer = current_viewer(request)
    except Exception:  # noqa: BLE001 (an error page must render even when the database cannot be read)
        viewer = None
    html = environment().get_template(name).render(
        request=request, viewer=viewer, csrf=csrf_token(request), nonce=request.scope.get("state", {}).get("csp_nonce", ""),
        htmx=request.headers.get("hx-request") == "true", **(context or {}),
    )  # fmt: skip
    return HTMLResponse(html, status_code=status_code)


def partial(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """An htmx fragment (no base), with the same context as a page."""
    return page(request, name, context)


def json_response(data: Any, status_code: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(to_jsonable(data), ensure_ascii=False, indent=2)
    return Response(body + "\n", status_code=status_code, media_type="application/json", headers=headers)
