"""Per-window BLE crowd estimator: pure, fast, and forgetful by construction.

Privacy (BRIEF, issue #4): an address is never stored. Each advert's address is turned into
a keyed BLAKE2b digest under a random key that exists only for the current window
(`secrets.token_bytes`, held in this object's memory) and is dropped with the window's
table when the window closes, so a digest cannot be linked across windows, nodes or days
(contrast the Dutch case: one salt on every sensor for months). Nothing here logs.

Classification (Bluetooth Core Spec v5.3, Vol 6, Part B, 1.3 "Device address"):
  random address, top two bits of the most significant byte:
    0b01 resolvable private (phones: iOS and Android rotate these every ~15 min or faster),
    0b00 non-resolvable private (also rotated; used e.g. by exposure notifications),
    0b11 static random (fixed for a power cycle: tags, wearables, infrastructure) -> excluded,
    0b10 reserved -> excluded.
  public addresses (BlueZ AddressType "public") -> excluded.
  Payload beacons -> excluded: iBeacon (Apple company id 0x004C, first byte 0x02),
  Eddystone (service 0xFEAA), AltBeacon (manufacturer data beginning 0xBE 0xAC).
  "Fixed" (infrastructure with rotating random addresses, e.g. a tablet kiosk): present from
  the window's first to its last `edge_s` seconds AND an RSSI spread (p90 - p10) <=
  `fixed_rssi_spread_db`. A phone lying still on a bench looks exactly the same, so this
  guess never touches `upper`, and the estimate counts the fixed advertisers above the
  site's usual number of them (the median over the last `fixed_baseline_s`, a count only):
  infrastructure is there all day, a still phone for minutes.

Counting zone: an advertiser counts when at least one of its adverts in the window reached
`zone_rssi_dbm` (the site's counting area, calibrated on site; default -80 dBm, roughly
10-15 m in a walkway). Per window, over the counted (phone-like, in-zone) advertisers:
  upper    = distinct digests, "fixed" ones included: the naive count (a rotating phone
             counts once per address); it rests on no guess, so it cannot fall below the truth;
  lower    = the largest number of lifetimes alive at one instant (interval-graph clique:
             two addresses heard at the same time cannot be one phone), "fixed" left out;
  estimate = number of chains after linking each new address to one that vanished at most
             `rotation_gap_s` earlier with a similar RSSI (|dRSSI| <= rssi_match_db), both
             still strong (>= link_rssi_dbm). That is what an address rotation looks like;
             near the edge of range people leave and arrive all the time, so no link is
             guessed there. Nor blindly at the window's edges, where an address heard
             within one advertising interval (2.5x its mean heard interval, 1 s if unknown)
             of the opening may have been there all along, and one heard until that close
             to the end may never have vanished: addresses begun at the opening are linked
             only once there are as many chains as phones alive at the previous window's
             close (a count kept between windows, nothing else), and at the close only a
             clean hand-over (the new address after the old one's last advert) is linked.
             Otherwise a phone leaving in the first (last) moments was taken for another
             phone's rotation. A chain counts if any of its addresses was in the
             zone. Chains never hold overlapping lifetimes, so lower <= estimate <= upper;
  staying  = chains with dwell >= stay_s and mean RSSI >= stay_rssi_dbm; passby = the rest.
Known limits: a phone advertising two address sets at once can push `lower` above one per
person; a person stepping out of a door right next to the scanner as another's address
vanishes can be linked to it (an under-count of one).
"""

import hashlib
import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from walkway.keys import Key, KeySpec

APPLE = 0x004C
IBEACON_TYPE = 0x02
EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
ALTBEACON_CODE = b"\xbe\xac"

# Reasons an advertiser is not counted (status counters; never per-address).
PUBLIC = "public"
STATIC = "static_random"
BEACON = "beacon"
FIXED = "fixed"
UNKNOWN = "unknown_address"


def address_kind(address: str, address_type: str | None) -> str | None:
    """None when phone-like (resolvable/non-resolvable private), else the exclusion reason."""
    if address_type == "public":
        return PUBLIC
    if len(address) != 17:
        # CoreBluetooth (macOS) hides addresses behind UUIDs: the kind cannot be told,
        # so nothing is counted there (deployments run BlueZ).
        return UNKNOWN
    try:
        top = int(address[0:2], 16) >> 6
    except ValueError:
        return UNKNOWN
    if top in (0b01, 0b00):
        return None
    return STATIC


