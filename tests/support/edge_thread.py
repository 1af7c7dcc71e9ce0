"""Run a real EdgeDaemon in a thread of the test process (for its statuses and workers)."""

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from edge.config import load_config
from edge.daemon import EdgeDaemon, _Worker
from sensors.base import Source
from support.walkway_procs import wait_for


@contextmanager
def edge_daemon_thread(config: Path, sources: Sequence[Source] | None = None
                       ) -> Iterator[EdgeDaemon]:
    """Build the daemon inside its thread (its SQLite store belongs to the thread that opens
    it), optionally with hand-made sources; stop and join it on exit."""
    holder: list[EdgeDaemon] = []

    def serve() -> None:
        daemon = EdgeDaemon(load_config(config))
        if sources is not None:
            daemon.workers = [_Worker(s) for s in sources]
        holder.append(daemon)
        daemon.run()

    thread = threading.Thread(target=serve, name="edge-daemon")
    thread.start()
    try:
        wait_for(lambda: holder, 30, "the edge daemon to start")
        yield holder[0]
    finally:
        if holder:
            holder[0].stop()
        thread.join(20)
        assert not thread.is_alive(), "the edge daemon did not stop"
