"""One side of one benchmark, one repetition, in a process of its own.

`python -m benchmarks.runner.child SPEC_JSON` prints one JSON line: the seconds the timed
work took (wall clock, and CPU), the process's peak RSS (set-up and input included, as a user's process would
hold them) and the benchmark's summary of what the work produced.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from pathlib import Path

from benchmarks.cases import Context, load_case
from benchmarks.generate import Prepared


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    VmHWM rather than ru_maxrss: on Linux a process started by fork/vfork + exec inherits
    its parent's ru_maxrss, so a child of a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process and of the subprocesses it waited for: steadier than the
    wall clock on a shared machine (reported beside it, never instead of it)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _profiled(work, stem: Path):
    """The work wrapped in a profiler: pyinstrument when installed (a call tree in
    STEM.txt and STEM.html), else cProfile (STEM.prof and the top functions in STEM.txt).
    Profiling slows the work: timings of a --profile run are not comparable."""
    stem.parent.mkdir(parents=True, exist_ok=True)

    def run():
        try:
            from pyinstrument import Profiler
        except ImportError:
            import cProfile
            import io
            import pstats

            profile = cProfile.Profile()
            value = profile.runcall(work)
            profile.dump_stats(f"{stem}.prof")
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
            stem.with_suffix(".txt").write_text(text.getvalue())
            return value
        profiler = Profiler(interval=0.002)
        profiler.start()
        try:
            return work()
        finally:
            profiler.stop()
            stem.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
            stem.with_suffix(".html").write_text(profiler.output_html())

    return run


def run(spec: dict) -> dict:
    case = load_case(spec["case"])
    data = Prepared(Path(spec["data"]))
    ctx = Context(
        size=spec["size"], side=spec["side"], rep=spec["rep"], data=data, scratch=Path(spec["scratch"]),
        backend=spec["backend"], pg_url=spec.get("pg_url"), info=json.loads(data.info.read_text()),
        params=spec.get("params") or {}, variant=spec.get("variant"),
    )  # fmt: skip
    work = getattr(case, spec["side"])(ctx)
    if spec.get("profile"):
        work = _profiled(
            work,
            Path(spec["profile"])
            / f"{spec['case']}{'-' + spec['variant'] if spec.get('variant') else ''}-{spec['size']}-{spec['side']}-{spec['rep']}",
        )
    gc.collect()
    cpu_before, started = _cpu(), time.perf_counter()
    value = work()
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu_before
    measure = getattr(case, "peak_rss_mb", None)
    rss_mb = measure(ctx) if measure else peak_rss_mb()
    rss_mb = float("nan") if rss_mb is None else rss_mb
    summarise = getattr(case, "summary", None)
    return {"seconds": seconds, "cpu_s": cpu, "rss_mb": round(rss_mb, 1), "summary": summarise(ctx, value) if summarise else None}


def main() -> None:
    print(json.dumps(run(json.loads(sys.argv[1])), default=str))


if __name__ == "__main__":
    main()
