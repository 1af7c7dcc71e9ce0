"""systemd's sd_notify protocol, by hand (no dependency), and a watchdog that pings only
while the service's own checks pass.

The protocol: datagrams of `KEY=VALUE` lines sent to the unix socket named by
$NOTIFY_SOCKET (a leading '@' means Linux's abstract namespace). `READY=1` ends a
Type=notify start-up; `WATCHDOG=1` must arrive at least every $WATCHDOG_USEC or systemd
kills and restarts the unit (we ping at half that, as sd_watchdog_enabled(3) advises);
`STATUS=` is shown by `systemctl status`. Without $NOTIFY_SOCKET everything is a no-op, so
the daemons run the same by hand, in tests and under systemd.

Why gate the pings: a process whose thread is alive but whose work is stuck (the store
unwritable, the MQTT loop wedged, no frames drawn) must look dead to systemd.

The signage loop (one call per frame):

    watchdog = FrameWatchdog.from_env()     # once, at start
    watchdog.ready()                        # after the first frame was shown
    watchdog.frame_drawn()                  # after every pygame.display.flip()
"""

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger(__name__)

Check = Callable[[], str | None]  # None when healthy, else a one-line reason


class Notifier:
    """Sends sd_notify datagrams; `enabled` is False outside systemd."""

    def __init__(self, socket_path: str | None, watchdog_usec: int | None = None) -> None:
        self.socket_path = socket_path or None
        self.watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self.sent = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Notifier":
        env = os.environ if env is None else env
        usec: int | None = None
        try:
            usec = int(env.get("WATCHDOG_USEC", "") or 0) or None
        except ValueError:
            log.warning("ignoring malformed WATCHDOG_USEC=%r", env.get("WATCHDOG_USEC"))
        pid = env.get("WATCHDOG_PID")
        if pid and pid != str(os.getpid()):
            usec = None  # the watchdog is meant for another process (sd_watchdog_enabled)
        return cls(env.get("NOTIFY_SOCKET"), usec)

    @property
    def enabled(self) -> bool:
        return self.socket_path is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between pings: half the unit's WatchdogSec, or None when not watched."""
        return self.watchdog_usec / 2e6 if self.watchdog_usec else None

    def _address(self) -> str | bytes:
        path = self.socket_path or ""
        if path.startswith("@"):
            return b"\0" + path[1:].encode()
        return path

    def send(self, *fields: str) -> bool:
        """Send one datagram of `KEY=VALUE` lines. False when disabled or it failed."""
        if not self.enabled or not fields:
            return False
        message = "\n".join(f.replace("\n", " ") for f in fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto(message, self._address())
        except OSError as exc:
            # systemd gone or the socket is wrong: never fatal, the watchdog will notice.
            log.warning("sd_notify to %s failed: %s", self.socket_path, exc)
            return False
        self.sent += 1
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")


class Watchdog:
    """Pings systemd every `interval` seconds while every check passes.

    Call `tick()` from the service's main loop: a loop that stops turning stops the pings
    too. A failing check is reported once as STATUS= and suppresses pings until it passes.
    """

    def __init__(
        self,
        notifier: Notifier,
        checks: Sequence[Check],
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notifier = notifier
        self.checks = list(checks)
        self.interval = interval if interval is not None else notifier.watchdog_interval
        self.clock = clock
        self.failing: str | None = None
        self.pings = 0
        self._last_ping = float("-inf")

    def check(self) -> str | None:
        """The first failing check's reason, or None."""
        for check in self.checks:
            reason = check()
            if reason:
                return reason
        return None

    def tick(self) -> bool:
        """Run the checks when a ping is due; ping if they pass. Returns healthy-or-not-due."""
        if self.interval is None or not self.notifier.enabled:
            return True
        now = self.clock()
        if now - self._last_ping < self.interval:
            return self.failing is None
        reason = self.check()
        if reason:
            if reason != self.failing:
                log.error("watchdog: not pinging systemd: %s", reason)
                self.notifier.status(f"unhealthy: {reason}")
            self.failing = reason
            return False
        if self.failing is not None:
            log.info("watchdog: healthy again")
            self.notifier.status("healthy")
            self.failing = None
        self._last_ping = now
        self.notifier.watchdog()
        self.pings += 1
        return True


class FrameWatchdog:
    """For the signage player: healthy while frames keep being drawn."""

    def __init__(self, notifier: Notifier, *, max_frame_gap_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.max_frame_gap_s = max_frame_gap_s
        self.last_frame = float("-inf")
        self.watchdog = Watchdog(notifier, [self._frames_check], clock=clock)

    @classmethod
    def from_env(cls, max_frame_gap_s: float = 5.0) -> "FrameWatchdog":
        return cls(Notifier.from_env(), max_frame_gap_s=max_frame_gap_s)

    def _frames_check(self) -> str | None:
        gap = self.clock() - self.last_frame
        if gap > self.max_frame_gap_s:
            return f"no frame drawn for {gap:.0f} s"
        return None

    def ready(self, status: str = "showing content") -> bool:
        return self.watchdog.notifier.ready(status)

    def frame_drawn(self) -> None:
        """Call after every display flip: records the frame, pings systemd when due."""
        self.last_frame = self.clock()
        self.watchdog.tick()
