"""Pure parsers and detectors, byte by byte (no I/O)."""

import random
from pathlib import Path

import pytest

from sensors.serial import maxbotix, tfluna, wxt530
from sensors.serial.maxbotix import SnowGauge, SnowOptions
from sensors.serial.parsers import MaxBotixParser, TfLunaParser, Wxt530Parser
from sensors.serial.tfluna import DetectorOptions, PassDetector
from simulator.serial_devices import maxbotix_frame, tfluna_frame, tfluna_passes
from walkway.config_table import ConfigTable


def test_tfluna_frame_layout_checksum_and_temperature():
    # Worked example: 0x59 0x59, dist 0x00C8 = 200 cm, strength 0x03E8 = 1000,
    # temp raw 2368 -> 2368 / 8 - 256 = 40.0 degC; checksum = low byte of the sum.
    frame = bytes([0x59, 0x59, 0xC8, 0x00, 0xE8, 0x03, 0x40, 0x09])
    frame += bytes([sum(frame) & 0xFF])
    assert tfluna_frame(200, 1000, 40.0) == frame
    p = TfLunaParser()
    (f,) = p.feed(frame)
    assert (f.distance_cm, f.strength, f.temp_c, f.reliable) == (200, 1000, 40.0, True)
    assert not p.feed(tfluna_frame(0, 65535))[0].reliable
    assert not p.feed(tfluna_frame(0, 99))[0].reliable


def test_tfluna_parser_split_frames_garbage_and_bad_checksums():
    stream = b"\x00\x59\xff" + tfluna_frame(120) + tfluna_frame(5, bad_checksum=True)
    stream += b"\x59" + tfluna_frame(130)
    p = TfLunaParser()
    frames = [f for i in range(len(stream)) for f in p.feed(stream[i:i + 1])]
    assert [f.distance_cm for f in frames] == [120, 130]
    assert p.bad_checksums >= 1 and p.garbage_bytes >= 3
    p.feed(bytes(5000))  # endless garbage: bounded buffer
    assert len(p._buf) <= 1024


def test_pass_detector_hysteresis_duration_and_stray_frames():
    det = PassDetector(DetectorOptions(mount_height_cm=250, min_person_height_cm=100))
    P = TfLunaParser()

    def frames(*dists):
        return P.feed(b"".join(tfluna_frame(d) for d in dists))

    assert det.feed(frames(*[250] * 10, *[80] * 40, *[250] * 5)) == 1  # 400 ms pass
    assert det.feed(frames(*[80] * 5, *[250] * 5)) == 0  # 50 ms: a bird, a hand
    assert det.rejected_short == 1
    assert det.feed(frames(*[80] * 500, *[250] * 5)) == 0  # 5 s: someone standing
    assert det.rejected_long == 1
    # One stray far frame inside a pass, and values inside the hysteresis band: one person
    assert det.feed(frames(*[80] * 30, 250, *[155] * 20, *[250] * 5)) == 1
    rng = random.Random(4)
    data, truth = tfluna_passes(25, rng)
    assert det.feed(P.feed(b"".join(data))) == truth


def test_maxbotix_parser_and_snow_rules():
    p = MaxBotixParser()
    out = p.feed(b"R1700\rR12a4\rR17\rxxR1650\r" + maxbotix_frame(9999) + b"R16")
    assert out == [1700, 1650, 9999] and p.garbage_bytes > 0
    assert p.feed(b"00\r") == [1600]
    g = SnowGauge(SnowOptions(mount_height_mm=2000))
    assert [g.depth(r) for r in (1700, 2000, 2030, 2100, 300, 5000, 9999)] == [
        300.0, 0.0, 0.0, None, None, None, None]
    assert (g.below_ground, g.too_close, g.out_of_range) == (1, 1, 2)


