"""One simulated node: its folder, generated config, feeds, and its real edge + bridge.

Each node gets OUT/nodes/NODE/ with node.toml, edge.db and the feeds' inputs; its bridge
talks to the broker through the node's own proxy port, so it can be partitioned alone.
"""

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from simulator.demand import Demand
from simulator.feed_base import Feed, FeedContext
from simulator.procs import Proc
from simulator.scenario import NodePlan, Scenario

NORMAL_MAX_MB = 64.0

# The smallest cap a config accepts, below an empty store's ~60 KB: with the disk "full" the
# store drops its oldest bins at every maintenance pass and counts them in dropped_bins.
FULL_MAX_MB = 0.05


def real_source_available(kind: str) -> bool:
    from sensors.registry import SOURCE_TYPES

    module = SOURCE_TYPES[kind]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def make_feed(ctx: FeedContext) -> Feed:
    """The real sensor's feed when its source exists in this checkout, else a replay."""
    kind = ctx.sensor.type
    if real_source_available(kind):
        if kind == "ble":
            from simulator.feed_ble import BleFeed

            return BleFeed(ctx)
        if kind in ("tfluna", "maxbotix", "wxt530"):
            from simulator import feed_serial

            cls = {"tfluna": feed_serial.TfLunaFeed, "maxbotix": feed_serial.MaxBotixFeed,
                   "wxt530": feed_serial.Wxt530Feed}[kind]
            return cls(ctx)
        # The camera feed sees when the edge opened a clip through /proc (Linux).
        if kind == "camera" and Path("/proc/self/fd").is_dir():
            from simulator.feed_camera import CameraFeed

            return CameraFeed(ctx)
    from simulator.feed_replay import ReplayFeed

    ctx.notes.append(f"{ctx.node.id}/{ctx.sensor.name}: no simulated {kind!r} sensor for the"
                     " real source here; replaying its true counts instead")
    return ReplayFeed(ctx)


@dataclass
class Node:
    plan: NodePlan
    dir: Path
    feeds: list[Feed]
    edge: Proc | None = None
    bridge: Proc | None = None
    proxy_port: int = 0
    max_mb: float = NORMAL_MAX_MB
    down: bool = False  # powered off by a fault
    faults: list[str] = field(default_factory=list)  # faults in progress on this node

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def config(self) -> Path:
        return self.dir / "node.toml"

    @property
    def db(self) -> Path:
        return self.dir / "edge.db"

    def write_config(self, scenario: Scenario) -> None:
        text = (
            f'[node]\nid = "{self.plan.id}"\nsite = "{self.plan.site}"\n\n'
            f'[store]\npath = "edge.db"\nbin_seconds = {scenario.bin_seconds}\n'
            f"grace_seconds = 30\nmax_mb = {self.max_mb:g}\n"
            # Retention counts back from the newest bin; proof-of-play bins are stamped
            # with real time, months after the simulated day: keep everything.
            "keep_delivered_hours = 87600\n\n"
            f'[mqtt]\nurl = "mqtt://127.0.0.1:{self.proxy_port}"\nbatch_bins = 100\n'
            "window = 8\nack_timeout_s = 3.0\nkeepalive_s = 5\n\n"
        )
        text += "\n".join(f.source_toml() for f in self.feeds)
        from simulator.signage import section

        text += section(self)
        self.config.write_text(text)


def build_node(scenario: Scenario, demand: Demand, plan: NodePlan, out: Path,
               notes: list[str]) -> Node:
    node_dir = out / "nodes" / plan.id
    node_dir.mkdir(parents=True, exist_ok=True)
    world_dir = out / "world" / plan.id
    world_dir.mkdir(parents=True, exist_ok=True)
    feeds = []
    for sensor in plan.sensors:
        ctx = FeedContext(scenario, demand, plan, sensor, world_dir, notes)
        feed = make_feed(ctx)
        feed.prepare()
        feeds.append(feed)
    return Node(plan, node_dir, feeds)
