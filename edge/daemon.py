"""`walkway edge run`: sources -> aggregation -> store, until SIGTERM/SIGINT.

Each source runs in its own thread and hands batches through a bounded queue to the main
thread, the only writer, which commits each batch (counts + position) in one transaction.
A source thread that raises is restarted with backoff; the daemon itself keeps going.
"""

import logging
import os
import queue
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.config import Config
from edge.health_config import health_config
from edge.store import Store
from edge.store_errors import disk_full_text
from sensors.base import Source, SourceContext, SourceState, SourceStatus
from sensors.registry import source_module
from walkway.errors import StoreError
from walkway.notify import Notifier, Watchdog
from walkway.records import Batch

log = logging.getLogger(__name__)

QUEUE_BATCHES = 64
STATUS_EVERY_S = 2.0
# At most this many batches are committed before the loop turns again (statuses, watchdog):
# with a big backlog (a 3M-row replay) the queue never runs empty, and an unbounded drain
# sent no READY, no WATCHDOG=1 and no heartbeat until it did (issue 18).
DRAIN_MAX_BATCHES = QUEUE_BATCHES
RETRY_LOG_EVERY = 60  # failed store writes (one a second) between two log lines


@dataclass
class _Worker:
    source: Source
    type: str = "custom"
    thread: threading.Thread | None = None
    failures: int = 0
    next_start: float = 0.0
    last_error: str = ""
    extra: dict = field(default_factory=dict)


