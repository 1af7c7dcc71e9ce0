"""A bleak backend for the real BLE source that plays a node's simulated adverts.

The node config names it (`backend = "simulator.ble_backend:factory"`); the BLE source calls
`factory(ctx)` inside the edge process. Adverts come from `ble-adverts.jsonl` in the node's
world folder ($WALKWAY_SIM_WORLD/NODE, set by the simulator; the node's own folder never
holds an address), read one line at a time (a day of adverts is hundreds of MB), and are
delivered when the edge's clock (WALKWAY_CLOCK, simulated time) reaches their time, so a
restarted edge simply continues at "now". While the file
`ble-unplugged` exists in that folder the adapter is silent (the "sensor unplugged" fault).
"""

import asyncio
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensors.base import SourceContext

if TYPE_CHECKING:
    from simulator.ble_crowd import Advert

ADVERTS = "ble-adverts.jsonl"
UNPLUGGED = "ble-unplugged"
WORLD_ENV = "WALKWAY_SIM_WORLD"
TICK_S = 0.05
MIN_SLEEP_S = 0.001


Parsed = tuple[float, str, int, str, dict, list, dict]


def encode_advert(a: "Advert") -> str:
    """One line of ADVERTS: [time, address, rssi, address type, manufacturer data as hex,
    service uuids, service data as hex]."""
    return json.dumps([round(a.time, 3), a.address, a.rssi, a.address_type,
                       {str(k): v.hex() for k, v in a.manufacturer_data.items()},
                       list(a.service_uuids), {k: v.hex() for k, v in a.service_data.items()}])


def decode_advert(line: bytes) -> Parsed:
    t, address, rssi, atype, mdata, uuids, sdata = json.loads(line)
    return (t, address, rssi, atype, {int(k): bytes.fromhex(v) for k, v in mdata.items()},
            uuids, {k: bytes.fromhex(v) for k, v in sdata.items()})


def _line_time(line: bytes) -> float:
    return float(line[1:line.index(b",")])


class AdvertReader:
    """ADVERTS (sorted by time) read one line at a time: memory is one advert whatever the
    length of the run. `skip_to(t)` finds the first advert at or after t by bisecting the
    file's byte offsets (a restarted edge at hour 23 does not parse the 22 hours before)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._size = os.fstat(self._file.fileno()).st_size
        self._next: bytes = self._file.readline()

    def peek_time(self) -> float | None:
        """Time of the next advert, None at the end."""
        return _line_time(self._next) if self._next else None

    def pop(self) -> Parsed:
        line, self._next = self._next, self._file.readline()
        return decode_advert(line)

    def skip_to(self, t: float) -> None:
        """Move on to the first advert at or after `t` (never back)."""
        if not self._next or _line_time(self._next) >= t:
            return
        f = self._file
        lo = f.tell() - len(self._next)  # the start of the current (too early) line
        hi = self._size
        # Smallest offset whose following line start holds an advert at or after t.
        while lo < hi:
            mid = (lo + hi) // 2
            f.seek(mid)
            f.readline()  # to the next line start after mid
            line = f.readline()
            if not line or _line_time(line) >= t:
                hi = mid
            else:
                lo = mid + 1
        f.seek(lo)
        f.readline()
        self._next = f.readline()

    def close(self) -> None:
        self._file.close()


def factory(ctx: SourceContext) -> type:
    """The scanner class for this node (bleak's `backend=` seam)."""
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

    folder = Path(os.environ.get(WORLD_ENV, Path(ctx.config_dir).parent.parent / "world"))
    folder = folder / ctx.node_id
    adverts = AdvertReader(folder / ADVERTS)  # shared: a restarted scanner continues
    clock = ctx.clock

    class SimScanner(BaseBleakScanner):
        def __init__(self, detection_callback: Any, service_uuids: Any,
                     scanning_mode: str = "active", **kwargs: Any) -> None:
            super().__init__(detection_callback, service_uuids)
            self._task: asyncio.Task | None = None

        async def start(self) -> None:
            # Adverts from before "now" went by while nobody listened.
            adverts.skip_to(clock())
            self._task = asyncio.get_running_loop().create_task(self._play())

        async def stop(self) -> None:
            if self._task is not None:
                self._task.cancel()
                self._task = None

        async def _play(self) -> None:
            unplugged = folder / UNPLUGGED
            speed = getattr(clock, "speed", 1.0)
            while (due_at := adverts.peek_time()) is not None:
                # Sleep until the next advert is due, so each one is stamped near its time.
                due = (due_at - clock()) / speed
                await asyncio.sleep(min(max(due, MIN_SLEEP_S), TICK_S))
                now = clock()
                silent = unplugged.exists()
                while (due_at := adverts.peek_time()) is not None and due_at <= now:
                    t, address, rssi, atype, mdata, uuids, sdata = adverts.pop()
                    if silent:
                        continue
                    data = AdvertisementData(
                        local_name=None, manufacturer_data=mdata, service_data=sdata,
                        service_uuids=list(uuids), tx_power=None, rssi=rssi,
                        platform_data=("/org/bluez/hci0/dev", {"AddressType": atype}),
                    )
                    device = self.create_or_update_device(address, address, None, None, data)
                    self.call_detection_callbacks(device, data)

    return SimScanner
