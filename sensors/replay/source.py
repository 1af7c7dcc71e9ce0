"""Replay recorded counts from CSV. Position = byte offset after the last committed row.

Header: `time,sensor,direction,count` (time ISO 8601; no zone means UTC). `speed` = 0
replays as fast as the edge commits; `speed` = X paces rows X times faster than recorded.
At the end of the file the source stays idle (watermark END_OF_TIME seals every bin).
"""

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sensors.base import Emit, Source, SourceContext, SourceState, SourceStatus
from walkway.config_table import ConfigTable
from walkway.errors import InputFileError
from walkway.keys import REQUIRED, Key, KeySpec
from walkway.records import END_OF_TIME, NAME_PATTERN, Batch, Observation
from walkway.timeutil import parse_iso

HEADER = ["time", "sensor", "direction", "count"]


REPLAY_KEYS = KeySpec("sources.replay", [
    Key("path", "path", REQUIRED, "CSV with header time,sensor,direction,count (ISO 8601 "
        "time)", must_exist=True),
    Key("speed", "number", 0.0, "0 = as fast as possible; X = X times real time", min=0),
    Key("batch_rows", "integer", 500, "rows per committed batch", min=1, max=100_000),
])


@dataclass(frozen=True)
class ReplayOptions:
    path: Path
    speed: float = REPLAY_KEYS.default("speed")
    batch_rows: int = REPLAY_KEYS.default("batch_rows")


def parse_options(t: ConfigTable) -> ReplayOptions:
    return ReplayOptions(**{key.name: t.read(key) for key in REPLAY_KEYS})


def open_source(spec: "object", ctx: SourceContext) -> "ReplaySource":
    return ReplaySource(spec.name, spec.options, ctx)  # type: ignore[attr-defined]


class ReplaySource(Source):
    def __init__(self, name: str, options: ReplayOptions, ctx: SourceContext) -> None:
        super().__init__(name)
        self.options = options
        self.ctx = ctx
        self._state = SourceStatus(SourceState.STARTING)
        self._rows = 0
        self._bad_rows = 0

    def status(self) -> SourceStatus:
        counters = {"rows": self._rows, "bad_rows": self._bad_rows}
        return SourceStatus(self._state.state, self._state.reason, counters)

    def _parse(self, line: bytes, lineno: int) -> Observation | None:
        fields = line.decode("utf-8", "replace").strip().split(",")
        try:
            if len(fields) != 4:
                raise ValueError("expected 4 fields")
            count = int(fields[3])
            if count < 0:
                raise ValueError("negative count")
            for value in fields[1:3]:
                if not re.fullmatch(NAME_PATTERN, value):
                    raise ValueError(f"sensor/direction must match {NAME_PATTERN}")
            return Observation(parse_iso(fields[0]), fields[1], fields[2], count)
        except ValueError as exc:
            self._bad_rows += 1
            self._state = SourceStatus(
                SourceState.DEGRADED, f"{self.options.path}:{lineno}: bad row ({exc})"
            )
            return None

    def run(self, emit: Emit, stop: threading.Event, position: str | None) -> None:
        path = self.options.path
        try:
            handle = path.open("rb")
        except OSError as exc:
            self._state = SourceStatus(SourceState.DISCONNECTED, f"{path}: {exc.strerror}")
            raise InputFileError(f"{path}: cannot open replay file: {exc.strerror}") from exc
        with handle:
            header = handle.readline().decode("utf-8", "replace").strip().split(",")
            if header != HEADER:
                raise InputFileError(f"{path}: header must be {','.join(HEADER)}, got {header}")
            if position is not None:
                handle.seek(int(position))
            if self._state.state == SourceState.STARTING:
                self._state = SourceStatus(SourceState.OK)
            self._replay(handle, emit, stop)
        if not stop.is_set():
            self._state = SourceStatus(SourceState.IDLE, "end of replay file")
            emit(Batch(watermark=END_OF_TIME))
            stop.wait()

    def _replay(self, handle: BinaryIO, emit: Emit, stop: threading.Event) -> None:
        speed = self.options.speed
        first_event: float | None = None
        first_wall = 0.0
        batch: list[Observation] = []
        newest: float | None = None
        offset = handle.tell()  # start of the first line not yet in `batch`
        lineno = 1

        def flush() -> None:
            nonlocal batch
            emit(Batch(batch, position=str(offset), watermark=newest))
            batch = []

        while not stop.is_set():
            line = handle.readline()
            if not line or not line.endswith(b"\n"):
                break  # end of file, or a partial last line still being written
            lineno += 1
            obs = self._parse(line, lineno) if line.strip() else None
            if obs is not None and speed > 0:
                if first_event is None:
                    first_event, first_wall = obs.time, self.ctx.clock()
                delay = first_wall + (obs.time - first_event) / speed - self.ctx.clock()
                if delay > 0:
                    if batch:
                        flush()
                    if stop.wait(delay):
                        return
            offset += len(line)
            if obs is not None:
                self._rows += 1
                batch.append(obs)
                newest = obs.time if newest is None else max(newest, obs.time)
            if len(batch) >= self.options.batch_rows:
                flush()
        if batch or stop.is_set() is False:
            flush()
