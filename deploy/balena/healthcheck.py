"""Container HEALTHCHECK for the Walkway services on balenaOS (stdlib only).

    python healthcheck.py edge|bridge|signage [--config PATH]

edge:    the store (or its WAL) was written within WALKWAY_HEALTH_MAX_AGE_S (default 300 s):
         live sources commit at least one batch per bin, so silence means a stuck daemon.
bridge:  a TLS handshake with the broker using the node's [tls] files succeeds: proves the
         network path, the broker's certificate and that ours is still accepted.
signage: the service process (PID 1 in its container) is alive and not stopped.
Exit 0 healthy, 1 unhealthy with one line on stderr (no key material).
"""

import os
import socket
import ssl
import sys
import time
import tomllib
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit


def _config(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def check_edge(config_path: Path) -> str | None:
    store = _resolve(config_path.parent, _config(config_path)["store"]["path"])
    max_age = float(os.environ.get("WALKWAY_HEALTH_MAX_AGE_S", "300"))
    stamps = [p.stat().st_mtime for p in (store, Path(f"{store}-wal")) if p.exists()]
    if not stamps:
        return f"{store}: no store yet"
    age = time.time() - max(stamps)
    return None if age <= max_age else f"{store}: last write {age:.0f} s ago (> {max_age:.0f})"


def check_bridge(config_path: Path) -> str | None:
    config = _config(config_path)
    url = urlsplit(config["mqtt"]["url"])
    tls = url.scheme == "mqtts"
    host, port = url.hostname, url.port or (8883 if tls else 1883)
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            if not tls:
                return None
            t = config.get("tls", {})
            base = config_path.parent
            context = ssl.create_default_context(cafile=str(_resolve(base, t["ca_file"])))
            context.load_cert_chain(
                str(_resolve(base, t["cert_file"])), str(_resolve(base, t["key_file"]))
            )
            with context.wrap_socket(sock, server_hostname=host) as conn:
                # TLS 1.3 reports a refused client certificate only on the first read.
                conn.settimeout(1)
                try:
                    if conn.recv(1) == b"":
                        return f"{host}:{port}: broker closed the TLS session"
                except TimeoutError:
                    pass  # nothing to read and still open: the broker accepted us
    except (OSError, ssl.SSLError, KeyError) as exc:
        return f"{host}:{port}: {type(exc).__name__}: {getattr(exc, 'reason', '') or exc}"
    return None


def check_signage(_: Path) -> str | None:
    try:
        state = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError as exc:
        return f"/proc/1/stat: {exc.strerror}"
    return None if state not in ("Z", "T", "X") else f"service process state {state}"


CHECKS = MappingProxyType({"edge": check_edge, "bridge": check_bridge, "signage": check_signage})


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in CHECKS:
        print("usage: healthcheck.py edge|bridge|signage [--config PATH]", file=sys.stderr)
        return 2
    config = Path(os.environ.get("WALKWAY_CONFIG", "/data/walkway/node.toml"))
    if len(argv) == 3 and argv[1] == "--config":
        config = Path(argv[2])
    try:
        problem = CHECKS[argv[0]](config)
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        problem = f"{config}: {type(exc).__name__}"
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
