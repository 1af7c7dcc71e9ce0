"""Drive tests/support/lazyfs.py: mount it, arm a cut, pull the plug, recover, remount."""

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.lazyfs_state import recover
from support.walkway_procs import wait_for

TESTS = Path(__file__).resolve().parents[1]


def fuse_unavailable(probe_dir: Path) -> str | None:
    """Why a FUSE filesystem cannot be mounted here, or None when one was just mounted."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse (FUSE is not available in this kernel or container)"
    if os.geteuid() != 0:
        return "not root: mounting libfuse2 without fusermount needs root"
    try:
        import fuse  # noqa: F401 - fusepy loads libfuse2 at import
    except (ImportError, OSError) as exc:
        return f"fusepy or libfuse2 missing ({exc}): ./run setup installs both"
    mount = LazyMount(probe_dir)
    try:
        mount.mount(timeout=10)
    except AssertionError as exc:
        return f"a FUSE mount failed here: {exc}; {mount.stderr_tail()}"
    finally:
        mount.unmount()
    return None


class LazyMount:
    """backing/ (what survives), mnt/ (the node's disk), state/ (the undo journal)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.backing, self.mnt, self.state = root / "backing", root / "mnt", root / "state"
        for d in (self.backing, self.mnt, self.state):
            d.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.events: queue.Queue[dict] = queue.Queue()
        self.pending: list[dict] = []
        self.log = root / "lazyfs.log"

    def mount(self, timeout: float = 30) -> "LazyMount":
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "support.lazyfs", str(self.backing), str(self.mnt),
                 str(self.state)], cwd=TESTS, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=err, text=True, bufsize=1)
        threading.Thread(target=self._read, args=(self.proc, self.events), daemon=True).start()
        wait_for(lambda: self.mounted() or self.proc.poll() is not None, timeout,
                 "the lazyfs mount")
        assert self.mounted(), f"lazyfs exited with {self.proc.returncode}"
        return self

    @staticmethod
    def _read(proc: subprocess.Popen, events: queue.Queue) -> None:
        for line in proc.stdout:
            events.put(json.loads(line))

    def send(self, command: dict) -> None:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def arm(self, **trigger: object) -> None:
        self.send({"arm": trigger})

    def next_event(self, kind: str, timeout: float) -> dict | None:
        """The first event of `kind` lazyfs reported (others are kept for later calls)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.pending:
                if event["event"] == kind:
                    self.pending.remove(event)
                    return event
            try:
                self.pending.append(self.events.get(timeout=max(deadline - time.monotonic(),
                                                                0.001)))
            except queue.Empty:
                return None

    def cut_now(self, why: str) -> dict:
        self.send({"cut": why})
        event = self.next_event("cut", 10)
        assert event is not None, "lazyfs did not cut on request"
        return event

    def pull_plug(self) -> int:
        """The memory of the disk goes: kill lazyfs, unmount, undo unsynced metadata.
        Returns how many metadata operations were undone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._umount()
        return recover(self.backing, self.state)

    def unmount(self) -> None:
        """A clean unmount (everything synced or not stays as the backing has it)."""
        self._umount()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _umount(self) -> None:
        # /proc/mounts, not os.path.ismount: a mount whose daemon died answers ENOTCONN.
        if self.mounted():
            subprocess.run(["umount", "-l", str(self.mnt)], check=True, capture_output=True)
        self.events, self.pending = queue.Queue(), []

    def mounted(self) -> bool:
        target = str(self.mnt.resolve())
        return any(line.split()[1] == target
                   for line in Path("/proc/mounts").read_text().splitlines())

    def snapshot(self, to: Path) -> Path:
        """A copy of what is durable now (after pull_plug), to inspect without touching it."""
        shutil.rmtree(to, ignore_errors=True)
        shutil.copytree(self.backing, to)
        return to

    def stderr_tail(self) -> str:
        try:
            return self.log.read_text()[-500:]
        except OSError:
            return ""
