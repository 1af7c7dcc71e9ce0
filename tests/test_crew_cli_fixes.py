"""Crew CLI defects found in the field trial (issue 17): selftest shows every problem, `sensors
watch` redraws in place with whole bins, the outbox after a resend, status separates proof of
play and flags an edge running an older config."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.walkway_procs import ROOT, wait_for

from edge.crew_cli import bin_counts, config_outdated
from edge.store import Store
from signage_player.proof import play_batch
from walkway.cli import main
from walkway.records import Batch, Observation

T0 = 1_768_201_200  # 2026-01-12T07:00:00Z


def node(root: Path, extra: str = "") -> Path:
    config = root / "node.toml"
    config.write_text(f"""[node]
id = "n1"
site = "s1"
[store]
path = "edge.db"
[mqtt]
url = "mqtt://127.0.0.1:1"
{extra}""")
    return config


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_selftest_shows_every_config_problem_and_runs_the_other_checks(
        tmp_path: Path, capsys) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[node]\nid = "BAD ID"\nsite = 3\n[store]\nbin_seconds = "x"\n'
                      '[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[nonsense]\n')
    code, out = run(capsys, "selftest", "--config", str(config))
    fails = [line for line in out.splitlines() if line.startswith("FAIL config")]
    assert code == 1 and len(fails) >= 3, out
    assert any("node.id" in f for f in fails) and any("node.site" in f for f in fails)
    assert any("nonsense" in f for f in fails), fails
    assert re.search(r"^(PASS|FAIL|SKIP) clock ", out, re.M)  # still ran


def test_selftest_runs_every_check_when_the_store_cannot_open(tmp_path: Path, capsys) -> None:
    config = node(tmp_path)
    config.write_text(config.read_text().replace('"edge.db"', '"missing/dir/edge.db"'))
    code, out = run(capsys, "selftest", "--config", str(config), "--timeout", "0.5")
    assert code == 1
    assert re.search(r"^FAIL store .*directory .*missing/dir does not exist", out, re.M), out
    for name in ("disk", "clock", "broker", "certificate", "signage"):
        assert re.search(rf"^(PASS|FAIL|SKIP) {name} ", out, re.M), (name, out)


def test_watch_counts_whole_bins_and_never_drops_to_zero_at_the_minute(tmp_path: Path) -> None:
    store = Store(tmp_path / "edge.db", node="n1")
    store.commit_batch("gate", Batch([Observation(T0 + 30, "gate", "in", 10)]))
    store.commit_batch("signage", play_batch(T0 + 30, "events", 8.0))
    [row] = bin_counts(store, T0 + 62, 60)  # 2 s into the next minute; no plays among people
    assert (row["current_bin"], row["previous_bin"], row["last_5_bins"]) == (0, 10, 10)
    [row] = bin_counts(store, T0 + 59, 60)
    assert (row["current_bin"], row["previous_bin"], row["last_5_bins"]) == (10, 0, 0)
    store.close()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_watch_redraws_in_place_in_tmux(tmp_path: Path) -> None:
    config = node(tmp_path)
    store = Store(tmp_path / "edge.db", node="n1")
    store.commit_batch("gate", Batch([Observation(time.time(), "gate", "in", 3)]))
    store.close()
    socket = f"walkway-test-{os.getpid()}"
    command = (f"cd {ROOT} && {sys.executable} -m walkway sensors watch --config {config} "
               "--interval 0.1 --count 12; echo WATCH-DONE; sleep 60")
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "30", "-s", "w", command],
                   check=True, timeout=10, env={**os.environ, "TERM": "xterm-256color"})
    try:
        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p", "-S", "-", "-t", "w"],
                                  capture_output=True, text=True, timeout=10).stdout

        # 120 s: only a broken watch needs it; a loaded machine can take 30 s to import.
        text = wait_for(lambda: "WATCH-DONE" in (s := screen()) and s, 120,
                        "sensors watch to finish in tmux")
        # 12 refreshes, one table on screen and in the scrollback: redrawn, not stacked.
        assert text.count("live counts") == 1, text
        # The 3 is in the current bin, or the previous one if a minute turned before the
        # watch started (a busy machine): either way the row shows it, never a bare 0 0.
        assert re.search(r"gate\s+│\s+in\s+│\s+(3\s+│|0\s+│\s+3\s+│)", text), text
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, timeout=10)


def test_outbox_after_resend_shows_the_unsent_bins_and_their_oldest(
        tmp_path: Path, capsys) -> None:
    config = node(tmp_path)
    store = Store(tmp_path / "edge.db", node="n1")
    store.commit_batch("gate", Batch([Observation(T0 + 5 + 60 * i, "gate", "in", 1)
                                      for i in range(28)], watermark=T0 + 3600))
    store.mark_delivered([(b.id, b.version) for b in store.claim(100)])
    store.close()
    code, out = run(capsys, "outbox", "--config", str(config), "--resend-since",
                    "2026-01-12T07:00:00Z")
    assert code == 0
    assert "resent: 28 delivered bins" in out
    assert "outbox: 28 unsent bins, oldest 2026-01-12T07:00:00Z" in out, out
    assert "sent:   0 delivered bins kept" in out, out


def test_status_separates_proof_of_play_and_flags_an_outdated_config(
        tmp_path: Path, capsys) -> None:
    config = node(tmp_path)
    now = time.time()
    store = Store(tmp_path / "edge.db", node="n1")
    store.commit_batch("gate", Batch([Observation(now, "gate", "in", 4)]))
    store.commit_batch("signage", play_batch(now, "events", 8.0))
    store.set_state("edge", {"pid": os.getpid(), "started_at": now,
                             "config_sha256": hashlib.sha256(b"older").hexdigest()})
    store.close()
    data = json.loads(run(capsys, "status", "--config", str(config), "--json")[1])
    assert [c["sensor"] for c in data["counts"]] == ["gate"]
    assert [c["direction"] for c in data["plays"]] == ["play.events"]
    assert data["config_outdated"] == ["edge"]
    out = run(capsys, "status", "--config", str(config))[1]
    flat = " ".join(out.split())
    assert "WARNING: the edge runs an older config" in flat and "restart walkway-edge" in flat
    counts = out[out.index("counts"):out.index("proof of play")]
    assert "play." not in counts and "events" in out[out.index("proof of play"):]
    # The same digest: no warning.
    assert config_outdated(type("C", (), {"sha256": "x"})(),
                           {"edge": {"state": "up", "config_sha256": "x"},
                            "bridge": {"state": "down"}}) == []
