"""Issue 2's proof: 10,000 rows through edge -> bridge -> real mosquitto -> collector while the
broker restarts and the edge and bridge are SIGKILLed at random moments; the collector's
export then equals the input exactly, per (sensor, direction, bin). Issue 15 runs it again
with three collectors in the shared subscription writing to one real PostgreSQL, one of them
SIGKILLed too, and checks the hourly rollups equal the input as well."""

import csv
import io
import random
import sqlite3
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from support.late_replay import BIN, write_replay
from support.walkway_procs import WalkwayProcess, run_walkway, wait_for

from cloud_bridge.collector_store import open_storage

ROWS = 10_000


def write_config(path: Path, broker_url: str) -> None:
    path.write_text(f"""
[node]
id = "chikaho-n1"
site = "sapporo"
[store]
path = "edge.db"
bin_seconds = {BIN}
grace_seconds = 30
[mqtt]
url = "{broker_url}"
batch_bins = 40
window = 4
ack_timeout_s = 2.0
[[sources]]
type = "replay"
name = "replay"
path = "counts.csv"
speed = 500
batch_rows = 25
""")


def outbox_settled(db: Path) -> bool:
    with sqlite3.connect(db, timeout=10) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM bins GROUP BY state"))
        idle = conn.execute(
            "SELECT watermark FROM source_state WHERE source='replay'").fetchone()
    return bool(idle and idle[0] and idle[0] >= 1e15) and set(states) == {"delivered"}


@pytest.mark.slow
@pytest.mark.parametrize("backend, collectors", [("sqlite", 1), ("postgresql", 3)])
def test_exactly_once_through_kills_and_broker_restarts(tmp_path: Path, broker, request,
                                                         backend: str, collectors: int) -> None:
    rng = random.Random(20261124)
    expected = write_replay(tmp_path / "counts.csv", ROWS, rng)
    config = tmp_path / "node.toml"
    write_config(config, broker.url)
    assert run_walkway("config", "validate", str(config)).stdout == ""

    cloud = (str(tmp_path / "cloud.db") if backend == "sqlite"
             else request.getfixturevalue("postgres_url"))
    fleet = [WalkwayProcess(["collector", "run", "--broker", broker.url, "--db", cloud],
                            tmp_path / f"collector{i}.log").start() for i in range(collectors)]
    edge = WalkwayProcess(["edge", "run", "--config", str(config)], tmp_path / "edge.log").start()
    bridge = WalkwayProcess(["bridge", "run", "--config", str(config)],
                            tmp_path / "bridge.log").start()
    db = tmp_path / "edge.db"
    wait_for(db.exists, 30, "the edge store")

    faults = ["kill-edge"] * 3 + ["kill-bridge"] * 3 + ["broker"] * 3
    faults += ["kill-collector"] * (collectors > 1)
    rng.shuffle(faults)
    done: Counter = Counter()
    for fault in faults:
        time.sleep(rng.uniform(0.3, 1.5))
        if fault == "kill-edge":
            edge.kill9()
            time.sleep(rng.uniform(0.05, 0.5))
            edge.start()
        elif fault == "kill-bridge":
            bridge.kill9()
            time.sleep(rng.uniform(0.05, 0.5))
            bridge.start()
        elif fault == "kill-collector":
            fleet[0].kill9()  # its unacknowledged messages go to the other two
            time.sleep(rng.uniform(0.05, 0.5))
            fleet[0].start()
        else:
            broker.stop()
            time.sleep(rng.uniform(0.3, 2.0))
            broker.start()
        done[fault] += 1
    assert done == {"kill-edge": 3, "kill-bridge": 3, "broker": 3,
                    **({"kill-collector": 1} if collectors > 1 else {})}
    # The replay must still be running after the last fault, or the faults proved little.
    with sqlite3.connect(db, timeout=10) as conn:
        mark = conn.execute("SELECT watermark FROM source_state WHERE source='replay'").fetchone()
    assert mark is not None and mark[0] < 1e15, "replay finished before the faults ended"

    wait_for(lambda: outbox_settled(db), 120, "every bin sealed and acknowledged")
    assert edge.terminate() == 0
    assert bridge.terminate() == 0
    for collector in fleet:
        assert collector.terminate() == 0

    export = run_walkway("collector", "export", "--db", cloud).stdout
    got: Counter = Counter()
    for row in csv.DictReader(io.StringIO(export)):
        assert (row["site"], row["node"]) == ("sapporo", "chikaho-n1")
        assert row["seconds"] == str(BIN) and row["start"].endswith("Z")
        epoch = int(datetime.fromisoformat(row["start"].replace("Z", "+00:00")).timestamp())
        got[(row["sensor"], row["direction"], epoch)] += int(row["count"])
    assert sum(got.values()) == sum(expected.values())
    assert got == expected
    storage = open_storage(cloud)
    # Late rows really reopened delivered/sealed bins (versions > 1 reached the cloud), and
    # the rollups kept up with every revision.
    assert max(r["version"] for r in storage.counts()) > 1
    hourly: Counter = Counter()
    for (sensor, direction, start), n in expected.items():
        hourly[(sensor, direction, start - start % 3600)] += n
    stored = {(r["sensor"], r["direction"], r["hour"]): r["count"]
              for r in storage.rollup("hour", 0, 2e9)}
    assert stored == dict(hourly)
    storage.close()
    assert edge.starts == 4 and bridge.starts == 4
