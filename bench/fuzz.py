"""The long fuzz run (issue 18): every outside input, FUZZ_CASES cases each (100,000 by
default; tests/test_fuzz.py runs 10,000 with a fixed seed), a seed per run from FUZZ_SEED.

Reports per target: cases, accepted, rejected, crashes, wrong results, the commonest
rejection reasons and cases/s, with a baseline measured in the same run: plain
`json.loads` of the same counts cases (the least any decoder must do), as a ratio.
"""

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.fuzz import Mutator, Tally, run_target  # noqa: E402
from support.fuzz_targets import COUNTS, Targets  # noqa: E402


def main() -> dict:
    cases = int(os.environ.get("FUZZ_CASES", "100000"))
    seed = int(os.environ.get("FUZZ_SEED", "18"))
    logging.disable(logging.CRITICAL)
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="walkway-fuzz-", dir=shm if shm.is_dir() else None))
    targets = Targets(work)
    out: dict = {"cases_per_target": cases, "seed": seed}
    try:
        baseline_cases = [Mutator(seed).json_case(COUNTS) for _ in range(min(cases, 20000))]
        t0 = time.perf_counter()
        for payload in baseline_cases:
            try:
                json.loads(payload)
            except (ValueError, RecursionError):
                pass
        base_rate = len(baseline_cases) / (time.perf_counter() - t0)
        for i, (name, (target, make)) in enumerate(targets.generators().items()):
            mutator = Mutator(seed * 1000 + i)
            tally = run_target(target, [make(mutator) for _ in range(cases)], Tally())
            row = tally.as_dict()
            row["cases_per_s"] = round(cases / max(tally.seconds, 1e-9))
            row["vs_json_loads"] = round(row["cases_per_s"] / base_rate, 3)
            row["first_crashes"] = tally.crashes[:3]
            out[name] = row
            print(f"{name:10s} {row['cases']} cases, {row['accepted']} accepted,"
                  f" {row['crashes']} crashes, {row['wrong']} wrong,"
                  f" {row['cases_per_s']}/s ({row['vs_json_loads']}x json.loads)", flush=True)
    finally:
        targets.close()
        shutil.rmtree(work, ignore_errors=True)
    return out
