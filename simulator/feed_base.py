"""A feed: the simulated world in front of one sensor, and the truth about it.

Each feed writes whatever the real source reads (a video file, a pty stream, BLE adverts,
or, as a fallback, a replay CSV), says which `[[sources]]` table the node config needs, and
knows the true value per bin so the report can compare.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simulator.demand import Demand
from simulator.scenario import NodePlan, Scenario, SensorPlan

Truth = dict[tuple[int, str], float]  # (bin start, direction or quantity) -> true value


@dataclass
class FeedContext:
    scenario: Scenario
    demand: Demand
    node: NodePlan
    sensor: SensorPlan
    # OUT/world/NODE: what the simulated world shows this node's sensors (clips, adverts,
    # pty links). Kept apart from OUT/nodes/NODE, which holds only what a real node has.
    world_dir: Path
    notes: list[str] = field(default_factory=list)


class Feed:
    """Base: no faults supported. `mode` is "real" or "replay" (truth-derived fallback)."""

    mode = "real"
    compare: tuple[str, ...] = ("in", "out")  # store directions compared with the truth
    measures = False  # True: compares measurement means (kind "measure"), not counts

    def __init__(self, ctx: FeedContext) -> None:
        self.ctx = ctx
        self.sensor = ctx.sensor
        self.truth: Truth = {}
        self.unplugged = False
        self.covered = False
        # Set by the runner before start(): the run's simulated clock, and the pid of the
        # node's edge process when it is running (None while it is down).
        self.sim_clock: Callable[[], float] = time.time
        self.edge_pid: Callable[[], int | None] = lambda: None

    @property
    def source_name(self) -> str:
        return self.sensor.name

    def prepare(self) -> None:
        """Write inputs and compute the truth (before any process starts)."""

    def source_toml(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        """Start live writers (called once the simulated clock is set)."""

    def poll(self) -> None:
        """Called about every 0.2 s by the runner's loop."""

    def stop(self) -> None:
        """Stop live writers."""

    def unplug(self, on: bool) -> bool:
        """Unplug (True) or plug back (False). False: this feed cannot do it."""
        return False

    def cover(self, on: bool) -> bool:
        """Cover the lens (True) or uncover it. False: this feed cannot do it."""
        return False

    def true_total(self, until: float | None = None) -> float:
        """The true total so far over the compared directions (for the live view)."""
        return sum(v for (start, d), v in self.truth.items()
                   if d in self.compare and (until is None or start < until))
