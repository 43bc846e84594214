"""`cpflow report pack`: the folder a governance review reads, with a manifest that
says what it was built from (as-of and since dates, rule selection, cpflow version,
event-log head) and the SHA-256 of every file, so anyone can check it later."""

from __future__ import annotations

import ctypes
import glob
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from cpflow.errors import BadInput
from cpflow.failpoints import failpoint
from cpflow.reports.build import ReportOptions, build_reports
from cpflow.reports.jsonout import dumps
from cpflow.safe_output import to_jsonable

FILES = ("progress.xlsx", "compliance.xlsx", "report.html", "report.md", "findings.json")
MANIFEST = "manifest.json"
FINDINGS_VERSION = 1
MANIFEST_VERSION = 1
# cpflow's marker in every manifest it writes: only a folder whose manifest carries it is
# ever replaced by a new pack.
GENERATOR = "cpflow report pack"


def _records(found) -> Iterator[dict]:
    for r in found.itertuples(index=False):
        yield {"code": r.code, "severity": r.severity, "pack": r.pack, "rule": r.rule, "plan": r.plan, "subject": r.subject,
               "where": r.where, "message": r.message, "data": to_jsonable(r.data)}  # fmt: skip


def findings_document(compliance, *, records: bool = True) -> dict:
    """findings.json: every finding with its data, and the counts (docs/reports.md);
    without `records`, the same document with an empty findings list."""
    found, waived = compliance.findings, compliance.waived
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
        "waived": [{**r, "waived": reason} for r, reason in zip(_records(waived), waived["waived"])],
        "findings": list(_records(found)) if records else [],
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_findings(compliance, path: Path) -> None:
    """findings.json, byte for byte `dumps(findings_document(compliance))`, written one
    finding at a time so the document is never held whole."""
    shell = dumps(findings_document(compliance, records=False))
    records = _records(compliance.findings)
    with path.open("w", encoding="utf-8", newline="") as out:
        first = next(records, None)
        if first is None:
            out.write(shell)
            return
        out.write(shell[: -len(_EMPTY_TAIL)] + "[\n")
        out.write(_indented(first))
        for record in records:
            out.write(",\n" + _indented(record))
        out.write("\n  ]\n}\n")


_EMPTY_TAIL = "[]\n}\n"  # how dumps() ends a document whose last key, findings, is empty


def _indented(record: dict) -> str:
    """A record as dumps() writes it two levels deep (inside the findings list)."""
    return "\n".join("    " + line for line in json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False).split("\n"))


def is_pack(folder: Path) -> bool:
    """True when the folder is a pack cpflow wrote: its manifest carries cpflow's marker and
    the folder holds nothing the manifest does not list."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        names = {p.name for p in folder.iterdir()}
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR:
        return False
    listed = {f.get("name") for f in manifest.get("files", []) if isinstance(f, dict)}
    return names <= {*listed, MANIFEST}


def _check_target(folder: Path) -> None:
    """Refuse, before anything is built, a target cpflow must not replace."""
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder} is a file; give a folder for the pack")
    if folder.is_dir() and any(folder.iterdir()) and not is_pack(folder):
        raise BadInput(f"{folder} is not empty and is not a pack cpflow wrote (no cpflow marker in a manifest.json "
                       "listing every file); choose another -o folder")  # fmt: skip
    for parent in folder.absolute().parents:
        if parent.exists():
            if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                raise BadInput(f"cannot write the pack below {parent}: not a writable folder")
            break


def _staging(folder: Path) -> Path:
    """A fresh folder beside the target, on the same file system, so the rename is atomic.
    Leftovers of a run that was killed are removed first."""
    parent = folder.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    for leftover in parent.glob(f".{glob.escape(folder.name)}.cpflow-*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
    return _fresh_dir(parent, f".{folder.name}.cpflow-new-")


def _fresh_dir(parent: Path, prefix: str) -> Path:
    """A new folder with the permissions of any folder the user makes (not mkdtemp's 0700)."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the
    system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _put_in_place(staging: Path, folder: Path) -> None:
    """Move the finished pack to the target: the target shows the old pack or the new one,
    never a mixture."""
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        os.replace(staging, folder)
        return
    if _exchange(staging, folder):
        shutil.rmtree(staging)  # it now holds the previous pack
        return
    old = _fresh_dir(folder.absolute().parent, f".{folder.name}.cpflow-old-")
    os.replace(folder, old / "pack")
    os.replace(staging, folder)
    shutil.rmtree(old)


def write_pack(db, options: ReportOptions, folder: Path, plugins=None) -> list[Path]:
    """Build both reports from one snapshot and write the pack; returns its files.

    The files are written one after the other into a folder beside the target (each output
    freed once written), and that folder is renamed into place when all are complete."""
    from cpflow.paths import output_folder
    from cpflow.reports import html, markdown, xlsx

    folder = output_folder(folder)
    _check_target(folder)
    (progress, compliance), (events, head) = build_reports(db, ("progress", "compliance"), options, plugins)
    progress.frames = None  # read by plugin sections while building; nothing after
    about = {"cpflow": progress.about["cpflow"], "plans": list(progress.plans["slug"])}
    try:
        staging = _staging(folder)
    except OSError as exc:
        raise BadInput(f"cannot write the pack beside {folder}: {exc.strerror or exc}") from exc
    try:
        xlsx.write(progress, staging / "progress.xlsx")
        failpoint("pack:after-progress-xlsx")
        xlsx.write(compliance, staging / "compliance.xlsx")
        html.write([progress, compliance], staging / "report.html")
        markdown.write([progress, compliance], staging / "report.md")
        del progress
        _write_findings(compliance, staging / "findings.json")
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "generator": GENERATOR,
            "cpflow": about["cpflow"],
            "as_of": options.as_of.isoformat(),
            "since": options.since.isoformat() if options.since else None,
            "plans": about["plans"],
            "rules": {**options.selection(), "ran": compliance.about.get("rules", [])},
            "plugins": _plugin_sources(plugins),
            "data": {"events": events, "head_sha256": head},
            "files": [{"name": name, "bytes": (staging / name).stat().st_size, "sha256": sha256(staging / name)}
                      for name in FILES],
        }  # fmt: skip
        (staging / MANIFEST).write_text(dumps(manifest), encoding="utf-8", newline="")
        failpoint("pack:before-rename")
        _put_in_place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / name for name in (*FILES, MANIFEST)]


def _plugin_sources(plugins) -> dict[str, str]:
    if plugins is None:
        from cpflow.plugins.manager import get_plugins

        plugins = get_plugins()
    return dict(sorted(plugins.sources.items()))
