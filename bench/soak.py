"""The soak (issue 18): the default scenario for SOAK_HOURS simulated hours (24) at SOAK_SPEED
(120x: 24 hours in 12 wall minutes) with the scenario's faults, repeated every
SOAK_FAULT_EVERY_MIN simulated minutes (60, the scenario's own length; 0: once), sampling
the RSS and open files of every process (the simulator itself, the broker, the collector,
every edge and bridge, and any other child) every SOAK_SAMPLE_S wall seconds from /proc.

How growth is measured: bench/_soak_stats.py (warm-up SOAK_WARMUP_H, 1 simulated hour).
SOAK_TRACE=1 also traces the simulator's own Python allocations (tracemalloc) and prints
the lines that grew between the warm-up and the end.
The RSS curve is drawn to docs/screenshots/soak-rss.png (SOAK_PICTURE overrides).
"""

import json
import os
import shutil
import tempfile
import threading
import time
import tracemalloc
from dataclasses import asdict, replace
from pathlib import Path

from bench._soak_stats import Sample, draw, growth

ROOT = Path(__file__).resolve().parents[1]
PICTURE = ROOT / "docs" / "screenshots" / "soak-rss.png"
LIMIT = 1.05


def proc_stats(pid: int) -> tuple[float, int, float] | None:
    """(RSS MB, open files, anonymous RSS MB) of a live process, None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        rss, anon = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "RssAnon"))
    except (KeyError, ValueError, IndexError):
        return None  # a zombie has no memory lines
    return rss, fds, anon


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux: /proc/PID/task/TID/children)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                out.append(k)
                todo.append(k)
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def processes(runner) -> dict[str, int]:
    """Name -> pid of everything running now: the run's own processes by role, and any
    other descendant by its command name."""
    found: dict[str, int] = {"simulator": os.getpid()}
    if runner.broker is not None and runner.broker.proc is not None \
            and runner.broker.proc.poll() is None:
        found["broker"] = runner.broker.proc.pid
    if runner.collector is not None and runner.collector.alive():
        found["collector"] = runner.collector.proc.pid
    for node in runner.nodes.values():
        for proc in (node.edge, node.bridge):
            if proc is not None and proc.alive():
                found[proc.name] = proc.proc.pid
    known = set(found.values())
    for pid in descendants(os.getpid()):
        if pid not in known:
            found[f"other/{_comm(pid)}"] = pid
    return found


def repeat_faults(scenario, every_min: float):
    """The scenario's fault schedule again every `every_min` simulated minutes."""
    if every_min <= 0:
        return scenario
    base = [f for f in scenario.faults if f.at_min < every_min]
    faults = tuple(replace(f, at_min=f.at_min + k * every_min)
                   for k in range(int(scenario.minutes // every_min) + 1) for f in base
                   if f.at_min + k * every_min < scenario.minutes)
    return replace(scenario, faults=faults)


def _print_trace(before, after, top: int = 12) -> None:
    """SOAK_TRACE=1: where the simulator's own Python allocations grew after the warm-up."""
    print("simulator: Python allocations after the warm-up, by line (SOAK_TRACE=1):",
          len(before.traces), len(after.traces))
    for stat in after.compare_to(before, "lineno")[:top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / 1e3:+9.1f} KB {stat.count_diff:+7d} blocks"
              f"  {frame.filename}:{frame.lineno}")


def _probe_children(folder: Path, start: float, warmup: float, hours: float) -> None:
    """SOAK_PROBE=1: every child started from now on runs bench/_soak_probe (read-only)."""
    folder.mkdir()
    here = str(Path(__file__).parent / "_soak_probe")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH")) if p)
    os.environ["SOAK_PROBE_DIR"] = str(folder)
    os.environ["SOAK_PROBE_AT"] = ",".join(
        str(start + h * 3600) for h in (warmup + 0.5, hours - 0.5))


def _print_probes(folder: Path, samples: dict[str, list[Sample]]) -> dict:
    if not folder.is_dir():
        return {}
    names = {s[1]: name for name, series in samples.items() for s in series}
    out = {}
    print("malloc in use / free in the arenas / SQLite, middle of the baseline hour -> of the"
          " last hour (SOAK_PROBE=1):")
    for path in sorted(folder.glob("*.json")):
        got = json.loads(path.read_text())["at"]
        name = names.get(int(path.stem), path.stem)
        if len(got) < 2:
            continue
        a, b = got[0], got[-1]
        out[name] = {"baseline": a, "end": b}
        print(f"  {name:24s}" + ", ".join(
            f"{k} {a.get(k, 0) / 1e6:.2f} -> {b.get(k, 0) / 1e6:.2f} MB"
            for k in ("vmrss", "malloc_in_use", "malloc_free", "sqlite", "python") if k in a),
            flush=True)
    return out


def main() -> dict:
    from simulator.live import PlainView
    from simulator.overrides import apply_overrides
    from simulator.runner import Runner
    from simulator.scenario import load_scenario

    hours = float(os.environ.get("SOAK_HOURS", "24"))
    speed = float(os.environ.get("SOAK_SPEED", "120"))
    every = float(os.environ.get("SOAK_SAMPLE_S", "1"))
    warmup = float(os.environ.get("SOAK_WARMUP_H", "1"))
    fault_every = float(os.environ.get("SOAK_FAULT_EVERY_MIN", "60"))
    picture = Path(os.environ.get("SOAK_PICTURE", PICTURE))
    base = load_scenario("sapporo")
    scenario = apply_overrides(base, minutes=hours * 60, speed=speed)
    scenario = repeat_faults(replace(scenario, faults=base.faults), fault_every)
    scenario = apply_overrides(scenario)  # resolves each fault's node
    out = Path(tempfile.mkdtemp(prefix="walkway-soak-"))
    runner = Runner(scenario, out, view=PlainView())
    samples: dict[str, list[Sample]] = {}
    stop = threading.Event()
    trace = os.environ.get("SOAK_TRACE") == "1"
    snaps: list = []

    def sample() -> None:
        while not stop.wait(every):
            clock = runner.clock
            sim_h = 0.0 if clock is None else (clock() - scenario.start) / 3600
            if clock is None or sim_h < 0:
                continue  # preparing, or processes still starting
            if trace and not snaps and sim_h >= warmup:
                snaps.append(tracemalloc.take_snapshot())
            for name, pid in processes(runner).items():
                got = proc_stats(pid)
                if got is not None:
                    rss, fds, anon = got
                    samples.setdefault(name, []).append((sim_h, pid, rss, fds, anon))

    t0 = time.monotonic()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        runner.setup()
        prepared = time.monotonic() - t0
        if trace:
            tracemalloc.start()  # after the preparation: only what the run allocates
        if os.environ.get("SOAK_PROBE") == "1":
            _probe_children(out / "probe", scenario.start, warmup, hours)
        runner.start()
        runner.loop()
        ran = time.monotonic() - t0 - prepared
        if trace and snaps:
            _print_trace(snaps[0], tracemalloc.take_snapshot())
            tracemalloc.stop()
        runner.drain()
    finally:
        stop.set()
        sampler.join(5)
        runner.stop()
    wall = time.monotonic() - t0
    # The world's inputs (a day of BLE adverts, the clips) are regenerated from the seed.
    shutil.rmtree(out / "world", ignore_errors=True)
    rows = {}
    worst = 1.0
    for name, series in sorted(samples.items()):
        g = growth(series, hours, warmup)
        if g is None:
            print(f"{name:24s} {len(series):5d} samples: too few to measure", flush=True)
            continue
        worst = max(worst, g.rss_growth)
        rows[name] = {"samples": len(series), **{k: round(v, 3) if isinstance(v, float) else v
                                                 for k, v in asdict(g).items()}}
        print(f"{name:24s} {len(series):5d} samples, {g.lives:2d} lives ({g.basis}):"
              f" RSS {g.rss_start_mb:6.1f} -> {g.rss_end_mb:6.1f} MB x{g.rss_growth:.3f}"
              f" (peak x{g.rss_peak:.3f}), anon {g.anon_start_mb:.1f} -> {g.anon_end_mb:.1f}"
              f" x{g.anon_growth:.3f}, open files {g.fds_start:g} -> {g.fds_end:g}"
              f" x{g.fds_growth:.3f} (max {g.fds_max})", flush=True)
    start = scenario.start
    outages = [((r.start_sim - start) / 3600, (r.end_sim - start) / 3600)
               for r in runner.faults.runs if r.plan.kind == "broker-outage"] \
        if runner.faults is not None else []
    # The raw samples stay with the run, to redraw or re-measure without running again.
    (out / "soak-samples.json").write_text(json.dumps(
        {"hours": hours, "speed": speed, "warmup_h": warmup, "outages": outages,
         "samples": samples}))
    if samples:
        draw(samples, picture, f"walkway soak: RSS of every process, {hours:g} simulated hours"
             f" of the default scenario at {speed:g}x, its faults every {fault_every:g} min",
             outages)
    probes = _print_probes(out / "probe", samples)
    faults = {}
    if runner.faults is not None:
        for r in runner.faults.runs:
            faults[f"{r.plan.kind} {r.state}"] = faults.get(f"{r.plan.kind} {r.state}", 0) + 1
    print(f"soak: {hours:g} simulated hours at {speed:g}x took {wall:.0f} s wall (prepare"
          f" {prepared:.0f} s, run {ran:.0f} s); faults {faults}; worst RSS growth"
          f" x{worst:.3f} (limit x{LIMIT}); picture {picture}; run folder {out}", flush=True)
    return {"simulated_hours": hours, "speed": speed, "wall_s": round(wall),
            "prepare_s": round(prepared), "run_s": round(ran), "out": str(out),
            "faults": faults, "worst_rss_growth": round(worst, 3),
            "under_5_percent": worst < LIMIT, "processes": rows, "probes": probes}
