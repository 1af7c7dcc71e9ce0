"""One node on the forgetful filesystem, its power cut again and again (issue 18).

The edge, the bridge and the node's SQLite store run on a tests/support/lazyfs.py mount; the
replay input and node config stay off it (the read-only part of the card), as do a real
mosquitto and a real collector. Each cut: lazyfs stops the node at the armed operation
(SIGSTOP, so nothing later reaches disk or network), the node is SIGKILLed, the disk's
memory dropped, unsynced names undone, the disk remounted and the node restarted. What
survived is checked each time (a copy of the durable files: the store opens, integrity_check
is ok, the source's position is a line start and never went backwards); at the end the
collector's export must equal the input exactly. `run` returns the figures.
"""

import csv
import io
import random
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edge.migrations import migrate
from support.late_replay import BIN, write_replay
from support.lazyfs import PHASES
from support.lazyfs_mount import LazyMount
from support.walkway_procs import WalkwayProcess, run_walkway, wait_for

DB = "edge.db"
# Matching operations let through before the cut, at most, per phase: ingest and acks come
# several times a second, pruning after each start and every PRUNE_S.
SKIP = {"ingest": 12, "ack": 10, "prune": 0, "checkpoint": 8}
EXTRA = 4  # then up to this many more store operations of the same process
TRIGGER_TIMEOUT_S = 30.0
# The store's maintenance (`[store] prune_every_s`): at the default 10 s a prune cut whose
# first maintenance after a start had nothing to delete waited 10 s while the replay ran on
# (1,500 rows at speed 150); three such cuts could use up the whole replay before the last
# cut, which then timed out (seen on a busy machine).
PRUNE_S = 1.0


@dataclass
class Figures:
    cuts: Counter = field(default_factory=Counter)  # by phase
    ops: Counter = field(default_factory=Counter)  # by (phase, operation) at the cut
    undone: int = 0  # metadata operations undone in all
    recovery_s: list[float] = field(default_factory=list)  # restart to the first batch
    first_start_s: float = 0.0  # the same on the very first start, on an empty disk
    positions: list[int] = field(default_factory=list)
    bins_expected: int = 0
    bins_exported: int = 0
    rows: int = 0
    input_bytes: int = 0
    reserve_bytes: int = 0  # the full-disk reserve on the disk after the run
    exact: bool = False
    missing: int = 0
    extra: int = 0
    wall_s: float = 0.0


def write_config(path: Path, store: Path, replay: Path, broker_url: str, speed: float) -> None:
    # keep_delivered_hours 0.12 (7.2 event minutes) prunes often yet keeps every bin a late
    # row (at most 5 minutes late) can reopen; max_mb 0.2 makes the WAL truncate often.
    path.write_text(f"""
[node]
id = "chikaho-n1"
site = "sapporo"
[store]
path = "{store}"
bin_seconds = {BIN}
grace_seconds = 30
keep_delivered_hours = 0.12
max_mb = 0.2
prune_every_s = {PRUNE_S}
[mqtt]
url = "{broker_url}"
batch_bins = 40
window = 4
ack_timeout_s = 2.0
[[sources]]
type = "replay"
name = "replay"
path = "{replay}"
speed = {speed}
batch_rows = {25 if speed else 500}
""")


