"""Source type "wxt530": Vaisala WXT530 weather transmitter, ASCII composite messages (aR0).

Configure the transmitter for automatic composite messages (User Guide M211840EN, "aXU"
and "aR0" settings; default 19200 8N1 on RS-232/RS-485). Each valid value becomes a
measurement in canonical units (docs/sensors.md lists them); a field marked '#' (invalid)
is skipped and counted; a malformed line is dropped whole, never half-used, because the
default ASCII protocol has no checksum.
"""

from dataclasses import dataclass
from typing import Any

from sensors.base import SourceContext
from sensors.serial.common import SerialOptions, SerialSource, parse_serial_options, serial_keys
from sensors.serial.parsers import Wxt530Parser
from walkway.config_table import ConfigTable
from walkway.keys import Key, KeySpec

# Composite messages come every `interval` seconds (often 5-60 s): stall after 3 missed.
WXT530_KEYS = serial_keys(baudrate=19200, stall_s=180.0) + KeySpec("sources.wxt530", [
    Key("address", "text", "0", "the station's address on the bus; other addresses are "
        "counted (other_address), not read", pattern=r"[0-9A-Za-z]", what="a device address"),
])


@dataclass(frozen=True)
class Wxt530Options:
    serial: SerialOptions
    address: str = WXT530_KEYS.default("address")


def parse_options(t: ConfigTable) -> Wxt530Options:
    serial = parse_serial_options(t, WXT530_KEYS)
    address = t.read(WXT530_KEYS["address"])
    return Wxt530Options(serial, address or WXT530_KEYS.default("address"))


def open_source(spec: Any, ctx: SourceContext) -> "Wxt530Source":
    return Wxt530Source(spec.name, spec.options, ctx)


class Wxt530Source(SerialSource):
    def __init__(self, name: str, options: Wxt530Options, ctx: SourceContext) -> None:
        self.options = options
        self.other_address = 0
        super().__init__(name, options.serial, ctx)

    def new_parser(self) -> Wxt530Parser:
        return Wxt530Parser()

    def on_frames(self, frames: list, now: float) -> None:
        for msg in frames:
            if msg.address != self.options.address:
                self.other_address += 1  # another transmitter on a shared RS-485 bus
                continue
            for quantity, value in msg.values.items():
                self.add_measure(now, quantity, value)

    def extra_counters(self) -> dict[str, int]:
        return {"invalid_values": self.parser.invalid_values,
                "other_address": self.other_address}
