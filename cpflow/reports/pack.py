"""`cpflow report pack`: the folder a governance review reads, with a manifest that
says what it was built from (as-of and since dates, rule selection, cpflow version,
event-log head) and the SHA-256 of every file, so anyone can check it later."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cpflow.errors import BadInput
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.reports.jsonout import dumps
from cpflow.safe_output import to_jsonable

FILES = ("progress.xlsx", "compliance.xlsx", "report.html", "report.md", "findings.json")
MANIFEST = "manifest.json"
FINDINGS_VERSION = 1
MANIFEST_VERSION = 1


def findings_document(compliance) -> dict:
    """findings.json: every finding with its data, and the counts (docs/reports.md)."""
    found = compliance.findings
    records = [
        {"code": r.code, "severity": r.severity, "pack": r.pack, "rule": r.rule, "plan": r.plan, "subject": r.subject,
         "where": r.where, "message": r.message, "data": to_jsonable(r.data)}
        for r in found.itertuples(index=False)
    ]  # fmt: skip
    counts = {f.key: f.value for f in compliance.figures if f.key in ("error", "warning", "info")}
    packs = found.groupby("pack").size().sort_index()
    return {
        "findings_version": FINDINGS_VERSION,
        "as_of": compliance.as_of.isoformat(),
        "plans": list(compliance.plans["slug"]),
        "rules": compliance.about.get("rules", []),
        "selection": {k: compliance.about.get(k) for k in ("select", "ignore", "settings", "severities")},
        "counts": counts,
        "packs": {str(k): int(v) for k, v in packs.items()},
        "findings": records,
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _prepare(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder} is a file; give a folder for the pack")
    if folder.exists() and any(folder.iterdir()) and not (folder / MANIFEST).exists():
        raise BadInput(f"{folder} is not empty and holds no earlier pack; choose another -o folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*FILES, MANIFEST):
        (folder / name).unlink(missing_ok=True)


def write_pack(db, options: ReportOptions, folder: Path, plugins=None) -> list[Path]:
    """Build both reports from one snapshot and write the pack; returns its files."""
    from cpflow.reports import html, markdown, xlsx

    (progress, compliance), (events, head) = build_reports(db, ("progress", "compliance"), options, plugins)
    _prepare(folder)
    xlsx.write(progress, folder / "progress.xlsx")
    xlsx.write(compliance, folder / "compliance.xlsx")
    texts = {
        "report.html": html.render([progress, compliance]),
        "report.md": markdown.render([progress, compliance]),
        "findings.json": dumps(findings_document(compliance)),
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    files = [folder / name for name in FILES]
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "cpflow": progress.about["cpflow"],
        "as_of": options.as_of.isoformat(),
        "since": options.since.isoformat() if options.since else None,
        "plans": list(progress.plans["slug"]),
        "rules": {**options.selection(), "ran": compliance.about.get("rules", [])},
        "plugins": _plugin_sources(plugins),
        "data": {"events": events, "head_sha256": head},
        "files": [{"name": p.name, "bytes": p.stat().st_size, "sha256": sha256(p)} for p in files],
    }
    (folder / MANIFEST).write_text(dumps(manifest), encoding="utf-8", newline="")
    return [*files, folder / MANIFEST]


def _plugin_sources(plugins) -> dict[str, str]:
    if plugins is None:
        from cpflow.plugins.manager import get_plugins

        plugins = get_plugins()
    return dict(sorted(plugins.sources.items()))
