"""Read sniffer captures of BLE advertising: the PACT sniffer CSV and Nordic-sniffer pcapng.

For field validation (`walkway sensors ble-replay`) and tests: the same adverts the scanner
would have delivered, in time order, so the window estimator can run over a real capture.
Nothing here writes anything; addresses stay in memory, as in the live source.

CSV (MIT LL PACT sniffer export): a header block, then rows
`timestamp,"Bluetooth",adv_address,rssi_dBm,txpower,epoch_s,channel`. The export does not
record the address type; phones advertise from random private addresses, so "random".

pcapng (the Nordic nRF Sniffer's Wireshark capture): blocks per the pcapng spec
(draft-ietf-opsawg-pcapng); an Interface Description Block with link type 272
(LINKTYPE_NORDIC_BLE), then Enhanced Packet Blocks. Each packet is the sniffer's header,
versions 2 and 3: board (1), payload length (2), protocol version (1), packet counter (2),
packet id (1, 0x06 = event packet), header length (1), flags (1, bit 0 = CRC ok),
channel (1), RSSI (1, negated dBm), event counter (2), time (4); then the air packet: access
address (4), PDU header (2: type in bits 0-3, TxAdd in bit 6), payload, CRC (3).
Advertising PDUs with an AdvA first (ADV_IND, ADV_DIRECT_IND, ADV_NONCONN_IND, SCAN_RSP,
ADV_SCAN_IND; Core Spec v5.3 Vol 6 Part B 2.3) become adverts; scan and connect requests
(another device's address first), extended adverts and bad-CRC packets are skipped.
"""

import csv
import struct
from dataclasses import dataclass, field
from pathlib import Path

from walkway.errors import WalkwayError

LINKTYPE_NORDIC_BLE = 272
EVENT_PACKET = 0x06
ADV_ACCESS_ADDRESS = 0x8E89BED6
ADVA_FIRST = (0, 1, 2, 4, 6)  # PDU types whose payload starts with the advertiser's address
BT_BASE_UUID = "-0000-1000-8000-00805f9b34fb"


class CaptureError(WalkwayError):
    """A capture file that cannot be read."""


@dataclass(frozen=True, slots=True)
class CapturedAdvert:
    time: float
    address: str
    rssi: int
    address_type: str = "random"
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()
    service_data: dict[str, bytes] = field(default_factory=dict)


def read_capture(path: str | Path) -> list[CapturedAdvert]:
    """Adverts of a .csv or .pcapng capture, in time order. CaptureError names the problem."""
    p = Path(path)
    try:
        head = p.read_bytes()[:4]
    except OSError as exc:
        raise CaptureError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    out = _read_pcapng(p) if head == b"\x0a\x0d\x0d\x0a" else _read_csv(p)
    out.sort(key=lambda a: a.time)
    return out


