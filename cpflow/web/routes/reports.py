"""Downloads: one report in any format, or the review pack as a zip holding the very
files `cpflow report pack` writes (the same builder, the same bytes), as of a date and
since a date."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cpflow.errors import BadInput
from cpflow.web.auth import Access, plan_access
from cpflow.web.render import page
from cpflow.web.routes.common import date_param

pages = APIRouter(tags=["reports"])
api = APIRouter(tags=["reports"])

KINDS = ("progress", "compliance")
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "csv": "application/zip",
}


def _options(access: Access, as_of: str | None, since: str | None):
    from cpflow.clock import today
    from cpflow.reports.build import ReportOptions

    return ReportOptions(as_of=date_param("as_of", as_of) or today(), plans=(access.slug,), since=date_param("since", since))


def _download(body: bytes, media: str, name: str) -> Response:
    # Downloaded reports are files, never rendered in the app's origin (an html report is inert anyway: its own CSP).
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


def _zip(folder: Path, names: list[str]) -> bytes:
    """The files in a zip with fixed timestamps, so the same pack gives the same zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(f"{folder.name}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / name).read_bytes())
    return out.getvalue()


def report_file(request: Request, access: Access, kind: str, fmt: str, as_of: str | None, since: str | None) -> Response:
    from cpflow.reports.build import build_reports
    from cpflow.reports.output import FORMATS, default_path, render_text, write_report

    if kind not in KINDS:
        raise BadInput(f"unknown report {kind!r}; reports are {', '.join(KINDS)} (or the pack)")
    if fmt not in FORMATS:
        raise BadInput(f"format: unknown format {fmt!r}; formats are {', '.join(FORMATS)}")
    options = _options(access, as_of, None if kind == "compliance" else since)
    (report,), _ = build_reports(request.app.state.db, (kind,), options, request.app.state.plugins)
    name = default_path(report, fmt).name
    if fmt in ("html", "md", "json"):
        return _download(render_text(report, fmt).encode("utf-8"), MEDIA[fmt], name)
    with tempfile.TemporaryDirectory(prefix="cpflow-web-") as tmp:
        written = write_report(report, fmt, Path(tmp) / name)
        if fmt == "xlsx":
            return _download(written[0].read_bytes(), MEDIA[fmt], name)
        return _download(_zip(Path(tmp) / name, sorted(p.name for p in written)), MEDIA["csv"], f"{name}.zip")


def pack_file(request: Request, access: Access, as_of: str | None, since: str | None) -> Response:
    from cpflow.reports.pack import write_pack

    options = _options(access, as_of, since)
    with tempfile.TemporaryDirectory(prefix="cpflow-web-") as tmp:
        folder = Path(tmp) / f"pack-{options.as_of.isoformat()}"
        written = write_pack(request.app.state.db, options, folder, request.app.state.plugins)
        return _download(_zip(folder, [p.name for p in written]), "application/zip", f"{folder.name}.zip")


def reports_view(request: Request, access: Access, *, notice: str | None = None, error: str | None = None,
                 problems: list[str] | None = None, status: int = 200):  # fmt: skip
    """The downloads, and the tracker upload with the row problems of the last one."""
    from cpflow.clock import today
    from cpflow.reports.output import FORMATS

    context = {"access": access, "formats": FORMATS, "kinds": KINDS, "today": today(), "notice": notice, "error": error,
               "problems": problems or []}  # fmt: skip
    return page(request, "reports.html.j2", context, status_code=status)


@pages.get("/plans/{plan}/reports", include_in_schema=False)
def reports_page(request: Request, access: Access = Depends(plan_access), submitted: int | None = None,
                 recorded: int | None = None, unchanged: int | None = None):  # fmt: skip
    notice = None
    if submitted is not None or recorded is not None:
        notice = (f"tracker imported: {submitted or 0} submitted for review, {recorded or 0} recorded, "
                  f"{unchanged or 0} unchanged")  # fmt: skip
    return reports_view(request, access, notice=notice)


@pages.get("/plans/{plan}/reports/pack.zip", include_in_schema=False)
def pack_page(request: Request, access: Access = Depends(plan_access), as_of: str | None = None, since: str | None = None):
    return pack_file(request, access, as_of, since)


@pages.get("/plans/{plan}/reports/{kind}", include_in_schema=False)
def report_page(request: Request, kind: str, access: Access = Depends(plan_access), format: str = "xlsx",
                as_of: str | None = None, since: str | None = None):  # fmt: skip
    return report_file(request, access, kind, format, as_of, since)


@api.get("/plans/{plan}/reports/pack.zip")
def pack_api(request: Request, access: Access = Depends(plan_access), as_of: str | None = None, since: str | None = None):
    """The review pack as a zip: the files and manifest `cpflow report pack` writes, byte for byte."""
    return pack_file(request, access, as_of, since)


@api.get("/plans/{plan}/reports/{kind}")
def report_api(request: Request, kind: str, access: Access = Depends(plan_access), format: str = "xlsx",
               as_of: str | None = None, since: str | None = None):  # fmt: skip
    """One report (`progress` or `compliance`) in xlsx, html, md, json or csv (a zip of the CSV files)."""
    return report_file(request, access, kind, format, as_of, since)
