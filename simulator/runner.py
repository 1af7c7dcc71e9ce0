"""One simulation run: broker, proxies, collector, nodes, feeds, faults, then the report.

Order matters at the end: faults are undone, the replays reach their end, edges stop first
(sealing what they hold), bridges keep delivering until every outbox is empty, and only
then the bridges, collector and broker stop. The report reads the stores afterwards.
"""

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from edge.config import load_config
from simulator.ble_backend import WORLD_ENV
from simulator.demand import Demand
from simulator.faults import Faults
from simulator.live import View, snapshot
from simulator.nodes import Node, build_node
from simulator.procs import Proc, child_env
from simulator.proxy import ProxyHub
from simulator.scenario import Scenario
from walkway.clock import SimClock
from walkway.errors import UsageError, WalkwayError
from walkway.records import END_OF_TIME

log = logging.getLogger(__name__)

TICK_S = 0.2
WARMUP_S = 4.0  # wall seconds for the processes to start before simulated time begins
DRAIN_TIMEOUT_S = 60.0


class Runner:
    def __init__(self, scenario: Scenario, out: Path, *, broker_url: str | None = None,
                 view: "View | None" = None) -> None:
        self.scenario = scenario
        self.out = out
        self.broker_url = broker_url
        self.view = view
        self.notes: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.broker = None
        self.broker_up = True
        self.outages = 0
        self.proxies: dict = {}
        self.hub: ProxyHub | None = None
        self.collector: Proc | None = None
        self.clock: SimClock | None = None
        self.faults: Faults | None = None
        self.timings: dict[str, float] = {}
        self.history: list[tuple[float, dict[str, int]]] = []  # (sim time, outbox per node)
        self.snapshots: list[Path] = []  # signage PNGs
        self.checkins: dict | None = None  # simulator/phones.py summary ([checkins])
        self.snow_plan: dict | None = None  # simulator/snow_report.py summary ([snow_plan])

    # -- setup --------------------------------------------------------------------------
    def _clean_out(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for name in ("nodes", "world", "broker", "logs", "plots", "signage", "checkin-keys"):
            shutil.rmtree(self.out / name, ignore_errors=True)
        for name in ("cloud.db", "cloud.db-wal", "cloud.db-shm", "report.html", "report.json",
                     "checkins.db", "checkins.db-wal", "checkins.db-shm", "snow-plan.json",
                     "snow-plan.svg", "snow-plan.md"):
            (self.out / name).unlink(missing_ok=True)
        (self.out / "logs").mkdir()

    def _start_broker(self) -> tuple[str, int]:
        if self.broker_url:
            parts = urlsplit(self.broker_url)
            if parts.scheme != "mqtt" or not parts.hostname:
                raise UsageError(f"--broker: expected mqtt://HOST[:PORT], got {self.broker_url!r}")
            return parts.hostname, parts.port or 1883
        from walkway.local_broker import Mosquitto

        try:
            self.broker = Mosquitto(self.out / "broker").start()
        except (RuntimeError, TimeoutError, OSError) as exc:
            raise WalkwayError(f"walkway sim: cannot start a local mosquitto: {exc}"
                               " (install it with ./run setup, or pass --broker URL)") from exc
        return "127.0.0.1", self.broker.port

    @property
    def collector_url(self) -> str:
        return self.broker_url or self.broker.url  # type: ignore[union-attr]

    def setup(self) -> None:
        t0 = time.monotonic()
        self._clean_out()
        demand = Demand(self.scenario)
        for plan in self.scenario.nodes:
            self._say(f"preparing {plan.id}: " + ", ".join(s.type for s in plan.sensors))
            self.nodes[plan.id] = build_node(self.scenario, demand, plan, self.out, self.notes)
        self.timings["prepare_s"] = time.monotonic() - t0
        if any(n.checkin for n in self.scenario.nodes):
            from simulator.phones import prepare_keys

            prepare_keys(self)
        host, port = self._start_broker()
        self.hub = ProxyHub(host, port)
        self.hub.start()
        for node in self.nodes.values():
            proxy = self.hub.add(node.id)
            self.proxies[node.id] = proxy
            node.proxy_port = proxy.port
            node.write_config(self.scenario)
            load_config(node.config)  # a generated config that does not validate is our bug

    def broker_outage(self, on: bool) -> None:
        # Overlapping outages: the broker stops at the first and starts after the last.
        self.outages += 1 if on else -1
        if (on and self.outages != 1) or (not on and self.outages != 0):
            return
        self.broker_up = not on
        if self.broker is not None:
            if on:
                self.broker.stop()
            else:
                self.broker.start()
        else:
            for proxy in self.proxies.values():
                proxy.cut(on)

    # -- run ----------------------------------------------------------------------------
    def start(self) -> None:
        sc = self.scenario
        self.clock = SimClock(sc.start, sc.speed, time.time() + WARMUP_S)
        env = child_env(self.clock.env_value())
        env[WORLD_ENV] = str(self.out / "world")
        logs = self.out / "logs"
        self.collector = Proc("collector", ["collector", "run", "--broker", self.collector_url,
                                            "--db", str(self.out / "cloud.db")],
                              logs / "collector.log", env).start()
        for node in self.nodes.values():
            cfg = str(node.config)
            node.edge = Proc(f"{node.id}/edge", ["edge", "run", "--config", cfg],
                             logs / f"{node.id}-edge.log", env).start()
            node.bridge = Proc(f"{node.id}/bridge", ["bridge", "run", "--config", cfg],
                               logs / f"{node.id}-bridge.log", env).start()
        for node in self.nodes.values():
            for feed in node.feeds:
                feed.sim_clock = self.clock
                feed.edge_pid = _pid_of(node)
                feed.start()
        self.faults = Faults(sc, self.clock, self.nodes, self)

    def loop(self, extra: "Callable[[], None] | None" = None) -> None:
        sc = self.scenario
        assert self.clock is not None and self.faults is not None
        tail = 2 * sc.bin_seconds + 30  # the last bins seal: one bin + grace + slack
        last_view = 0.0
        while self.clock() < sc.end + tail:
            time.sleep(TICK_S)
            for node in self.nodes.values():
                for feed in node.feeds:
                    feed.poll()
            self.faults.poll()
            if extra is not None:
                extra()
            if time.monotonic() - last_view >= 1.0:
                last_view = time.monotonic()
                self._update_view()
        self.faults.finish()

    def drain(self) -> None:
        """Replays to their end, edges stopped, outboxes empty, then everything else."""
        t0 = time.monotonic()
        self._say("draining: waiting for every sealed bin to reach the collector")
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline and not all(map(_replays_done, self.nodes.values())):
            time.sleep(0.2)
        for node in self.nodes.values():
            if node.edge is not None:
                node.edge.terminate()
        for node in self.nodes.values():
            for feed in node.feeds:
                feed.stop()
        while time.monotonic() < deadline:
            self._update_view()
            if all(_outbox_depth(n.db) == 0 for n in self.nodes.values()):
                break
            time.sleep(0.5)
        else:
            self.notes.append(f"drain: outboxes not empty after {DRAIN_TIMEOUT_S:.0f} s")
        self.timings["drain_s"] = time.monotonic() - t0

    def stop(self) -> None:
        """Stop whatever is still running (also after an error or Ctrl-C)."""
        for node in self.nodes.values():
            for proc in (node.edge, node.bridge):
                if proc is not None:
                    proc.terminate(10)
            for feed in node.feeds:
                feed.stop()
        if self.collector is not None:
            self.collector.terminate(10)
        if self.hub is not None:
            self.hub.close()
        if self.broker is not None:
            self.broker.stop()

    # -- view ---------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.view is not None:
            self.view.say(text)

    def _update_view(self) -> None:
        if self.clock is None:
            return
        snap = snapshot(self)
        self.history.append((snap.sim_time, {r.node: r.depth for r in snap.rows}))
        if self.view is not None:
            self.view.update(snap)


def _pid_of(node: Node) -> Callable[[], int | None]:
    def pid() -> int | None:
        edge = node.edge
        if edge is None or edge.proc is None or not edge.alive():
            return None
        return edge.proc.pid

    return pid


def _query(db: Path, sql: str, args: tuple = ()) -> list:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql, args).fetchall()
    except sqlite3.Error:
        return []


def _outbox_depth(db: Path) -> int:
    rows = _query(db, "SELECT count(*) FROM bins WHERE state IN ('pending', 'sending')")
    return rows[0][0] if rows else 0


def _replays_done(node: Node) -> bool:
    names = [f.source_name for f in node.feeds if f.mode == "replay"]
    if not names or node.down:
        return True
    marks = dict(_query(node.db, "SELECT source, watermark FROM source_state"))
    return all((marks.get(n) or 0) >= END_OF_TIME for n in names)
