"""`walkway selftest`: one PASS/FAIL (or SKIP, when not applicable) line per check.

Every check is local except "broker" (a TCP connect, plus the TLS handshake for mqtts://),
so a crew can run it with the network down and see exactly that.
"""

import os
import socket
import sqlite3
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from edge.config import Config
from edge.health import certificate, clock_sync, disk, heartbeat
from edge.health_config import health_config
from edge.store import Store
from edge.store_errors import disk_full_text
from walkway.errors import WalkwayError
from walkway.signage_state.player import read_heartbeat

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
SERIAL_TYPES = ("tfluna", "maxbotix", "wxt530")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def check_store(config: Config, store: Store) -> Check:
    try:
        store.probe_write()  # a committed write: a rolled-back one passes on a full disk
    except sqlite3.Error as exc:
        if "full" in str(exc).lower():
            return Check("store", FAIL, disk_full_text(config.store.path))
        return Check("store", FAIL, f"{config.store.path}: cannot write: {exc}")
    size = store.used_bytes() / 2**20
    return Check("store", PASS, f"writable: {config.store.path} ({size:.1f} MB)")


def check_disk(config: Config) -> Check:
    d = disk(config.store.path.parent)
    limit = health_config(config).disk_min_free_pct
    text = f"{d['free_mb'] / 1024:.1f} GB free of {d['total_mb'] / 1024:.1f} GB ({d['free_pct']} %)"
    return Check("disk", PASS if d["free_pct"] >= limit else FAIL,
                 text + ("" if d["free_pct"] >= limit else f", below {limit:g} %"))


def check_clock() -> Check:
    sync = clock_sync()
    if sync["synced"] is None:
        return Check("clock", SKIP, "synchronisation state unknown (no timesyncd, no adjtimex)")
    if sync["synced"]:
        return Check("clock", PASS, f"synchronised ({sync['source']})")
    return Check("clock", FAIL, f"not synchronised ({sync['source']}): check NTP / timesyncd")


def check_edge(config: Config, store: Store, now: float) -> Check:
    beat = heartbeat(store, "edge", now, health_config(config).stale_after_s)
    if beat["state"] == "up":
        return Check("edge", PASS,
                     f"running (pid {beat.get('pid')}, heartbeat {beat['age_s']:.0f} s ago)")
    if beat["state"] == "stuck":
        return Check("edge", FAIL, beat["reason"])
    age = "never" if beat["age_s"] is None else f"{beat['age_s']:.0f} s ago"
    return Check("edge", FAIL, f"not running (last heartbeat {age}): systemctl status "
                 "walkway-edge")


def _device_check(name: str, path: Path) -> Check:
    if not path.exists():
        return Check(name, FAIL, f"{path}: no such device or file")
    if not os.access(path, os.R_OK):
        return Check(name, FAIL, f"{path}: not readable (groups video/dialout?)")
    return Check(name, PASS, f"{path} present and readable")


def check_cameras(config: Config) -> list[Check]:
    out = []
    for spec in config.sources:
        if spec.type != "camera":
            continue
        device = spec.options.device
        if isinstance(device, int):
            out.append(_device_check(f"camera {spec.name}", Path(f"/dev/video{device}")))
        elif "://" in str(device):
            out.append(Check(f"camera {spec.name}", SKIP, f"stream {device.split('@')[-1]}: "
                             "not probed"))
        else:
            out.append(_device_check(f"camera {spec.name}", Path(device)))
    return out or [Check("camera", SKIP, "no camera source configured")]


def check_ble(config: Config, sysfs: Path = Path("/sys/class/bluetooth")) -> Check:
    wanted = [s for s in config.sources if s.type == "ble"]
    if not wanted:
        return Check("ble", SKIP, "no BLE source configured")
    adapters = sorted(p.name for p in sysfs.glob("hci*")) if sysfs.exists() else []
    if not adapters:
        return Check("ble", FAIL, "no Bluetooth adapter (no /sys/class/bluetooth/hci*)")
    return Check("ble", PASS, "adapters: " + ", ".join(adapters))