def is_beacon(manufacturer_data: dict[int, bytes], service_uuids: list[str],
              service_data: dict[str, bytes]) -> bool:
    apple = manufacturer_data.get(APPLE)
    if apple is not None and apple[:1] == b"\x02":
        return True
    if EDDYSTONE_UUID in service_data or EDDYSTONE_UUID in service_uuids:
        return True
    return any(v[:2] == ALTBEACON_CODE for v in manufacturer_data.values())


# The estimator's [[sources]] keys of type "ble" (docs/sensors.md); window_s must divide 60.
WINDOW_CHOICES = (10, 12, 15, 20, 30, 60)  # divisors of 60: windows line up with minute bins
ESTIMATOR_KEYS = KeySpec("sources.ble", [
    Key("window_s", "integer", 60, "one of 10, 12, 15, 20, 30 or 60; windows are UTC-aligned "
        "(use = bin_seconds)"),
    Key("zone_rssi_dbm", "number", -80.0, "counting zone: an advertiser counts once it was "
        "this strong", min=-127, max=20),
    Key("link_rssi_dbm", "number", -85.0, "address rotations are only linked when both ends "
        "are this strong", min=-127, max=20),
    Key("rotation_gap_s", "number", 2.5, "... and the new address appeared at most this long "
        "after the old", min=0, max=30),
    Key("rssi_match_db", "number", 6.0, "... with RSSIs this close", min=0, max=40),
    Key("stay_s", "number", 30.0, "\"staying\": dwell in the window >= stay_s ...", min=0),
    Key("stay_rssi_dbm", "number", -80.0, "... and mean RSSI >= this; everyone else counted "
        "is \"passby\"", min=-127, max=20),
    Key("fixed_rssi_spread_db", "number", 1.0, "whole-window advertiser with p90-p10 RSSI <= "
        "this = fixed; < 0 off", min=-1, max=60),
    Key("fixed_baseline_s", "number", 1800.0, "the site's usual number of \"fixed\" ones: "
        "their median count over this long", min=0, max=7 * 86400),
    Key("coarsen_below", "integer", 0, ">1: counts 1..N-1 are reported as N (0 stays 0); "
        "0 = exact", min=0, max=100),
])
D = ESTIMATOR_KEYS.default


@dataclass(frozen=True)
class EstimatorOptions:
    window_s: float = float(D("window_s"))
    rotation_gap_s: float = D("rotation_gap_s")
    overlap_tolerance_s: float = 0.3  # not a config key: how adverts of one window overlap
    rssi_match_db: float = D("rssi_match_db")
    link_rssi_dbm: float = D("link_rssi_dbm")
    zone_rssi_dbm: float = D("zone_rssi_dbm")
    stay_s: float = D("stay_s")
    stay_rssi_dbm: float = D("stay_rssi_dbm")
    edge_s: float = 5.0  # not a config key
    fixed_rssi_spread_db: float = D("fixed_rssi_spread_db")
    fixed_baseline_s: float = D("fixed_baseline_s")
    coarsen_below: int = D("coarsen_below")


@dataclass(frozen=True)
class WindowResult:
    """Counts for one window [start, end). No identifier of any kind."""

    start: float
    end: float
    estimate: int
    lower: int
    upper: int
    passby: int
    staying: int
    adverts: int
    excluded: dict[str, int] = field(default_factory=dict)
    dwell_mean_s: float | None = None  # mean dwell of the counted chains (None if nobody)

    def directions(self) -> dict[str, int]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper,
                "passby": self.passby, "staying": self.staying}


MAX_RSSI_SAMPLES = 64  # enough for p10/p90; bounds memory per advertiser
HEAD_SAMPLES = 4
# Adverts closer than this are one advertising event (the 37/38/39 channel copies come
# within ~10 ms); the mean time between events is the advertiser's heard interval.
EVENT_GAP_S = 0.05
EDGE_INTERVALS = 2.5  # "at the window's edge" = within this many heard intervals of it
EDGE_UNKNOWN_S = 1.0  # ... or this long, for an advertiser heard in fewer than 3 events


