"""The memory bounds of the long-running daemons (edge, bridge, collector), declared once.

Two things made their RSS creep over a day (the soak, issue 18; docs/operations.md "Memory"):

- SQLite's page cache is per connection and fills up to `cache_size` as the database grows
  past it; SQLite's default is 2 MB (`-2000` KiB). Every walkway connection declares its own
  bound, SQLITE_CACHE_KIB: the edge's, the bridge's and the collector's working sets (the
  newest bins, the outbox, the right edge of each index) are far smaller.
- glibc's malloc keeps memory the program freed in its arenas (one per thread that
  allocates: the camera's decoder, the source threads) for reuse; scattered between live
  blocks it is neither reused nor given back, and RSS only grows. `MemoryTrim` calls
  glibc's `malloc_trim(0)` on the daemon's own loop every TRIM_EVERY_S: it returns the top
  of every arena and, since glibc 2.8, every whole free page inside them (madvise
  MADV_DONTNEED) to the kernel. Nothing live moves; it costs a few milliseconds. Where
  there is no glibc (musl, macOS) it does nothing.
"""

import ctypes
import logging
import sqlite3
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

SQLITE_CACHE_KIB = 1024
TRIM_EVERY_S = 30.0


def bound_sqlite_cache(conn: sqlite3.Connection) -> None:
    """Cap this connection's page cache at SQLITE_CACHE_KIB (negative cache_size: KiB)."""
    conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


class MemoryTrim:
    """Gives freed heap memory back to the kernel every `every_s` seconds (see above)."""

    def __init__(self, every_s: float = TRIM_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self.last = clock()
        self.trims = 0
        try:
            self._trim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):
            self._trim = None  # not glibc: nothing to give back this way
        else:
            self._trim.argtypes = [ctypes.c_size_t]
            self._trim.restype = ctypes.c_int

    @property
    def available(self) -> bool:
        return self._trim is not None

    def tick(self) -> bool:
        """Trim when the period passed. Returns whether it trimmed."""
        if self._trim is None or self.every_s <= 0:
            return False
        now = self.clock()
        if now - self.last < self.every_s:
            return False
        self.last = now
        self._trim(0)
        self.trims += 1
        return True
