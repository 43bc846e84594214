"""Anchors and signed checkpoints: what catches a log rewritten by someone who can write the
whole database.

A chain stored beside the data proves only that it is self-consistent: whoever can rewrite
the file can delete the last events and set the head back, or re-hash everything after a
removed event. An *anchor* is a head `(seq, hash)` kept somewhere else: printed by
`cpflow audit head`, recorded in every pack manifest and every backup. `check_anchors`
proves each anchored head is still the event at its position; together with a chain that
verifies, that proves every event up to it is unchanged.

A *signed checkpoint* is an event in the log that carries an HMAC-SHA256, under a key kept
outside the database (`CPFLOW_AUDIT_KEY`, a file path), of the head it follows. Whoever
rewrites the log without the key cannot re-sign its checkpoints.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cpflow import audit
from cpflow.errors import BadInput
from cpflow.models import TransitionEvent

HEAD_PATTERN = re.compile(r"^(\d{1,18}):([0-9a-f]{64})$")
KEY_ENV = "CPFLOW_AUDIT_KEY"
MIN_KEY_BYTES = 16
CHECKPOINT_KIND = "checkpoint"
MAX_ANCHOR_FILE_BYTES = 64 * 1024 * 1024  # a manifest, a list of heads or a checkpoint file; backups are read by their end


@dataclass(frozen=True)
class Anchor:
    """A head `(seq, hash)` kept outside the database, and where it came from."""

    source: str
    seq: int
    hash: str

    @property
    def text(self) -> str:
        return format_head(self.seq, self.hash)


@dataclass(frozen=True)
class AnchorCheck:
    anchor: Anchor
    ok: bool
    problem: str | None = None


def format_head(seq: int, digest: str) -> str:
    """The one text form of a head, `SEQ:HASH`, as `audit head` prints and `--anchor` reads it."""
    return f"{seq}:{digest}"


# --- reading anchors ------------------------------------------------------------------------


def read_anchors(spec: str) -> list[Anchor]:
    """The anchors `spec` names: a head `SEQ:HASH`, or a file holding heads (a pack manifest or
    its folder, a backup, a checkpoint file, or lines of `SEQ:HASH`)."""
    spec = spec.strip() if isinstance(spec, str) else spec
    match = HEAD_PATTERN.match(spec.lower()) if spec else None
    if match:
        return [Anchor(spec, int(match.group(1)), match.group(2))]
    path = Path(spec)
    try:
        if path.is_dir():
            path = path / "manifest.json"
        if not path.is_file():
            raise BadInput(f"anchor {spec!r}: neither a head SEQ:HASH (64 hex digits) nor a file")
        with open(path, "rb") as f:
            start = f.read(16)
        if start.startswith(b"SQLite format 3"):
            return [_sqlite_backup_anchor(path)]
        if start.startswith(b"\x1f\x8b") or start.startswith(b'{"cpflow_backup"'):
            return [_jsonl_backup_anchor(path)]
        if path.stat().st_size > MAX_ANCHOR_FILE_BYTES:
            raise BadInput(f"anchor {path}: larger than {MAX_ANCHOR_FILE_BYTES // 2**20} MiB; not a manifest or list of heads")
        body = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise BadInput(f"anchor {spec!r}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadInput(f"anchor {path}: not text, a manifest or a cpflow backup") from None
    if body.lstrip().startswith("{"):
        return [_json_anchor(path, body)]
    anchors = []
    for number, line in enumerate(body.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = HEAD_PATTERN.match(line.lower())
        if not match:
            raise BadInput(f"anchor {path}:{number}: expected a head SEQ:HASH (64 hex digits), got {line[:80]!r}")
        anchors.append(Anchor(f"{path}:{number}", int(match.group(1)), match.group(2)))
    if not anchors:
        raise BadInput(f"anchor {path}: holds no head")
    return anchors


def _head_from(source: str, seq: object, digest: object) -> Anchor:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
        raise BadInput(f"anchor {source}: its recorded head is not an event number and a hash")
    if not HEAD_PATTERN.match(format_head(seq, digest)):
        raise BadInput(f"anchor {source}: its recorded head hash is not 64 hex digits")
    return Anchor(source, seq, digest)


def _json_anchor(path: Path, body: str) -> Anchor:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadInput(f"anchor {path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(document, dict) and isinstance(document.get("data"), dict) and "head_sha256" in document["data"]:
        data = document["data"]
        return _head_from(f"manifest {path}", data.get("events"), data.get("head_sha256"))
    if isinstance(document, dict) and document.get("cpflow_checkpoint") == 1:
        return _head_from(f"checkpoint {path}", document.get("seq"), document.get("hash"))
    raise BadInput(f"anchor {path}: a JSON file, but neither a cpflow pack manifest nor a checkpoint")


def _jsonl_backup_anchor(path: Path) -> Anchor:
    last = None
    try:
        opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    last = line
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise BadInput(f"anchor {path}: an unreadable backup ({type(exc).__name__})") from None
    try:
        trailer = json.loads(last) if last else None
    except json.JSONDecodeError:
        trailer = None
    if not isinstance(trailer, dict) or trailer.get("end") is not True:
        raise BadInput(f"anchor {path}: a backup without its trailer (cut short); it records no head")
    return _head_from(f"backup {path}", trailer.get("events"), trailer.get("head"))


def _sqlite_backup_anchor(path: Path) -> Anchor:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BadInput(f"anchor {path}: a SQLite file, but not a cpflow backup ({exc})") from None
    if row is None:
        raise BadInput(f"anchor {path}: a SQLite file without a chain head")
    return _head_from(f"backup {path}", row[0], row[1])


# --- checking anchors -----------------------------------------------------------------------


def check_anchors(session: Session, anchors: list[Anchor]) -> list[AnchorCheck]:
    """Whether each anchored head is still the event at its position in this log."""
    count = session.execute(select(TransitionEvent.id).order_by(TransitionEvent.id.desc()).limit(1)).scalar() or 0
    wanted = sorted({a.seq for a in anchors if 0 < a.seq <= count})
    hashes: dict[int, str] = {}
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        hashes.update(
            session.execute(select(TransitionEvent.id, TransitionEvent.hash).where(TransitionEvent.id.in_(chunk))).all()
        )
    results = []
    for anchor in anchors:
        label = f"anchor {anchor.source} (event {anchor.seq}, {anchor.hash[:16]})"
        if anchor.seq == 0:
            ok = anchor.hash == audit.GENESIS
            results.append(AnchorCheck(anchor, ok, None if ok else f"{label} no longer matches: event 0 is the genesis"))
        elif anchor.seq > count:
            results.append(
                AnchorCheck(anchor, False, f"{label} no longer matches: the log ends at event {count}; events were removed")
            )
        elif anchor.seq not in hashes:
            results.append(AnchorCheck(anchor, False, f"{label} no longer matches: event {anchor.seq} is missing from the log"))
        elif hashes[anchor.seq] != anchor.hash:
            results.append(
                AnchorCheck(
                    anchor,
                    False,
                    f"{label} no longer matches: event {anchor.seq} now hashes to {hashes[anchor.seq][:16]}; "
                    f"the log was rewritten at or before event {anchor.seq}",
                )
            )
        else:
            results.append(AnchorCheck(anchor, True))
    return results


# --- signed checkpoints ---------------------------------------------------------------------


def load_key(path: str | None = None) -> bytes | None:
    """The checkpoint key from the file `path` (default: $CPFLOW_AUDIT_KEY); None when unset."""
    path = path if path is not None else os.environ.get(KEY_ENV)
    if not path:
        return None
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"{KEY_ENV}={path}: cannot read the key file: {exc.strerror or exc}") from None
    if len(key.strip()) < MIN_KEY_BYTES:
        raise BadInput(f"{KEY_ENV}={path}: the key file holds fewer than {MIN_KEY_BYTES} bytes; use e.g. 32 random bytes")
    return key.strip()


def key_id(key: bytes) -> str:
    """A public fingerprint of the key (not the key): which key signed a checkpoint."""
    return hashlib.sha256(b"cpflow-key-id\n" + key).hexdigest()[:16]


def sign(key: bytes, seq: int, digest: str) -> str:
    return hmac.new(key, f"cpflow-checkpoint\n{seq}\n{digest}".encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    event_id: int
    seq: int
    hash: str
    key_id: str


_T = TypeVar("_T")


class Writer(Protocol):
    """What a checkpoint needs of `cpflow.db.Database` (a sibling this module does not import)."""

    def write(self, work: Callable[[Session], _T], /) -> _T: ...


def write_checkpoint(db: Writer, key: bytes, *, actor: str, at: dt.date) -> Checkpoint:
    """Append a checkpoint event signing the current head; returns it."""

    def work(session: Session) -> Checkpoint:
        seq, digest = audit.head(session)
        signer = key_id(key)
        data = {"seq": seq, "hash": digest, "hmac": sign(key, seq, digest), "key_id": signer}
        (event_id,) = audit.append(session, [audit.Fact(CHECKPOINT_KIND, actor, at, data=data)])
        return Checkpoint(event_id, seq, digest, signer)

    return db.write(work)


@dataclass(frozen=True)
class CheckpointCheck:
    count: int
    last: Checkpoint | None
    problem: str | None = None


def check_checkpoints(session: Session, key: bytes) -> CheckpointCheck:
    """Every signed checkpoint in the log: its HMAC under `key`, and that the head it signed is
    still the event at its position. Names the first that fails."""
    rows = session.execute(
        text("SELECT id, data FROM transition_events WHERE kind = :kind ORDER BY id"), {"kind": CHECKPOINT_KIND}
    ).all()
    expected_id = key_id(key)
    checkpoints: list[Checkpoint] = []
    for event_id, raw in rows:
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
            seq, digest, mac = int(data["seq"]), str(data["hash"]), str(data["hmac"])
        except (TypeError, ValueError, KeyError):
            return CheckpointCheck(len(checkpoints), checkpoints[-1] if checkpoints else None,
                                   f"checkpoint event {event_id} is malformed")  # fmt: skip
        if not hmac.compare_digest(mac, sign(key, seq, digest)):
            other = data.get("key_id")
            why = f"signed with another key ({other})" if other and other != expected_id else "its signature does not match"
            return CheckpointCheck(len(checkpoints), checkpoints[-1] if checkpoints else None,
                                   f"checkpoint event {event_id} (head {seq}): {why}; it was forged or altered")  # fmt: skip
        if seq >= event_id:
            return CheckpointCheck(len(checkpoints), checkpoints[-1] if checkpoints else None,
                                   f"checkpoint event {event_id} signs event {seq}, which comes after it")  # fmt: skip
        checkpoints.append(Checkpoint(event_id, seq, digest, expected_id))
    anchors = [Anchor(f"checkpoint event {c.event_id}", c.seq, c.hash) for c in checkpoints]
    for check in check_anchors(session, anchors):
        if not check.ok:
            return CheckpointCheck(len(checkpoints), checkpoints[-1], f"signed {check.problem}")
    return CheckpointCheck(len(checkpoints), checkpoints[-1] if checkpoints else None)
