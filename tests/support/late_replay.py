"""A replay CSV of random counts, ~3 % of rows late enough to reopen delivered bins, and the
per-bin totals it must come to: the input of the exactly-once and power-cut tests."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

SENSORS = ("cam1.main", "cam1.side", "gate-tfluna")
BIN = 60


def write_replay(path: Path, rows: int, rng: random.Random) -> Counter:
    """Rows about 1 s apart; ~3 % arrive up to 5 minutes late (beyond the grace period) to
    reopen delivered bins. Returns the expected count per (sensor, direction, bin start)."""
    t0 = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)
    expected: Counter = Counter()
    lines = ["time,sensor,direction,count"]
    t = 0.0
    for _ in range(rows):
        t += rng.uniform(0.2, 1.8)
        at = t - (rng.uniform(40, 300) if rng.random() < 0.03 else rng.uniform(0, 5))
        sensor, direction, n = rng.choice(SENSORS), rng.choice(("in", "out")), rng.randint(1, 5)
        stamp = t0 + timedelta(seconds=max(at, 0))
        lines.append(f"{stamp.isoformat().replace('+00:00', 'Z')},{sensor},{direction},{n}")
        expected[(sensor, direction, int(stamp.timestamp()) // BIN * BIN)] += n
    path.write_text("\n".join(lines) + "\n")
    return expected
