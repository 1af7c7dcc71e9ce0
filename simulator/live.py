"""The live terminal view: a rich table on a terminal, plain progress lines otherwise."""

import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo

from simulator.readonly import read_only


@dataclass(frozen=True)
class NodeRow:
    node: str
    true: float
    counted: float
    depth: int
    delivered: int
    procs: str
    faults: str


@dataclass(frozen=True)
class Snapshot:
    sim_time: float
    progress: float  # 0..1 of the scenario
    broker: str
    faults: tuple[str, ...]
    rows: tuple[NodeRow, ...]
    timezone: str = "UTC"  # the scenario's: the same time convention as the report

    def local_time(self) -> str:
        """'2026-01-14 07:45:00 JST' in the scenario's zone."""
        return datetime.fromtimestamp(self.sim_time, ZoneInfo(self.timezone)).strftime(
            "%Y-%m-%d %H:%M:%S %Z")


def _node_counts(db: Path, feeds: list, start: float, end: float) -> tuple[float, int, int]:
    """(counted people in the scenario's range, outbox depth, delivered bins) of one store."""
    if not db.exists():
        return 0.0, 0, 0
    counted, depth, delivered = 0.0, 0, 0
    try:
        with read_only(db, 2) as conn:
            for feed in feeds:
                if feed.measures:
                    continue
                marks = ",".join("?" * len(feed.compare))
                row = conn.execute(
                    f"SELECT sum(count) FROM bins WHERE kind='count' AND source=? AND"
                    f" direction IN ({marks}) AND start >= ? AND start < ?",
                    (feed.source_name, *feed.compare, int(start), int(end))).fetchone()
                counted += row[0] or 0
            states = dict(conn.execute("SELECT state, count(*) FROM bins GROUP BY state"))
            depth = states.get("pending", 0) + states.get("sending", 0)
            delivered = states.get("delivered", 0)
    except sqlite3.Error:
        pass
    return counted, depth, delivered


def snapshot(runner: Any) -> Snapshot:
    sc = runner.scenario
    now = runner.clock()
    # Completed bins only: the bin in progress is still being counted (and its truth is not).
    until = min(sc.end, (now // sc.bin_seconds) * sc.bin_seconds - sc.bin_seconds)
    rows = []
    for node in runner.nodes.values():
        counted, depth, delivered = _node_counts(node.db, node.feeds, sc.start, until)
        true = sum(f.true_total(until=until) for f in node.feeds if not f.measures)
        procs = "down" if node.down else "/".join(
            "up" if p is not None and p.alive() else "-" for p in (node.edge, node.bridge))
        rows.append(NodeRow(node.id, true, counted, depth, delivered, procs,
                            ", ".join(node.faults)))
    faults = tuple(f"{r.plan.kind}@{r.target}" for r in runner.faults.active()) \
        if runner.faults else ()
    progress = min(1.0, max(0.0, (now - sc.start) / (sc.end - sc.start)))
    return Snapshot(now, progress, "up" if runner.broker_up else "DOWN", faults, tuple(rows),
                    sc.timezone)


class View(Protocol):
    def say(self, text: str) -> None: ...
    def update(self, s: Snapshot) -> None: ...
    def close(self) -> None: ...


class PlainView:
    """Progress lines for logs and CI: one every `every_s` seconds."""

    def __init__(self, stream: TextIO = sys.stdout, every_s: float = 5.0) -> None:
        self.stream = stream
        self.every_s = every_s
        self.last = 0.0

    def say(self, text: str) -> None:
        print(f"sim: {text}", file=self.stream, flush=True)

    def update(self, s: Snapshot) -> None:
        if time.monotonic() - self.last < self.every_s:
            return
        self.last = time.monotonic()
        true = sum(r.true for r in s.rows)
        counted = sum(r.counted for r in s.rows)
        depth = sum(r.depth for r in s.rows)
        faults = ", ".join(s.faults) or "none"
        self.say(f"{s.local_time()} {s.progress:4.0%} true {true:.0f} counted {counted:.0f}"
                 f" outbox {depth} broker {s.broker} faults: {faults}")

    def close(self) -> None:
        pass


class RichView:
    """A rich Live table, redrawn about once a second."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.title = title
        self.console = Console()
        self.live = Live(console=self.console, refresh_per_second=2, transient=False)
        self.live.start()

    def say(self, text: str) -> None:
        self.live.console.print(f"[dim]sim:[/] {text}")

    def update(self, s: Snapshot) -> None:
        from rich.table import Table

        table = Table(title=f"{self.title}  {s.local_time()}  {s.progress:.0%}",
                      caption=f"broker {s.broker}; faults: {', '.join(s.faults) or 'none'}")
        table.add_column("node", no_wrap=True, min_width=14)
        for col in ("true", "counted", "error", "outbox", "acked", "edge/br"):
            table.add_column(col, justify="right", no_wrap=True)
        table.add_column("faults", overflow="fold")
        for r in s.rows:
            err = f"{(r.counted - r.true) / r.true:+.1%}" if r.true else "-"
            style = "red" if r.faults or r.procs != "up/up" else None
            table.add_row(r.node, f"{r.true:.0f}", f"{r.counted:.0f}", err, str(r.depth),
                          str(r.delivered), r.procs, r.faults, style=style)
        self.live.update(table)

    def close(self) -> None:
        self.live.stop()


def make_view(title: str, stream: TextIO = sys.stdout) -> "PlainView | RichView":
    return RichView(title) if stream.isatty() else PlainView(stream)
