"""Issue 16 item 6: the snowy-day scenario on the real Hakken graph, run by `walkway sim`.

The report's snow plan is the city's plan made from what the run delivered (edge -> bridge ->
MQTT -> collector), and simulated phones check in at the signs by decoding the QR from the
sign's own rendered frame and redeeming it through the city app's API. A short period."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_hakken_snowy_day_plan_and_checkins(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = subprocess.run(
        [sys.executable, "-m", "walkway", "sim", "--scenario", "hakken-snow", "--minutes", "7",
         "--out", str(out), "--plain"], cwd=ROOT, capture_output=True, text=True, timeout=230)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["delivery"]["completeness_pct"] == 100.0

    # The plan, from the run's own database: walkers per place = what the collector holds.
    snow = report["snow_plan"]
    window_h = snow["count_window_s"] / 3600
    end = snow["plan_at"]
    with sqlite3.connect(out / "cloud.db") as db:
        held = dict(db.execute(
            "SELECT node, sum(count) FROM counts WHERE sensor = 'gate' AND start >= ?"
            " AND start < ? GROUP BY node", (end - snow["count_window_s"], end)).fetchall())
    places = {"hakken-shotengai": "hakken-shops", "hakken-school": "hakken-suburb",
              "shinkawa-corner": "shinkawa-corner"}
    for place, node in places.items():
        if held.get(node):
            assert snow["walkers_per_hour_at_places"][place] == pytest.approx(
                held[node] / window_h, abs=0.06)
    assert held and sum(held.values()) > 10
    assert snow["segments_total"] == 676 and snow["planned"] > 600
    assert snow["width_fallback_segments"] == 676 and "fallback width" in snow["width_note"]
    assert snow["walkers_unknown_segments"] == len(snow["walkers_unknown_ids"]) > 0
    # the suburban node's gauge, delivered like the counts, sets the snow near it
    assert snow["snow_sources"].get("gauge:hakken-suburb", 0) > 50
    assert [len(c["first_jobs"]) for c in snow["crews"]] == [5, 5, 5]
    plan = json.loads((out / "snow-plan.json").read_text())
    assert plan["planned"] == snow["planned"]
    assert (out / "plots" / "snow-plan.png").stat().st_size > 20000
    assert "| order | crew |" in (out / "snow-plan.md").read_text()

    # Phones: codes from the sign's frame, redeemed; the replay refused; nothing about people.
    ck = report["checkins"]
    assert ck["awarded"] >= 1 and ck["points"] == 10 * ck["awarded"]
    replays = [x for x in ck["results"] if x["what"] == "replay"]
    assert replays and all(x["refused"] == "replayed" and x["awarded"] == 0 for x in replays)
    with sqlite3.connect(out / "checkins.db") as db:
        rows = db.execute("SELECT * FROM checkins").fetchall()
        columns = [c[1] for c in db.execute("PRAGMA table_info(checkins)")]
    assert len(rows) == ck["awarded"] and columns == ["account", "node", "day", "points"]
    assert {r[2] for r in rows} == {"2026-01-25"}
    # the pseudonyms stay with the city: nothing a node keeps or its sign shows has them
    accounts = {r[0].encode() for r in rows}
    for f in (out / "nodes").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(a in data for a in accounts), f
    assert not any(a.decode() in json.dumps(report) for a in accounts)
    html = (out / "report.html").read_text()
    assert "Snow plan (from this run)" in html and "check-ins awarded" in html
    assert "snow plan:" in result.stdout and "check-ins:" in result.stdout
