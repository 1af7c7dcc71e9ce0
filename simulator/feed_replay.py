"""Fallback feed: the true crossings replayed through the real replay source, paced in
simulated time (replay `speed = 1` against the edge's WALKWAY_CLOCK).

Used for a sensor type whose real source is missing from this checkout; the report marks
such sensors "replay", and their error is zero by construction except for faults.
"""

from simulator.feed_base import Feed
from walkway.timeutil import iso_z

SLOT_S = 10  # rows aggregate crossings per 10 s: enough pacing detail, few rows


class ReplayFeed(Feed):
    mode = "replay"

    def prepare(self) -> None:
        ctx = self.ctx
        sc = ctx.scenario
        crossings = ctx.demand.crossings(ctx.node, self.sensor, sc.start, sc.end)
        self.truth = {k: float(v) for k, v in
                      crossings.per_bin(sc.start, sc.end, sc.bin_seconds).items()}
        slots: dict[tuple[int, str], int] = {}
        start = int(sc.start // SLOT_S) * SLOT_S
        for s in range(start, int(sc.end), SLOT_S):
            for d in ("in", "out"):
                slots[(s, d)] = 0  # zero rows: "nobody passed" differs from "no data"
        for t, d in zip(crossings.times.tolist(), crossings.directions.tolist(), strict=True):
            key = (int(t // SLOT_S) * SLOT_S, d)
            slots[key] = slots.get(key, 0) + 1
        lines = ["time,sensor,direction,count"]
        for (s, d), n in sorted(slots.items()):
            lines.append(f"{iso_z(s)},{self.sensor.name},{d},{n}")
        self.csv = ctx.world_dir / f"{self.sensor.name}.csv"
        self.csv.write_text("\n".join(lines) + "\n")

    def source_toml(self) -> str:
        return (f'[[sources]]\ntype = "replay"\nname = "{self.source_name}"\n'
                f'path = "{self.csv}"\nspeed = 1\nbatch_rows = 20\n')
