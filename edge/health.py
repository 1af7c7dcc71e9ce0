"""A node's health snapshot (cloud_bridge/schemas/health.v1.json), shared by the bridge's health
telemetry and the crew's `walkway status`.

Everything is read from the store and the local system: it works with no network, from any
process. Liveness comes from heartbeats the processes write into the store (`node_state`,
`source_state.status_at` every 2 s): a heartbeat older than [health] stale_after_s means that
process is down or stuck, which a status a process reports about itself never could.
"""

import ctypes
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.config import Config
from edge.health_config import health_config
from edge.store import Store
from walkway import __version__
from walkway.signage_state.player import read_heartbeat
from walkway.timeutil import iso_z

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
LIVE_STATES = ("ok", "idle", "degraded")
TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux); only modes/status/maxerror/esterror are read.
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long), ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("_pad", ctypes.c_int * 11),
    ]


def clock_sync(flag: Path = TIMESYNC_FLAG) -> dict[str, Any]:
    """{"synced": True|False|None, "source": ...}; None/"unknown" when it cannot be told."""
    if flag.exists():
        return {"synced": True, "source": "timesyncd"}
    try:
        # The C library already loaded into this process: find_library("c") ran
        # `ldconfig -p` in a forked child every health period (seen by the soak).
        libc = ctypes.CDLL(None, use_errno=True)
        tx = _Timex()  # modes = 0: read only, allowed without privileges
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return {"synced": None, "source": "unknown"}
    if state < 0:
        return {"synced": None, "source": "unknown"}
    synced = state != TIME_ERROR and not tx.status & STA_UNSYNC
    return {"synced": synced, "source": "kernel", "maxerror_us": int(tx.maxerror)}


def cpu_temp_c(thermal: Path = Path("/sys/class/thermal")) -> float | None:
    """The CPU zone's temperature (a Raspberry Pi's cpu-thermal), else the hottest zone."""
    found: list[tuple[bool, float]] = []
    for zone in sorted(thermal.glob("thermal_zone*")):
        try:
            milli = int((zone / "temp").read_text().strip())
            kind = (zone / "type").read_text().strip().lower()
        except (OSError, ValueError):
            continue
        found.append(("cpu" in kind, milli / 1000.0))
    if not found:
        return None
    cpu = [t for is_cpu, t in found if is_cpu]
    return round(max(cpu or [t for _, t in found]), 1)


def memory_mb(meminfo: Path = Path("/proc/meminfo")) -> dict[str, float | None]:
    values: dict[str, int] = {}
    try:
        for line in meminfo.read_text().splitlines():
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {"total_mb": None, "available_mb": None}
    kib = 1024.0
    total, avail = values.get("MemTotal"), values.get("MemAvailable")
    return {"total_mb": round(total / kib, 1) if total else None,
            "available_mb": round(avail / kib, 1) if avail is not None else None}


def uptime_s(proc: Path = Path("/proc/uptime")) -> float | None:
    try:
        return round(float(proc.read_text().split()[0]), 1)
    except (OSError, ValueError, IndexError):
        return None


def disk(path: Path) -> dict[str, Any]:
    """The filesystem holding `path` (its nearest existing ancestor, if it is missing)."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    return {"path": str(path), "free_mb": round(usage.free / 2**20, 1),
            "total_mb": round(usage.total / 2**20, 1),
            "free_pct": round(100.0 * usage.free / usage.total, 1) if usage.total else 0.0}


def certificate(config: Config, now: float) -> dict[str, Any] | None:
    """The node certificate's expiry, from [tls] cert_file; None without one."""
    tls = config.section("tls")
    if tls is None:
        return None
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(Path(tls.cert_file).read_bytes())
    except (OSError, ValueError) as exc:
        return {"file": str(tls.cert_file), "error": str(exc)[:200]}
    not_after = cert.not_valid_after_utc.timestamp()
    return {"file": str(tls.cert_file), "not_after": iso_z(not_after),
            "days_left": round((not_after - now) / 86400, 1)}


