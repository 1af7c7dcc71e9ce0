"""Automatic rollback when the canary's frame watchdog trips: a real player on the canary
sign (pygame, dummy video driver) confirms a good package on screen ("playing"); with the
next package it freezes after the install (SIGSTOP: no frames, no heartbeat), the canary's
bridge reports "failed", and `walkway fleet publish-content` re-points the canary at the
package it played, leaves the rest alone, and says so."""

import signal
import subprocess
import sys
import time

import pytest
from content_fixtures import SMALL, Sign, package, walkway
from support.walkway_procs import WalkwayProcess, wait_for
from test_content_distribution import TIMEOUT, V1, V2, V3, _publish
from test_content_distribution import fleet as fleet  # noqa: F401 - the fixture

from edge.config import load_config
from edge.health import signage
from provisioning.content_key import create_content_key
from walkway.signage_state.player import read_heartbeat


def _shows(sign: Sign) -> str | None:
    beat = read_heartbeat(sign.state_dir) or {}
    return (beat.get("content") or {}).get("version")


@pytest.mark.slow
def test_canary_frame_watchdog_trip_rolls_the_canary_back(broker, tmp_path, fleet):
    city = create_content_key(tmp_path / "key")
    v1, v2, v3 = (package(tmp_path, city.private, v) for v in (V1, V2, V3))
    # Probation 8 s, a heartbeat older than 3 s is a tripped watchdog; the player at 5 fps
    # writes one every 0.5 s (the test has 5 s to freeze it after the install).
    n1, n2 = (Sign(tmp_path, broker.url, n, city.public, probation_s=8, stale_s=3, fps=5)
              for n in ("n1", "n2"))
    player = WalkwayProcess(["signage", "run", "--config", str(n1.config)],
                            tmp_path / "player.log")
    try:
        for s in (n1, n2):
            s.start()
            wait_for(s.subscribed, TIMEOUT, f"{s.node}'s pointer subscription")
        assert _publish(broker, fleet, city.private, v1, "s1/n1", "s1/n2").returncode == 0
        for s in (n1, n2):
            wait_for(lambda s=s: s.version() == V1, TIMEOUT, f"{s.node} installs v1")
        player.start()
        wait_for(lambda: _shows(n1) == V1, TIMEOUT, "the player shows v1")

        # v2: the canary's player shows it for the whole probation: "playing", then the rest.
        r = _publish(broker, fleet, city.private, v2, "s1/n1", "s1/n2",
                     extra=("--canary", "50%", "--wait", str(TIMEOUT)))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "canary: s1/n1 playing" in r.stdout
        wait_for(lambda: n2.version() == V2, TIMEOUT, "n2 installs v2")
        assert _shows(n1) == V2

        # v3: the canary's player freezes once v3 is installed.
        publish = subprocess.Popen(
            [sys.executable, "-m", "walkway", "fleet", "publish-content", str(v3), "--to",
             "s1/n1", "--to", "s1/n2", "--canary", "50%", "--wait", str(TIMEOUT), "--key",
             str(city.private), "--ca-dir", str(fleet), "--broker", broker.url, "--chunk",
             SMALL], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: n1.bridge.content.probation is not None
                 and n1.bridge.content.probation.ptr["version"] == V3, TIMEOUT,
                 "n1 installed v3 and watches its player")
        player.proc.send_signal(signal.SIGSTOP)
        out, err = publish.communicate(timeout=TIMEOUT * 2)
        assert publish.returncode == 4, out + err
        assert "canary: s1/n1 failed: frame watchdog: no heartbeat from the player" in out
        assert f"rolled back s1/n1 to sapporo-centre {V2}" in out
        assert "other 1 sign(s)" not in out and n2.version() == V2  # the rest untouched

        # The player comes back; the sign goes back to v2 (older: the pointer says rollback).
        player.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: n1.version() == V2, TIMEOUT, "n1 rolled back to v2")
        wait_for(lambda: _shows(n1) == V2, TIMEOUT, "the player shows v2 again")
        # Health telemetry names the package on screen (from the player's heartbeat).
        health = signage(load_config(n1.config), time.time(), stale_s=15)
        assert (health["content"]["id"], health["content"]["version"]) == ("sapporo-centre", V2)
        status = walkway("fleet", "content-status", "--broker", broker.url).stdout
        n1_line = next(line for line in status.splitlines() if line.startswith("s1/n1"))
        assert "failed: frame watchdog" in n1_line and "(rollback)" in n1_line
    finally:
        if player.alive():
            player.proc.send_signal(signal.SIGCONT)
        player.terminate()
        for s in (n1, n2):
            s.stop()
