"""SOAK_PROBE=1 (bench/soak.py): what a soak's child process's memory is made of.

On the children's PYTHONPATH only while a soak runs with SOAK_PROBE=1: at the simulated
times in SOAK_PROBE_AT (the middle of the baseline hour and of the last hour) each walkway
process writes glibc's malloc figures (mallinfo2: bytes in use, free bytes kept in the
arenas), its VmRSS and RssAnon, and SQLite's own allocations (sqlite3_memory_used: page
caches, at most 1 MiB per connection, and prepared statements) to SOAK_PROBE_DIR/PID.json;
with SOAK_PROBE_TRACE=1 also the size of its Python objects (tracemalloc, which slows the
process down).
Read-only otherwise: it changes nothing in the process it looks at.
"""

import os


def _start() -> None:
    import threading

    if os.environ.get("SOAK_PROBE_TRACE") == "1":
        import tracemalloc

        tracemalloc.start()

    threading.Thread(target=_watch, name="soak-probe", daemon=True).start()


def _figures() -> dict:
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    m = libc.mallinfo2()
    out = {"malloc_in_use": m.uordblks, "malloc_free": m.fordblks, "malloc_mmap": m.hblkhd}
    with open("/proc/self/status") as f:  # what of it is resident (malloc_trim gives back)
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                out[key.lower()] = int(value.split()[0]) * 1024
    import tracemalloc

    if tracemalloc.is_tracing():
        out["python"] = tracemalloc.get_traced_memory()[0]
    try:
        lite = ctypes.CDLL("libsqlite3.so.0")
        lite.sqlite3_memory_used.restype = ctypes.c_int64
        out["sqlite"] = lite.sqlite3_memory_used()
    except OSError:
        pass
    return out


def _watch() -> None:
    import json
    import sys
    import time

    from walkway.clock import clock_from_env

    clock = clock_from_env()
    got = []
    for at in map(float, os.environ["SOAK_PROBE_AT"].split(",")):
        while clock() < at:
            time.sleep(0.5)
        got.append(_figures())
    path = os.path.join(os.environ["SOAK_PROBE_DIR"], f"{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump({"argv": sys.argv[1:], "at": got}, f)


if os.environ.get("SOAK_PROBE_DIR") and os.environ.get("SOAK_PROBE_AT"):
    _start()
