"""`cpflow demo`: the main job end to end on the seed plans, in a folder of its own.

The history of moves recorded here is ILLUSTRATIVE: the seed documents are plans, not
progress records, so the demo invents a plausible sequence of endorsements, starts,
completions and a drop to show what cpflow does with them. Every such event is recorded
by the actor `demo (illustrative)`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from cpflow.clock import today
from cpflow.errors import BadInput

ACTOR = "demo (illustrative)"
MARKER = ".cpflow-demo"

# (activity, trigger, date, reason, reference)
ILLUSTRATIVE_MOVES: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    ("cpms-wg-2022-2025:1.1", "endorse", "2022-06-15", None, "CPMS WG meeting, June 2022"),
    ("cpms-wg-2022-2025:1.1", "start", "2022-07-01", None, None),
    ("cpms-wg-2022-2025:1.1", "complete", "2022-11-30", None, "Consultation findings brief shared"),
    ("cpms-wg-2022-2025:1.2", "endorse", "2022-06-15", None, "CPMS WG meeting, June 2022"),
    ("cpms-wg-2022-2025:1.2", "start", "2022-09-01", None, None),
    ("cpms-wg-2022-2025:1.2", "complete", "2023-05-31", None, None),
    ("cpms-wg-2022-2025:1.3", "endorse", "2022-06-15", None, "CPMS WG meeting, June 2022"),
    ("cpms-wg-2022-2025:1.3", "start", "2023-01-15", None, None),
    ("cpms-wg-2022-2025:2.1", "endorse", "2022-06-15", None, "CPMS WG meeting, June 2022"),
    ("cpms-wg-2022-2025:2.1", "start", "2022-08-01", None, None),
    ("cpms-wg-2022-2025:2.1", "complete", "2023-03-31", None, None),
    ("cpms-wg-2022-2025:2.2", "endorse", "2022-06-15", None, "CPMS WG meeting, June 2022"),
    ("cpms-wg-2022-2025:2.2", "start", "2022-10-01", None, None),
    ("cpms-wg-2022-2025:2.11", "endorse", "2022-11-30", None, "CPMS WG meeting, November 2022"),
    ("cpms-wg-2022-2025:2.11", "start", "2023-02-01", None, None),
    ("cpms-wg-2022-2025:3.1", "endorse", "2022-11-30", None, "CPMS WG meeting, November 2022"),
    ("cpms-wg-2022-2025:3.5", "drop", "2023-06-20", "Folded into 3.2 by the co-leads", "CPMS WG meeting, June 2023"),
    ("cpms-wg-2022-2025:6.4", "endorse", "2022-11-30", None, "CPMS WG meeting, November 2022"),
    ("cpms-wg-2022-2025:6.4", "start", "2023-01-10", None, None),
    ("cpms-wg-2022-2025:6.4", "complete", "2023-10-31", None, "Webinar series published"),
    ("cpms-wg-2022-2025:7.1", "endorse", "2022-06-15", None, "CPMS WG meeting, June 2022"),
    ("cpms-wg-2022-2025:7.1", "start", "2022-07-15", None, None),
    ("cpms-wg-2022-2025:7.1", "complete", "2023-02-28", None, None),
    ("alliance-2018-2020:SEC-1.3", "endorse", "2018-03-09", None, "Work plan endorsed on 9 March 2018"),
    ("alliance-2018-2020:SEC-1.3", "start", "2018-04-01", None, None),
    ("alliance-2018-2020:SEC-1.3", "complete", "2018-12-15", None, None),
    ("alliance-2018-2020:WG1-1.1", "endorse", "2018-03-09", None, "Work plan endorsed on 9 March 2018"),
    ("alliance-2018-2020:WG1-1.1", "start", "2018-03-20", None, None),
    ("alliance-2018-2020:WG1-1.1", "complete", "2018-09-30", None, None),
    ("alliance-2018-2020:WG1-1.2", "endorse", "2018-03-09", None, "Work plan endorsed on 9 March 2018"),
    ("alliance-2018-2020:WG1-1.2", "start", "2018-10-01", None, None),
    ("alliance-2018-2020:TF1-1.1", "endorse", "2018-03-09", None, "Work plan endorsed on 9 March 2018"),
    ("cp-swg-2025:1.1", "endorse", "2025-01-20", None, "CP SWG meeting, January 2025"),
    ("cp-swg-2025:1.1", "start", "2025-02-01", None, None),
    ("cp-swg-2025:1.1", "complete", "2025-03-15", None, None),
    ("cp-swg-2025:1.5", "endorse", "2025-01-20", None, "CP SWG meeting, January 2025"),
    ("cp-swg-2025:1.5", "start", "2025-01-20", None, None),
    ("cpswg-refugee-2021:1.1", "endorse", "2021-02-10", None, "CPSWG meeting, February 2021"),
    ("cpswg-refugee-2021:1.1", "start", "2021-03-01", None, None),
    ("iraq-cpsc-2015-2016:1.1", "endorse", "2015-09-05", None, "CPSC meeting, September 2015"),
    ("iraq-cpsc-2015-2016:1.1", "start", "2015-09-10", None, None),
    ("iraq-cpsc-2015-2016:1.1", "complete", "2015-10-30", None, None),
)

# (unit, period, received, date, reason)
ILLUSTRATIVE_FUNDING = (("alliance-2018-2020:wg3", "2018", "160000", "2018-09-30", "Further pledge received"),)

# The web app's demo accounts (login, name, admin, role in DEMO_TEAM_PLAN); their passwords
# are generated on each run, printed once and kept in ACCOUNTS_FILE (mode 0600).
DEMO_TEAM_PLAN = "cpms-wg-2022-2025"
DEMO_ACCOUNTS: tuple[tuple[str, str, bool, str | None], ...] = (
    ("admin", "Demo administrator", True, None),
    ("lead", "Demo CPMS WG lead", False, "lead"),
    ("colead", "Demo CPMS WG co-lead", False, "co-lead"),
    ("member", "Demo member agency focal point", False, "member"),
    ("reviewer", "Demo steering-group reviewer", False, "reviewer"),
)
ACCOUNTS_FILE = "accounts.txt"
SERVE_URL = "http://127.0.0.1:8000/"

# The governance review each demo pack is written for: (plan, as of, since the previous review).
DEMO_REVIEWS: tuple[tuple[str, str, str | None], ...] = (
    ("alliance-2018-2020", "2018-12-31", "2018-06-30"),
    ("cp-swg-2025", "2025-06-30", "2025-03-31"),
    ("cpms-wg-2022-2025", "2023-12-31", "2023-06-30"),
    ("cpswg-refugee-2021", "2021-12-31", "2021-06-30"),
    ("iraq-cpsc-2015-2016", "2015-12-31", "2015-09-30"),
)


def run_demo(out: Path, workflows_dir: Path, *, echo: Callable[[str], None], with_packs: bool = True) -> list[Path]:
    """Create `out` afresh, load every plan, record the illustrative history, write a
    review pack per plan (unless `with_packs` is false)."""
    from cpflow.db import Database
    from cpflow.money import parse_amount
    from cpflow.plugins.manager import get_plugins
    from cpflow.services import fund, load_files, move

    files = sorted(workflows_dir.glob("*.yaml"))
    if not files:
        raise BadInput(f"no plan files in {workflows_dir}/: run from a cpflow checkout or pass --workflows DIR")
    _fresh_folder(out)
    db = Database(f"sqlite:///{out / 'cpflow.db'}")
    try:
        results = load_files(db, files, actor="demo")
        for result in results:
            echo(f"loaded {result.slug}: {len(result.added)} activities")
        echo(f"recording an ILLUSTRATIVE history ({len(ILLUSTRATIVE_MOVES)} moves by {ACTOR!r}): not real progress data")
        plugins = get_plugins()
        for ident, trigger, at, reason, ref in ILLUSTRATIVE_MOVES:
            move(db, ident, trigger, actor=ACTOR, at=dt.date.fromisoformat(at), reason=reason, ref=ref, plugins=plugins)
        for ident, period, received, at, reason in ILLUSTRATIVE_FUNDING:
            fund(
                db,
                ident,
                period=period,
                received=parse_amount(received),
                actor=ACTOR,
                at=dt.date.fromisoformat(at),
                reason=reason,
            )
        written = [out / "cpflow.db", *_write_reports(db, out)]
        if with_packs:
            written += _write_packs(db, out, [result.slug for result in results])
        accounts = _add_accounts(db)
        written.append(_write_accounts(out, accounts))
    finally:
        db.dispose()
    echo("wrote:")
    for path in written:
        echo(f"  {path}")
    for line in next_steps(out) + browse_steps(out, accounts):
        echo(line)
    return written


def _add_accounts(db) -> list[tuple[str, str, str]]:
    """The demo accounts, after the illustrative history, through the team services:
    (login, generated password, what it may do)."""
    import secrets

    from cpflow.teams.accounts import add_account, grant

    made = []
    for login, name, admin, role in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        add_account(db, login, by=None if admin else "admin", name=name, admin=admin, password=password)
        if role:
            grant(db, login, role, plan=DEMO_TEAM_PLAN, by="admin")
        made.append((login, password, f"{role} of {DEMO_TEAM_PLAN}" if role else "admin (accounts, every plan)"))
    return made


def _write_accounts(out: Path, accounts: list[tuple[str, str, str]]) -> Path:
    """The accounts file, created readable and writable by this user only (0600)."""
    path = out / ACCOUNTS_FILE
    lines = [f"# cpflow demo accounts for {SERVE_URL} (make serve); generated by `cpflow demo`", "# login password role"]
    lines += [f"{login} {password} {what}" for login, password, what in accounts]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def browse_steps(out: Path, accounts: list[tuple[str, str, str]]) -> list[str]:
    """How to browse the demo in the web app, with the accounts (printed this once)."""
    lines = ["", f"browse: `make serve` serves {out / 'cpflow.db'} on {SERVE_URL}; sign in as"]
    lines += [f"  {login:<9} password {password}  ({what})" for login, password, what in accounts]
    lines.append(f"  (generated for this demo only; also in {out / ACCOUNTS_FILE}, readable only by you)")
    return lines


def next_steps(out: Path) -> list[str]:
    """How a newcomer runs cpflow on the demo database next: after `make demo`, `cpflow` is
    in the virtual environment, not on the PATH until that is activated."""
    script = Path(sys.argv[0]).resolve()
    on_path = shutil.which("cpflow")
    command = "cpflow"
    if script.name == "cpflow" and (on_path is None or Path(on_path).resolve() != script):
        command = os.path.relpath(script)
    db = f"sqlite:///{out / 'cpflow.db'}"
    lines = ["", "next: try cpflow on the demo database"]
    if command != "cpflow":
        lines.append(f"  (cpflow is {command}; or run `source {Path(command).parent / 'activate'}` and type cpflow)")
    lines += [
        f"  {command} --db {db} plans",
        f"  {command} --db {db} activities --plan cpms-wg-2022-2025 --state in_progress",
        f"  {command} --db {db} check --plan cpms-wg-2022-2025",
        f"  the review packs are in {out / 'packs'}/: open report.html in a browser, progress.xlsx in Excel",
    ]
    return lines


def _fresh_folder(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists():
            raise BadInput(f"{out} exists and is not a cpflow demo folder; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("Created by `cpflow demo`; the folder is replaced on the next run.\n", encoding="utf-8")


def _write_reports(db, out: Path) -> list[Path]:
    from cpflow.read.queries import ACTIVITY_COLUMNS, list_activities
    from cpflow.safe_output import render_csv, render_json

    with db.read() as session:
        rows = list_activities(session)
    csv_path, json_path = out / "activities.csv", out / "activities.json"
    csv_path.write_text(render_csv(rows, ACTIVITY_COLUMNS), encoding="utf-8")
    json_path.write_text(render_json(rows) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def _write_packs(db, out: Path, slugs: list[str]) -> list[Path]:
    """A governance-review pack per loaded plan, as of its demo review date (else its end)."""
    from cpflow.plugins.manager import get_plugins
    from cpflow.read.lookup import find_plan
    from cpflow.reports.build import ReportOptions
    from cpflow.reports.pack import write_pack

    reviews = {slug: (as_of, since) for slug, as_of, since in DEMO_REVIEWS}
    written = []
    for slug in sorted(slugs):
        if slug in reviews:
            day, since = (dt.date.fromisoformat(d) if d else None for d in reviews[slug])
            as_of = day or today()
        else:
            with db.read() as session:
                as_of, since = find_plan(session, slug).end, None
        options = ReportOptions(as_of=as_of, plans=(slug,), since=since)
        written += write_pack(db, options, out / "packs" / slug, get_plugins())
    return written
