"""The memory bounds of the long-running daemons (edge, bridge, collector), declared once.

Two things made their RSS creep over a day (the soak, issue 18; docs/operations.md "Memory
over days"):

- SQLite's page cache is per connection and fills up to `cache_size` as the database grows
  past it; SQLite's default is 2 MB (`-2000` KiB). Every walkway connection declares its own
  bound, SQLITE_CACHE_KIB: the edge's, the bridge's and the collector's working sets (the
  newest bins, the outbox, the right edge of each index) are far smaller.
- glibc's malloc serves a block of MMAP_THRESHOLD bytes or more with its own mmap and unmaps
  it at free(); but after the first such block is freed it raises that threshold to the
  block's size (up to 32 MB), so from then on video frames and decoder buffers come from the
  arenas (one per allocating thread: the camera's decoder, OpenCV's workers), where freed
  ones fragment between live blocks and are kept: the camera edge's RSS rose all day with
  malloc's free lists while its memory in use stayed flat. `pin_mmap_threshold()`, called
  once when the edge daemon starts, sets M_MMAP_THRESHOLD explicitly, which also switches
  glibc's adjustment off: every block that large is mapped and given back when freed. The
  cost is a fresh zero-filled mapping per frame-sized buffer. Without glibc (musl, macOS)
  it does nothing.
"""

import ctypes
import logging
import sqlite3

log = logging.getLogger(__name__)

SQLITE_CACHE_KIB = 1024
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, pinned
M_MMAP_THRESHOLD = -3  # <malloc.h>


def bound_sqlite_cache(conn: sqlite3.Connection) -> None:
    """Cap this connection's page cache at SQLITE_CACHE_KIB (negative cache_size: KiB)."""
    conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """glibc mallopt(M_MMAP_THRESHOLD): blocks of `threshold` bytes or more are mmapped and
    unmapped at free(), for the life of the process (see above). False without glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        log.warning("mallopt(M_MMAP_THRESHOLD, %d) refused", threshold)
    return done
