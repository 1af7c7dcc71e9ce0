"""The BLE estimator on real captures: several phones overlaid, a phone lying still, a phone
that goes silent just after a window opens (and one that appears just before it closes).

Each case is built from the real adverts of tests/data/ble (one Galaxy S7 per capture, its
real advertising timing, channel hopping and address rotations) by shifting timestamps and
offsetting or compressing RSSI; each capture's addresses are replaced in memory by fresh
random ones, so each capture is one phone. The truth per window: the phones heard in it at
zone strength or better.
"""

import json
import random
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from sensors.ble.capture import CapturedAdvert, overlay, read_capture, shifted
from sensors.ble.estimator import EstimatorOptions, run_windows
from sensors.ble.replay_cli import triaged

DATA = Path(__file__).resolve().parent / "data" / "ble"
CSVS = ("btle_sniffer_05-06-2020-141000.csv", "btle_sniffer_05-06-2020-150030.csv",
        "btle_sniffer_05-06-2020-141629.csv", "btle_sniffer_05-06-2020-143304.csv",
        "btle_sniffer_05-06-2020-144850.csv")


def phone(name: str) -> list[CapturedAdvert]:
    return overlay([read_capture(DATA / name)], False, True)


def starting_at(ads: list[CapturedAdvert], t: float) -> list[CapturedAdvert]:
    return shifted(ads, t - ads[0].time)


def with_rssi(ads: list[CapturedAdvert], f) -> list[CapturedAdvert]:
    return [replace(a, rssi=f(a.rssi)) for a in ads]


def check(phones: list[list[CapturedAdvert]], o: EstimatorOptions):
    """(results, truths) per window over the scene; asserts the bounds in every window."""
    scene = overlay(phones, False, False)
    start = scene[0].time // o.window_s * o.window_s
    results = run_windows(triaged(scene), o, start)
    truths = [sum(1 for p in phones if any(r.start <= a.time < r.end
                                           and a.rssi >= o.zone_rssi_dbm for a in p))
              for r in results]
    for r, truth in zip(results, truths, strict=True):
        assert r.lower <= truth <= r.upper, (r, truth)
        assert r.lower <= r.estimate <= r.upper
    return results, truths


@pytest.mark.parametrize("window_s", [10.0, 60.0])
def test_overlaid_real_captures_bounds_bracket_and_estimates_are_exact(window_s):
    rng = random.Random(5)
    base = phone(CSVS[0])[0].time
    phones = [starting_at(phone(name), base + rng.uniform(0, 45)) for name in CSVS]
    results, truths = check(phones, EstimatorOptions(window_s=window_s))
    exact = sum(r.estimate == t for r, t in zip(results, truths, strict=True))
    assert max(truths) == len(CSVS)
    assert exact == len(results), [(r.estimate, t) for r, t in zip(results, truths, strict=True)
                                   if r.estimate != t]


