"""The walking graph shipped in a content package, and the routes the sign computes on it.

Nodes are place ids (`places.json` gives their names and schematic map positions); edges carry
a length, a kind (walkway, street, stairs, escalator, lift, ramp), whether they are under cover
(indoors or roofed: snow-free in winter) and the height they climb. Three variants:

- shortest: least walking time at the sign's pace (80 m/min, i18n.M_PER_MIN); stairs and
  escalators cost their real time, lifts a wait;
- step-free: never uses stairs or escalators (lifts and ramps only): wheelchairs, buggies;
- quieter: shortest, with each segment's cost multiplied by how crowded it is right now
  (the neighbours' flows file the bridge writes), so a passer-by is steered around a crush.

Dijkstra on a graph of tens to hundreds of nodes: microseconds on a Pi, no library needed.
"""

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

from signage_player.i18n import M_PER_MIN
from walkway.errors import InputFileError

EDGE_KINDS = ("walkway", "street", "stairs", "escalator", "lift", "ramp")
STEP_KINDS = ("stairs", "escalator")  # not step-free
VARIANTS = ("shortest", "step_free", "quieter")
WALK_M_PER_S = M_PER_MIN / 60.0  # the sign's one walking pace (see signage_player.i18n)
STAIRS_M_PER_S = 0.5  # along the stair's slope length
LIFT_WAIT_S = 45.0  # a lift costs its wait, whatever its length
CROWD_PENALTY = 3.0  # a fully crowded segment costs this many times its time when quieter


class GraphError(InputFileError):
    """The walking graph in a content package is malformed."""


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    length_m: float
    kind: str
    covered: bool
    climb_m: float = 0.0

    def seconds(self) -> float:
        if self.kind == "lift":
            return LIFT_WAIT_S + self.length_m / WALK_M_PER_S
        if self.kind == "stairs":
            return self.length_m / STAIRS_M_PER_S
        return self.length_m / WALK_M_PER_S

    def other(self, node: str) -> str:
        return self.b if node == self.a else self.a


@dataclass(frozen=True)
class Route:
    variant: str
    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]

    @property
    def length_m(self) -> float:
        return sum(e.length_m for e in self.edges)

    @property
    def climb_m(self) -> float:
        return sum(e.climb_m for e in self.edges)

    @property
    def seconds(self) -> float:
        return sum(e.seconds() for e in self.edges)

    @property
    def step_free(self) -> bool:
        return not any(e.kind in STEP_KINDS for e in self.edges)

    @property
    def covered(self) -> bool:
        """Under cover all the way: dry and free of snow and ice in winter."""
        return all(e.covered for e in self.edges)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(e.kind for e in self.edges)


@dataclass(frozen=True)
class WalkGraph:
    edges: tuple[Edge, ...]

    def nodes(self) -> set[str]:
        return {n for e in self.edges for n in (e.a, e.b)}

    def route(
        self,
        start: str,
        goal: str,
        variant: str = "shortest",
        crowding: Mapping[frozenset, float] | None = None,
    ) -> Route | None:
        """The best route for `variant`, or None when there is none (e.g. no step-free way).

        `crowding` maps a segment (frozenset of its two place ids) to 0..1, how full it is;
        see `crowding_by_segment`."""
        if variant not in VARIANTS:
            raise ValueError(f"variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
        crowding = crowding or {}
        adj: dict[str, list[Edge]] = {}
        for e in self.edges:
            if variant == "step_free" and e.kind in STEP_KINDS:
                continue
            adj.setdefault(e.a, []).append(e)
            adj.setdefault(e.b, []).append(e)
        best: dict[str, float] = {start: 0.0}
        back: dict[str, Edge] = {}
        heap = [(0.0, start)]
        while heap:
            cost, node = heapq.heappop(heap)
            if node == goal:
                break
            if cost > best.get(node, float("inf")):
                continue
            for e in adj.get(node, ()):
                step = e.seconds()
                if variant == "quieter":
                    full = crowding.get(frozenset((e.a, e.b)), 0.0)
                    step *= 1.0 + (CROWD_PENALTY - 1.0) * min(1.0, max(0.0, full))
                nxt = e.other(node)
                if cost + step < best.get(nxt, float("inf")) - 1e-9:
                    best[nxt] = cost + step
                    back[nxt] = e
                    heapq.heappush(heap, (cost + step, nxt))
        if goal not in best:
            return None
        nodes, edges = [goal], []
        while nodes[-1] != start:
            e = back[nodes[-1]]
            edges.append(e)
            nodes.append(e.other(nodes[-1]))
        return Route(variant, tuple(reversed(nodes)), tuple(reversed(edges)))


def parse_graph(raw: object, places: Mapping[str, object], where: str) -> WalkGraph:
    """Validate `{"edges": [{"a", "b", "length_m", "kind", "covered", "climb_m"?}]}`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("edges"), list) or not raw["edges"]:
        raise GraphError(f"{where}: graph.edges: expected a non-empty list of edges")
    edges = []
    for i, e in enumerate(raw["edges"]):
        at = f"{where}: graph.edges[{i}]"
        if not isinstance(e, dict):
            raise GraphError(f"{at}: expected an object with a, b, length_m, kind, covered")
        for end in ("a", "b"):
            if e.get(end) not in places:
                raise GraphError(f"{at}.{end}: expected a place id from places, got {e.get(end)!r}")
        length = e.get("length_m")
        if isinstance(length, bool) or not isinstance(length, int | float) or not 0 < length < 1e5:
            raise GraphError(f"{at}.length_m: expected metres from 0 to 100000, got {length!r}")
        if e.get("kind") not in EDGE_KINDS:
            raise GraphError(
                f"{at}.kind: expected one of {', '.join(EDGE_KINDS)}, got {e.get('kind')!r}"
            )
        if not isinstance(e.get("covered"), bool):
            raise GraphError(f"{at}.covered: expected true or false, got {e.get('covered')!r}")
        climb = e.get("climb_m", 0)
        if isinstance(climb, bool) or not isinstance(climb, int | float) or abs(climb) > 1000:
            raise GraphError(f"{at}.climb_m: expected metres from -1000 to 1000, got {climb!r}")
        edges.append(Edge(e["a"], e["b"], float(length), e["kind"], e["covered"], float(climb)))
    return WalkGraph(tuple(edges))


def crowding_by_segment(walkways: list[dict], flow: Mapping[str, float | None]) -> dict:
    """How full each segment is (0..1) from the crowding scene's walkways: each walkway's
    flow over its `busy_per_min`, on every consecutive pair of its `path`. No data is no
    penalty (the quieter route then equals the shortest, and the sign says why)."""
    out: dict[frozenset, float] = {}
    for w in walkways:
        rate = flow.get(w.get("id", ""))
        if rate is None or not w.get("busy_per_min"):
            continue
        full = min(1.0, max(0.0, float(rate) / float(w["busy_per_min"])))
        for a, b in zip(w.get("path", []), w.get("path", [])[1:], strict=False):
            key = frozenset((a, b))
            out[key] = max(out.get(key, 0.0), full)
    return out
