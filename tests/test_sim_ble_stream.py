"""The simulator's BLE world is streamed (issue 18, the soak): the feed writes a run's adverts
without holding them, the fake adapter reads them one line at a time, and the output for a
seed is what the in-memory model always produced."""

import ast
import asyncio
import hashlib
import json
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from sensors.base import SourceContext
from simulator import ble_crowd
from simulator.ble_backend import ADVERTS, AdvertReader, decode_advert, encode_advert, factory
from simulator.demand import Demand
from simulator.feed_base import FeedContext
from simulator.feed_ble import LEAD_S, BleFeed, arrivals
from simulator.overrides import apply_overrides
from simulator.scenario import load_scenario

# sha256 of ble-adverts.jsonl and of the sorted truth for 10 minutes of the default scenario,
# written by the in-memory feed before it was streamed (commit cf11038).
BEFORE = {
    "chikaho-north": ("942af8f2ee65d6836e4d835abd75bdaf333a8e72de7220a2a2bd759ad5c11e53",
                      "9d5f763cd3af40b314a999948b7dcd042b213b14cbe5316fc7b113fb7f923647"),
    "aurora-town": ("fa5e85dc335bc2ecaa5dc600afcc4959d74b583460c390ed5390c6ae109d5dc6",
                    "e3823ac4003715efaf9231ed8219fb92bc1362bbbe30e63f48352a1f18bab0f7"),
}


def _feed(tmp_path: Path, node_id: str, minutes: float) -> BleFeed:
    sc = apply_overrides(load_scenario("sapporo"), minutes=minutes)
    node = next(n for n in sc.nodes if n.id == node_id)
    sensor = next(s for s in node.sensors if s.type == "ble")
    world = tmp_path / node_id
    world.mkdir(parents=True, exist_ok=True)
    return BleFeed(FeedContext(sc, Demand(sc), node, sensor, world))


def _in_memory(feed: BleFeed) -> tuple[list[str], dict]:
    """The feed's model the way it was first written: every advert in one list, sorted."""
    sc = feed.ctx.scenario
    rng, rate, peak, spec = feed.crowd()
    adverts, heard = [], []
    for t in arrivals(rng, rate, sc.start - LEAD_S, sc.end, peak):
        ads, times = ble_crowd.phone_adverts(rng, spec, t)
        ads = [a for a in ads if sc.start <= a.time < sc.end]
        times = [x for x in times if sc.start <= x[0] < sc.end]
        if times:
            adverts.extend(ads)
            heard.append(times)
    adverts.extend(ble_crowd.infrastructure_adverts(rng, spec, sc.end))
    adverts.sort(key=lambda a: a.time)
    crowd = ble_crowd.Crowd(spec, adverts, heard, set())
    w = sc.bin_seconds
    first = int(sc.start // w) * w
    truth = {(b, "estimate"): float(crowd.truth(b, b + w)) for b in range(first, int(sc.end), w)}
    return [encode_advert(a) for a in adverts], truth


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("node_id", sorted(BEFORE))
def test_streamed_adverts_and_truth_are_identical_to_before(tmp_path: Path, node_id: str):
    feed = _feed(tmp_path, node_id, 10)
    feed.prepare()
    data = (feed.ctx.world_dir / ADVERTS).read_bytes()
    truth = repr(sorted(feed.truth.items())).encode()
    assert (_sha(data), _sha(truth)) == BEFORE[node_id]
    lines, expected_truth = _in_memory(_feed(tmp_path / "ref", node_id, 10))
    assert data.decode().splitlines() == lines
    assert feed.truth == expected_truth and feed.adverts == len(lines)
    assert not list(feed.ctx.world_dir.glob("*.phones"))  # the temporary file is gone


MAXRSS = """
import resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_sim_ble_stream import _feed
out = []
for minutes in (15, 120):
    feed = _feed(Path(tempfile.mkdtemp(dir={tmp!r})), "chikaho-north", minutes)
    feed.prepare()
    out.append((feed.adverts, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
print(out)
"""


def test_preparing_holds_the_same_memory_for_a_longer_run(tmp_path: Path):
    # The high-water mark of a fresh process after 15 simulated minutes, then after 120:
    # in memory the longer run held ~240,000 more adverts (+60 MB); streamed, only the
    # phones in range are held, whatever the length.
    code = MAXRSS.format(tests=str(Path(__file__).parent), tmp=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1]).stdout
    (short_n, short_mb), (long_n, long_mb) = ast.literal_eval(out.strip())
    assert long_n > 8 * short_n
    assert long_mb - short_mb < 8, (short_mb, long_mb)


