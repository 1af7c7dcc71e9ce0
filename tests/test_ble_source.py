"""The "ble" source with a fake scanner at bleak's own seam (BleakScanner(backend=...))."""

import re
import threading
from pathlib import Path

import pytest
from support.walkway_procs import wait_for as wait_until

from sensors.base import SourceContext, SourceState
from sensors.ble import source as ble
from simulator.ble_crowd import (
    CrowdSpec,
    ManualClock,
    generate_crowd,
    read_pact_csv,
    replay_backend,
)
from walkway.config_table import ConfigTable

CAPTURES = Path(__file__).resolve().parent / "data" / "ble"




def options(**keys) -> ble.BleOptions:
    problems: list[str] = []
    t = ConfigTable(Path("node.toml"), "sources[0]", {"type": "ble", **keys}, problems)
    t.text("type")
    opts = ble.parse_options(t)
    t.finish()
    assert problems == []
    return opts


class Run:
    def __init__(self, opts, clock, backend) -> None:
        self.source = ble.BleSource("ble-1", opts, SourceContext("n1", Path("."), clock),
                                    backend=backend)
        self.batches: list = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.source.run,
                                       args=(self.batches.append, self.stop, None), daemon=True)
        self.thread.start()

    def windows(self) -> list[dict]:
        out = []
        for b in list(self.batches):
            if b.observations:
                row = {o.direction: o.count for o in b.observations}
                row["start"] = b.observations[0].time
                out.append(row)
        return out

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.mark.parametrize("capture", ["btle_sniffer_05-06-2020-141000.csv",
                                     "btle_sniffer_05-06-2020-150030.csv"])
