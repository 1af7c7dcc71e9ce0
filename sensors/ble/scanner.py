"""The bleak wrapper: scanner construction (passive where BlueZ allows it) and advert triage.

bleak is imported inside functions only: validating a config or importing this module never
loads bleak or D-Bus.
"""

import re
from collections.abc import Callable
from typing import Any

from sensors.ble.estimator import BEACON, address_kind, is_beacon

# Passive scanning on BlueZ goes through the Advertisement Monitor API, which needs at least
# one "or pattern" (bleak: "passive scanning mode requires bluez or_patterns"; BlueZ
# doc/org.bluez.AdvertisementMonitor.rst). Matching the Flags AD at offset 0 with the three
# common values lets through nearly every connectable and non-connectable advertiser; this
# is the same set Home Assistant's habluetooth uses for its passive scanner.
PASSIVE_FLAGS = (b"\x02", b"\x06", b"\x1a")

_MAC = re.compile(r"(?i)\b[0-9a-f]{2}(?:[:-]?[0-9a-f]{2}){5}\b")


def scrub(text: str) -> str:
    """Remove anything shaped like a device address (for status reasons and logs)."""
    return _MAC.sub("<address>", text)


def passive_args(adapter: str | None) -> dict[str, Any]:
    from bleak.args.bluez import OrPattern
    from bleak.assigned_numbers import AdvertisementDataType

    args: dict[str, Any] = {
        "or_patterns": [OrPattern(0, AdvertisementDataType.FLAGS, f) for f in PASSIVE_FLAGS]
    }
    if adapter:
        args["adapter"] = adapter
    return args


def make_scanner(callback: Callable[[Any, Any], None], mode: str, adapter: str | None,
                 backend: type | None) -> Any:
    """A BleakScanner in `mode` ("passive" or "active") on `adapter` (bleak >= 3: bluez=)."""
    from bleak import BleakScanner

    if mode == "passive":
        bluez = passive_args(adapter)
    else:
        bluez = {"adapter": adapter} if adapter else {}
    return BleakScanner(callback, None, mode, bluez=bluez, backend=backend)


def triage(device: Any, adv: Any) -> tuple[str, int, str | None]:
    """(address, rssi, exclusion reason or None) for one detection callback.

    BlueZ tells public from random addresses in the device's AddressType property, which
    bleak passes as advertisement_data.platform_data[1]; other backends leave it unknown and
    the address bits decide (estimator.address_kind).
    """
    address_type = None
    pdata = adv.platform_data
    if len(pdata) > 1 and isinstance(pdata[1], dict):
        address_type = pdata[1].get("AddressType")
    reason = address_kind(device.address, address_type)
    if reason is None and (adv.manufacturer_data or adv.service_data or adv.service_uuids):
        if is_beacon(adv.manufacturer_data, adv.service_uuids, adv.service_data):
            reason = BEACON
    return device.address, adv.rssi, reason