class _Track:
    """One digest's lifetime in the current window."""

    __slots__ = ("first", "last", "n", "events", "rssi_sum", "tail", "peak", "rssis",
                 "stride", "excluded")

    def __init__(self, t: float, rssi: int, excluded: str | None) -> None:
        self.first = t
        self.last = t
        self.n = 1
        self.events = 1
        self.rssi_sum = rssi
        self.tail = rssi  # smoothed latest RSSI
        self.peak = rssi
        self.rssis = [rssi]  # samples over the lifetime: head RSSI and the spread
        self.stride = 1
        self.excluded = excluded

    @property
    def head(self) -> float:
        """Mean of the first few RSSIs, matched against a vanished address' tail."""
        first = self.rssis[:HEAD_SAMPLES]
        return sum(first) / len(first)

    def edge_margin(self, o: "EstimatorOptions") -> float:
        """How close to a window edge this advertiser must be heard to have been there."""
        if self.events < 3:
            return EDGE_UNKNOWN_S
        interval = (self.last - self.first) / (self.events - 1)
        return min(o.rotation_gap_s, EDGE_INTERVALS * interval)


class WindowEstimator:
    """Feed `add()` adverts in time order; `close(end)` returns a WindowResult and forgets."""

    def __init__(self, options: EstimatorOptions, start: float) -> None:
        self.options = options
        # "Fixed" advertisers in the zone per recent window: counts only, nothing per address.
        self._fixed_counts: deque[int] = deque(
            maxlen=max(1, round(options.fixed_baseline_s / options.window_s)))
        self._alive_at_close = 0  # advertisers heard up to the last window's close
        self._open(start)

    def _open(self, start: float) -> None:
        self.start = start
        self._key = secrets.token_bytes(32)  # per-window key, memory only
        self._tracks: dict[bytes, _Track] = {}
        self._adverts = 0

    def add(self, t: float, address: str, rssi: int, excluded: str | None = None) -> None:
        """One advert. `excluded` is a reason from address_kind/is_beacon, or None."""
        self._adverts += 1
        digest = hashlib.blake2b(address.encode(), key=self._key, digest_size=8).digest()
        track = self._tracks.get(digest)
        if track is None:
            self._tracks[digest] = _Track(t, rssi, excluded)
            return
        if t - track.last > EVENT_GAP_S:
            track.events += 1
        if t > track.last:
            track.last = t
        track.n += 1
        track.rssi_sum += rssi
        track.tail = (3 * track.tail + rssi) / 4
        if rssi > track.peak:
            track.peak = rssi
        if track.n % track.stride == 0:
            rssis = track.rssis
            rssis.append(rssi)
            if len(rssis) >= MAX_RSSI_SAMPLES:
                # Halve the samples and the sampling rate: an even spread over the whole
                # lifetime in bounded memory (a burst at the start is not the window).
                track.rssis = rssis[:HEAD_SAMPLES] + rssis[HEAD_SAMPLES::2]
                track.stride *= 2
        if excluded is not None and track.excluded is None:
            track.excluded = excluded

    def close(self, end: float) -> WindowResult:
        """Finish [start, end), return its counts, and start a new window with a new key."""
        o = self.options
        tracks = list(self._tracks.values())
        adverts = self._adverts
        start = self.start
        self._open(end)  # the old key and table are unreachable from here on
        excluded: dict[str, int] = {}
        people: list[_Track] = []
        fixed = 0  # phone-like but guessed fixed, in the zone
        for tr in tracks:
            reason = tr.excluded or self._fixed(tr, start, end)
            if reason is None:
                people.append(tr)
                continue
            excluded[reason] = excluded.get(reason, 0) + 1
            fixed += reason == FIXED and tr.peak >= o.zone_rssi_dbm
        counted = [tr for tr in people if tr.peak >= o.zone_rssi_dbm]
        upper = len(counted) + fixed
        lower = _max_concurrent(counted, o.overlap_tolerance_s)
        all_chains = _chain(people, o, start, end, self._alive_at_close)
        # How many were there at the close, for the next window's opening: a count only.
        self._alive_at_close = sum(1 for c in all_chains if c[6])
        chains = [c for c in all_chains if c[5]]
        # More "fixed" advertisers than the site usually has: phones lying still.
        self._fixed_counts.append(fixed)
        still = max(0, fixed - sorted(self._fixed_counts)[len(self._fixed_counts) // 2])
        # Chains never hold two overlapping lifetimes, so len(chains) >= lower already;
        # max() only guards float ties at the overlap tolerance.
        estimate = max(lower, len(chains)) + still
        staying = min(estimate, still + sum(
            1 for c in chains if c[1] - c[0] >= o.stay_s and c[2] / c[3] >= o.stay_rssi_dbm
        ))
        dwell = sum(c[1] - c[0] for c in chains) / len(chains) if chains else None
        values = [estimate, lower, upper, estimate - staying, staying]
        if o.coarsen_below > 1:
            values = [o.coarsen_below if 0 < v < o.coarsen_below else v for v in values]
        return WindowResult(start, end, *values, adverts=adverts, excluded=excluded,
                            dwell_mean_s=dwell)

    def _fixed(self, tr: _Track, start: float, end: float) -> str | None:
        o = self.options
        if tr.last - tr.first < max(o.window_s - 2 * o.edge_s, 0.8 * o.window_s):
            # Heard for less than the nominal window: in a partial window (a restart, a
            # 2 s crew scan) everyone looks "present throughout", yet nothing is proven fixed.
            return None
        if tr.first - start > o.edge_s or end - tr.last > o.edge_s:
            return None
        r = sorted(tr.rssis)
        spread = r[min(len(r) - 1, (9 * len(r)) // 10)] - r[len(r) // 10]
        return FIXED if spread <= o.fixed_rssi_spread_db else None


def _max_concurrent(tracks: list[_Track], tol: float) -> int:
    """Largest number of lifetimes alive at one instant; overlaps <= tol are a rotation."""
    events: list[tuple[float, int]] = []
    for tr in tracks:
        events.append((tr.first, 1))
        # A one-advert lifetime still occupies an instant: its end sorts after its start.
        events.append((max(tr.first + 1e-9, tr.last - tol), -1))
    events.sort(key=lambda e: (e[0], e[1]))  # an end at t frees its slot before a start at t
    best = alive = 0
    for _, step in events:
        alive += step
        best = max(best, alive)
    return best


def _chain(tracks: list[_Track], o: EstimatorOptions, start: float, end: float,
           alive_before: int) -> list[list]:
    """Greedy rotation linking, in order of first sighting.

    Returns chains as [first, last, rssi_sum, n, tail_rssi, in_zone, open_end]. A link
    needs the old address to have vanished at most `rotation_gap_s` before the new one
    appeared, both ends at >= link_rssi_dbm and within rssi_match_db of each other. Near the
    edge of range people leave and arrive all the time and a link there would be a guess,
    so none is made. At the window's edges (`_Track.edge_margin`) an address heard at once
    after the opening may have been there all along, and one heard until just before the
    close may never have vanished: addresses begun at the opening are linked only once they
    are at least as many chains as there were phones at the previous window's close
    (`alive_before`, a count), and at the close only a clean hand-over (the new address
    after the old one's last advert, as a rotation is) is linked.
    """
    chains: list[list] = []
    recent: list[list] = []  # chains whose end may still be linked
    opened: list[list] = []  # chains begun at the window's opening
    for tr in sorted(tracks, key=lambda x: x.first):
        first = tr.first
        head = tr.head
        best = None
        best_cost = 2.0
        keep = []
        opening = first - start <= tr.edge_margin(o) and first - start <= o.rotation_gap_s
        for ch in recent:
            gap = first - ch[1]
            if gap > o.rotation_gap_s:
                continue  # too old for this and for every later start
            keep.append(ch)
            if (opening and len(opened) < alive_before) or ch[4] < o.link_rssi_dbm:
                continue  # more phones were there at the opening than chains so far
            if gap < (0.0 if ch[6] else -o.overlap_tolerance_s):
                continue  # at the close only a clean hand-over can be a rotation
            d = abs(ch[4] - head)
            if head < o.link_rssi_dbm or d > o.rssi_match_db:
                continue
            cost = max(gap, 0.0) / o.rotation_gap_s + d / o.rssi_match_db
            if cost < best_cost:
                best, best_cost = ch, cost
        recent = keep
        in_zone = tr.peak >= o.zone_rssi_dbm
        closing = end - tr.last <= tr.edge_margin(o)
        if best is None:
            ch = [first, tr.last, tr.rssi_sum, tr.n, tr.tail, in_zone, closing]
            chains.append(ch)
            recent.append(ch)
            if opening:
                opened.append(ch)
        else:
            best[1] = max(best[1], tr.last)
            best[2] += tr.rssi_sum
            best[3] += tr.n
            best[4] = tr.tail
            best[5] = best[5] or in_zone
            best[6] = closing
    return chains


def run_windows(adverts: Iterable[tuple[float, str, int, str | None]], options: EstimatorOptions,
                start: float) -> list[WindowResult]:
    """Offline helper (tests, bench): (time, address, rssi, excluded) in time order ->
    one result per window from `start` to the window holding the last advert."""
    est = WindowEstimator(options, start)
    end = start + options.window_s
    out = []
    for t, address, rssi, excluded in adverts:
        while t >= end:
            out.append(est.close(end))
            end += options.window_s
        est.add(t, address, rssi, excluded)
    out.append(est.close(end))
    return out
