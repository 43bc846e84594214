"""Generate the README pictures from a fresh demo database:

- docs/img/report.png: the HTML report of the CPMS framework, in headless Chromium;
- docs/img/excel-summary.png: the Summary sheet of an Alliance progress.xlsx, printed to
  PDF by LibreOffice and its first page rasterised by pdftoppm.

Needs Debian's `chromium` (and, for the Excel picture, `libreoffice-calc-nogui` and
`poppler-utils`): `apt-get install -y chromium libreoffice-calc-nogui poppler-utils`.
The Chromium helpers here are also what tests/test_html_render.py uses.

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Flags that keep Chromium from calling home and from touching the user's profile; the
# proxy points at a closed port so that any request the page made would fail.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
)  # fmt: skip


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def ensure_chromium() -> tuple[str | None, str]:
    """Chromium's path, installing Debian's package when absent and allowed (root, apt);
    else (None, why not)."""
    found = find_chromium()
    if found:
        return found, ""
    if not shutil.which("apt-get"):
        return None, "no chromium and no apt-get to install it"
    import os

    if os.geteuid() != 0:
        return None, "no chromium, and installing it needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            return None, f"`{' '.join(command)}` failed: {result.stderr.strip()[-300:]}"
    found = find_chromium()
    return (found, "") if found else (None, "chromium was installed but is not on PATH")


def run_chromium(chromium: str, url: str, *extra: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Chromium headless on `url` with a fresh profile (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="cpflow-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
        return subprocess.run(command, capture_output=True, timeout=timeout)


def screenshot(
    chromium: str, page: Path, png: Path, *, width: int = 1280, height: int = 1800, netlog: Path | None = None
) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    extra = [f"--window-size={width},{height}", f"--screenshot={png}"]
    if netlog is not None:
        extra += [f"--log-net-log={netlog}", "--net-log-capture-mode=Everything"]
    result = run_chromium(chromium, page.resolve().as_uri(), *extra)
    if result.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium failed ({result.returncode}): {result.stderr.decode(errors='replace')[-500:]}")


def dump_dom(chromium: str, page: Path) -> str:
    """The page's DOM after load, serialised by Chromium."""
    result = run_chromium(chromium, page.resolve().as_uri(), "--dump-dom")
    return result.stdout.decode("utf-8", errors="replace")


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw pixel bytes) of an 8-bit RGB or RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[:4]
    if depth != 8 or colour not in (2, 6):
        raise ValueError("only 8-bit RGB/RGBA PNGs are read")
    step = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * step, [], bytearray(width * step)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - step] if i >= step else 0
            b, c = prev[i], prev[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def distinct_colours(data: bytes, sample_every: int = 7) -> int:
    """How many different pixel values a PNG holds (sampled): 1 means a blank image."""
    width, height, rows = png_pixels(data)
    step = len(rows[0]) // width
    seen = set()
    for row in rows[::sample_every]:
        for x in range(0, width, sample_every):
            seen.add(row[x * step : x * step + 3])
    return len(seen)


def _demo_db(workdir: Path) -> Path:
    from cpflow.demo import run_demo

    run_demo(workdir / "demo", REPO / "workflows", echo=lambda _line: None, with_packs=False)
    return workdir / "demo" / "cpflow.db"


def _pack(db_path: Path, plan: str, as_of: str, since: str | None, out: Path) -> Path:
    import datetime as dt

    from cpflow.db import Database
    from cpflow.reports.build import ReportOptions
    from cpflow.reports.pack import write_pack

    db = Database(f"sqlite:///{db_path}")
    try:
        options = ReportOptions(as_of=dt.date.fromisoformat(as_of), plans=(plan,),
                                since=dt.date.fromisoformat(since) if since else None)  # fmt: skip
        write_pack(db, options, out)
    finally:
        db.dispose()
    return out


def excel_summary(xlsx: Path, png: Path) -> None:
    """First printed page of the workbook (its Summary sheet) as a PNG, via LibreOffice."""
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if not soffice or not pdftoppm:
        raise RuntimeError("needs LibreOffice and poppler: apt-get install -y libreoffice-calc-nogui poppler-utils")
    with tempfile.TemporaryDirectory(prefix="cpflow-lo-") as tmp:
        profile = Path(tmp, "profile").as_uri()
        subprocess.run([soffice, "--headless", f"-env:UserInstallation={profile}", "--convert-to", "pdf", "--outdir", tmp,
                        str(xlsx)], check=True, capture_output=True, timeout=300)  # fmt: skip
        pdf = Path(tmp, xlsx.with_suffix(".pdf").name)
        subprocess.run([pdftoppm, "-f", "1", "-l", "1", "-r", "110", "-png", "-singlefile", str(pdf), str(Path(tmp, "page"))],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp, "page.png"), png)


def main() -> int:
    chromium, why = ensure_chromium()
    if chromium is None:
        print(f"cannot take the HTML screenshot: {why}", file=sys.stderr)
        return 2
    images = REPO / "docs" / "img"
    with tempfile.TemporaryDirectory(prefix="cpflow-shots-") as tmp:
        workdir = Path(tmp)
        db_path = _demo_db(workdir)
        cpms = _pack(db_path, "cpms-wg-2022-2025", "2023-12-31", "2023-06-30", workdir / "cpms")
        screenshot(chromium, cpms / "report.html", images / "report.png", width=1280, height=1700)
        alliance = _pack(db_path, "alliance-2018-2020", "2018-12-31", None, workdir / "alliance")
        excel_summary(alliance / "progress.xlsx", images / "excel-summary.png")
    for name in ("report.png", "excel-summary.png"):
        print(f"wrote {images / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
