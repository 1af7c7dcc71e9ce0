"""The soak (issue 18): the default scenario for SOAK_MINUTES simulated minutes (1440 = 24
hours by default) at SOAK_SPEED (720x by default: above it, the BLE source's watchdog limit)
with the scenario's faults, sampling the RSS and open files of every process (the broker, the
collector, every edge and bridge) every SOAK_SAMPLE_S wall seconds from /proc.

Growth per process: the median of the last quarter of its samples against the median of
the second quarter (the first quarter is warm-up: imports, caches, the first bins), as a
ratio; a process restarted by a fault is measured from its last start. The RSS curve is
drawn to docs/screenshots/soak-rss.png.
"""

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICTURE = ROOT / "docs" / "screenshots" / "soak-rss.png"


def _proc_stats(pid: int) -> tuple[float, int] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024, fds
    return None


def _processes(runner) -> dict[str, int]:
    found: dict[str, int] = {}
    if runner.broker is not None and runner.broker.proc is not None:
        found["broker"] = runner.broker.proc.pid
    if runner.collector is not None and runner.collector.alive():
        found["collector"] = runner.collector.proc.pid
    for node in runner.nodes.values():
        for proc in (node.edge, node.bridge):
            if proc is not None and proc.alive():
                found[proc.name] = proc.proc.pid
    return found


def _growth(series: list[tuple[float, int, float, int]]) -> tuple[float, float]:
    """(RSS ratio, open-files ratio) of one process's last incarnation."""
    pid = series[-1][1]
    mine = [s for s in series if s[1] == pid]
    n = len(mine)
    if n < 8:
        return 1.0, 1.0
    second, last = mine[n // 4:n // 2], mine[3 * n // 4:]
    rss = statistics.median(s[2] for s in last) / statistics.median(s[2] for s in second)
    fds = statistics.median(s[3] for s in last) / max(statistics.median(s[3] for s in second), 1)
    return rss, fds


def _draw(samples: dict[str, list], sim_hours: dict[str, list], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    for name, series in sorted(samples.items()):
        ax.plot(sim_hours[name], [s[2] for s in series], label=name, linewidth=1)
    ax.set_xlabel("simulated hours")
    ax.set_ylabel("RSS (MB)")
    ax.set_title("walkway soak: RSS of every process (default scenario with faults)")
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> dict:
    from simulator.live import PlainView
    from simulator.overrides import apply_overrides
    from simulator.runner import Runner
    from simulator.scenario import load_scenario

    minutes = float(os.environ.get("SOAK_MINUTES", "1440"))
    speed = float(os.environ.get("SOAK_SPEED", "720"))
    every = float(os.environ.get("SOAK_SAMPLE_S", "2"))
    scenario = apply_overrides(load_scenario("sapporo"), minutes=minutes, speed=speed)
    out = Path(tempfile.mkdtemp(prefix="walkway-soak-"))
    runner = Runner(scenario, out, view=PlainView())
    samples: dict[str, list] = {}
    hours: dict[str, list] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            if runner.clock is None:
                continue
            sim_h = (runner.clock() - scenario.start) / 3600
            for name, pid in _processes(runner).items():
                got = _proc_stats(pid)
                if got is not None:
                    samples.setdefault(name, []).append((time.monotonic(), pid, *got))
                    hours.setdefault(name, []).append(sim_h)

    t0 = time.monotonic()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        runner.setup()
        runner.start()
        runner.loop()
        runner.drain()
    finally:
        stop.set()
        runner.stop()
    wall = time.monotonic() - t0
    out_rows = {}
    worst = 1.0
    for name, series in sorted(samples.items()):
        rss, fds = _growth(series)
        worst = max(worst, rss)
        out_rows[name] = {"samples": len(series), "rss_mb_last": round(series[-1][2], 1),
                          "rss_growth": round(rss, 3), "open_files_growth": round(fds, 3),
                          "restarts": len({s[1] for s in series}) - 1}
        print(f"{name:28s} {len(series):5d} samples, RSS {series[-1][2]:6.1f} MB,"
              f" growth x{rss:.3f}, open files x{fds:.3f}", flush=True)
    if samples:
        _draw(samples, hours, PICTURE)
    print(f"soak: {minutes:g} simulated minutes at {speed:g}x took {wall:.0f} s wall;"
          f" worst RSS growth x{worst:.3f} (limit x1.05); picture {PICTURE}")
    return {"simulated_minutes": minutes, "speed": speed, "wall_s": round(wall), "out": str(out),
            "worst_rss_growth": round(worst, 3), "under_5_percent": worst < 1.05,
            "processes": out_rows}
