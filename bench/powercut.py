"""The power-cut run (issue 18): POWERCUT_CUTS cuts (100 by default; tests/test_powercut.py
does 12) of one node whose store is on tests/support/lazyfs.py, a seed from POWERCUT_SEED,
POWERCUT_ROWS replay rows. See docs/DEVELOPING.md, "Power cuts".

Reports the cuts per phase (and at which operation), the bins expected and exported, whether
the export equals the input exactly, metadata operations undone, and the recovery time (a
restart after a cut to the edge's first batch in the store) against the same on the very
first start on an empty disk, measured in the same run, as a ratio.
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import powercut  # noqa: E402
from support.lazyfs_mount import fuse_unavailable  # noqa: E402
from support.mosquitto import Mosquitto  # noqa: E402


def main() -> dict:
    cuts = int(os.environ.get("POWERCUT_CUTS", "100"))
    rows = int(os.environ.get("POWERCUT_ROWS", str(max(4000, cuts * 600))))
    seed = int(os.environ.get("POWERCUT_SEED", "18"))
    with tempfile.TemporaryDirectory(prefix="walkway-powercut-") as tmp:
        work = Path(tmp)
        reason = fuse_unavailable(work / "probe")
        if reason:
            print(f"powercut: skipped: {reason}")
            return {"skipped": reason}
        broker = Mosquitto(work / "broker").start()
        try:
            f = powercut.run(work, broker.url, cuts=cuts, rows=rows, seed=seed,
                             say=lambda line: print(line, flush=True))
        finally:
            broker.stop()
    rec = sorted(f.recovery_s)
    median = statistics.median(rec) if rec else 0.0
    out = {
        "cuts": sum(f.cuts.values()), "by_phase": dict(f.cuts), "at_operation": dict(f.ops),
        "seed": seed, "rows": f.rows, "bins_expected": f.bins_expected,
        "bins_exported": f.bins_exported, "exact": f.exact, "missing_counts": f.missing,
        "extra_counts": f.extra, "metadata_undone": f.undone,
        "reserve_bytes_after": f.reserve_bytes,
        "recovery_s_median": round(median, 3), "recovery_s_max": round(max(rec, default=0), 3),
        "first_start_s": round(f.first_start_s, 3),
        "recovery_vs_first_start": round(median / f.first_start_s, 3) if f.first_start_s else None,
        "wall_s": round(f.wall_s),
    }
    print(f"powercut: {out['cuts']} cuts {out['by_phase']}; {f.bins_exported} of"
          f" {f.bins_expected} bins exported, exact={f.exact} (missing {f.missing}, extra"
          f" {f.extra}); recovery median {median:.2f} s, max {out['recovery_s_max']} s"
          f" ({out['recovery_vs_first_start']}x the first start's {f.first_start_s:.2f} s);"
          f" {out['wall_s']} s wall")
    return out
