"""The run's figures: truth vs counted vs collector, delivery completeness and latency.

Completeness: every sealed bin in the edge stores (pending, sending or delivered) must be in
the collector exactly once (its primary key) with the same count and version. Latency: a
bin's `sealed_at` in the edge store (simulated time, converted back to wall time) to its
`received_at` in the collector (wall time), in wall seconds.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from simulator.feed_base import Feed
from simulator.readonly import read_only

UNITS = MappingProxyType({"c": "°C", "mm": "mm", "pct": "%", "hpa": "hPa", "ms": "m/s"})


def rows(db: Path, sql: str) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with read_only(db, 10) as conn:
        cur = conn.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@dataclass
class SensorFigures:
    node: str
    sensor: str
    type: str
    mode: str  # real / replay
    measures: bool  # True: a measurement compared as a per-bin mean, not a count
    compare: str  # what is compared: directions or a quantity
    unit: str  # "people" or the quantity's unit
    true: float
    counted: float
    collected: float
    error_pct: float | None
    mean_abs_error: float | None  # measurements: mean |bin mean - true mean|
    series: dict[str, list] = field(default_factory=dict)  # per-bin truth/counted for plots
    status: dict[str, Any] = field(default_factory=dict)
    # Counts only over bins no fault touched that changes what this sensor counts: the
    # sensor's own accuracy, apart from what the faults cost.
    true_outside_faults: float = 0.0
    counted_outside_faults: float = 0.0
    error_pct_outside_faults: float | None = None


def _pct(a: float, b: float) -> float | None:
    return None if not b else round(100.0 * (a - b) / b, 2)


def _sensor_names(feed: Feed) -> set[str]:
    """Sensor names a source writes: its own name, or "NAME.LINE" for camera lines."""
    return {feed.source_name, f"{feed.source_name}.main"}


def sensor_figures(node_id: str, db: Path, feed: Feed, edge_bins: list[dict],
                   cloud: list[dict], start: float, end: float) -> SensorFigures:
    comp = set(feed.compare)
    kind = "measure" if feed.measures else "count"
    mine = [b for b in edge_bins if b["source"] == feed.source_name and b["direction"] in comp
            and start <= b["start"] < end and b["kind"] == kind]
    sensors = {b["sensor"] for b in mine} | _sensor_names(feed)
    col = [c for c in cloud if c["node"] == node_id and c["sensor"] in sensors
           and c["direction"] in comp and start <= c["start"] < end and c["kind"] == kind]
    # What the node counted: its store, plus bins it delivered and later pruned (e.g. at
    # its disk cap), which only the collector still has.
    held = {(b["sensor"], b["start"], b["direction"]) for b in mine}
    for c in col:
        if (c["sensor"], c["start"], c["direction"]) not in held:
            mine.append({"start": c["start"], "count": c["n"],
                         "vsum": (c["value"] or 0.0) * c["n"]})
    truth_bins: dict[int, float] = {}
    for (b, d), v in feed.truth.items():
        if d in comp and start <= b < end:
            truth_bins[b] = truth_bins.get(b, 0.0) + v
    counted_bins: dict[int, float] = {}
    status = {}
    for r in rows(db, "SELECT source, status FROM source_state"):
        if r["source"] == feed.source_name and r["status"]:
            status = json.loads(r["status"])
    if feed.measures:
        for b in mine:
            counted_bins[b["start"]] = (b["vsum"] or 0.0) / b["count"] if b["count"] else 0.0
        both = [b for b in truth_bins if b in counted_bins]
        mae = (float(np.mean([abs(counted_bins[b] - truth_bins[b]) for b in both]))
               if both else None)
        true = float(np.mean(list(truth_bins.values()))) if truth_bins else 0.0
        counted = float(np.mean([counted_bins[b] for b in both])) if both else 0.0
        collected = float(np.mean([c["value"] for c in col])) if col else 0.0
        err, unit = None, UNITS.get(feed.compare[0].rsplit("_", 1)[-1], "")
    else:
        for b in mine:
            counted_bins[b["start"]] = counted_bins.get(b["start"], 0.0) + b["count"]
        true = float(sum(truth_bins.values()))
        counted = float(sum(counted_bins.values()))
        collected = float(sum(c["value"] for c in col))
        mae, err, unit = None, _pct(counted, true), "people"
    keys = sorted(set(truth_bins) | set(counted_bins))
    series = {"start": keys, "true": [truth_bins.get(k) for k in keys],
              "counted": [counted_bins.get(k) for k in keys]}
    return SensorFigures(node_id, feed.sensor.name, feed.sensor.type, feed.mode, feed.measures,
                         "+".join(feed.compare), unit, round(true, 2), round(counted, 2),
                         round(collected, 2), err,
                         None if mae is None else round(mae, 3), series, status)


def delivery(edge: dict[str, list[dict]], cloud: list[dict], to_wall: Any) -> dict[str, Any]:
    """Completeness and latency over every sealed bin of every node."""
    index = {(c["node"], c["sensor"], c["start"], c["seconds"], c["direction"], c["kind"]): c
             for c in cloud}
    sealed = ok = missing = mismatched = open_bins = 0
    latencies: list[float] = []
    points: list[tuple[float, float]] = []
    per_node: dict[str, dict[str, int]] = {}
    for node, bins in edge.items():
        stats = per_node.setdefault(node, {"sealed": 0, "ok": 0, "missing": 0,
                                           "mismatched": 0})
        for b in bins:
            if b["state"] == "open":
                open_bins += 1
                continue
            sealed += 1
            stats["sealed"] += 1
            c = index.get((node, b["sensor"], b["start"], b["seconds"], b["direction"],
                           b["kind"]))
            if c is None:
                missing += 1
                stats["missing"] += 1
                continue
            if c["n"] != b["count"] or c["version"] != b["version"]:
                mismatched += 1
                stats["mismatched"] += 1
                continue
            ok += 1
            stats["ok"] += 1
            if b["sealed_at"] is not None:
                lat = c["received_at"] - to_wall(b["sealed_at"])
                latencies.append(lat)
                points.append((b["sealed_at"], lat))
    edge_keys = {(n, b["sensor"], b["start"], b["seconds"], b["direction"], b["kind"])
                 for n, bins in edge.items() for b in bins}
    only_cloud = sum(1 for k in index if k not in edge_keys)
    lat = np.array(latencies) if latencies else np.zeros(0)

    def pct(q: float) -> float | None:
        return round(float(np.percentile(lat, q)), 3) if lat.size else None

    return {
        "sealed_bins": sealed, "in_collector_exactly_once": ok, "missing": missing,
        "mismatched": mismatched, "open_at_end": open_bins, "collector_only": only_cloud,
        "completeness_pct": round(100.0 * ok / sealed, 3) if sealed else None,
        "per_node": per_node,
        "latency_s": {"p50": pct(50), "p90": pct(90), "p99": pct(99),
                      "max": round(float(lat.max()), 3) if lat.size else None,
                      "n": int(lat.size)},
        "latency_points": points,
    }


def export_check(db: Path, cloud: list[dict]) -> dict[str, Any]:
    """`walkway collector export` (what a city planner gets) must hold exactly the bins
    the report checked in the collector's database, with the same counts."""
    import subprocess
    import sys

    from walkway.timeutil import parse_iso

    got: set[tuple] = set()
    for kind in ("counts", "measures"):
        result = subprocess.run(
            [sys.executable, "-m", "walkway", "collector", "export", "--db", str(db),
             "--format", "json", "--kind", kind], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            return {"export_rows": None, "export_matches": False,
                    "export_error": result.stderr.strip()[-300:]}
        for r in json.loads(result.stdout or "[]"):
            key = r.get("direction", r.get("quantity"))
            got.add((r["node"], r["sensor"], int(parse_iso(r["start"])), r["seconds"], key,
                     r["count"] if kind == "counts" else r["n"]))
    want = {(c["node"], c["sensor"], c["start"], c["seconds"], c["direction"], c["n"])
            for c in cloud}
    return {"export_rows": len(got), "export_matches": got == want}


def collector_rows(db: Path) -> list[dict]:
    counts = rows(db, "SELECT node, sensor, start, seconds, direction, count AS n, version,"
                      " received_at, count AS value FROM counts")
    for c in counts:
        c["kind"] = "count"
    measures = rows(db, "SELECT node, sensor, start, seconds, quantity AS direction, n,"
                        " version, received_at, mean AS value FROM measures")
    for m in measures:
        m["kind"] = "measure"
    return counts + measures


def edge_rows(db: Path) -> list[dict]:
    return rows(db, "SELECT sensor, source, start, seconds, kind, direction, count, vsum,"
                    " version, state, sealed_at, delivered_at FROM bins")


# Faults that change what a sensor counts (a broker outage or a partition only delays it).
COUNTING_FAULTS = ("power-cut", "disk-full", "sensor-unplugged", "camera-covered")


def outside_faults(f: SensorFigures, faults: list[dict], bin_s: int) -> None:
    """Fill f's *_outside_faults from the bins no counting fault on it overlapped (plus
    one bin after each, while restarted processes catch up)."""
    if f.measures:
        return
    spans = [(x["start_sim"], x["end_sim"] + bin_s) for x in faults
             if x["kind"] in COUNTING_FAULTS and x["state"] in ("done", "active")
             and x["target"] in (f.node, f"{f.node}/{f.sensor}")]
    true = counted = 0.0
    for start, t, c in zip(f.series["start"], f.series["true"], f.series["counted"],
                           strict=True):
        if any(start < e and start + bin_s > s for s, e in spans):
            continue
        true += t or 0.0
        counted += c or 0.0
    f.true_outside_faults, f.counted_outside_faults = true, counted
    f.error_pct_outside_faults = _pct(counted, true)


def by_type(figures: list[SensorFigures]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in figures:
        t = out.setdefault(f.type, {"sensors": 0, "modes": set(), "true": 0.0, "counted": 0.0,
                                    "collected": 0.0, "mae": [], "measures": f.measures})
        t["sensors"] += 1
        t["modes"].add(f.mode)
        t["true"] += f.true
        t["counted"] += f.counted
        t["collected"] += f.collected
        t["true_clean"] = t.get("true_clean", 0.0) + f.true_outside_faults
        t["counted_clean"] = t.get("counted_clean", 0.0) + f.counted_outside_faults
        if f.mean_abs_error is not None:
            t["mae"].append(f.mean_abs_error)
    for t in out.values():
        t["modes"] = sorted(t["modes"])
        mae = t.pop("mae")
        true_clean, counted_clean = t.pop("true_clean"), t.pop("counted_clean")
        if t.pop("measures"):
            t["mean_abs_error"] = round(float(np.mean(mae)), 3) if mae else None
            t["error_pct"] = None
            t.pop("collected")
            for k in ("true", "counted"):  # means of the sensors' means, not sums
                t[k] /= t["sensors"]
        else:
            t["error_pct"] = _pct(t["counted"], t["true"])
            t["error_pct_outside_faults"] = _pct(counted_clean, true_clean)
            t["delivered_vs_counted_pct"] = _pct(t["collected"], t["counted"])
        for k in ("true", "counted", "collected"):
            if k in t:
                t[k] = round(t[k], 2)
    return out
