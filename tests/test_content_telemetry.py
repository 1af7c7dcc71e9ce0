"""Health telemetry names the package the sign plays (from the player's heartbeat), and the
health payload with it still matches cloud_bridge/schemas/health.v1.json."""

import json
from pathlib import Path

import jsonschema

from edge.config import load_config
from edge.health import signage
from walkway.signage_state.player import write_heartbeat

ROOT = Path(__file__).resolve().parents[1]


def test_health_reports_the_playing_package(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "node.toml"
    config.write_text('[node]\nid = "n1"\nsite = "s1"\n[store]\npath = "s.db"\n[mqtt]\n'
                      f'[signage]\nstate_dir = "{state}"\n')
    content = {"id": "sapporo-centre", "version": "2026.12.01", "digest": "f70a2d3463e7",
               "since": "2026-12-01T00:00:00Z"}
    write_heartbeat(state, state="ok", now=1000.0, scene="events", content=content)
    entry = signage(load_config(config), 1002.0, stale_s=60)
    assert entry["content"] == content and entry["state"] == "ok"
    schema = json.loads((ROOT / "cloud_bridge" / "schemas" / "health.v1.json").read_text())
    jsonschema.validate(entry, schema["properties"]["signage"])
    write_heartbeat(state, state="ok", now=1000.0, scene="events")  # an older player
    assert signage(load_config(config), 1002.0, stale_s=60)["content"] is None
