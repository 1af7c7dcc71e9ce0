"""Child processes of a run: real `walkway ...` commands with their output in log files."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Proc:
    """`python -m walkway ARGS...`; start, SIGKILL (power cut), SIGTERM (clean stop)."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.log = log
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "Proc":
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "walkway", *self.args], stdout=out, stderr=out,
                stdin=subprocess.DEVNULL, cwd=ROOT, env=self.env,
                # Own process group: a Ctrl-C in the terminal reaches the simulator only,
                # which then stops the children in order (edges before bridges).
                start_new_session=True,
            )
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL after `timeout`. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def child_env(clock_value: str) -> dict[str, str]:
    env = dict(os.environ)
    env["WALKWAY_CLOCK"] = clock_value
    env.setdefault("SDL_VIDEODRIVER", "dummy")
    env.setdefault("SDL_AUDIODRIVER", "dummy")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env