def check_serial(config: Config) -> list[Check]:
    out = []
    for spec in config.sources:
        if spec.type not in SERIAL_TYPES:
            continue
        options = getattr(spec.options, "serial", spec.options)
        url = str(getattr(options, "url", "") or getattr(options, "port", ""))
        if "://" in url:
            out.append(Check(f"serial {spec.name}", SKIP, f"{url}: not a local port"))
            continue
        check = _device_check(f"serial {spec.name}", Path(url))
        if check.status == PASS:
            try:
                os.close(os.open(url, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
            except OSError as exc:
                check = Check(check.name, FAIL, f"{url}: cannot open: {exc.strerror}")
        out.append(check)
    return out or [Check("serial", SKIP, "no serial source configured")]


def check_broker(config: Config, timeout: float) -> Check:
    mqtt = config.mqtt
    where = f"{mqtt.host}:{mqtt.port}"
    started = time.monotonic()
    try:
        with socket.create_connection((mqtt.host, mqtt.port), timeout=timeout) as sock:
            if mqtt.tls:
                from provisioning.node_tls import tls_context_for

                context = tls_context_for(config)
                with context.wrap_socket(sock, server_hostname=mqtt.host):
                    pass
    except (OSError, ssl.SSLError, WalkwayError) as exc:
        return Check("broker", FAIL, f"{where}: {exc}")
    ms = (time.monotonic() - started) * 1000
    return Check("broker", PASS, f"{where} reachable{' (TLS ok)' if mqtt.tls else ''} in "
                 f"{ms:.0f} ms")


def check_certificate(config: Config, now: float) -> Check:
    cert = certificate(config, now)
    if cert is None:
        return Check("certificate", SKIP, "no [tls] section (plain mqtt://)")
    if "error" in cert:
        return Check("certificate", FAIL, f"{cert['file']}: {cert['error']}")
    limit = health_config(config).cert_min_days
    ok = cert["days_left"] >= limit
    text = f"{Path(cert['file']).name} expires {cert['not_after']} ({cert['days_left']:.0f} days)"
    return Check("certificate", PASS if ok else FAIL,
                 text + ("" if ok else f": renew (walkway provision renew), under {limit:g} days"))


def check_signage(config: Config, now: float) -> Check:
    section = config.section("signage")
    if section is None:
        return Check("signage", SKIP, "no [signage] section")
    beat = read_heartbeat(section.state_dir)
    if beat is None:
        return Check("signage", FAIL, "the player has never written its heartbeat")
    age = now - float(beat["at"])
    if age > health_config(config).signage_stale_s:
        return Check("signage", FAIL, f"no frame heartbeat for {age:.0f} s")
    state = beat.get("state", "ok")
    return Check("signage", PASS if state == "ok" else FAIL,
                 f"{state} {beat.get('reason', '')}".strip())


def run_checks(config: Config, store: Store | None, now: float, *,
               broker_timeout: float = 3.0, store_problem: str = "") -> list[Check]:
    """Every check, whatever failed before it: a crew sees all the problems at once.

    With no store (it could not be opened: `store_problem` says why) the checks that need it
    say so and the others still run.
    """
    if store is None:
        store_checks = [Check("store", FAIL, store_problem or "not opened"),
                        Check("edge", SKIP, "heartbeat unknown: the store cannot be opened")]
    else:
        store_checks = [check_store(config, store), check_edge(config, store, now)]
    return [
        store_checks[0],
        check_disk(config),
        check_clock(),
        store_checks[1],
        *check_cameras(config),
        check_ble(config),
        *check_serial(config),
        check_broker(config, broker_timeout),
        check_certificate(config, now),
        check_signage(config, now),
    ]


def config_checks(path: str) -> tuple[Config | None, list[Check]]:
    """The config as a check: PASS, or one FAIL line per problem in the file."""
    from edge.config import load_config
    from walkway.errors import ConfigError

    try:
        config = load_config(path)
    except ConfigError as exc:
        return None, [Check("config", FAIL, problem) for problem in exc.problems]
    except WalkwayError as exc:
        return None, [Check("config", FAIL, line) for line in str(exc).splitlines()]
    return config, [Check("config", PASS, f"{config.file} (sha256 {config.sha256[:12]})")]