class EdgeDaemon:
    """Owns the store and the source threads. `run()` returns at stop()."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        on_tick: Callable[["EdgeDaemon"], None] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.started_at = clock()
        # systemd (Type=notify): READY once the store took a first write; watchdog pings
        # only while store writes keep succeeding (issue 6).
        self.notifier = notifier if notifier is not None else Notifier.from_env()
        self.watchdog = Watchdog(self.notifier, [self._store_write_check], clock=clock)
        self.ready_sent = False
        self.stop_event = threading.Event()
        self.accepting = threading.Event()
        self.accepting.set()
        self.queue: queue.Queue[tuple[str, Batch]] = queue.Queue(QUEUE_BATCHES)
        self.store = Store.from_config(config, clock=clock)
        self.last_write_ok = clock()
        self.committed_batches = 0
        self._status_full = 0  # status writes failed in a row on a full disk
        self.on_tick = on_tick
        ctx = SourceContext(config.node.id, config.file.parent, clock,
                            config.store.bin_seconds)
        self.workers = [
            _Worker(source_module(spec.type).open_source(spec, ctx), spec.type)
            for spec in config.sources
        ]

    # -- source threads -------------------------------------------------------------
    def _emit_for(self, name: str) -> Callable[[Batch], None]:
        def emit(batch: Batch) -> None:
            # Accepted until the final drain, so a source's last partial window at shutdown
            # is committed, not dropped.
            while self.accepting.is_set():
                try:
                    self.queue.put((name, batch), timeout=0.2)
                    return
                except queue.Full:
                    continue

        return emit

    def _run_source(self, worker: _Worker, position: str | None) -> None:
        source = worker.source
        try:
            source.run(self._emit_for(source.name), self.stop_event, position)
        except Exception as exc:  # noqa: BLE001 - supervised boundary: a source never kills the node
            worker.failures += 1
            worker.last_error = f"{type(exc).__name__}: {exc}"
            log.error("source %s failed (%s); restarting", source.name, worker.last_error)

    def _supervise(self) -> None:
        now = self.clock()
        for worker in self.workers:
            if worker.thread is not None and worker.thread.is_alive():
                continue
            if worker.thread is not None:
                worker.thread = None
                worker.next_start = now + min(60.0, 2.0 ** min(worker.failures, 6))
                # Everything queued by the dead thread must land before we re-read its
                # position, or a restarted replay would read those rows twice. The queue
                # is FIFO and holds at most QUEUE_BATCHES, so that many covers them all.
                self._drain(max_batches=QUEUE_BATCHES)
            if now < worker.next_start or self.stop_event.is_set():
                continue
            position = self.store.position(worker.source.name)
            worker.thread = threading.Thread(
                target=self._run_source,
                args=(worker, position),
                name=f"source-{worker.source.name}",
                daemon=True,
            )
            worker.thread.start()

    # -- main loop ------------------------------------------------------------------
    def _commit(self, name: str, batch: Batch) -> None:
        failures = 0
        while True:
            try:
                self.store.commit_batch(name, batch)
                self.last_write_ok = self.clock()
                self.committed_batches += 1
                if failures:
                    log.warning("store writable again after %d failed attempts", failures)
                return
            except StoreError as exc:
                # The first failure, then one line a minute: a crew reads the cause, not
                # sixty copies of it.
                if failures % RETRY_LOG_EVERY == 0:
                    log.error("%s; retrying every 1 s (%d failed so far)", exc, failures + 1)
                failures += 1
                if self.stop_event.wait(1.0):
                    return

    def _drain(self, timeout: float = 0.0, max_batches: int | None = None) -> int:
        done = 0
        while max_batches is None or done < max_batches:
            try:
                name, batch = self.queue.get(timeout=timeout if done == 0 else 0)
            except queue.Empty:
                return done
            self._commit(name, batch)
            done += 1
        return done

    def _maintain(self) -> None:
        """Retention and the disk cap on a timer too, not only when a batch arrives."""
        try:
            self.store.maintain_if_due()
        except (sqlite3.Error, StoreError) as exc:
            log.error("store maintenance failed (retried in %.0f s): %s",
                      self.store.prune_every_s, exc)

    def statuses(self) -> dict[str, SourceStatus]:
        out = {}
        for w in self.workers:
            status = w.source.status()
            dead = w.thread is None or not w.thread.is_alive()
            if dead and w.failures:
                status = SourceStatus(SourceState.DISCONNECTED, w.last_error, status.counters)
            out[w.source.name] = status
        return out

    def _write_statuses(self, stopped: bool = False) -> None:
        try:
            types = {w.source.name: w.type for w in self.workers}
            statuses = {name: {**status.as_dict(), "type": types[name]}
                        for name, status in self.statuses().items()}
            # The heartbeat health and the set-config rollback check read.
            self.store.write_statuses(statuses, {
                "pid": os.getpid(), "started_at": self.started_at,
                "config_sha256": self.config.sha256, "stopped": stopped})
        except (sqlite3.Error, StoreError) as exc:
            # Not fatal here: the watchdog stops pinging and systemd restarts us.
            log.error("cannot write status to the store: %s", exc)
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
                self._status_full += 1
                try:
                    # First give the WAL's space back; drop bins only if that was not enough.
                    if self._status_full == 1:
                        self.store.checkpoint()
                        return
                    deleted = self.store.make_room()
                except sqlite3.Error as again:
                    log.error("cannot make room in the store: %s", again)
                    return
                log.warning("%s; deleted %d oldest bins to make room",
                            disk_full_text(self.store.path), deleted)
            return
        self._status_full = 0
        self.last_write_ok = self.clock()
        if not self.ready_sent:
            self.ready_sent = self.notifier.ready(f"counting with {len(self.workers)} sources")

    def _store_write_check(self) -> str | None:
        age = self.clock() - self.last_write_ok
        limit = health_config(self.config).write_stale_s
        if age > limit:
            return f"no store write succeeded for {age:.0f} s ({self.config.store.path})"
        return None

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        sealed = self.store.seal_sources_except(s.name for s in self.config.sources)
        if sealed:
            log.info("sealed %d open bins of sources no longer configured", sealed)
        log.info("edge %s running with %d sources", self.config.node.id, len(self.workers))
        self._write_statuses()  # READY as soon as the store took a write, before any backlog
        last_status = self.clock()
        while not self.stop_event.is_set():
            self._supervise()
            self._drain(timeout=0.2, max_batches=DRAIN_MAX_BATCHES)
            self._maintain()
            if self.clock() - last_status >= STATUS_EVERY_S:
                self._write_statuses()
                last_status = self.clock()
            self.watchdog.tick()
            if self.on_tick is not None:
                self.on_tick(self)
        deadline = time.monotonic() + 10
        for w in self.workers:
            # Keep committing while sources finish: one blocked on a full queue must get out.
            while w.thread is not None and w.thread.is_alive() and time.monotonic() < deadline:
                self._drain(timeout=0.05)
                w.thread.join(timeout=0.05)
        self._drain()
        self.accepting.clear()
        self.notifier.stopping()
        self._write_statuses(stopped=True)
        self.store.close()
        log.info("edge %s stopped cleanly", self.config.node.id)


def run_edge(config: Config) -> int:
    from walkway.clock import clock_from_env  # WALKWAY_CLOCK: `walkway sim` time
    from walkway.memory import pin_mmap_threshold

    pin_mmap_threshold()  # frame-sized buffers mapped and given back (walkway/memory.py)
    daemon = EdgeDaemon(config, clock=clock_from_env())

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        daemon.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.run()
    return 0
