"""The simulator's parts without processes: clock, scenarios, overrides, demand, truth."""

from pathlib import Path

import numpy as np
import pytest

from simulator.demand import Demand, weekly_shape
from simulator.overrides import apply_overrides, parse_faults
from simulator.scenario import builtin_names, load_scenario
from walkway.clock import SimClock, clock_from_env, parse_clock
from walkway.errors import ConfigError, UsageError


def test_sim_clock_is_shared_through_the_environment() -> None:
    clock = SimClock(1_768_340_400.0, 40.0, 1_000.0, wall=lambda: 1_010.0)
    assert clock() == 1_768_340_400.0 + 400.0
    assert clock.to_wall(clock.to_sim(1_234.5)) == pytest.approx(1_234.5)
    again = parse_clock(clock.env_value())
    assert (again.start, again.speed, again.wall_start) == (clock.start, 40.0, 1_000.0)
    assert parse_clock("") is None and parse_clock("real") is None
    assert clock_from_env({}).__name__ == "time"
    for bad in ("sim:1:0:2", "sim:1:2", "fast", "sim:a:b:c"):
        with pytest.raises(UsageError, match="WALKWAY_CLOCK"):
            parse_clock(bad)


def test_builtin_scenarios_load() -> None:
    assert "sapporo" in builtin_names()
    for name in builtin_names():
        scenario = load_scenario(name)
        assert scenario.nodes and scenario.minutes > 0
    sapporo = load_scenario("sapporo")
    kinds = {s.type for n in sapporo.nodes for s in n.sensors}
    assert kinds == {"camera", "ble", "tfluna", "maxbotix", "wxt530"}
    assert len(sapporo.faults) >= 1 and len(sapporo.nodes) >= 4


def test_scenario_problems_are_reported_together(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nstart = "yesterday"\nspeed = 0\n'
                   '[[nodes]]\nid = "A B"\n[[nodes.sensors]]\ntype = "radar"\n'
                   '[[faults]]\nkind = "meteor"\nat_min = 1\nminutes = 1\n')
    with pytest.raises(ConfigError) as info:
        load_scenario(str(bad))
    text = str(info.value)
    for key in ("start", "speed", "nodes[0].id", "type", "kind"):
        assert key in text, text
    with pytest.raises(ConfigError, match="no such scenario"):
        load_scenario("atlantis")


def test_fault_list_and_overrides() -> None:
    sc = load_scenario("sapporo")
    faults = parse_faults("broker-outage, power-cut@kotoni:20+3, camera-covered", sc)
    assert [f.kind for f in faults] == ["broker-outage", "power-cut", "camera-covered"]
    assert (faults[1].node, faults[1].at_min, faults[1].minutes) == ("kotoni", 20.0, 3.0)
    assert parse_faults("none", sc) == ()
    with pytest.raises(UsageError, match="--faults"):
        parse_faults("flood", sc)
    with pytest.raises(UsageError, match="--faults"):
        parse_faults("partition@nowhere", sc)
    small = apply_overrides(sc, nodes=2, minutes=10, speed=20, faults="camera-covered")
    assert [n.id for n in small.nodes] == ["chikaho-north", "chikaho-kita2"]
    assert small.faults[0].node in ("chikaho-north", "chikaho-kita2")  # a node with a camera
    big = apply_overrides(sc, nodes=8)
    assert len({n.id for n in big.nodes}) == 8


def test_demand_follows_the_weekly_shape_and_is_reproducible() -> None:
    shape = weekly_shape("45 Queen Street")
    assert shape.shape == (7, 24) and shape.max() == 1.0
    assert shape[2, 8] > 3 * shape[2, 3]  # a weekday morning is busier than 03:00
    sc = load_scenario("sapporo")
    demand = Demand(sc)
    node, sensor = sc.nodes[0], sc.nodes[0].sensors[0]
    a = demand.crossings(node, sensor, sc.start, sc.start + 1800)
    b = demand.crossings(node, sensor, sc.start, sc.start + 1800)
    assert np.array_equal(a.times, b.times) and a.times.size > 100
    bins = a.per_bin(sc.start, sc.start + 1800, 60)
    assert sum(bins.values()) == a.times.size and len(bins) == 60
    # Snow pushes people underground; events draw crowds.
    surface = next(n for n in sc.nodes if n.area == "surface")
    assert demand.snow_factor(node) > 1 > demand.snow_factor(surface)
    event = sc.events[0]
    peak = sc.start + (event.at_min + event.minutes / 2) * 60
    target = sc.node(event.nodes[0])
    assert demand.event_factor(target, peak) == pytest.approx(event.factor)


