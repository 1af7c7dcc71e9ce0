"""Run real `walkway` processes for end-to-end tests, and poll for conditions."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], object], timeout: float = 30.0,
             what: str = "a condition", interval: float = 0.02) -> object:
    """Poll until `predicate` is truthy. The timeout only decides how long a broken run takes
    to report: keep it generous (a loaded 2-core CI machine is many times slower)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class WalkwayProcess:
    """`python -m walkway ARGS...` with its output in a log file; kill -9 and restart."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "WalkwayProcess":
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "walkway", *self.args],
                                         stdout=out, stderr=out, cwd=ROOT, env=self.env)
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        if not self.alive():
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.args[:2]} did not stop on SIGTERM") from None


def run_walkway(*args: str, check: bool = True, timeout: float = 60,
                input_text: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "walkway", *args], capture_output=True,
                            text=True, cwd=ROOT, timeout=timeout, input=input_text)
    if check and result.returncode != 0:
        raise AssertionError(f"walkway {' '.join(args)} failed: {result.stderr}")
    return result
