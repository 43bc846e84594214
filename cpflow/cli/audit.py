"""`cpflow audit …`: check the hash-chained event log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cpflow.cli.common import Context, by_option, format_option, pass_ctx, say
from cpflow.errors import EXIT_FINDINGS


@click.group()
def audit() -> None:
    """Check the hash-chained event log."""


@audit.command()
@click.option("--anchor", "anchors", multiple=True, metavar="FILE|SEQ:HASH",
              help="A head kept elsewhere: SEQ:HASH from `audit head`, a pack manifest or its folder, a backup, "
                   "or a file of SEQ:HASH lines. Repeatable. Each must still be in the log at its position.")  # fmt: skip
@pass_ctx
def verify(c: Context, anchors: tuple[str, ...]) -> None:
    """Recompute the event chain; exit 1 naming the first altered, removed or reordered event.

    With --anchor, also prove each anchored head is still in the log; with CPFLOW_AUDIT_KEY
    (a key file), also check every signed checkpoint."""
    from cpflow.anchors import check_anchors, check_checkpoints, load_key, read_anchors
    from cpflow.audit import verify as verify_chain

    wanted = [anchor for spec in anchors for anchor in read_anchors(spec)]
    key = load_key()
    with c.db.read() as session:
        result = verify_chain(session)
        broken = [check for check in check_anchors(session, wanted) if not check.ok]
        signed = check_checkpoints(session, key) if key is not None else None
    if not result.ok:
        say(f"audit failed: {result.problem}")
        sys.exit(EXIT_FINDINGS)
    if broken:
        more = f" (and {len(broken) - 1} more anchors)" if len(broken) > 1 else ""
        say(f"audit failed: {broken[0].problem}{more}")
        sys.exit(EXIT_FINDINGS)
    if signed is not None and signed.problem:
        say(f"audit failed: {signed.problem}")
        sys.exit(EXIT_FINDINGS)
    line = f"ok: {result.events} events, chain head {result.head[:16]}"
    if wanted:
        line += f"; {len(wanted)} anchor{'s' if len(wanted) != 1 else ''} still in the log"
    if signed is not None:
        last = f", the last signing event {signed.last.seq}" if signed.last else ""
        line += f"; {signed.count} signed checkpoint{'s' if signed.count != 1 else ''} verified{last}"
    click.echo(line)


@audit.command()
@format_option("text", "json", default="text")
@pass_ctx
def head(c: Context, fmt: str) -> None:
    """Print the chain head as SEQ:HASH: keep it elsewhere and pass it to `audit verify --anchor`."""
    from cpflow.anchors import format_head
    from cpflow.audit import head as chain_head

    with c.db.read() as session:
        seq, digest = chain_head(session)
    if fmt == "json":
        click.echo(json.dumps({"seq": seq, "hash": digest}))
    else:
        click.echo(format_head(seq, digest))


@audit.command()
@by_option()
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the checkpoint to this file (an anchor to keep elsewhere).")  # fmt: skip
@pass_ctx
def checkpoint(c: Context, actor: str, out: Path | None) -> None:
    """Sign the current head with the key in CPFLOW_AUDIT_KEY and record the signature in the log."""
    from cpflow.anchors import KEY_ENV, load_key, write_checkpoint
    from cpflow.clock import today
    from cpflow.errors import BadInput

    key = load_key()
    if key is None:
        raise BadInput(f"set {KEY_ENV} to the path of a key file kept outside the database (e.g. 32 random bytes)")
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise BadInput(f"{out}: not a file in an existing folder")
    result = write_checkpoint(c.db, key, actor=actor, at=today())
    if out is not None:
        document = {"cpflow_checkpoint": 1, "seq": result.seq, "hash": result.hash, "event": result.event_id,
                    "key_id": result.key_id}  # fmt: skip
        try:
            out.write_text(json.dumps(document) + "\n", encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{out}: cannot write the checkpoint file: {exc.strerror or exc}") from None
    click.echo(f"checkpoint event {result.event_id} signs the head {result.seq}:{result.hash} (key {result.key_id})")


COMMANDS = (audit,)
