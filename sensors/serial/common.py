"""What every serial source shares: options, the read loop, reconnect with backoff, status.

Ports are opened with pyserial's `serial_for_url`, so `url` may be a device path
(/dev/ttyUSB0, a /dev/serial/by-id/ link, a pty), `loop://` or `socket://host:port`
(a serial-to-Ethernet converter). Nothing a device sends can crash the loop: malformed
input is counted (garbage_bytes, bad_checksums) and reported through status().
"""

import logging
import threading
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

from sensors.base import Emit, Source, SourceContext, SourceState, SourceStatus
from walkway.config_table import ConfigTable
from walkway.keys import REQUIRED, Key, KeySpec
from walkway.records import Batch, Measurement, Observation

log = logging.getLogger(__name__)

READ_CHUNK = 4096
READ_TIMEOUT_S = 0.1
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def serial_keys(*, baudrate: int, stall_s: float) -> KeySpec:
    """The keys every serial source shares; `baudrate` and `stall_s` default per device."""
    return KeySpec("sources.serial", [
        Key("url", "text", REQUIRED, "device path (better a `/dev/serial/by-id/` link), a pty, "
            "`socket://host:port` or `loop://`",
            what="a serial port path or pyserial URL (loop://, socket://)"),
        Key("baudrate", "integer", baudrate, "a standard rate: " + ", ".join(map(str, BAUD_RATES))),
        Key("stall_s", "number", stall_s, "no bytes this long: state stalled, port reopened "
            "(counter silent)", min=0.1, max=86400),
        Key("emit_every_s", "number", 1.0, "a batch (with zero counts) at least this often",
            min=0.05, max=60),
        Key("garbage_alarm_bytes", "integer", 512, "this much garbage since the last good "
            "frame: degraded", min=16, max=1_000_000),
        Key("reconnect_max_s", "number", 30.0, "reconnect backoff doubles from 0.5 s up to this",
            min=0.1, max=3600),
    ])


_SHARED = serial_keys(baudrate=0, stall_s=0.0)  # defaults of the keys no device overrides


@dataclass(frozen=True)
class SerialOptions:
    url: str
    baudrate: int
    stall_s: float
    emit_every_s: float = _SHARED.default("emit_every_s")
    garbage_alarm_bytes: int = _SHARED.default("garbage_alarm_bytes")
    reconnect_max_s: float = _SHARED.default("reconnect_max_s")


def parse_serial_options(t: ConfigTable, keys: KeySpec) -> SerialOptions:
    baud = t.read(keys["baudrate"])
    if baud is not None and baud not in BAUD_RATES:
        t.problem("baudrate", "a standard rate (" + ", ".join(map(str, BAUD_RATES)) + ")", baud)
    return SerialOptions(
        url=t.read(keys["url"]),
        baudrate=baud or keys.default("baudrate"),
        stall_s=t.read(keys["stall_s"]),
        emit_every_s=t.read(keys["emit_every_s"]),
        garbage_alarm_bytes=t.read(keys["garbage_alarm_bytes"]),
        reconnect_max_s=t.read(keys["reconnect_max_s"]),
    )


