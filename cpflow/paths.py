"""Where a command may write: one check for every `-o`, so a folder given for a file, a file
given for a folder, a path below a file or a name too long is one clear line (exit 2), never
an OSError."""

from __future__ import annotations

from pathlib import Path

from cpflow.errors import BadInput

# File systems allow 255 bytes per name; writers add a temporary prefix and suffix.
MAX_NAME_BYTES = 200


def _check_name(path: Path) -> None:
    if len(path.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise BadInput(f"{path.name[:40]}…: a name longer than {MAX_NAME_BYTES} bytes; nothing was written")


def _check_ancestors(path: Path, *, create: bool) -> None:
    """Every existing ancestor is a folder; a missing parent is created only when `create`."""
    parent = path.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise BadInput(f"{path}: {ancestor} is a file, not a folder; nothing was written")
            break
    if not parent.exists() and not create:
        raise BadInput(f"{path}: {parent} is not an existing folder; nothing was written")


def output_file(path: str | Path, *, create_parents: bool = True) -> Path:
    """`path` checked as the place for one file (its missing folders made when allowed)."""
    path = Path(path)
    _check_name(path)
    if path.is_dir():
        raise BadInput(f"{path} is a folder; give a file name; nothing was written")
    _check_ancestors(path, create=create_parents)
    if create_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def output_folder(path: str | Path) -> Path:
    """`path` checked as the place for a folder of files (made with its parents if missing)."""
    path = Path(path)
    _check_name(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{path} is a file; give a folder for these files; nothing was written")
    _check_ancestors(path, create=True)
    return path


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file beside it and a rename, so a reader
    (or a refused or killed run) never sees half a file."""
    import os
    import tempfile

    target = output_file(path)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target
