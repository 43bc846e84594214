"""web: the app under a bounded loopback load — 16 clients reading a plan's dashboard and
activity list, 8 clients posting moves — against a floor measured in the same run: a bare
Starlette app (same uvicorn, same clients) running the SQL cpflow's reads issue (captured
from the app itself, replayed on the driver) and the raw writes of a move.

Both servers run in their own process (`cpflow serve` for cpflow, uvicorn for the floor),
so the clients' threads do not share the server's interpreter. Each side makes the same
number of requests (bounded by LOAD_S as well); the timed wall clock therefore compares
throughput at the same concurrency, and the summary gives requests/s, p50, p95, errors and
lost or duplicated events (both must be 0) for the README and RESULTS.md."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import NOW
from benchmarks.generate import psycopg_dsn

NAME = "web"
TARGET = 3.0
DOES = "16 clients GET dashboard + activity list, 8 clients POST moves (/api/v1), over `cpflow serve` on loopback"
BASELINE = (
    "bare Starlette on the same uvicorn: the same read SQL replayed on the driver, raw move writes (UPDATE + event + chain)"
)
REQUIRES = ("cpflow.web", "fastapi", "uvicorn", "httpx")
BACKENDS = ("sqlite", "postgresql")
COMPARE = False  # each side reports its own latencies
READERS, WRITERS = 16, 8
READS_EACH, MOVES_EACH = 2, 6
LOAD_S = 30.0  # the load stops here even when the requests are not all sent (then the row is marked by its counts)
PASSWORD = "benchmark password, long enough"
NEXT = {"proposed": "endorse", "endorsed": "start", "in_progress": "complete", "completed": "reopen", "dropped": "reinstate"}
REASON = {"reopen": "Follow-up requested at the review", "reinstate": "Funding found", "drop": "Folded"}


def setup_run(data, scratch, backend, variant=None):
    if backend == "sqlite":
        import shutil

        target = scratch / "web.db"
        shutil.copyfile(data.fixture_db, target)
        return {"db": str(target)}
    return {}


def _url(ctx) -> str:
    return ctx.pg_url if ctx.backend == "postgresql" else f"sqlite:///{ctx.params['db']}"


def _prepare(ctx):
    """Untimed: the lead account of the busiest plan (once), the plan, and the writers' activities."""
    from sqlalchemy import func, select

    from cpflow.db import Database
    from cpflow.models import Activity, Plan
    from cpflow.read.team import find_account
    from cpflow.teams.accounts import add_account, grant, set_password

    db = Database(_url(ctx))
    with db.read() as session:
        slug = session.execute(
            select(Plan.slug).join(Activity, Activity.plan_id == Plan.id).group_by(Plan.slug).order_by(func.count().desc())
        ).first()[0]
        exists = find_account(session, "bench-lead") is not None
    if not exists:
        add_account(db, "bench-admin", by=None, admin=True, password=PASSWORD)
        add_account(db, "bench-lead", by="bench-admin", password=PASSWORD)
        grant(db, "bench-lead", "lead", plan=slug, by="bench-admin")
    else:
        set_password(db, "bench-lead", PASSWORD, by="bench-admin")
    with db.read() as session:
        rows = session.execute(select(Activity.code, Activity.state).join(Plan).where(Plan.slug == slug).order_by(Activity.id))
        codes = [(code, state) for code, state in rows][: WRITERS * MOVES_EACH]
    return db, slug, codes


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], port: int, env: dict) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:]) from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def _load(base: str, reads: list[str], moves: list[list[tuple[str, str]]], headers: dict, cookies: dict, move_path: str):
    """The load: READERS threads GET `reads` in turn, WRITERS threads POST their moves. Returns the stats."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    done = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + LOAD_S

    def reader(i: int) -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
            for k in range(READS_EACH):
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                reply = client.get(reads[(i + k) % len(reads)])
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if reply.status_code != 200:
                        errors.append(f"GET {reads[(i + k) % len(reads)]}: {reply.status_code}")

    def writer(mine: list[tuple[str, str]]) -> None:
        with httpx.Client(base_url=base, cookies=cookies, headers=headers, timeout=60) as client:
            for code, trigger in mine:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                body = {"trigger": trigger, "at": NOW.isoformat(), "reason": REASON.get(trigger)}
                reply = client.post(move_path.format(code=code), json=body)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    if reply.status_code != 201:
                        errors.append(f"POST {code} {trigger}: {reply.status_code} {reply.text[:200]}")
                    else:
                        done[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    threads += [threading.Thread(target=writer, args=(m,)) for m in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None  # noqa: E731
    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": pick(0.5),
            "p95_ms": pick(0.95), "errors": len(errors), "first_error": errors[0] if errors else None,
            "moves": done[0]}  # fmt: skip


def _events(ctx) -> int:
    from sqlalchemy import func, select

    from cpflow.db import Database
    from cpflow.models import TransitionEvent

    db = Database(_url(ctx))
    try:
        with db.read() as session:
            return session.scalar(select(func.count()).select_from(TransitionEvent).where(TransitionEvent.kind == "transition"))
    finally:
        db.dispose()


def _moves(codes) -> list[list[tuple[str, str]]]:
    per = [codes[i::WRITERS] for i in range(WRITERS)]
    return [[(code, NEXT[state]) for code, state in mine] for mine in per]


def _finish(ctx, stats: dict, before: int) -> dict:
    added = _events(ctx) - before
    stats["lost_events"] = max(0, stats["moves"] - added)
    stats["duplicated_events"] = max(0, added - stats["moves"])
    return stats


def _sign_in(base: str) -> tuple[dict, dict]:
    import re

    import httpx

    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"login": "bench-lead", "password": PASSWORD, "csrf_token": token})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/plans").text).group(1)
        return {"X-CSRF-Token": csrf}, dict(client.cookies)


def cpflow(ctx):
    db, slug, codes = _prepare(ctx)
    db.dispose()
    port = _port()
    argv = [str(Path(sys.executable).parent / "cpflow"), "--db", _url(ctx), "serve", "--port", str(port)]
    proc = _start(argv, port, {"CPFLOW_SECRET_KEY": "benchmark"})
    base = f"http://127.0.0.1:{port}"
    headers, cookies = _sign_in(base)
    reads = [f"/plans/{slug}", f"/plans/{slug}/activities"]
    moves = _moves(codes)
    before = _events(ctx)

    def run():
        try:
            stats = _load(base, reads, moves, headers, cookies, f"/api/v1/plans/{slug}/activities/{{code}}/moves")
        finally:
            proc.terminate()
            proc.wait(10)
        return _finish(ctx, stats, before)

    return run


def _capture(ctx, db, slug) -> Path:
    """The SQL cpflow's app issues for the two reads, recorded through SQLAlchemy's cursor events."""
    import re

    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from cpflow.web import create_app

    app = create_app(db)
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"login": "bench-lead", "password": PASSWORD, "csrf_token": token})
    captured: dict[str, list] = {}
    for name, path in (("dashboard", f"/plans/{slug}"), ("activities", f"/plans/{slug}/activities")):
        statements: list = []

        def record(conn, cursor, statement, parameters, context, executemany, statements=statements):
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                statements.append((statement, _plain(parameters)))

        event.listen(db.engine, "before_cursor_execute", record)
        assert client.get(path).status_code == 200
        event.remove(db.engine, "before_cursor_execute", record)
        captured[name] = statements
    target = ctx.scratch / f"web-sql-{ctx.rep}.pickle"
    target.write_bytes(pickle.dumps(captured))
    return target


def _plain(parameters):
    """The parameters as the driver received them, with any value that cannot be pickled as its
    text (pandas' read_sql passes a Select to PostgreSQL's has_table catalog query: the
    floor runs that query too, with the same shape)."""

    def one(value):
        try:
            pickle.dumps(value)
            return value
        except Exception:  # noqa: BLE001 (any unpicklable object)
            return str(value)

    if isinstance(parameters, dict):
        return {k: one(v) for k, v in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return type(parameters)(one(v) for v in parameters)
    return parameters


def baseline(ctx):
    db, slug, codes = _prepare(ctx)
    sql = _capture(ctx, db, slug)
    db.dispose()
    port = _port()
    argv = [sys.executable, "-m", "uvicorn", "benchmarks.cases.web:floor_app", "--factory", "--port", str(port),
            "--log-level", "warning"]  # fmt: skip
    env = {"WEB_FLOOR_DB": _url(ctx), "WEB_FLOOR_SQL": str(sql), "WEB_FLOOR_PLAN": slug, "PYTHONPATH": os.getcwd()}
    proc = _start(argv, port, env)
    base = f"http://127.0.0.1:{port}"
    moves = _moves(codes)
    before = _events(ctx)

    def run():
        try:
            stats = _load(base, ["/read/dashboard", "/read/activities"], moves, {}, {}, "/move/{code}")
        finally:
            proc.terminate()
            proc.wait(10)
        return _finish(ctx, stats, before)

    return run


def summary(ctx, value):
    """Each side's figures; the floor's are printed too (the row's detail keeps cpflow's)."""
    print(f"web [{ctx.backend}] {ctx.side}: {value}", file=sys.stderr, flush=True)
    return value


# --- the floor: a bare Starlette app --------------------------------------------------------


def floor_app():
    """Starlette with no framework above it: each read replays cpflow's captured SELECTs on a
    new driver connection; a move is the raw UPDATE + chained event + chain head."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    from benchmarks import ACTOR, rawdb
    from cpflow.audit import utc_now

    url, slug = os.environ["WEB_FLOOR_DB"], os.environ["WEB_FLOOR_PLAN"]
    captured = pickle.loads(Path(os.environ["WEB_FLOOR_SQL"]).read_bytes())
    postgres = url.startswith("postgresql")
    mark = "%s" if postgres else "?"

    def connect():
        if postgres:
            import psycopg

            return psycopg.connect(psycopg_dsn(url))
        return rawdb.sqlite_connect(url.removeprefix("sqlite:///"))

    def read(request: Request):
        conn = connect()
        try:
            rows = 0
            for statement, parameters in captured[request.path_params["kind"]]:
                cur = conn.cursor()
                cur.execute(statement, parameters)
                rows += len(cur.fetchall())
            conn.commit()
        finally:
            conn.close()
        return JSONResponse({"rows": rows})

    dests = {"endorse": "endorsed", "start": "in_progress", "complete": "completed", "reopen": "in_progress",
             "reinstate": "proposed"}  # fmt: skip

    def move(request: Request):
        import asyncio  # noqa: F401 (a sync route: Starlette runs it in its thread pool, as FastAPI does)
        import json

        body = json.loads(request.scope["body"])
        conn = connect()
        try:
            cur = conn.cursor()
            if not postgres:
                cur.execute("BEGIN IMMEDIATE")
            lock = "" if not postgres else " FOR UPDATE"
            cur.execute(f"SELECT seq, hash FROM chain_head WHERE id = 1{lock}")  # noqa: S608
            seq, prev = cur.fetchone()
            cur.execute(f"SELECT a.id, a.plan_id, a.state FROM activities a JOIN plans p ON p.id = a.plan_id "  # noqa: S608
                        f"WHERE p.slug = {mark} AND a.code = {mark}", (slug, request.path_params["code"]))  # fmt: skip
            activity_id, plan_id, state = cur.fetchone()
            trigger = body["trigger"]
            fact = (
                "transition",
                ACTOR,
                NOW,
                plan_id,
                activity_id,
                trigger,
                state,
                dests[trigger],
                body.get("reason"),
                None,
                None,
            )
            (event,) = rawdb.chained([fact], utc_now(), seq, prev)
            cur.execute(f"UPDATE activities SET state = {mark}, version = version + 1 WHERE id = {mark}",  # noqa: S608
                        (dests[trigger], activity_id))  # fmt: skip
            cur.execute(rawdb.insert_sql("transition_events", "format" if postgres else "qmark"), event)
            cur.execute(f"UPDATE chain_head SET seq = {mark}, hash = {mark} WHERE id = 1", (event[0], event[-1]))  # noqa: S608
            conn.commit()
        finally:
            conn.close()
        return JSONResponse({"event": event[0]}, status_code=201)

    async def move_route(request: Request):
        from starlette.concurrency import run_in_threadpool

        request.scope["body"] = await request.body()
        return await run_in_threadpool(move, request)

    async def read_route(request: Request):
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(read, request)

    async def health(request: Request):
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/read/{kind}", read_route), Route("/move/{code}", move_route, methods=["POST"]),
                             Route("/healthz", health)])  # fmt: skip
