"""Issue 18 item 8: under a large backlog (a replay at speed 0 that keeps the queue full) the
edge sends READY at once and keeps sending WATCHDOG=1 and its heartbeat while it drains."""

import socket
import threading
from pathlib import Path

from support.walkway_procs import wait_for

from edge.config import load_config
from edge.daemon import DRAIN_MAX_BATCHES, EdgeDaemon
from walkway.notify import Notifier

ROWS, BATCH_ROWS = 80_000, 50  # 1600 batches: always more queued than one drain takes


class StepClock:
    """An injected clock that advances a fixed step per reading: time passes with work done,
    never with the machine's speed, so 'every N seconds' is a count of loop steps."""

    def __init__(self, start: float, step: float) -> None:
        self.now, self.step, self.lock = start, step, threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += self.step
            return self.now


class RecordingDaemon(EdgeDaemon):
    """The real daemon; notes the committed batch count at each heartbeat (status write)."""

    heartbeats: list[int]

    def _write_statuses(self, stopped: bool = False) -> None:
        self.heartbeats = getattr(self, "heartbeats", [])
        self.heartbeats.append(self.committed_batches)
        super()._write_statuses(stopped)


class RecordingNotifier(Notifier):
    """A real sd_notify sender (to a real datagram socket) that also notes, per datagram,
    how many batches the daemon had committed and the injected time."""

    def __init__(self, path: str, clock: StepClock) -> None:
        super().__init__(path, watchdog_usec=1_000_000)  # WatchdogSec=1: ping every 0.5 s
        self.clock = clock
        self.daemon: EdgeDaemon | None = None
        self.log: list[tuple[str, int, float]] = []

    def send(self, *fields: str) -> bool:
        done = self.daemon.committed_batches if self.daemon is not None else 0
        self.log.append((fields[0], done, self.clock.now))
        return super().send(*fields)


def test_ready_early_and_watchdog_keeps_coming_during_a_big_backlog(tmp_path: Path) -> None:
    lines = ["time,sensor,direction,count"]
    lines += [f"2026-01-12T{7 + i // 36000:02d}:{i // 600 % 60:02d}:{i // 10 % 60:02d}Z,"
              f"cam.a,in,1" for i in range(ROWS)]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "node.toml").write_text(f"""[node]
id = "n1"
site = "s1"
[store]
path = "edge.db"
[mqtt]
url = "mqtt://127.0.0.1:9"
[[sources]]
type = "replay"
name = "replay"
path = "big.csv"
speed = 0
batch_rows = {BATCH_ROWS}
""")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify.sock"))
    systemd.settimeout(5)
    clock = StepClock(1_767_225_600.0, 0.001)
    notifier = RecordingNotifier(str(tmp_path / "notify.sock"), clock)
    holder: list[EdgeDaemon] = []

    def serve() -> None:
        config = load_config(tmp_path / "node.toml")
        daemon = RecordingDaemon(config, clock=clock, notifier=notifier)
        notifier.daemon = daemon
        holder.append(daemon)
        daemon.run()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        wait_for(lambda: holder and holder[0].committed_batches >= ROWS // BATCH_ROWS, 120,
                 "the whole backlog committed")
    finally:
        wait_for(lambda: holder, 10, "the daemon")
        holder[0].stop()
        thread.join(30)
    systemd_got = []
    systemd.settimeout(0)
    while True:
        try:
            systemd_got.append(systemd.recv(4096))
        except BlockingIOError:
            break
    systemd.close()
    assert systemd_got[0].startswith(b"READY=1")  # the real socket got the real protocol
    kinds = [k for k, _, _ in notifier.log]
    ready = next(done for k, done, _ in notifier.log if k == "READY=1")
    assert kinds[0] == "READY=1" and ready < DRAIN_MAX_BATCHES  # before the backlog, not after
    pings = [(done, at) for k, done, at in notifier.log if k == "WATCHDOG=1"]
    during = [(done, at) for done, at in pings if done < ROWS // BATCH_ROWS]
    assert len(during) >= 5, pings[:10]
    gaps = [b[1] - a[1] for a, b in zip(during, during[1:], strict=False)]
    assert max(gaps) < 2.0, gaps  # WatchdogSec=1 would never fire
    beats = [done for done in holder[0].heartbeats if done < ROWS // BATCH_ROWS]
    assert len(beats) >= 3 and beats[0] == 0, holder[0].heartbeats[:10]
    assert max(b - a for a, b in zip(beats, beats[1:], strict=False)) < ROWS // BATCH_ROWS / 2