def test_proxy_cuts_one_node_and_lets_it_back() -> None:
    import socket
    import threading
    import time

    from simulator.proxy import ProxyHub

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def echo() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(
                lambda: c.recv(100), b"")], daemon=True).start()

    threading.Thread(target=echo, daemon=True).start()
    hub = ProxyHub("127.0.0.1", port)
    hub.start()
    try:
        proxy = hub.add("n1")

        def roundtrip() -> bytes:
            try:
                with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as c:
                    c.sendall(b"hello")
                    return c.recv(100)
            except OSError:
                return b""

        def eventually(want: bytes) -> bool:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if roundtrip() == want:
                    return True
                time.sleep(0.02)
            return False

        assert roundtrip() == b"hello"
        live = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
        live.sendall(b"x")
        assert live.recv(10) == b"x"
        proxy.cut(True)
        assert live.recv(10) == b""  # the open connection is dropped
        assert eventually(b"")  # new ones are refused
        proxy.cut(False)
        assert eventually(b"hello")
        live.close()
    finally:
        hub.close()
        server.close()


def test_delivery_finds_missing_and_different_bins() -> None:
    from simulator.report import delivery

    def edge(sensor: str, count: int, state: str = "delivered", version: int = 1) -> dict:
        return {"sensor": sensor, "start": 60, "seconds": 60, "direction": "in",
                "kind": "count", "count": count, "version": version, "state": state,
                "sealed_at": 100.0}

    def cloud(sensor: str, n: int, version: int = 1) -> dict:
        return {"node": "a", "sensor": sensor, "start": 60, "seconds": 60, "direction": "in",
                "kind": "count", "n": n, "version": version, "received_at": 103.0}

    bins = {"a": [edge("s1", 5), edge("s2", 4), edge("s3", 2, version=2), edge("s4", 1),
                  edge("s5", 9, state="open")]}
    got = delivery(bins, [cloud("s1", 5), cloud("s2", 3), cloud("s3", 2, 1), cloud("s9", 1)],
                   lambda t: t)
    assert (got["sealed_bins"], got["in_collector_exactly_once"]) == (4, 1)
    assert (got["missing"], got["mismatched"], got["open_at_end"]) == (1, 2, 1)
    assert got["collector_only"] == 1 and got["completeness_pct"] == 25.0
    assert got["latency_s"]["p50"] == 3.0


def test_missing_source_type_falls_back_to_replaying_the_truth(tmp_path: Path,
                                                               monkeypatch) -> None:
    from edge.config import load_config
    from simulator import nodes
    from simulator.feed_base import FeedContext

    monkeypatch.setattr(nodes, "real_source_available", lambda kind: False)
    sc = apply_overrides(load_scenario("sapporo"), nodes=1, minutes=5)
    notes: list[str] = []
    node = nodes.build_node(sc, Demand(sc), sc.nodes[0], tmp_path, notes)
    assert [f.mode for f in node.feeds] == ["replay", "replay"]
    assert len(notes) == 2 and "replaying its true counts" in notes[0], notes
    node.proxy_port = 1883
    node.write_config(sc)
    config = load_config(node.config)
    assert [s.type for s in config.sources] == ["replay", "replay"]
    csv = (tmp_path / "world" / sc.nodes[0].id / "cam.csv").read_text().splitlines()
    assert csv[0] == "time,sensor,direction,count"
    total = sum(int(line.rsplit(",", 1)[1]) for line in csv[1:])
    assert total == node.feeds[0].true_total() > 0
    assert isinstance(node.feeds[0].ctx, FeedContext)
