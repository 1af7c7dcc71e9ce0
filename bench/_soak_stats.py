"""The soak's figures from its samples: growth per process, and the RSS picture.

A sample is (simulated hour, pid, RSS MB, open files). A process that a fault restarted (a
power cut SIGKILLs the node's edge and bridge; a broker outage stops mosquitto) has one
life per pid.

- One life: growth = median RSS over the last simulated hour of the run over the median
  RSS over the hour after the warm-up (`warmup_h`, imports, caches, the first bins); the
  same two hours of the day, a day apart. `peak` = the highest RSS after the warm-up over
  that baseline (catches a leak that a later drop would hide).
- Several lives: each life starts afresh, so growth within one is bounded by its length;
  what could still grow is what a life inherits (a store, a retained backlog). Growth =
  the peak RSS of the last life a fault ended over that of the first one after warm-up.
The same ratios for anonymous RSS (RssAnon: what a leak grows; VmRSS also counts mapped
files such as SQLite's WAL index) and for open files (entries in /proc/PID/fd).
"""

import statistics
from dataclasses import dataclass
from pathlib import Path

# (simulated hour, pid, RSS MB, open files, anonymous RSS MB: the process's own heap, as
# opposed to the shared libraries and mapped files that VmRSS also counts)
Sample = tuple[float, int, float, int, float]
RSS, FDS, ANON = 2, 3, 4
MIN_SAMPLES = 8


@dataclass(frozen=True)
class Growth:
    lives: int
    rss_start_mb: float
    rss_end_mb: float
    rss_growth: float
    rss_peak: float
    anon_start_mb: float
    anon_end_mb: float
    anon_growth: float
    fds_start: float
    fds_end: float
    fds_growth: float
    fds_max: int
    basis: str  # "h 1-2 -> h 23-24" or "lives 3 -> 24" (what was compared)


def lives_of(series: list[Sample]) -> list[list[Sample]]:
    out: list[list[Sample]] = []
    for s in series:
        if not out or out[-1][-1][1] != s[1]:
            out.append([])
        out[-1].append(s)
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else 1.0


def growth(series: list[Sample], run_h: float, warmup_h: float = 1.0) -> Growth | None:
    """None: too few samples to say anything (a run shorter than warm-up + 2 hours)."""
    # A life sampled under 3 times is a transient helper (a fork about to exec), not a
    # process that could grow: its one RSS sample says nothing.
    lives = [life for life in lives_of(series) if len(life) >= 3]
    if not lives:
        return None
    series = [s for life in lives for s in life]
    after = [s for s in series if s[0] >= warmup_h] or series
    if len(lives) == 1:
        base = [s for s in series if warmup_h <= s[0] < warmup_h + 1]
        end = [s for s in series if run_h - 1 <= s[0] < run_h]
        if len(base) < 3 or len(end) < 3 or run_h - 1 < warmup_h + 1:
            return None
        basis = f"h {warmup_h:g}-{warmup_h + 1:g} -> h {run_h - 1:g}-{run_h:g}"
        level = statistics.median
    else:
        ended = [life for life in lives[:-1] if life[0][0] >= warmup_h] or lives[:-1]
        if len(ended) < 2:
            ended = lives[:2]
        base, end = ended[0], ended[-1]
        basis = f"lives {lives.index(base) + 1} -> {lives.index(end) + 1}"
        level = max
    (rss0, rss1), (anon0, anon1), (fd0, fd1) = (
        (level(s[i] for s in base), level(s[i] for s in end)) for i in (RSS, ANON, FDS))
    return Growth(len(lives), rss0, rss1, _ratio(rss1, rss0),
                  _ratio(max(s[RSS] for s in after), rss0), anon0, anon1, _ratio(anon1, anon0),
                  fd0, fd1, _ratio(fd1, fd0), max(s[FDS] for s in series), basis)


PANELS = (("edges", lambda n: n.endswith("/edge")),
          ("bridges", lambda n: n.endswith("/bridge")),
          ("broker, collector, simulator", lambda n: "/" not in n or n.startswith("other/")))


def draw(samples: dict[str, list[Sample]], path: Path, title: str,
         outages: list[tuple[float, float]]) -> None:
    """RSS per process over simulated hours, one panel per role, one line per life (a
    restarted process's line breaks); broker outages shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(PANELS), 1, figsize=(11, 10), dpi=100, sharex=True)
    colours = plt.get_cmap("tab10").colors
    for ax, (label, belongs) in zip(axes, PANELS, strict=True):
        for a, b in outages:
            ax.axvspan(a, b, color="0.88", linewidth=0)
        # A process seen once or twice (a broker being restarted) is no curve.
        names = [n for n in sorted(samples) if belongs(n) and len(samples[n]) >= MIN_SAMPLES]
        for i, name in enumerate(names):
            for k, life in enumerate(lives_of(samples[name])):
                ax.plot([s[0] for s in life], [s[RSS] for s in life], linewidth=1,
                        color=colours[i % len(colours)], label=name if k == 0 else None)
        ax.set_ylabel(f"RSS (MB), {label}")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=3, loc="lower right")
    axes[0].set_title(title, fontsize=10)
    axes[-1].set_xlabel("simulated hours (grey: broker outages)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
