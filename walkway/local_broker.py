"""A local mosquitto on a free loopback port: for tests, benchmarks and the simulator."""

import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not found:
        raise RuntimeError("mosquitto not installed: run ./run setup")
    return found


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Mosquitto:
    """Start/stop/restart a mosquitto on a fixed free port. `extra_conf` is appended."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        # Only a port we picked ourselves may be re-picked when another process takes it
        # between free_port() and mosquitto's bind (and never on restart: clients know it).
        self._may_repick = port is None and not extra_conf
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"
        self.conf.write_text(extra_conf or self._default_conf())
        self.proc: subprocess.Popen | None = None

    def _default_conf(self) -> str:
        return (
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence false\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 0\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Mosquitto":
        """Start and return once *this* broker listens: mosquitto logs "running" after its
        listeners are open. A port check alone can be answered by another process that took
        the free port first (parallel test runs), while ours died on "Address in use"."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while b" running" not in self._log_since(offset):
            if self.proc.poll() is not None:
                last = self._log_since(offset).decode(errors="replace").strip()
                if self._may_repick and "in use" in last:
                    self._may_repick = False  # once: a second collision is not chance
                    self.port = free_port()
                    self.conf.write_text(self._default_conf())
                    return self.start(timeout)
                raise RuntimeError(f"mosquitto exited ({self.proc.returncode}) on port "
                                   f"{self.port}: {last.splitlines()[-1] if last else 'no output'}"
                                   f" (log: {self.log})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"mosquitto not running after {timeout}s (log: {self.log})")
            time.sleep(0.02)
        wait_port("127.0.0.1", self.port, timeout)
        self._may_repick = False  # clients know this port from now on
        return self

    def _log_since(self, offset: int) -> bytes:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
