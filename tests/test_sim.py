"""Issue 8's proof: a short `walkway sim` with faults delivers every sealed bin exactly once
and counts within bounds, read from the run's own report.json."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAULTS = "broker-outage:2+2.5,power-cut@chikaho-kita2:4.5+2,partition@aurora-town:6+2.5"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_short_sim_with_faults(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = subprocess.run(
        [sys.executable, "-m", "walkway", "sim", "--nodes", "3", "--minutes", "10",
         "--speed", "40", "--faults", FAULTS, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"report: {out / 'report.html'}" in result.stdout
    report = json.loads((out / "report.json").read_text())

    # Every fault happened and was undone while the nodes kept counting.
    assert [(f["kind"], f["state"]) for f in report["faults"]] == [
        ("broker-outage", "done"), ("power-cut", "done"), ("partition", "done")]
    assert report["stores"]["chikaho-kita2"]["edge_starts"] == 2

    # Delivery: every sealed bin of every edge store is in the collector exactly once.
    d = report["delivery"]
    assert d["sealed_bins"] > 50
    assert d["missing"] == 0 and d["mismatched"] == 0
    assert d["completeness_pct"] == 100.0
    assert d["export_matches"] and d["export_rows"] >= d["sealed_bins"]
    assert d["latency_s"]["p50"] is not None and d["latency_s"]["p50"] < 5.0
    # The outage and the partition held bins back: some waited seconds, none were lost.
    assert d["latency_s"]["max"] > 2.0

    # Counting error per sensor type, against the generator's truth. The bounds are wide
    # enough for a loaded CI machine but catch a broken feed, clock or pipeline.
    by_type = report["by_type"]
    for kind, (low, high) in {"ble": (-25, 25), "tfluna": (-45, 10),
                              "camera": (-40, 15)}.items():
        figures = by_type[kind]
        assert figures["true"] > 20, (kind, figures)
        assert low <= figures["error_pct"] <= high, (kind, figures)
        assert figures["delivered_vs_counted_pct"] == 0.0, (kind, figures)
    # Away from the power cut, the sensors' own accuracy: tighter.
    for kind, (low, high) in {"ble": (-20, 20), "tfluna": (-30, 5),
                              "camera": (-20, 10)}.items():
        assert low <= by_type[kind]["error_pct_outside_faults"] <= high, (kind, by_type[kind])
    for sensor in report["sensors"]:
        assert sensor["collected"] == sensor["counted"], sensor

    html = (out / "report.html").read_text()
    assert html.count('<img src="data:image/png;base64,') == 4 + len(report["signage"])
    assert "delivery completeness" in html and "missing)" not in html
    assert all((out / "plots" / p).stat().st_size > 5000 for p in ("counts.png", "latency.png"))
    for name in report["signage"]:
        assert (out / "signage" / name).stat().st_size > 1000