def test_real_capture_one_phone_with_rotation_is_one_person(capture):
    adverts = read_pact_csv(CAPTURES / capture)
    assert len({a.address for a in adverts}) == 2  # the naive count says 2 phones
    first, last = adverts[0].time, adverts[-1].time
    clock = ManualClock(first)
    run = Run(options(), clock, replay_backend(adverts, clock))
    n_windows = int(last // 60 - first // 60) + 1
    wait_until(lambda: len(run.windows()) >= n_windows, what="all windows")
    run.close()
    wins = run.windows()[:n_windows]
    assert [w["estimate"] for w in wins] == [1] * n_windows
    assert all(w["lower"] == 1 and 1 <= w["upper"] <= 2 for w in wins)
    assert sum(w["upper"] for w in wins) == n_windows + 1  # one window saw both addresses
    assert all(w["staying"] + w["passby"] == 1 for w in wins)


def test_windows_become_five_directions_with_zeros_and_watermarks():
    crowd = generate_crowd(CrowdSpec(people_per_min=30, duration_s=120, seed=2))
    clock = ManualClock(crowd.spec.start)
    run = Run(options(window_s=30), clock, replay_backend(crowd.adverts, clock))
    wait_until(lambda: len(run.windows()) >= 8, what="8 windows")  # 4 busy + the tail
    assert run.source._scanner._backend.seen_devices == {}  # bleak's address cache emptied
    run.close()
    dwell = [m for b in run.batches for m in b.measurements]
    assert dwell and all(m.quantity == "dwell_mean_s" and 0 <= m.value <= 30 for m in dwell)
    wins = run.windows()
    assert set(wins[0]) == {"estimate", "lower", "upper", "passby", "staying", "start"}
    assert [w["start"] for w in wins[:4]] == [crowd.spec.start + 30 * i for i in range(4)]
    assert all(w["estimate"] > 0 for w in wins[:4])
    assert all(w["estimate"] == w["upper"] == 0 for w in wins[4:7])  # zero, not missing
    marks = [b.watermark for b in run.batches if b.watermark is not None]
    assert marks == sorted(marks)
    c = run.source.status().counters
    assert c["adverts"] == len(crowd.adverts) and c["excluded_beacon"] > 0


def test_watchdog_restarts_a_stalled_scanner_and_nothing_is_lost(caplog):
    crowd = generate_crowd(CrowdSpec(people_per_min=30, duration_s=120, seed=4))
    clock = ManualClock(crowd.spec.start)
    backend = replay_backend(crowd.adverts, clock, stall_after=500)
    run = Run(options(watchdog_s=5), clock, backend)
    wait_until(lambda: run.source.status().counters["adverts"] == 500, what="stall")
    clock.advance(6)  # BlueZ went quiet: the watchdog must notice
    wait_until(lambda: run.source.status().counters["restarts"] >= 1, what="restart")
    assert "no advertisements for" in caplog.text and "scanner restarted" in caplog.text
    wait_until(lambda: backend.state["done"], what="replay resumed to the end")
    assert run.source.status().counters["recovered"] >= 1  # adverts again: back to ok
    run.close()
    assert run.source.status().counters["adverts"] == len(crowd.adverts)
    assert backend.state["instances"] >= 2


def test_passive_scanning_with_or_patterns_and_adapter_then_active_fallback():
    seen = []

    def recording(fail_passive: bool):
        base = replay_backend([], ManualClock(0))

        class Recording(base):
            def __init__(self, callback, uuids, scanning_mode="active", **kwargs):
                super().__init__(callback, uuids, scanning_mode, **kwargs)
                seen.append((scanning_mode, kwargs["bluez"]))

            async def start(self):
                if fail_passive and self.scanning_mode == "passive":
                    raise RuntimeError("Advertisement Monitor not supported (no experimental)")
                await super().start()

        return Recording

    for fail in (False, True):
        clock = ManualClock(1000.0)
        run = Run(options(adapter="hci1"), clock, recording(fail))
        wait_until(lambda run=run: run.source.status().state == SourceState.OK, what="scan")
        reason = run.source.status().reason
        run.close()
        assert reason == ("active scanning" if fail else "passive scanning")
    mode, bluez = seen[0]
    assert mode == "passive" and bluez["adapter"] == "hci1"
    assert [p.content_of_pattern for p in bluez["or_patterns"]] == [b"\x02", b"\x06", b"\x1a"]
    assert seen[-1] == ("active", {"adapter": "hci1"})


def test_adapter_missing_is_disconnected_and_windows_are_missing_not_zero():
    attempts = []
    base = replay_backend([], ManualClock(0))

    class Broken(base):
        async def start(self):
            attempts.append(1)
            if len(attempts) <= 4:  # passive + active, twice
                raise OSError("adapter hci0 not found (device 5B:24:BC:BE:62:7C)")
            await super().start()

    clock = ManualClock(600.0)
    run = Run(options(), clock, Broken)
    st = wait_until(lambda: (s := run.source.status()).state == SourceState.DISCONNECTED and s,
                    what="disconnected")
    assert "5B:24" not in st.reason and "<address>" in st.reason
    wait_until(lambda: len(attempts) == 4, what="second attempt")  # then backoff, on its clock
    clock.advance(70)
    wait_until(lambda: run.source.status().state == SourceState.OK, what="recovered")
    run.close()
    c = run.source.status().counters
    assert c["scanner_errors"] >= 2 and c["windows_unreported"] >= 1
    assert run.windows() == [] or all(w["start"] >= 660.0 for w in run.windows())


def test_config_validation():
    problems: list[str] = []
    t = ConfigTable(Path("node.toml"), "sources[0]",
                    {"type": "ble", "window_s": 45, "adapter": "usb0", "scanning": "loud",
                     "backend": "not a ref"}, problems)
    t.text("type")
    ble.parse_options(t)
    t.finish()
    text = "\n".join(problems)
    for key in ("window_s", "adapter", "scanning", "backend"):
        assert f"sources[0].{key}" in text


def cli_backend(ctx):
    """For `walkway sensors ble-scan --backend test_ble_source:cli_backend` (real time)."""
    from simulator.ble_crowd import Advert

    ads = [Advert(i * 0.05, addr, -60) for i in range(20)
           for addr in ("5B:24:BC:BE:62:7C", "4A:11:22:33:44:55", "70:01:02:03:04:05")]
    return replay_backend(sorted(ads, key=lambda a: a.time))


def test_ble_scan_command_prints_counts_never_addresses(capsys):
    from walkway.cli import main

    rc = main(["sensors", "ble-scan", "--seconds", "1.5", "--window", "10",
               "--backend", "test_ble_source:cli_backend"])
    out = capsys.readouterr().out
    assert rc == 0
    # Windows are UTC-aligned: a boundary inside the 1.5 s scan splits it into two windows.
    windows = [tuple(map(int, m)) for m in
               re.findall(r"estimate=(\d+) lower=(\d+) upper=(\d+)", out)]
    assert len(windows) in (1, 2)
    assert (3, 3, 3) in windows or len(windows) == 2
    assert all(lower <= est <= upper <= 3 for est, lower, upper in windows)
    assert sum(est for est, _, _ in windows) >= 3
    assert "adverts=60" in out
    assert "5B:24" not in out.upper() and "5B24" not in out.upper()