def _advert_file(path: Path, n: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    t, times = 1_700_000_000.0, []
    with path.open("w") as f:
        for i in range(n):
            t += rng.choice((0.0, 0.001, 0.25, 3.0))  # ties, close and far apart
            a = ble_crowd.Advert(t, f"4A:00:00:00:{i // 256 % 256:02X}:{i % 256:02X}", -60,
                                 manufacturer_data={6: b"\x01\x09"})
            f.write(encode_advert(a) + "\n")
            times.append(round(t, 3))
    return times


def test_reader_skips_to_the_first_advert_at_or_after_a_time(tmp_path: Path):
    path = tmp_path / ADVERTS
    times = _advert_file(path, 3000)
    rng = random.Random(5)
    targets = [times[0] - 1, times[0], times[-1], times[-1] + 1]
    targets += [rng.uniform(times[0], times[-1]) for _ in range(60)] + rng.sample(times, 60)
    for t in targets:
        reader = AdvertReader(path)
        reader.skip_to(t)
        expected = next((i for i, x in enumerate(times) if x >= t), len(times))
        got = [reader.pop()[0] for _ in range(min(3, len(times) - expected))]
        assert got == times[expected:expected + 3], t
        reader.close()
    # Never back: skipping to an earlier time after reading on keeps the position.
    reader = AdvertReader(path)
    reader.skip_to(times[1500])
    at = reader.peek_time()
    reader.skip_to(times[10])
    assert reader.peek_time() == at
    reader.close()


def test_fake_adapter_plays_in_order_from_now_and_a_restart_continues(tmp_path: Path,
                                                                      monkeypatch):
    world = tmp_path / "world"
    (world / "n1").mkdir(parents=True)
    times = _advert_file(world / "n1" / ADVERTS, 20_000)
    monkeypatch.setenv("WALKWAY_SIM_WORLD", str(world))
    now = {"t": times[5000]}

    def clock() -> float:
        return now["t"]

    import bleak.backends.scanner  # noqa: F401 - its import is not the adapter's memory

    tracemalloc.start()
    scanner_cls = factory(SourceContext("n1", tmp_path, clock))
    held_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    assert held_mb < 0.5  # one advert, not 20,000 (the file is 1.6 MB)
    seen: list[tuple[float, str]] = []

    async def play(until: float) -> None:
        """Scan while the clock moves to `until`, until every advert due by then came."""
        due = sum(1 for x in times if x <= until) - len(seen) - skipped["n"]
        scanner = scanner_cls(lambda d, a: seen.append((now["t"], d.address)), None)
        await scanner.start()
        before = len(seen)
        while now["t"] < until:
            now["t"] = min(until, now["t"] + 50.0)
            await asyncio.sleep(0.001)
        for _ in range(5000):  # a generous bound; normally a few loop turns
            if len(seen) - before >= due:
                break
            await asyncio.sleep(0.001)
        await scanner.stop()
        scanner.seen_devices.clear()

    skipped = {"n": sum(1 for x in times if x < times[5000])}
    asyncio.run(play(times[8000]))
    first_run = len(seen)
    now["t"] = times[12000]  # down in between: what went by is not delivered
    skipped["n"] += sum(1 for x in times if times[8000] < x < times[12000])
    asyncio.run(play(times[-1] + 1))
    lines = (world / "n1" / ADVERTS).read_text().splitlines()
    expected = [json.loads(x)[1] for x in lines]
    start1 = next(i for i, x in enumerate(times) if x >= times[5000])  # times can tie
    start2 = next(i for i, x in enumerate(times) if x >= times[12000])
    got = [a for _, a in seen]
    assert 2000 < first_run < start2 - start1
    assert got[:first_run] == expected[start1:start1 + first_run]
    assert got[first_run:] == expected[start2:]
    assert decode_advert(lines[0].encode())[4] == {6: b"\x01\x09"}
