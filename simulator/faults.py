"""Faults on a schedule: each starts at its simulated minute and is undone after its length.

  broker-outage     stop the broker, start it again (an external --broker: every node's
                    proxy is cut instead)
  power-cut         SIGKILL the node's edge and bridge, start them again at the end
  partition         cut the node's TCP proxy to the broker (that node only)
  sensor-unplugged  close a serial sensor's pty and remove its link (or silence the BLE
                    adapter), plug it back at the end
  camera-covered    the camera sees black frames
  disk-full         shrink the node's store cap to a few pages while it is partitioned, so
                    the outbox outgrows it and the store must drop the oldest bins
"""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from simulator.feed_base import Feed
from simulator.nodes import FULL_MAX_MB, NORMAL_MAX_MB, Node
from simulator.proxy import NodeProxy
from simulator.scenario import FaultPlan, Scenario
from walkway.clock import SimClock

log = logging.getLogger(__name__)


@dataclass
class FaultRun:
    plan: FaultPlan
    start_sim: float
    end_sim: float
    state: str = "scheduled"  # scheduled / active / done / skipped
    target: str = ""  # node or node/sensor it hit
    note: str = ""
    feed: Feed | None = None  # the sensor it hit, so the same one is plugged back


class World(Protocol):
    """What faults act on (simulator.runner.Runner): the broker and each node's proxy."""

    scenario: Scenario
    proxies: Mapping[str, NodeProxy]

    def broker_outage(self, on: bool) -> None: ...


class Faults:
    def __init__(self, scenario: Scenario, clock: SimClock, nodes: dict[str, Node],
                 world: World) -> None:
        self.clock = clock
        self.nodes = nodes
        self.world = world  # the Runner: broker, proxies
        self.runs = [FaultRun(f, scenario.start + f.at_min * 60,
                              scenario.start + (f.at_min + f.minutes) * 60)
                     for f in scenario.faults]

    def active(self) -> list[FaultRun]:
        return [r for r in self.runs if r.state == "active"]

    def poll(self) -> None:
        now = self.clock()
        for run in self.runs:
            if run.state == "scheduled" and now >= run.start_sim:
                self._begin(run)
            elif run.state == "active" and now >= run.end_sim:
                self._end(run)

    def finish(self) -> None:
        """Undo every fault still in progress (the run is ending)."""
        for run in self.runs:
            if run.state == "active":
                self._end(run)
            elif run.state == "scheduled":
                run.state, run.note = "skipped", "after the end of the run"

    # -- doing and undoing ------------------------------------------------------------
    def _begin(self, run: FaultRun) -> None:
        ok = self._apply(run, True)
        run.state = "active" if ok else "skipped"
        log.info("fault %s on %s: %s", run.plan.kind, run.target or "-", run.state)

    def _end(self, run: FaultRun) -> None:
        self._apply(run, False)
        run.state = "done"
        log.info("fault %s on %s: over", run.plan.kind, run.target or "-")

    def _apply(self, run: FaultRun, on: bool) -> bool:
        kind = run.plan.kind
        world = self.world
        if kind == "broker-outage":
            run.target = "broker"
            world.broker_outage(on)
            return True
        node = self.nodes.get(run.plan.node or "")
        if node is None:
            run.note = "no node to apply it to"
            return False
        if on:
            run.target = node.id
        label = kind
        if on:
            node.faults.append(label)
        elif label in node.faults:
            node.faults.remove(label)
        if kind == "power-cut":
            return self._power(node, on)
        if kind == "partition":
            world.proxies[node.id].cut(on)
            return True
        if kind == "disk-full":
            node.max_mb = FULL_MAX_MB if on else NORMAL_MAX_MB
            node.write_config(world.scenario)
            if node.edge is not None and not node.down:
                node.edge.terminate()
                node.edge.start()
            world.proxies[node.id].cut(on)
            return True
        method = "cover" if kind == "camera-covered" else "unplug"
        if not on and run.feed is not None:
            getattr(run.feed, method)(False)
            return True
        for feed in node.feeds:
            if getattr(feed, method)(on):
                run.target, run.feed = f"{node.id}/{feed.sensor.name}", feed
                return True
        verb = "covered" if method == "cover" else "unplugged"
        run.note = f"no sensor on {node.id} can be {verb}"
        if on and label in node.faults:
            node.faults.remove(label)
        return False

    def _power(self, node: Node, on: bool) -> bool:
        if on:
            node.down = True
            for proc in (node.edge, node.bridge):
                if proc is not None:
                    proc.kill9()
            return True
        for feed in node.feeds:
            flush = getattr(feed, "flush", None)
            if flush is not None:
                flush()  # what the devices sent while the node was dark is gone
        time.sleep(0.05)
        for proc in (node.edge, node.bridge):
            if proc is not None and not proc.alive():  # overlapping cuts: start once
                proc.start()
        node.down = False
        return True