def _read_csv(p: Path) -> list[CapturedAdvert]:
    out = []
    try:
        with open(p, newline="", encoding="utf-8") as f:
            for lineno, row in enumerate(csv.reader(f), 1):
                if len(row) < 7 or row[1] != "Bluetooth":
                    continue  # the header block
                try:
                    out.append(CapturedAdvert(float(row[5]), row[2].upper(), int(row[3])))
                except ValueError as exc:
                    raise CaptureError(f"{p}: line {lineno}: expected epoch seconds in column 6 "
                                       f"and an integer RSSI in column 4 ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise CaptureError(f"{p}: not a sniffer CSV or pcapng file (binary data)") from exc
    if not out:
        raise CaptureError(f"{p}: no advert rows: expected a PACT sniffer CSV "
                           "(ts,\"Bluetooth\",address,rssi,txpower,epoch_s,channel) or a pcapng")
    return out


def _read_pcapng(p: Path) -> list[CapturedAdvert]:
    data = p.read_bytes()
    out: list[CapturedAdvert] = []
    endian = "<"
    interfaces: list[tuple[int, float]] = []  # (link type, seconds per timestamp unit)
    off = 0
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":  # Section Header: byte order
            magic = data[off + 8:off + 12]
            if magic not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                raise CaptureError(f"{p}: byte {off}: bad pcapng byte-order magic")
            endian = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        btype, blen = struct.unpack_from(endian + "II", data, off)
        if blen < 12 or blen % 4 or off + blen > len(data):
            raise CaptureError(f"{p}: byte {off}: truncated or corrupt pcapng block "
                               f"(length {blen})")
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            interfaces.append((struct.unpack_from(endian + "H", body, 0)[0],
                               _tsresol(body[8:], endian)))
        elif btype == 6:
            iface, hi, lo, caplen = struct.unpack_from(endian + "IIII", body, 0)
            if iface >= len(interfaces):
                raise CaptureError(f"{p}: byte {off}: packet on undeclared interface {iface}")
            link, unit = interfaces[iface]
            if link != LINKTYPE_NORDIC_BLE:
                raise CaptureError(f"{p}: link type {link}: expected {LINKTYPE_NORDIC_BLE} "
                                   "(Nordic BLE sniffer)")
            ad = _nordic_advert(body[20:20 + caplen], ((hi << 32) | lo) * unit)
            if ad is not None:
                out.append(ad)
        off += blen
    if not interfaces:
        raise CaptureError(f"{p}: no interface description block: not a sniffer capture")
    return out


def _tsresol(options: bytes, endian: str) -> float:
    """Seconds per timestamp unit from the IDB's if_tsresol option (default microseconds)."""
    i = 0
    while i + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, i)
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = options[i + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        i += 4 + (length + 3) // 4 * 4
    return 1e-6


def _nordic_advert(pkt: bytes, t: float) -> CapturedAdvert | None:
    if len(pkt) < 17 or pkt[3] not in (2, 3) or pkt[6] != EVENT_PACKET:
        return None
    hdr_len, flags, _channel, rssi = pkt[7], pkt[8], pkt[9], pkt[10]
    air = pkt[7 + hdr_len:]
    if not flags & 1 or len(air) < 6 + 6 + 3:
        return None  # CRC failed, or too short for an advertising PDU with an address
    if struct.unpack_from("<I", air, 0)[0] != ADV_ACCESS_ADDRESS:
        return None
    pdu_type, tx_random, length = air[4] & 0x0F, air[4] & 0x40, air[5]
    payload = air[6:6 + length]
    if pdu_type not in ADVA_FIRST or len(payload) < 6:
        return None
    address = ":".join(f"{b:02X}" for b in payload[5::-1])
    mdata, uuids, sdata = _ad_structures(payload[6:] if pdu_type != 1 else b"")
    return CapturedAdvert(t, address, -rssi, "random" if tx_random else "public", mdata,
                          uuids, sdata)


def _ad_structures(ad: bytes) -> tuple[dict[int, bytes], tuple[str, ...], dict[str, bytes]]:
    """Manufacturer data, 16-bit service UUIDs and service data (what is_beacon looks at)."""
    mdata: dict[int, bytes] = {}
    uuids: list[str] = []
    sdata: dict[str, bytes] = {}
    i = 0
    while i < len(ad) and ad[i]:
        n = ad[i]
        kind, value = ad[i + 1] if i + 1 < len(ad) else 0, ad[i + 2:i + 1 + n]
        if kind == 0xFF and len(value) >= 2:
            mdata[value[0] | value[1] << 8] = value[2:]
        elif kind in (0x02, 0x03):
            uuids += [f"0000{value[j + 1]:02x}{value[j]:02x}{BT_BASE_UUID}"
                      for j in range(0, len(value) - 1, 2)]
        elif kind == 0x16 and len(value) >= 2:
            sdata[f"0000{value[1]:02x}{value[0]:02x}{BT_BASE_UUID}"] = value[2:]
        i += 1 + n
    return mdata, tuple(uuids), sdata


def shifted(adverts: list[CapturedAdvert], seconds: float) -> list[CapturedAdvert]:
    """The same adverts `seconds` later."""
    return [CapturedAdvert(a.time + seconds, a.address, a.rssi, a.address_type,
                           a.manufacturer_data, a.service_uuids, a.service_data)
            for a in adverts]


def overlay(captures: list[list[CapturedAdvert]], align: bool,
            rename: bool) -> list[CapturedAdvert]:
    """Several captures as one scene, in time order. `align`: each starts when the first
    does (several phones at once). `rename`: each capture's addresses get fresh random
    private ones (in memory only), so one phone seen in two captures counts as two."""
    import secrets

    out: list[CapturedAdvert] = []
    t0 = captures[0][0].time if captures and captures[0] else 0.0
    for ads in captures:
        if not ads:
            continue
        shift = t0 - ads[0].time if align else 0.0
        names: dict[str, str] = {}
        for a in ads:
            address = a.address
            if rename:
                if address not in names:
                    b = bytearray(secrets.token_bytes(6))
                    b[0] = (b[0] & 0x3F) | (int(address[:2], 16) & 0xC0)  # keep the kind
                    names[address] = ":".join(f"{x:02X}" for x in b)
                address = names[address]
            out.append(CapturedAdvert(a.time + shift, address, a.rssi, a.address_type,
                                      a.manufacturer_data, a.service_uuids, a.service_data))
    out.sort(key=lambda a: a.time)
    return out