def schema_pages() -> dict[str, int]:
    """Root pages of the small tables (and their indexes) in a fresh store: the schema is
    created in one order, so every store has them at the same pages."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "s.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        migrate(conn)
        rows = conn.execute("SELECT name, tbl_name, rootpage FROM sqlite_master"
                            " WHERE rootpage > 0").fetchall()
        conn.close()
    return {name: page for name, table, page in rows if table != "bins"}


def durable_state(mount: LazyMount, scratch: Path) -> tuple[int | None, str]:
    """Open a copy of what survived: (the replay's position, integrity_check's answer)."""
    copy = mount.snapshot(scratch)
    if not (copy / DB).exists():
        return None, "ok"
    with sqlite3.connect(copy / DB) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='source_state'").fetchone():
            return None, check  # cut before the schema's first commit: the edge makes it again
        row = conn.execute("SELECT position FROM source_state WHERE source='replay'").fetchone()
    return (int(row[0]) if row and row[0] is not None else None), check


def forgotten(cloud: Path, survived: Path) -> list[tuple]:
    """Bins the collector holds at a higher version or count than the node's surviving store:
    the node sent something a cut then took back (a commit visible before it was durable).
    Bins pruned from the node (start <= pruned_until_start) are left out."""
    if not cloud.exists() or not (survived / DB).exists():
        return []
    with sqlite3.connect(f"file:{cloud}?mode=ro", uri=True, timeout=10) as conn:
        # A collector slow to start (a busy machine) has opened cloud.db but not yet made its
        # tables: then it holds nothing, so nothing can have been taken back.
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='counts'").fetchone():
            return []
        sent = conn.execute("SELECT sensor, direction, start, count, version FROM counts"
                            ).fetchall()
    with sqlite3.connect(survived / DB) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='bins'").fetchone():
            return sent
        kept = {(s, d, t): (c, v) for s, d, t, c, v in conn.execute(
            "SELECT sensor, direction, start, count, version FROM bins WHERE kind='count'")}
        row = conn.execute("SELECT value FROM counters WHERE name='pruned_until_start'"
                           ).fetchone()
    pruned_until = row[0] if row else -1
    return [b for b in sent if b[2] > pruned_until
            and not (kept.get(b[:3], (-1, -1))[0] >= b[3] and kept[b[:3]][1] >= b[4])]


def outbox_settled(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            states = dict(conn.execute("SELECT state, count(*) FROM bins GROUP BY state"))
            idle = conn.execute(
                "SELECT watermark FROM source_state WHERE source='replay'").fetchone()
    except sqlite3.OperationalError:
        return False
    return bool(idle and idle[0] and idle[0] >= 1e15) and set(states) == {"delivered"}


def export_counts(cloud: Path) -> Counter:
    got: Counter = Counter()
    for row in csv.DictReader(io.StringIO(run_walkway("collector", "export", "--db",
                                                      str(cloud)).stdout)):
        epoch = int(datetime.fromisoformat(row["start"].replace("Z", "+00:00")).timestamp())
        got[(row["sensor"], row["direction"], epoch)] += int(row["count"])
    return got


class Node:
    """The edge and the bridge of one node, started together and killed together."""

    def __init__(self, work: Path, config: Path) -> None:
        self.edge = WalkwayProcess(["edge", "run", "--config", str(config)], work / "edge.log")
        self.bridge = WalkwayProcess(["bridge", "run", "--config", str(config)],
                                     work / "bridge.log")
        self.log_from: dict[str, int] = {}

    def start(self) -> dict[str, int]:
        # Where this start's lines begin in the appended logs (see stop()).
        self.log_from = {p.args[0]: p.log.stat().st_size if p.log.exists() else 0
                         for p in (self.edge, self.bridge)}
        # The bridge first, the edge once the bridge runs: the replay moves on in wall time
        # from the edge's start, and on a busy machine a bridge still importing for seconds
        # let the replay run far (150 rows a second) before the first ack could be cut.
        self.bridge.start()
        self._wait_running(self.bridge, b"bridge for ", "the bridge to run before the edge")
        self.edge.start()
        return {"edge": self.edge.proc.pid, "bridge": self.bridge.proc.pid}

    def _wait_running(self, proc: WalkwayProcess, line: bytes, what: str) -> None:
        wait_for(lambda: not proc.alive() or line in proc.log.read_bytes()[
            self.log_from[proc.args[0]]:], 120, what)

    def kill9(self) -> None:
        self.edge.kill9()
        self.bridge.kill9()

    def stop(self) -> tuple[int, int]:
        # A SIGTERM that lands before a daemon has installed its handler ends it with -15. On a
        # busy machine the last restart can still be importing when the outbox is already
        # settled (the replay ended before the last cut): wait until each says it is running.
        for proc, line in ((self.edge, b" running with "), (self.bridge, b"bridge for ")):
            self._wait_running(proc, line, f"{proc.args[0]} to be running before it is stopped")
        codes = self.edge.terminate(), self.bridge.terminate()
        if codes != (0, 0):
            tails = {p.args[0]: p.log.read_text(errors="replace")[-1500:]
                     for p in (self.edge, self.bridge)}
            raise AssertionError(f"exit codes {codes} on SIGTERM; log tails: {tails}")
        return codes


def run(work: Path, broker_url: str, *, cuts: int, rows: int, seed: int, speed: float = 150,
        say=lambda _line: None) -> Figures:
    began = time.monotonic()
    rng = random.Random(seed)
    figures = Figures(rows=rows)
    replay = work / "counts.csv"
    expected = write_replay(replay, rows, rng)
    lines = replay.read_bytes()
    figures.input_bytes = len(lines)
    mount = LazyMount(work / "disk").mount()
    config = work / "node.toml"
    write_config(config, mount.mnt / DB, replay, broker_url, speed)
    cloud = work / "cloud.db"
    collector = WalkwayProcess(["collector", "run", "--broker", broker_url, "--db", str(cloud)],
                               work / "collector.log").start()
    node = Node(work, config)
    pages = schema_pages()
    phases = [PHASES[i % len(PHASES)] for i in range(cuts)]
    rng.shuffle(phases)
    try:
        pids, started = node.start(), time.monotonic()
        # The first start creates the schema, whose transaction writes every table's page:
        # cut only once a first batch is in (later cuts in pruning are then really pruning).
        mount.arm(phase="none", skip=0, extra=0, pids=pids, db=DB, pages=pages)
        first = mount.next_event("first_ingest", TRIGGER_TIMEOUT_S)
        assert first is not None, "the edge never wrote a first batch"
        figures.first_start_s = first["t"] - started
        for i, phase in enumerate(phases):
            # A third of the cuts at the process's next fsync(s): a commit fully written, none
            # of it synced; the others at any of its next few writes, fsyncs and truncates.
            at_sync = rng.random() < 1 / 3
            mount.arm(phase=phase, skip=rng.randint(0, SKIP[phase]),
                      extra=rng.randint(0, 1 if at_sync else EXTRA), at_sync=at_sync,
                      pids=pids, db=DB, pages=pages)
            cut = mount.next_event("cut", TRIGGER_TIMEOUT_S) or mount.cut_now("timeout")
            first = mount.next_event("first_ingest", 0)
            if first is not None and i:  # (the first start's was taken above)
                figures.recovery_s.append(first["t"] - started)
            node.kill9()
            figures.undone += mount.pull_plug()
            figures.cuts[cut["phase"]] += 1
            figures.ops[f"{cut['phase']}:{cut['op']}"] += 1
            position, check = durable_state(mount, work / "survived")
            assert check == "ok", f"cut {i + 1} ({phase}): integrity_check says {check}"
            taken_back = forgotten(cloud, work / "survived")
            assert not taken_back, f"cut {i + 1} ({phase}): the collector has bins the" \
                f" node's disk lost: {taken_back[:3]} ({len(taken_back)})"
            if position is not None:
                assert lines[position - 1:position] == b"\n", f"cut {i + 1}: position {position}"
                assert position >= max(figures.positions, default=0), \
                    f"cut {i + 1} ({phase}): the durable position went back to {position}"
                figures.positions.append(position)
            say(f"cut {i + 1}/{cuts}: {cut['phase']} at {cut['op']} of {cut.get('file')}"
                f" by {cut.get('role')}; position {position}/{len(lines)}")
            mount.mount()
            if i == cuts - 1:  # the rest of the replay as fast as it goes, in big batches
                write_config(config, mount.mnt / DB, replay, broker_url, 0)
            pids, started = node.start(), time.monotonic()
        mount.arm(phase="none", skip=0, extra=0, pids=pids, db=DB, pages=pages)
        first = mount.next_event("first_ingest", TRIGGER_TIMEOUT_S)
        if first is not None:
            figures.recovery_s.append(first["t"] - started)
        wait_for(lambda: outbox_settled(mount.mnt / DB), 300, "every bin acknowledged")
        assert node.stop() == (0, 0)
        assert collector.terminate() == 0
        with sqlite3.connect(f"file:{mount.mnt / DB}?mode=ro", uri=True) as conn:
            counters = dict(conn.execute("SELECT name, value FROM counters"))
        assert counters.get("dropped_bins", 0) == 0 and counters.get("late_dropped", 0) == 0, \
            counters
    finally:
        node.kill9()
        collector.kill9()
        mount.unmount()
    reserve = mount.backing / f"{DB}-reserve"
    figures.reserve_bytes = reserve.stat().st_size if reserve.exists() else 0
    got = export_counts(cloud)
    figures.bins_expected, figures.bins_exported = len(expected), len(got)
    figures.missing = sum(((expected - got)).values())
    figures.extra = sum(((got - expected)).values())
    figures.exact = got == expected
    figures.wall_s = time.monotonic() - began
    return figures
