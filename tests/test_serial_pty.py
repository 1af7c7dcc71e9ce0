"""Serial sources over a REAL pty, fed by a writer process (simulator.serial_devices)."""

import logging
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.walkway_procs import wait_for as wait_until

from sensors.base import SourceContext, SourceState
from sensors.serial import maxbotix, tfluna, wxt530
from sensors.serial.parsers import TfLunaParser
from sensors.serial.tfluna import DetectorOptions, PassDetector
from simulator.serial_devices import scenario
from walkway.config_table import ConfigTable

ROOT = Path(__file__).resolve().parents[1]
MODULES = {"tfluna": tfluna, "maxbotix": maxbotix, "wxt530": wxt530}
DEVICE_KEYS = {"tfluna": {"mount_height_cm": 250}, "maxbotix": {"mount_height_mm": 2000},
               "wxt530": {}}




class Writer:
    """The writer process: `python -m simulator.serial_devices ...` on a pty behind `link`."""

    def __init__(self, tmp_path: Path, protocol: str, *args: str) -> None:
        self.link = tmp_path / f"tty-{protocol}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator.serial_devices", protocol, "--link",
             str(self.link), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True,
        )
        self.expect("ready")

    def expect(self, prefix: str, timeout: float = 10.0) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"writer did not say {prefix!r}"
        line = self.proc.stdout.readline().strip()
        assert line.startswith(prefix), f"writer said {line!r}, expected {prefix!r}"
        return line

    def go(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Running:
    """A source in its own thread; batches collected for the test to poll."""

    def __init__(self, source) -> None:
        self.source = source
        self.batches: list = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=source.run, args=(self._emit, self.stop, None),
                                       daemon=True)
        self.thread.start()

    def _emit(self, batch) -> None:
        with self.lock:
            self.batches.append(batch)

    def count(self, direction: str) -> int:
        with self.lock:
            return sum(o.count for b in self.batches for o in b.observations
                       if o.direction == direction)

    def values(self, quantity: str) -> list[float]:
        with self.lock:
            return [m.value for b in self.batches for m in b.measurements
                    if m.quantity == quantity]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def make_source(protocol: str, url: str, **keys):
    problems: list[str] = []
    table = {"type": protocol, "url": url, **DEVICE_KEYS[protocol], **keys}
    t = ConfigTable(Path("node.toml"), "sources[0]", table, problems)
    t.text("type")
    options = MODULES[protocol].parse_options(t)
    t.finish()
    assert problems == []
    spec = type("Spec", (), {"name": f"{protocol}-1", "options": options})
    return MODULES[protocol].open_source(spec, SourceContext("n1", Path("."), time.time))


@pytest.fixture
def devices(tmp_path):
    opened: list = []

    def start(protocol: str, *args: str, **keys):
        w = Writer(tmp_path, protocol, *args)
        r = Running(make_source(protocol, str(w.link), **keys))
        opened.append((w, r))
        wait_until(lambda: r.source.status().counters["opens"] >= 1, what="port open")
        return w, r

    yield start
    for w, r in opened:
        r.close()
        w.close()


def test_tfluna_counts_pedestrians_over_pty(devices):
    w, r = devices("tfluna", "--phases", "4,3", "--seed", "7")
    w.go()
    w.expect("sent 4")
    wait_until(lambda: r.count("pass") == 4, what="4 passes")
    w.go()
    w.expect("sent 3")
    wait_until(lambda: r.count("pass") == 7, what="7 passes")
    st = r.source.status()
    assert st.state == SourceState.OK
    assert st.counters["bad_checksums"] == 0 and st.counters["unreliable_frames"] > 0
    wait_until(lambda: any(o.count == 0 for b in r.batches for o in b.observations),
               what="a zero-count observation")
    assert all(-20 < v < 100 for v in r.values("lidar_temp_c"))


def test_tfluna_close_walkers_in_file_over_pty(devices):
    """Groups walking through the gate in file at 25 Hz: many pairs leave no floor reading
    long enough to end the dip. The source splits them as the detector does offline on the
    same bytes, however the pty chunks them, and lands near the truth where a detector
    without splitting is far below it."""
    plan = scenario("tfluna", [30, 30], 7, groups=0.4, rate_hz=25.0)
    det = PassDetector(DetectorOptions(frame_rate_hz=25.0))
    plain = PassDetector(DetectorOptions(frame_rate_hz=25.0, bump_cm=200, split_ratio=10,
                                         smooth_split_ratio=10))
    plain.model.cuts = lambda profile, single: []  # type: ignore[method-assign]
    p1, p2 = TfLunaParser(), TfLunaParser()
    expected = [det.feed(p1.feed(data)) for data, _, _ in plan]
    without = sum(plain.feed(p2.feed(data)) for data, _, _ in plan)
    assert abs(sum(expected) - 60) <= 3 and without <= 50 and det.split_extra >= 5
    w, r = devices("tfluna", "--phases", "30,30", "--seed", "7", "--groups", "0.4",
                   "--rate", "25", frame_rate_hz=25)
    for i, n in enumerate((30, 30)):
        w.go()
        w.expect(f"sent {n}")
        total = sum(expected[: i + 1])
        wait_until(lambda total=total: r.count("pass") == total, what=f"{total} passes")
    st = r.source.status().counters
    assert st["split_extra"] == det.split_extra and st["single_pass_ms"] > 0


def test_maxbotix_snow_depth_over_pty(devices):
    w, r = devices("maxbotix", "--phases", "300", "--seed", "3")
    truth = scenario("maxbotix", [300], 3)[0][1]
    w.go()
    wait_until(lambda: len(r.values("snow_depth_mm")) == len(truth), what="all depths")
    assert r.values("snow_depth_mm") == truth
    c = r.source.status().counters
    assert c["out_of_range"] + c["too_close"] == 300 - len(truth)


