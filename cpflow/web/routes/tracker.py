"""The tracker spreadsheet in the browser: download it for a plan, upload a filled one.
The download is the file `cpflow tracker export` writes; an upload is size- and
type-checked, then parsed by the same `cpflow.tracker.import_tracker` as `cpflow tracker
import`, so its row errors (and nothing written) are the CLI's."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from cpflow.errors import BadInput, CpflowError, PlanFileError
from cpflow.web.auth import Access, plan_access, require_submitter
from cpflow.web.errors import TooLarge, message_for, status_for
from cpflow.web.render import json_response

pages = APIRouter(tags=["tracker"])
api = APIRouter(tags=["tracker"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 5 * 1024 * 1024  # a tracker of 100k activities is about 4 MB
ZIP_MAGIC = b"PK\x03\x04"  # every .xlsx is a zip


def tracker_file(request: Request, access: Access) -> Response:
    from cpflow.clock import today
    from cpflow.tracker import export_tracker

    name = f"tracker-{access.slug}-{today().isoformat()}.xlsx"
    with tempfile.TemporaryDirectory(prefix="cpflow-web-") as tmp:
        export_tracker(request.app.state.db, access.slug, Path(tmp) / name)
        body = (Path(tmp) / name).read_bytes()
    return Response(body, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'})


def _upload_name(filename: str | None) -> str:
    """The name the row errors cite: the uploaded file's own name, reduced to safe characters."""
    base = Path((filename or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base)[:120].strip(" .") or "tracker.xlsx"
    return base


def upload(request: Request, access: Access, file: UploadFile | None) -> dict:
    """Check the upload (present, at most MAX_UPLOAD, an .xlsx workbook), then import it as the signed-in account."""
    from cpflow.tracker import import_tracker

    require_submitter(access, "uploading a tracker")
    # csrf_guard parsed the form first, so this is Starlette's UploadFile, not FastAPI's subclass.
    if file is None or not isinstance(file, StarletteUpload) or not file.filename:
        raise BadInput("choose the filled tracker (.xlsx) to upload")
    name = _upload_name(file.filename)
    body = file.file.read(MAX_UPLOAD + 1)
    if len(body) > MAX_UPLOAD:
        raise TooLarge(f"{name}: a tracker upload is at most {MAX_UPLOAD // (1024 * 1024)} MB; nothing was written")
    if not name.lower().endswith(".xlsx") or not body.startswith(ZIP_MAGIC):
        raise BadInput(f"{name}: not an .xlsx workbook; upload the tracker downloaded from this page, filled in Excel")
    with tempfile.TemporaryDirectory(prefix="cpflow-web-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        try:
            result = import_tracker(request.app.state.db, path, by=access.viewer.login, plugins=request.app.state.plugins,
                                    plan=access.slug)  # fmt: skip
        except CpflowError as exc:
            raise _named(exc, str(path), name) from None
    return {"source": result.source, "plan": result.plan, "submitted": result.submitted, "recorded": result.recorded,
            "unchanged": result.unchanged, "summary": result.summary()}  # fmt: skip


def _named(exc: CpflowError, path: str, name: str) -> CpflowError:
    """The importer's error with the server's temporary path replaced by the uploaded file's name."""
    if path not in str(exc):
        return exc
    if isinstance(exc, PlanFileError):
        return PlanFileError(exc.source.replace(path, name), [p.replace(path, name) for p in exc.problems])
    return type(exc)(str(exc).replace(path, name), field=exc.field)


def _problems(exc: CpflowError) -> list[str]:
    if isinstance(exc, PlanFileError):
        return list(exc.problems)
    lines = message_for(exc).splitlines()
    return lines[1:]


# --- /api/v1 ------------------------------------------------------------------------------


@api.get("/plans/{plan}/tracker")
def tracker_api(request: Request, access: Access = Depends(plan_access)):
    """The tracker spreadsheet (xlsx) members fill in, as `cpflow tracker export` writes it."""
    return tracker_file(request, access)


@api.post("/plans/{plan}/tracker")
def upload_api(request: Request, file: UploadFile | None = File(None), access: Access = Depends(plan_access)):
    """Upload a filled tracker (multipart field `file`): a member's rows become submissions, a
    lead's are recorded. 400 with every row problem in `problems` and nothing written; 413 above 5 MB."""
    try:
        return json_response(upload(request, access, file), status_code=201)
    except CpflowError as exc:
        first = message_for(exc).splitlines()[0]
        return json_response({"error": first, "problems": _problems(exc)}, status_code=status_for(exc))


# --- pages --------------------------------------------------------------------------------


@pages.get("/plans/{plan}/tracker", include_in_schema=False)
def tracker_page(request: Request, access: Access = Depends(plan_access)):
    return tracker_file(request, access)


@pages.post("/plans/{plan}/tracker", include_in_schema=False)
def upload_form(request: Request, file: UploadFile | None = File(None), access: Access = Depends(plan_access)):
    from cpflow.web.routes.reports import reports_view

    try:
        done = upload(request, access, file)
    except CpflowError as exc:
        error = message_for(exc).splitlines()[0]
        return reports_view(request, access, error=error, problems=_problems(exc), status=status_for(exc))
    counts = f"submitted={len(done['submitted'])}&recorded={len(done['recorded'])}&unchanged={done['unchanged']}"
    return RedirectResponse(f"/plans/{access.slug}/reports?{counts}", status_code=303)
