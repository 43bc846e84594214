"""The web app's error edge: cpflow's exceptions and the app's own become one clear
message with the status that says what happened — JSON `{"error": ...}` under /api/v1,
a page (or the sign-in redirect) elsewhere."""

from __future__ import annotations

from urllib.parse import quote

from cpflow.errors import BusyError, ConflictError, CpflowError, NotFound
from cpflow.replay import CacheMismatch

# How to give, in a form, the input a service error names in its `field`.
FIELD_HINTS = {"actor": "", "reason": " (fill in the reason)", "received": " (give the amount received, a budget or both)"}


class WebError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotSignedIn(WebError):
    status = 401


class Forbidden(WebError):
    status = 403


class PageNotFound(WebError):
    status = 404


class TooLarge(WebError):
    status = 413


class Throttled(WebError):
    status = 429


def status_for(exc: Exception) -> int:
    if isinstance(exc, WebError):
        return exc.status
    if isinstance(exc, CacheMismatch):  # the record was edited beside cpflow: not the request's fault
        return 500
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, BusyError):
        return 503
    return 400


def message_for(exc: Exception) -> str:
    if isinstance(exc, CpflowError):
        text = str(exc)
        return text + FIELD_HINTS.get(exc.field or "", "")
    return getattr(exc, "message", str(exc))


def wants_json(request) -> bool:
    return request.url.path.startswith("/api/")


def install(app) -> None:
    """Register the handlers on the app."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, RedirectResponse
    from pydantic import ValidationError
    from starlette.exceptions import HTTPException

    from cpflow.web.render import page

    def respond(request, status: int, message: str):
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=status)
        if status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return page(request, "error.html.j2", {"status": status, "message": message}, status_code=status)

    async def on_error(request, exc):
        return respond(request, status_for(exc), message_for(exc))

    async def on_validation(request, exc):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form"))
        return respond(request, 400, f"{where or 'request'}: {first.get('msg', 'invalid input')}")

    async def on_http(request, exc: HTTPException):
        messages = {404: f"no page at {request.url.path}", 405: f"{request.method} is not allowed here"}
        return respond(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    app.add_exception_handler(WebError, on_error)
    app.add_exception_handler(CpflowError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(ValidationError, on_validation)