def heartbeat(store: Store, name: str, now: float, stale_s: float) -> dict[str, Any]:
    """A process's heartbeat in the store: state up/down and its age."""
    row = store.get_state(name)
    if row is None:
        return {"state": "down", "age_s": None, "reason": f"{name} never ran on this store"}
    value, at = row
    age = round(now - at, 1)
    state = "up" if age <= stale_s and not value.get("stopped") else "down"
    out = {**value, "state": state, "age_s": age}
    if state == "down" and not value.get("stopped") and process_alive(value.get("pid")):
        # Running, but its heartbeat cannot reach the store (a full or failing disk): "down"
        # would send a crew to restart a process that is not the problem.
        out["state"] = "stuck"
        out["reason"] = (f"{name} process {value['pid']} is running but has not written the "
                         f"store for {age:.0f} s: store writes failing (disk full? see its log)")
    return out


def process_alive(pid: object, proc: Path = Path("/proc")) -> bool:
    """Whether `pid` is a running walkway process on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process (the walkway user): it exists
    try:
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return True  # no /proc to tell a reused pid: trust the signal probe
    return b"walkway" in cmdline


def sources(config: Config, store: Store, now: float, stale_s: float) -> list[dict[str, Any]]:
    """Per configured source: its last status, marked stalled when the edge stopped writing."""
    rows = {name: (status, at) for name, status, at in store.source_statuses()}
    out = []
    for spec in config.sources:
        status, at = rows.get(spec.name, (None, None))
        body = json.loads(status) if status else {}
        entry = {"name": spec.name, "type": spec.type, "state": body.get("state", "stalled"),
                 "reason": body.get("reason", "no status yet: is the edge running?"),
                 "age_s": round(now - at, 1) if at is not None else None,
                 "counters": body.get("counters", {})}
        if at is not None and now - at > stale_s:
            entry["state"] = "stalled"
            entry["reason"] = f"no status from the edge for {now - at:.0f} s (edge down?)"
        out.append(entry)
    return out


def signage(config: Config, now: float, stale_s: float) -> dict[str, Any]:
    section = config.section("signage")
    if section is None:
        return {"state": "absent", "reason": "no [signage] section", "emergency": False}
    from walkway.signage_state.emergency import read_emergency

    emergency = read_emergency(section.state_dir) is not None
    beat = read_heartbeat(section.state_dir)
    if beat is None:
        return {"state": "absent", "reason": "the player has not written a heartbeat",
                "emergency": emergency}
    age = now - float(beat["at"])
    state, reason = str(beat.get("state", "ok")), str(beat.get("reason", ""))
    if age > stale_s:
        state, reason = "stalled", f"no heartbeat from the player for {age:.0f} s"
    content = beat.get("content")
    return {"state": state, "reason": reason, "age_s": round(age, 1),
            "scene": str(beat.get("scene", "")), "emergency": emergency,
            "content": content if isinstance(content, dict) else None}


def outbox(store: Store, now: float) -> dict[str, Any]:
    stats = store.stats()
    oldest = stats.oldest_pending_start
    return {"size_mb": round(stats.size_bytes / 2**20, 3), "outbox_depth": stats.depth,
            "open_bins": stats.open_bins,
            "oldest_unsent": iso_z(oldest) if oldest is not None else None,
            "oldest_unsent_age_s": round(now - oldest, 1) if oldest is not None else None,
            "dropped_bins": stats.dropped_bins, "late_dropped": stats.late_dropped}


def collect(config: Config, store: Store, now: float, *,
            loadavg: Callable[[], tuple[float, float, float]] = os.getloadavg) -> dict[str, Any]:
    """The full snapshot, as published on .../health (the bridge adds `mqtt`)."""
    hc = health_config(config)
    return {
        "v": 1, "type": "health", "site": config.node.site, "node": config.node.id,
        "at": iso_z(now), "software": __version__, "config_sha256": config.sha256,
        "uptime_s": uptime_s(), "cpu_temp_c": cpu_temp_c(),
        "load": [round(x, 2) for x in loadavg()], "memory": memory_mb(),
        "disk": disk(config.store.path.parent), "store": outbox(store, now),
        "edge": heartbeat(store, "edge", now, hc.stale_after_s),
        "sources": sources(config, store, now, hc.stale_after_s),
        "signage": signage(config, now, hc.signage_stale_s),
        "clock": clock_sync(), "certificate": certificate(config, now),
    }
