"""Pure, incremental frame parsers: bytes in, frames out, counters for what was thrown away.

No I/O here, so the same code runs under the pty tests, the fuzz test and the benchmark.
Every parser keeps a bounded buffer: a stream of garbage can never grow memory.
"""

import re
from dataclasses import dataclass
from types import MappingProxyType

MAX_BUFFER = 1024


class _Counted:
    def __init__(self) -> None:
        self.frames = 0
        self.garbage_bytes = 0
        self.bad_checksums = 0
        self._buf = bytearray()

    def reset_stream(self) -> None:
        """Forget a partial frame (after a reconnect it would be glued to unrelated bytes)."""
        self.garbage_bytes += len(self._buf)
        self._buf.clear()

    def _consumed(self, upto: int, frames: list, limit: int) -> list:
        """Drop the bytes parsed so far; a remainder over `limit` is noise, not a frame
        (a sensor at the wrong baud rate must not grow the buffer forever)."""
        del self._buf[:upto]
        if len(self._buf) > limit:
            self.garbage_bytes += len(self._buf)
            self._buf.clear()
        self.frames += len(frames)
        return frames


# -- Benewake TF-Luna / TF-Mini-S -----------------------------------------------------------
# Benewake TF-Luna product manual (SJ-PM-TF-Luna A05), 5.2 "Serial port data protocol", and
# TF-Mini-S manual (SJ-PM-TFmini-S A02) 7.2: 115200 8N1, 9-byte frames at 100 Hz by default:
#   0x59 0x59 Dist_L Dist_H Amp_L Amp_H Temp_L Temp_H Checksum
# Dist in cm; Amp = signal strength; Checksum = low 8 bits of the sum of bytes 0-7.
# TF-Luna chip temperature in degC = Temp / 8 - 256. Amp < 100 or Amp == 65535 (saturation)
# means the distance is unreliable (manual: "Dist is set to 0/-1 when Amp < 100").
TFL_HEADER = b"\x59\x59"
TFL_FRAME = 9


@dataclass(frozen=True, slots=True)
class LidarFrame:
    distance_cm: int
    strength: int
    temp_raw: int

    @property
    def reliable(self) -> bool:
        return 100 <= self.strength < 65535

    @property
    def temp_c(self) -> float:
        return self.temp_raw / 8.0 - 256.0


def tfluna_checksum(first8: bytes) -> int:
    return sum(first8) & 0xFF


class TfLunaParser(_Counted):
    def feed(self, data: bytes) -> list[LidarFrame]:
        buf = self._buf
        buf += data
        out: list[LidarFrame] = []
        i = 0
        n = len(buf)
        while True:
            j = buf.find(TFL_HEADER, i)
            if j < 0:
                # keep a trailing 0x59: it may be the first half of the next header
                keep = n - 1 if n > i and buf[n - 1] == 0x59 else n
                self.garbage_bytes += keep - i
                i = keep
                break
            self.garbage_bytes += j - i
            if j + TFL_FRAME > n:
                i = j
                break
            frame = buf[j:j + TFL_FRAME]
            if sum(frame[:8]) & 0xFF != frame[8]:
                # Resync one byte on: a frame cut short by noise is often followed by a
                # good frame whose header falls inside these nine bytes.
                self.bad_checksums += 1
                i = j + 1
                continue
            out.append(LidarFrame(frame[2] | frame[3] << 8, frame[4] | frame[5] << 8,
                                  frame[6] | frame[7] << 8))
            i = j + TFL_FRAME
        return self._consumed(i, out, MAX_BUFFER)


# -- MaxBotix (HRXL-MaxSonar-WR / XL-MaxSonar-WR, RS232/TTL serial) -------------------------
# MaxBotix HRXL-MaxSonar-WR datasheet, "Pin 5 - Serial Output": 9600 8N1, ASCII "R" followed
# by four digits (range in mm) and a carriage return (0x0D), about 6 readings/s.
# No checksum: a corrupted digit cannot be detected, only a malformed frame.
MB_FRAME = re.compile(rb"R(\d{4})\r")


class MaxBotixParser(_Counted):
    def feed(self, data: bytes) -> list[int]:
        buf = self._buf
        buf += data
        out: list[int] = []
        i = 0
        n = len(buf)
        while i < n:
            j = buf.find(b"R", i)
            if j < 0:
                self.garbage_bytes += n - i
                i = n
                break
            self.garbage_bytes += j - i
            if j + 6 > n:
                i = j
                break
            m = MB_FRAME.match(buf, j)
            if m is None:
                self.garbage_bytes += 1
                i = j + 1
                continue
            out.append(int(m.group(1)))
            i = j + 6
        return self._consumed(i, out, MAX_BUFFER)


