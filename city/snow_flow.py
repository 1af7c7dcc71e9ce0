"""Walkers on every segment, spread along the network from the counts of nearby places.

Decay model: a place counting C people per hour contributes C * exp(-d / L) to a segment whose
midpoint is d metres away along the network (from the graph node nearest the place), with the
length scale L = `length_m` (default 300 m: about a four-minute walk; beyond about 1 km a
count says little about a street). Contributions of several places add up. A place further
than `snap_m` from every graph node is not on this network and is listed as ignored.

Uncertainty, shown and never hidden: `sensor_m` is the network distance to the nearest counted
place, `confidence` = exp(-sensor_m / L) (1 at a sensor, 0.37 one length scale away), and the
range [low, high] widens with distance: low = estimate * confidence, high = estimate +
(1 - confidence) * the largest place count (what an uncounted street could carry if it were as
busy as the busiest counted place). A segment no counted place reaches has no estimate (None),
which the plan treats as unknown, never as empty.
"""

import heapq
import math
from dataclasses import dataclass

from city.roads import RoadNetwork

DEFAULT_LENGTH_M = 300.0
DEFAULT_SNAP_M = 250.0


@dataclass(frozen=True)
class PlaceCount:
    id: str
    lon: float
    lat: float
    people_per_hour: float


@dataclass(frozen=True)
class SegmentFlow:
    estimate: float | None
    low: float | None
    high: float | None
    sensor_m: float | None       # network metres to the nearest counted place
    confidence: float            # exp(-sensor_m / L); 0 when unreachable


def distances(net: RoadNetwork, source: str, limit_m: float = math.inf) -> dict[str, float]:
    """Dijkstra over the undirected graph: node -> metres (plain Python; ties by node id)."""
    best = {source: 0.0}
    heap = [(0.0, source)]
    while heap:
        d, node = heapq.heappop(heap)
        if d > best.get(node, math.inf) or d > limit_m:
            continue
        for seg_id, other in net.adjacency.get(node, ()):
            nd = d + net.segments[seg_id].length_m
            if nd < best.get(other, math.inf):
                best[other] = nd
                heapq.heappush(heap, (nd, other))
    return {n: d for n, d in best.items() if d <= limit_m}


def segment_distance(net: RoadNetwork, dist: dict[str, float], seg_id: str) -> float | None:
    seg = net.segments[seg_id]
    ends = [dist[n] for n in (seg.a, seg.b) if n in dist]
    return min(ends) + seg.length_m / 2 if ends else None


def spread_flows(net: RoadNetwork, places: list[PlaceCount], length_m: float = DEFAULT_LENGTH_M,
                 snap_m: float = DEFAULT_SNAP_M) -> tuple[dict[str, SegmentFlow], list[str]]:
    """(flow per segment id, ids of places ignored as off this network)."""
    if length_m <= 0:
        raise ValueError("length_m must be positive")
    ignored: list[str] = []
    sums = dict.fromkeys(net.segments, 0.0)
    nearest: dict[str, float] = {}
    top = max((p.people_per_hour for p in places), default=0.0)
    for place in sorted(places, key=lambda p: p.id):
        node, off = net.nearest_node(place.lon, place.lat)
        if off > snap_m:
            ignored.append(place.id)
            continue
        dist = distances(net, node, limit_m=12 * length_m)  # exp(-12) is nothing
        for seg_id in net.segments:
            d = segment_distance(net, dist, seg_id)
            if d is None:
                continue
            d += off
            sums[seg_id] += place.people_per_hour * math.exp(-d / length_m)
            nearest[seg_id] = min(nearest.get(seg_id, math.inf), d)
    out = {}
    for seg_id in net.segments:
        if seg_id not in nearest:
            out[seg_id] = SegmentFlow(None, None, None, None, 0.0)
            continue
        conf = math.exp(-nearest[seg_id] / length_m)
        est = sums[seg_id]
        out[seg_id] = SegmentFlow(est, est * conf, est + (1 - conf) * top,
                                  nearest[seg_id], conf)
    return out, ignored