def test_wxt530_composite_units_invalid_and_malformed():
    p = Wxt530Parser()
    line = (b"0R0,Dn=236D,Dm=283D,Dx=031D,Sn=0.0M,Sm=1.0M,Sx=2.2M,Ta=23.6C,Ua=14.2P,"
            b"Pa=1026.6H,Rc=0.00M,Rd=0s,Ri=0.0M,Hc=0.0M,Hd=0s,Hi=0.0M,Th=23.8C,Vh=0.0N,"
            b"Vs=12.0V,Vr=3.520V\r\n")
    (m,) = p.feed(line)
    assert m.address == "0"
    assert m.values == {"wind_dir_deg": 283.0, "wind_speed_ms": 1.0, "wind_gust_ms": 2.2,
                        "temperature_c": 23.6, "humidity_pct": 14.2, "pressure_hpa": 1026.6,
                        "rain_mm": 0.0, "rain_rate_mm_h": 0.0, "hail_hits_cm2": 0.0,
                        "supply_v": 12.0}
    (m,) = p.feed(b"1R0,Ta=50.0F,Sm=36.0K,Pa=29.92I,Rc=0.10I,Hc=3H,Ua=55.1#\r\n")
    assert m.values["temperature_c"] == pytest.approx(10.0)
    assert m.values["wind_speed_ms"] == pytest.approx(10.0)
    assert m.values["pressure_hpa"] == pytest.approx(1013.2, abs=0.1)
    assert m.values["rain_mm"] == pytest.approx(2.54)
    assert m.values["hail_hits"] == 3.0 and "humidity_pct" not in m.values
    assert p.invalid_values == 1
    for bad in (b"0R0,Ta=2x.6C\r\n", b"0R0,Ta=23.6C,Ua\r\n", b"garbage\r\n", b"0R0,Ta=1.0Q\r\n"):
        assert p.feed(bad) == []
    assert p.feed(b"0R0,Ta=1.0C") == [] and p.feed(b"\r\n")[0].values == {"temperature_c": 1.0}


def _parse(module, table):
    problems: list[str] = []
    t = ConfigTable(Path("node.toml"), "sources[0]", {"type": "x", **table}, problems)
    t.text("type")
    opts = module.parse_options(t)
    t.finish()
    return opts, problems


def test_config_keys_validated_with_all_problems():
    opts, problems = _parse(tfluna, {"url": "/dev/ttyUSB0", "mount_height_cm": 260})
    assert problems == [] and opts.serial.baudrate == 115200
    assert opts.detector.threshold_cm == 180  # 260 - 80
    _, problems = _parse(tfluna, {"url": "/dev/ttyUSB0", "baudrate": 1234, "typo": 1})
    text = "\n".join(problems)
    assert "mount_height_cm" in text and "baudrate" in text and "typo" in text
    opts, problems = _parse(maxbotix, {"url": "socket://10.0.0.5:4001", "mount_height_mm": 1800})
    assert problems == [] and opts.serial.baudrate == 9600 and opts.snow.max_range_mm == 5000
    opts, problems = _parse(wxt530, {"url": "loop://", "address": "2"})
    assert problems == [] and opts.serial.baudrate == 19200 and opts.address == "2"


def test_node_config_with_all_four_types(tmp_path):
    from edge.config import load_config

    path = tmp_path / "node.toml"
    path.write_text(
        '[node]\nid = "n1"\nsite = "s1"\n[store]\npath = "s.db"\n[mqtt]\n'
        '[[sources]]\ntype = "ble"\nname = "ble-1"\nadapter = "hci0"\n'
        '[[sources]]\ntype = "tfluna"\nname = "gate"\nurl = "/dev/ttyUSB0"\n'
        'mount_height_cm = 260\n'
        '[[sources]]\ntype = "maxbotix"\nname = "snow"\nurl = "/dev/ttyUSB1"\n'
        'mount_height_mm = 2000\n'
        '[[sources]]\ntype = "wxt530"\nname = "wx"\nurl = "socket://10.0.0.9:4001"\n'
    )
    config = load_config(path)
    assert [s.type for s in config.sources] == ["ble", "tfluna", "maxbotix", "wxt530"]
    # validating a config and building the CLI never import bleak or pyserial
    import subprocess
    import sys

    code = ("import sys; from edge.config import load_config; from walkway.cli import "
            f"build_parser; load_config({str(path)!r}); build_parser(); "
            "bad = [m for m in ('bleak', 'serial') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