# -- Vaisala WXT530 ---------------------------------------------------------------------------
# Vaisala WXT530 Series User Guide (M211840EN), ASCII protocol, "Composite data message aR0":
#   0R0,Dm=283D,Sm=1.0M,Ta=23.6C,Ua=14.2P,Pa=1026.6H,Rc=0.00M,Hc=0.0M<cr><lf>
# Each field is NAME=VALUE followed by one unit letter; '#' instead of the unit letter
# marks an invalid value (sensor error or not yet measured). Lines end with CR LF.
WXT_LINE = re.compile(rb"([0-9A-Za-z])R([0-5]?),(.*)")
WXT_START = re.compile(rb"[0-9A-Za-z]R[0-5]?,")
WXT_FIELD = re.compile(rb"([A-Z][a-z])=([-+]?\d+(?:\.\d+)?)([A-Za-z#])")
MAX_LINE = 512

# field -> (quantity, {unit letter: factor to the canonical unit}); Ta in F is an offset
WXT_FIELDS: MappingProxyType[bytes, tuple[str, dict[bytes, float]]] = MappingProxyType({
    b"Dm": ("wind_dir_deg", {b"D": 1.0}),
    b"Sm": ("wind_speed_ms", {b"M": 1.0, b"K": 1 / 3.6, b"S": 0.44704, b"N": 0.514444}),
    b"Sx": ("wind_gust_ms", {b"M": 1.0, b"K": 1 / 3.6, b"S": 0.44704, b"N": 0.514444}),
    b"Ta": ("temperature_c", {b"C": 1.0}),
    b"Ua": ("humidity_pct", {b"P": 1.0}),
    b"Pa": ("pressure_hpa", {b"H": 1.0, b"P": 0.01, b"B": 1000.0, b"M": 1.333224,
                             b"I": 33.863886}),
    b"Rc": ("rain_mm", {b"M": 1.0, b"I": 25.4}),
    b"Ri": ("rain_rate_mm_h", {b"M": 1.0, b"I": 25.4}),
    b"Hc": ("hail_hits_cm2", {b"M": 1.0, b"I": 1 / 6.4516}),
    b"Vs": ("supply_v", {b"V": 1.0}),
})


@dataclass(frozen=True, slots=True)
class WeatherMessage:
    address: str
    values: dict[str, float]
    invalid: int  # fields marked '#'


class Wxt530Parser(_Counted):
    def __init__(self) -> None:
        super().__init__()
        self.invalid_values = 0

    def feed(self, data: bytes) -> list[WeatherMessage]:
        buf = self._buf
        buf += data
        out: list[WeatherMessage] = []
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = bytes(buf[start:end]).rstrip(b"\r")
            start = end + 1
            # Noise before the message (line idle, a half-sent message at power-up) is
            # skipped up to the address+command prefix; the message itself must be perfect.
            m = WXT_START.search(line)
            msg = self.parse_line(line[m.start():]) if m else None
            if msg is None:
                self.garbage_bytes += len(line) + 1
            else:
                self.garbage_bytes += m.start()
                out.append(msg)
        return self._consumed(start, out, MAX_LINE)

    def parse_line(self, line: bytes) -> WeatherMessage | None:
        """A whole composite line, or None if any part of it is malformed (no guessing)."""
        m = WXT_LINE.fullmatch(line)
        if m is None:
            return None
        values: dict[str, float] = {}
        invalid = 0
        for part in m.group(3).split(b","):
            f = WXT_FIELD.fullmatch(part)
            if f is None:
                return None
            name, number, unit = f.groups()
            if unit == b"#":
                invalid += 1
                continue
            spec = WXT_FIELDS.get(name)
            if spec is None:
                continue  # e.g. Dn, Dx, Sn, Rd, Hd, Th, Vh, Vr: not stored
            quantity, units = spec
            if name == b"Ta" and unit == b"F":
                values[quantity] = (float(number) - 32.0) / 1.8
            elif name == b"Hc" and unit == b"H":
                values["hail_hits"] = float(number)
            elif unit in units:
                values[quantity] = float(number) * units[unit]
            else:
                return None
        self.invalid_values += invalid
        return WeatherMessage(m.group(1).decode(), values, invalid)
