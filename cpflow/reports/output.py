"""Render a report in one format to a file, a folder (CSV) or text (for stdout)."""

from __future__ import annotations

from pathlib import Path

FORMATS = ("xlsx", "html", "md", "json", "csv")
TEXT_FORMATS = ("html", "md", "json")


def render_text(report, fmt: str) -> str:
    from cpflow.reports import html, jsonout, markdown

    if fmt == "html":
        return html.render([report])
    if fmt == "md":
        return markdown.render([report])
    return jsonout.render(report)


def default_path(report, fmt: str) -> Path:
    stem = f"{report.kind}-{report.as_of.isoformat()}"
    return Path(f"{stem}-csv" if fmt == "csv" else f"{stem}.{fmt}")


def write_report(report, fmt: str, path: Path) -> list[Path]:
    """Write the report at `path` (a folder for CSV); returns the files written."""
    from cpflow.paths import output_file, output_folder
    from cpflow.reports import csvout, xlsx

    path = output_folder(path) if fmt == "csv" else output_file(path)
    if fmt == "xlsx":
        return [xlsx.write(report, path)]
    if fmt == "csv":
        return csvout.write(report, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_text(report, fmt), encoding="utf-8", newline="")
    return [path]