class SerialSource(Source):
    """A device on a serial line. Subclasses parse frames into observations/measurements."""

    def __init__(self, name: str, serial: SerialOptions, ctx: SourceContext) -> None:
        super().__init__(name)
        self.serial = serial
        self.ctx = ctx
        self.parser = self.new_parser()
        self._state = SourceStatus(SourceState.STARTING)
        self.counters: dict[str, int] = {"opens": 0, "reconnects": 0, "silent": 0,
                                         "bytes": 0}
        self._garbage_mark = 0  # parser garbage at the last valid frame
        self._obs: list[Observation] = []
        self._meas: list[Measurement] = []

    # -- subclass interface -----------------------------------------------------------
    @abstractmethod
    def new_parser(self) -> Any:
        """A parser from sensors/serial/parsers.py (feed(bytes) -> frames, counters)."""

    @abstractmethod
    def on_frames(self, frames: list, now: float) -> None:
        """Turn frames into self._obs / self._meas (use add_count / add_measure)."""

    def on_reconnect(self) -> None:
        """The stream was cut: drop half-seen state (a half frame, a pass in progress)."""

    def zero_directions(self) -> tuple[str, ...]:
        """Counter directions emitted as zero every batch, so zero differs from missing."""
        return ()

    def add_count(self, now: float, direction: str, n: int = 1) -> None:
        self._obs.append(Observation(now, self.name, direction, n))

    def add_measure(self, now: float, quantity: str, value: float) -> None:
        self._meas.append(Measurement(now, self.name, quantity, value))

    # -- status -----------------------------------------------------------------------
    def status(self) -> SourceStatus:
        p = self.parser
        counters = {**self.counters, "frames": p.frames, "garbage_bytes": p.garbage_bytes,
                    "bad_checksums": p.bad_checksums, **self.extra_counters()}
        return SourceStatus(self._state.state, self._state.reason, counters)

    def extra_counters(self) -> dict[str, int]:
        return {}

    def _set(self, state: SourceState, reason: str = "") -> None:
        if (state, reason) != (self._state.state, self._state.reason):
            if state != SourceState.OK:
                log.warning("%s: %s: %s", self.name, state, reason)
            elif self._state.state in (SourceState.DEGRADED, SourceState.STALLED):
                # The log's last word must not stay "degraded" once frames are good again.
                log.warning("%s: ok again: %s", self.name, reason)
            self._state = SourceStatus(state, reason)

    # -- loop -------------------------------------------------------------------------
    def _open(self) -> Any:
        import serial  # pyserial; imported here so config validation never needs it

        return serial.serial_for_url(self.serial.url, baudrate=self.serial.baudrate,
                                     timeout=READ_TIMEOUT_S)

    def _flush(self, emit: Emit, now: float) -> None:
        obs = self._obs + [Observation(now, self.name, d, 0) for d in self.zero_directions()]
        emit(Batch(observations=obs, measurements=self._meas, watermark=now))
        self._obs, self._meas = [], []

    def run(self, emit: Emit, stop: threading.Event, position: str | None) -> None:
        clock = self.ctx.clock
        backoff = 0.5
        while not stop.is_set():
            try:
                port = self._open()
            except Exception as exc:  # noqa: BLE001 - SerialException/OSError/ValueError: retry
                self._set(SourceState.DISCONNECTED,
                          f"{self.serial.url}: cannot open: {_short(exc)}")
                self.counters["reconnects"] += 1
                if stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.serial.reconnect_max_s)
                continue
            self.counters["opens"] += 1
            if self.counters["opens"] > 1:
                self.parser.reset_stream()
                self.on_reconnect()
                # The log's last word must not stay "disconnected" once the device is back.
                log.warning("%s: reconnected: %s open again (open #%d, %d reconnect attempts)",
                            self.name, self.serial.url, self.counters["opens"],
                            self.counters["reconnects"])
            if self._state.state != SourceState.STALLED:  # stays stalled until data comes
                self._set(SourceState.OK, f"{self.serial.url} open")
            try:
                clean = self._read_loop(port, emit, stop, clock)
            finally:
                try:
                    port.close()
                except Exception:  # noqa: BLE001 - closing a vanished device may fail too
                    pass
            if clean:
                backoff = 0.5  # it worked for a while: the next reconnect starts fast
            if not stop.is_set():
                self.counters["reconnects"] += 1
                if stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.serial.reconnect_max_s)
        self._flush(emit, clock())

    def _read_loop(self, port: Any, emit: Emit, stop: threading.Event, clock: Any) -> bool:
        """Read until stop, unplug or stall. True when data flowed (resets the backoff)."""
        import serial

        last_data = last_emit = clock()
        got_data = False
        while not stop.is_set():
            try:
                # What is waiting now, at once; otherwise wait (up to the timeout) for the
                # first byte. A read of READ_CHUNK would sit out the whole timeout collecting,
                # and frames would be stamped up to READ_TIMEOUT_S late (4 s of simulated
                # time at 40x: counts moved across bin boundaries by the host's load).
                waiting = port.in_waiting
                data = port.read(min(waiting, READ_CHUNK) if waiting else 1)
            except (serial.SerialException, OSError) as exc:
                # A USB adapter pulled out, a pty master closed, a socket reset.
                self._set(SourceState.DISCONNECTED, f"{self.serial.url}: {_short(exc)}")
                return got_data
            now = clock()
            if data:
                got_data = True
                last_data = now
                self.counters["bytes"] += len(data)
                frames = self.parser.feed(data)
                if frames:
                    self._garbage_mark = self.parser.garbage_bytes
                    self.on_frames(frames, now)
                self._judge(now)
            elif now - last_data >= self.serial.stall_s:
                self.counters["silent"] += 1
                self._set(SourceState.STALLED,
                          f"no data for {now - last_data:.0f} s; reopening {self.serial.url}")
                self._flush(emit, now)
                return got_data
            if now - last_emit >= self.serial.emit_every_s:
                self._flush(emit, now)
                last_emit = now
        return got_data

    def _judge(self, now: float) -> None:
        garbage = self.parser.garbage_bytes - self._garbage_mark
        if garbage >= self.serial.garbage_alarm_bytes:
            self._set(SourceState.DEGRADED,
                      f"no valid frames; baud rate? ({garbage} bytes of garbage, "
                      f"expected {self.serial.baudrate} baud)")
        elif self._state.state != SourceState.OK:
            self._set(SourceState.OK, f"{self.serial.url} open")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
