"""A bleak backend for the real BLE source that plays a node's simulated adverts.

The node config names it (`backend = "simulator.ble_backend:factory"`); the BLE source calls
`factory(ctx)` inside the edge process. Adverts come from `ble-adverts.jsonl` in the node's
world folder ($WALKWAY_SIM_WORLD/NODE, set by the simulator; the node's own folder never
holds an address) and are delivered when the edge's clock (WALKWAY_CLOCK, simulated time)
reaches their time, so a restarted edge simply continues at "now". While the file
`ble-unplugged` exists in that folder the adapter is silent (the "sensor unplugged" fault).
"""

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from sensors.base import SourceContext

ADVERTS = "ble-adverts.jsonl"
UNPLUGGED = "ble-unplugged"
WORLD_ENV = "WALKWAY_SIM_WORLD"
TICK_S = 0.05
MIN_SLEEP_S = 0.001


def read_adverts(path: Path) -> list[tuple[float, str, int, str, dict, list, dict]]:
    out = []
    with path.open() as f:
        for line in f:
            t, address, rssi, atype, mdata, uuids, sdata = json.loads(line)
            out.append((t, address, rssi, atype,
                        {int(k): bytes.fromhex(v) for k, v in mdata.items()},
                        uuids, {k: bytes.fromhex(v) for k, v in sdata.items()}))
    return out


def factory(ctx: SourceContext) -> type:
    """The scanner class for this node (bleak's `backend=` seam)."""
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

    folder = Path(os.environ.get(WORLD_ENV, Path(ctx.config_dir).parent.parent / "world"))
    folder = folder / ctx.node_id
    adverts = read_adverts(folder / ADVERTS)
    clock = ctx.clock
    cursor = {"i": 0}

    class SimScanner(BaseBleakScanner):
        def __init__(self, detection_callback: Any, service_uuids: Any,
                     scanning_mode: str = "active", **kwargs: Any) -> None:
            super().__init__(detection_callback, service_uuids)
            self._task: asyncio.Task | None = None

        async def start(self) -> None:
            # Adverts from before "now" went by while nobody listened.
            now = clock()
            i = cursor["i"]
            while i < len(adverts) and adverts[i][0] < now:
                i += 1
            cursor["i"] = i
            self._task = asyncio.get_running_loop().create_task(self._play())

        async def stop(self) -> None:
            if self._task is not None:
                self._task.cancel()
                self._task = None

        async def _play(self) -> None:
            unplugged = folder / UNPLUGGED
            speed = getattr(clock, "speed", 1.0)
            while cursor["i"] < len(adverts):
                # Sleep until the next advert is due, so each one is stamped near its time.
                due = (adverts[cursor["i"]][0] - clock()) / speed
                await asyncio.sleep(min(max(due, MIN_SLEEP_S), TICK_S))
                now = clock()
                silent = unplugged.exists()
                while cursor["i"] < len(adverts) and adverts[cursor["i"]][0] <= now:
                    t, address, rssi, atype, mdata, uuids, sdata = adverts[cursor["i"]]
                    cursor["i"] += 1
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
