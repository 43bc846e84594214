"""Headers on every response and the request size limit, as plain ASGI middleware.

The Content-Security-Policy names no other origin: scripts only from cpflow itself or
with this response's nonce, no framing, no form posting elsewhere."""

from __future__ import annotations

import secrets

from fastapi import Request

MAX_BODY = 10 * 1024 * 1024  # an upload (a tracker spreadsheet) above this is refused with 413


def csp(nonce: str) -> str:
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeaders:
    def __init__(self, app, max_body: int = MAX_BODY):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        extra = [
            (b"content-security-policy", csp(nonce).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in {h for h, _ in extra}]
                if not any(k.lower() == b"cache-control" for k, _ in headers) and not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                await _plain(send_with_headers, scope, 413, f"the request is larger than {self.max_body // (1024 * 1024)} MB")
                return
            if length is None and b"chunked" in headers.get(b"transfer-encoding", b""):
                await _plain(send_with_headers, scope, 411, "send a Content-Length with the request")
                return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # noqa: BLE001 (the edge: a bug is a 500 with the same headers, never a traceback)
            if started:
                raise
            await _plain(send_with_headers, scope, 500, "internal error (a bug in cpflow; the server log has the traceback)")
            raise


async def _plain(send, scope, status: int, message: str) -> None:
    import json

    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body, kind = f"{status}: {message}\n".encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def refuse_nul(request: Request) -> None:
    """A NUL character in the address, the query, a form field or a JSON body is refused with
    400 before any route reads it: PostgreSQL text cannot hold one (a 500 there), and the
    CLI's arguments cannot carry one, so SQLite must not store one either (plan files refuse
    it the same way). An uploaded file's bytes are the importer's to check."""
    from cpflow.plans.values import NUL_IN_TEXT
    from cpflow.web.errors import WebError

    found = _has_nul(request.url.path) or any(_has_nul(k) or _has_nul(v) for k, v in request.query_params.multi_items())
    kind = request.headers.get("content-type", "")
    if not found and request.method not in ("GET", "HEAD", "OPTIONS"):
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            found = any(_has_nul(k) or _has_nul(v) for k, v in form.multi_items() if isinstance(v, str))
        elif kind.startswith("application/json"):
            try:
                found = _has_nul(await request.json())
            except ValueError:
                found = False  # not JSON: the route's validation says so
    if found:
        raise WebError(f"the request's {NUL_IN_TEXT}")
