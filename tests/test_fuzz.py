"""Issue 18: mutation fuzzing of every outside input, 10,000 cases per input with a fixed
seed, through the real in-process decode/validate functions. Zero crashes, zero wrong
results, and every rejection has a reason (and, at the collector, is counted)."""

import logging
import shutil
import tempfile
from pathlib import Path

import pytest
from support.fuzz import Mutator, Tally, run_target
from support.fuzz_targets import Targets

CASES = 10_000
SEED = 18
NAMES = ["counts", "health", "status", "cmd-result", "ack", "flows", "command", "manifest",
         "config", "scenario", "serial", "content-pointer"]


@pytest.fixture(scope="module")
def targets(tmp_path_factory) -> Targets:
    # Config, scenario and manifest cases are files: on tmpfs a write takes microseconds,
    # on this disk milliseconds (10,000 of them per target).
    shm = Path("/dev/shm")
    work = Path(tempfile.mkdtemp(prefix="walkway-fuzz-", dir=shm)) if shm.is_dir() else \
        tmp_path_factory.mktemp("fuzz")
    built = Targets(work)
    yield built
    built.close()
    shutil.rmtree(work, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_fuzz(targets: Targets, name: str, caplog) -> None:
    caplog.set_level(logging.CRITICAL)  # 10,000 rejections are logged; not kept here
    target, make = targets.generators()[name]
    mutator = Mutator(SEED + NAMES.index(name))
    tally = run_target(target, [make(mutator) for _ in range(CASES)], Tally())
    print(name, tally.as_dict())
    assert tally.crashes == [], tally.crashes[:3]
    assert tally.wrong == [], tally.wrong[:3]
    assert tally.cases == CASES
    assert 0 < tally.accepted < CASES or name == "status"  # both paths were exercised
    assert sum(tally.reasons.values()) == CASES - tally.accepted