def test_wxt530_weather_over_pty(devices):
    w, r = devices("wxt530", "--phases", "60", "--seed", "5")
    truth = scenario("wxt530", [60], 5)[0][1]
    w.go()
    wait_until(lambda: len(r.values("temperature_c")) == 60, what="60 messages")
    for q in ("temperature_c", "humidity_pct", "pressure_hpa", "rain_mm", "wind_speed_ms",
              "wind_dir_deg", "hail_hits_cm2"):
        wait_until(lambda q=q: len(r.values(q)) == sum(q in m for m in truth), what=q)
        assert r.values(q) == pytest.approx([m[q] for m in truth if q in m]), q
    assert r.source.status().counters["invalid_values"] == sum("wind_speed_ms" not in m
                                                                for m in truth)


def test_unplug_and_replug_reconnects_without_losing_or_doubling(devices, caplog):
    caplog.set_level(logging.WARNING, logger="sensors.serial.common")
    w, r = devices("tfluna", "--phases", "3,2", "--seed", "11", "--replug",
                   reconnect_max_s=0.2)
    w.go()
    w.expect("sent 3")
    wait_until(lambda: r.count("pass") == 3, what="3 passes")
    w.go()
    w.expect("unplugged")
    wait_until(lambda: r.source.status().state == SourceState.DISCONNECTED, what="disconnect")
    w.go()
    w.expect("replugged")
    wait_until(lambda: r.source.status().counters["opens"] >= 2, what="reopen")
    w.go()
    w.expect("sent 2")
    wait_until(lambda: r.count("pass") == 5, what="5 passes")
    st = r.source.status()
    assert st.state == SourceState.OK and st.counters["reconnects"] >= 1
    assert r.count("pass") == 5
    # The log says the device came back, and which one: not "disconnected" as its last word.
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "sensors.serial.common"]
    last_disconnect = max(i for i, m in enumerate(lines) if "disconnected" in m)
    reconnected = [m for m in lines[last_disconnect:] if "reconnected" in m]
    assert reconnected and str(w.link) in reconnected[0], lines


def test_baud_mismatch_is_degraded_not_counted(devices):
    w, r = devices("tfluna", "--garbage", "20000", "--seed", "2")
    w.go()
    w.expect("sent garbage")
    st = wait_until(lambda: (s := r.source.status()).state == SourceState.DEGRADED and s,
                    what="degraded")
    assert "no valid frames; baud rate?" in st.reason
    assert r.count("pass") == 0


def test_silent_sensor_is_stalled_and_reopened(devices):
    w, r = devices("maxbotix", "--phases", "5", stall_s=0.3)
    w.go()
    wait_until(lambda: len(r.values("snow_depth_mm")) > 0, what="readings")
    st = wait_until(lambda: (s := r.source.status()).state == SourceState.STALLED and s,
                    what="stalled")
    assert "no data for" in st.reason
    wait_until(lambda: r.source.status().counters["silent"] >= 2, what="reopen after stall")
    assert r.thread.is_alive()


def test_fuzz_10000_corrupted_frames_over_pty(devices):
    """Junk between real frames: random bytes, truncated and bit-flipped frames, bad
    checksums, broken lines. The counts and values must be exactly those of the real frames."""
    plans = {"tfluna": (("30", 2.0), 21), "maxbotix": (("2500", 1.0), 22),
             "wxt530": (("400", 1.0), 23)}
    junk_total = 0
    for protocol, ((phases, junk), seed) in plans.items():
        data, truth, pieces = scenario(protocol, [int(phases)], seed, junk)[0]
        junk_total += pieces
        w, r = devices(protocol, "--phases", phases, "--seed", str(seed), "--junk", str(junk))
        w.go()
        w.expect("sent")
        size = len(data)
        wait_until(lambda r=r, n=size: r.source.status().counters["bytes"] == n, what="all")
        if protocol == "tfluna":
            wait_until(lambda r=r, t=truth: r.count("pass") == t, what="passes")
            assert r.count("pass") == truth
        elif protocol == "maxbotix":
            wait_until(lambda r=r, t=truth: len(r.values("snow_depth_mm")) >= len(t),
                       what="depths")
            assert r.values("snow_depth_mm") == truth
        else:
            wait_until(lambda r=r, t=truth: len(r.values("temperature_c")) >= len(t),
                       what="messages")
            assert r.values("temperature_c") == pytest.approx([m["temperature_c"]
                                                                for m in truth])
        c = r.source.status().counters
        assert c["garbage_bytes"] > 0
        if protocol == "tfluna":
            assert c["bad_checksums"] > 0
    assert junk_total >= 10_000


def test_socket_and_loop_urls(tmp_path):
    """serial_for_url: socket:// (a serial-to-Ethernet converter) and loop:// both work."""
    import socket

    from simulator.serial_devices import wxt530_message

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    r = Running(make_source("wxt530", f"socket://127.0.0.1:{port}"))
    try:
        conn, _ = server.accept()
        # pyserial's open() flushes input (reset_input_buffer): send only once it is open
        wait_until(lambda: r.source.status().counters["opens"] >= 1, what="socket open")
        conn.sendall(wxt530_message({"Ta": -3.5, "Ua": 80.0, "Pa": 1001.2}))
        wait_until(lambda: r.values("temperature_c") == [-3.5], what="socket reading")
        conn.close()
    finally:
        r.close()
        server.close()
    loop = Running(make_source("tfluna", "loop://", stall_s=0.2))
    try:
        wait_until(lambda: loop.source.status().counters["opens"] >= 1, what="loop open")
        wait_until(lambda: loop.source.status().state == SourceState.STALLED, what="stall")
    finally:
        loop.close()
