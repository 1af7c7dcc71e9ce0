"""People walking under an overhead TF-Luna at a one-person gate: what the beam sees.

A walker is a body of depth 0.26-0.40 m along the walking direction (torso, swinging arms,
a bag; children 0.20-0.28 m), 150-195 cm tall (8 % children, 110-140 cm), walking at the
current pace (1.1-1.5 m/s, drifting over half an hour: commuters, then shoppers) +-15 %,
5 % slowly (0.7-0.95 m/s). Seen from above the top surface is lowest at the chest and back
(55-74 % of the height), at the shoulders 78-86 %, and at the head 100 % when the beam
crosses the head (60 % of walkers; the others only show a shoulder). A group walks through
the gate in file at one pace, 3-45 cm apart (30 % of walkers follow the one ahead); nobody
walks through anyone. The beam is a 2° cone (TF-Luna), not a ray: its spot is 2-3 cm wide on
a shoulder and 8.7 cm on the floor, so a gap of a few centimetres between two walkers reads
as a mix of their backs and the floor, not as the floor (GateView.spot_distance). Frames:
floor +-3 cm, a person +-8 cm (TF-Luna accuracy), 2 % of the frames on a person are weak
returns (dark hair and clothes).
"""

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

GROUP_SHARE = 0.3
HEAD_SHARE = 0.6
CHILD_SHARE = 0.08
SLOW_SHARE = 0.05
WEAK_FRAMES = 0.02
HALF_FOV_TAN = math.tan(math.radians(1.0))  # TF-Luna: 2° field of view
SPOT_RAYS = (-1.0, -0.5, 0.0, 0.5, 1.0)  # across the spot, in half-FOVs


@dataclass(frozen=True, slots=True)
class Walker:
    t: float  # the body's front reaches the beam (s)
    speed: float  # m/s
    depth: float  # m
    height_cm: float
    shoulder: float  # shoulder level / height
    edge: float  # chest and back level / height
    head: bool

    @property
    def end(self) -> float:
        return self.t + self.depth / self.speed

    def height_at(self, x: float) -> float:
        """Height (cm) of the body's top surface under the beam at time x, in [t, end)."""
        u = (x - self.t) * self.speed / self.depth
        ramp = max(0.0, min(1.0, min(u, 1.0 - u) / 0.2))
        level = self.edge + (self.shoulder - self.edge) * ramp
        if self.head:
            c = (u - 0.45) / 0.22
            if abs(c) < 1:
                level = max(level, self.shoulder + (1 - self.shoulder) * (1 - c * c))
        return self.height_cm * level


def pace(t: float, start: float) -> float:
    """The crowd's walking pace (m/s) at t: it drifts between 1.1 and 1.5 over 30 min."""
    return 1.3 + 0.2 * math.sin(2 * math.pi * (t - start) / 1800.0)


def walkers_for(times: Sequence[float], rng: random.Random, start: float,
                group_share: float = GROUP_SHARE) -> list[Walker]:
    """Walkers for arrival times (sorted): followers join the one ahead, nobody overlaps."""
    out: list[Walker] = []
    for t in times:
        child = rng.random() < CHILD_SHARE
        height = rng.uniform(110, 140) if child else rng.uniform(150, 195)
        depth = rng.uniform(0.20, 0.28) if child else rng.uniform(0.26, 0.40)
        if rng.random() < SLOW_SHARE:
            speed = rng.uniform(0.7, 0.95)
        else:
            speed = pace(t, start) * rng.uniform(0.85, 1.15)
        if out and rng.random() < group_share:
            ahead = out[-1]
            speed = ahead.speed
            t = ahead.end + rng.uniform(0.03, 0.45) / speed
        elif out:
            t = max(t, out[-1].end + 0.03 / out[-1].speed)
        out.append(Walker(t, speed, depth, height, rng.uniform(0.78, 0.86),
                          rng.uniform(0.55, 0.74), rng.random() < HEAD_SHARE))
    return out


class GateView:
    """Distance readings over time for a list of non-overlapping walkers."""

    def __init__(self, walkers: Sequence[Walker], mount_cm: int) -> None:
        self.walkers = list(walkers)
        self.starts = [w.t for w in self.walkers]
        self.mount_cm = mount_cm

    def _under(self, x: float) -> Walker | None:
        i = bisect_right(self.starts, x) - 1
        return self.walkers[i] if i >= 0 and x < self.walkers[i].end else None

    def _surface(self, x: float) -> float:
        """Distance (cm) from the sensor to what is straight under the beam's axis at x."""
        w = self._under(x)
        return self.mount_cm - w.height_at(x) if w is not None else float(self.mount_cm)

    def spot_distance(self, x: float, speed: float) -> float:
        """The distance the sensor reports at x: its spot is SPOT_RAYS points across the 2°
        cone along the walking direction, each on whatever surface it meets, averaged with
        the 1/d² weight of the light each returns (TF-Luna manual 2.4: a spot that falls on
        two objects gives an "abnormal" value between them). A ray off the axis meets the
        body at offset d·tan(1°) (2-3 cm on a shoulder, 4.4 cm on the floor): the part of
        the walker that passes the axis that much earlier or later."""
        axis = self._surface(x)
        total = weight = 0.0
        for k in SPOT_RAYS:
            offset_m = k * HALF_FOV_TAN * axis / 100.0
            d = self._surface(x - offset_m / speed) if k else axis
            total += d / (d * d)
            weight += 1.0 / (d * d)
        return total / weight

    def reading(self, x: float, rng: random.Random) -> tuple[int, int]:
        """(distance cm, strength) at time x."""
        w = self._under(x)
        near = w or self._under(x + 0.05) or self._under(x - 0.05)
        dist = self.spot_distance(x, near.speed) if near is not None else float(self.mount_cm)
        if w is not None or dist < self.mount_cm - 10:  # the spot is on someone
            if rng.random() < WEAK_FRAMES:
                return 0, rng.randint(20, 90)
            return int(round(dist + rng.uniform(-8, 8))), rng.randint(200, 2000)
        return int(round(dist)) + rng.randint(-3, 3), rng.randint(800, 3000)