def test_phone_lying_still_keeps_upper_above_truth_and_is_counted():
    # Two phones moving about for 10 minutes; a third is put down on a bench 5 minutes in
    # and lies still: its real adverts with RSSI squeezed into 1 dB, as a fixed device.
    moving = phone(CSVS[0])
    t0 = moving[0].time
    later = starting_at(phone(CSVS[2]), moving[-1].time + 2)
    other = starting_at(phone(CSVS[1]), t0)
    still = phone(CSVS[4])
    mid = statistics.median(a.rssi for a in still)
    still = starting_at(with_rssi(still, lambda r: mid + (r > mid)), t0 + 300)
    o = EstimatorOptions()
    scene = overlay([moving + later, other, still], False, False)
    results = run_windows(triaged(scene), o, t0 // 60 * 60)
    assert sum(r.excluded.get("fixed", 0) for r in results) >= 3  # the case is exercised
    res, truths = check([moving + later, other, still], o)
    assert [r.estimate for r in res] == truths


def silent_case(window_s: float, at_start: bool):
    """Phone B present all along; phone A goes silent 0.3 s after a window opens (or,
    mirrored, starts 0.3 s before one closes), with B's RSSI there: what a rotation of B
    would look like."""
    b = phone(CSVS[1])
    w = (b[0].time // window_s + 3) * window_s  # a window boundary inside B's capture
    first_b = min(x.time for x in b if x.time >= w)
    if first_b - w < 0.05:  # A's first advert in the window must come before B's
        b = shifted(b, 0.1)
    a = phone(CSVS[0])
    if at_start:
        a = starting_at(a, w + 0.01 - 60.0)  # A's capture ends 0.3 s into the window
        a = [x for x in a if x.time <= w + 0.3]
        near_b = [x.rssi for x in b if w <= x.time < w + 1.0][:4]
        near_a = [x.rssi for x in a if x.time >= w]
    else:
        a = starting_at(a, w - 0.3)  # A appears 0.3 s before the window closes
        near_b = [x.rssi for x in b if w - 1.0 <= x.time < w][-4:]
        near_a = [x.rssi for x in a][:4]
    offset = round(statistics.mean(near_b) - statistics.mean(near_a))
    return [b, with_rssi(a, lambda r: r + offset)], w


@pytest.mark.parametrize("window_s", [10.0, 60.0])
@pytest.mark.parametrize("at_start", [True, False])
def test_phone_silent_at_a_window_edge_is_not_taken_for_a_rotation(window_s, at_start):
    phones, w = silent_case(window_s, at_start)
    results, truths = check(phones, EstimatorOptions(window_s=window_s))
    edge = next(i for i, r in enumerate(results) if r.start == (w if at_start else w - window_s))
    assert truths[edge] == 2
    assert [r.estimate for r in results] == truths


def test_pcapng_and_csv_of_one_capture_agree():
    csv_ads = read_capture(DATA / CSVS[0])
    pcap = read_capture(DATA / "btle_sniffer_05-06-2020-141000.pcapng")
    assert len(pcap) >= len(csv_ads) > 4000
    # Every CSV row is in the pcapng with its time, address and RSSI; the pcapng also has
    # the payloads, and the address type from the PDU header.
    index = {(round(a.time * 1e4), a.address, a.rssi) for a in pcap}
    assert all(any((round(a.time * 1e4) + d, a.address, a.rssi) in index for d in (-1, 0, 1))
               for a in csv_ads)
    assert {a.address_type for a in pcap} == {"random"}


def walkway(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "walkway", "sensors", "ble-replay", *args],
                          capture_output=True, text=True, timeout=120)


def test_ble_replay_prints_windows_with_truth_and_no_address(tmp_path):
    out = walkway(str(DATA / "btle_sniffer_05-06-2020-141000.pcapng"), str(DATA / CSVS[2]),
                  "--align", "--phones-per-capture", "1", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["summary"]["windows"] == len(doc["windows"]) >= 5
    assert doc["summary"]["bracketed"] == doc["summary"]["windows"]
    assert doc["windows"][1]["truth"] == 2 and doc["windows"][1]["estimate"] == 2
    text = walkway(str(DATA / CSVS[0]), "--window", "10").stdout
    addresses = {a.address for c in (CSVS[0], CSVS[2]) for a in read_capture(DATA / c)}
    assert "estimate=1 lower=1" in text
    for address in addresses:
        for form in (address, address.lower(), address.replace(":", "").lower()):
            assert form not in text and form not in out.stdout
    bad = tmp_path / "notes.csv"
    bad.write_text("just,some\nnotes\n")
    broken = walkway(str(bad))
    assert broken.returncode == 2 and broken.stdout == ""
    assert str(bad) in broken.stderr and "PACT sniffer CSV" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes((DATA / "btle_sniffer_05-06-2020-141000.pcapng").read_bytes()[:1000])
    broken = walkway(str(cut))
    assert broken.returncode == 2 and "truncated or corrupt pcapng block" in broken.stderr
