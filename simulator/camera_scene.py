"""Rendered walkway camera scenes with exact ground-truth line crossings.

    scene = Scene(SceneSpec(view="top", seconds=120, seed=3))
    for frame, t in scene.frames():      # BGR uint8 (height, width, 3), seconds from 0
        ...
    scene.truth()                        # [{"in": A, "out": B}, ...] per spec.lines

Views: "top" (camera looking straight down on the floor: people are shoulders + head seen
from above) and "oblique" (a high camera looking down the walkway in perspective: upright
people, smaller further away, nearer ones drawn over farther ones). People arrive in two
opposite main flows (keeping left, with overlap) plus a crossing flow, alone or in groups
walking side by side; some stop for a few seconds; the light drifts slowly and, optionally,
drops suddenly (lights dimmed) for the middle fifth of the scene; sensor noise is added.

Ground truth uses each person's foot point (bottom centre of their box on the image) in
every frame where it is inside the picture, counted by exactly the rule of
../shared/tools/gt_crossings.py (`sensors.camera.geometry.reference_crossings`).
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from sensors.camera.geometry import reference_crossings

# Body sizes in metres.
SHOULDER_W, SHOULDER_D, HEAD_R, HEIGHT = 0.50, 0.28, 0.10, 1.70
# Oblique camera: visible floor from NEAR to FAR metres ahead, NEAR_WIDTH metres wide at
# the bottom edge; on-image size falls as 1/distance.
NEAR, FAR, NEAR_WIDTH = 4.0, 8.0, 6.0
# Seen from a high camera looking steeply down, an upright person is foreshortened to about
# this share of their height (SceneSpec.upright: a camera looking further ahead sees more).
UPRIGHT = 0.4
# Top view: metres of floor across the frame width.
TOP_WIDTH = 5.0
# BGR colours. Every one differs from the floor (grey ~150) by at least 45 grey levels:
# grey-level motion detection cannot see clothes of the floor's brightness, a known limit.
CLOTHES = ((40, 40, 45), (70, 60, 140), (200, 200, 205), (30, 90, 40), (150, 60, 40),
           (60, 60, 180), (230, 230, 230), (20, 20, 25), (170, 200, 220), (120, 40, 120))
HAIR = ((20, 20, 20), (35, 30, 30), (60, 60, 70), (60, 75, 95))


@dataclass(frozen=True)
class SceneSpec:
    view: str = "top"
    width: int = 640
    height: int = 480
    fps: float = 15.0
    seconds: float = 120.0
    seed: int = 1
    groups_per_minute: float = 36.0  # main flow, both directions together
    cross_groups_per_minute: float = 10.0
    group_sizes: tuple[int, ...] = (1, 1, 1, 2, 2, 3)
    stop_probability: float = 0.15
    # Real walkways: some people walk up to a line and turn back (a group together), and a
    # light from one side casts a moving shadow beside each person (0 = none, 0.4 = the
    # floor 40 % darker under it).
    turn_probability: float = 0.0
    shadow: float = 0.0
    # A lamp post standing in the picture (its centre, as a fraction of the width; 0 = none):
    # drawn over the people behind it, so they are cut in two or hidden for a few frames.
    post_x: float = 0.0
    # Oblique view: the share of a person's height seen on the image (0.4: a camera looking
    # steeply down; 0.8: a plaza seen from a building, people a third as wide as tall, so
    # one walking behind another hides part of them).
    upright: float = UPRIGHT
    lighting: float = 0.15  # amplitude of the slow brightness drift
    light_switch: bool = True
    noise: float = 3.0
    lines: tuple[tuple[float, float, float, float], ...] = (
        (0.05, 0.5, 0.95, 0.5),
        (0.5, 0.05, 0.5, 0.95),
    )


@dataclass
class Person:
    start: np.ndarray  # world position (m) at along-path distance 0
    heading: np.ndarray  # unit vector
    speed: float
    t0: float
    length: float
    stop_at: float = math.inf
    stop_for: float = 0.0
    turn_at: float = math.inf  # along-path distance where they turn and walk back
    clothes: tuple[int, int, int] = (40, 40, 45)
    hair: tuple[int, int, int] = (20, 20, 20)
    phase: float = 0.0
    trail: dict[int, tuple[float, float]] = field(default_factory=dict)

    def along(self, t: float) -> float:
        s = self.speed * (t - self.t0)
        if s > self.stop_at:
            s = max(self.stop_at, s - self.speed * self.stop_for)
        return s

    def position(self, t: float) -> np.ndarray:
        sway = 0.03 * math.sin(2 * math.pi * 0.9 * (t - self.t0) + self.phase)
        normal = np.array([-self.heading[1], self.heading[0]])
        s = self.along(t)
        if s > self.turn_at:
            s = 2 * self.turn_at - s
        return self.start + self.heading * s + normal * sway


def _collides(group: list[Person], others: list[Person], gap: float = 1.0) -> bool:
    """True when a member of `group` comes within `gap` metres of one of `others`."""
    if not others:
        return False
    t0 = min(p.t0 for p in group)
    t1 = t0 + max(p.length / p.speed + p.stop_for for p in group)
    times = np.arange(t0, t1, 0.2)
    for p in group:
        a = _path(p, times)
        for q in others:
            b = _path(q, times)
            close = np.hypot(*(a - b).T) < gap
            if np.any(close & _live(p, times) & _live(q, times)):
                return True
    return False


def _along(p: "Person", times: np.ndarray) -> np.ndarray:
    s = p.speed * (times - p.t0)
    return np.where(s > p.stop_at, np.maximum(p.stop_at, s - p.speed * p.stop_for), s)


def _path(p: "Person", times: np.ndarray) -> np.ndarray:
    s = _along(p, times)
    s = np.where(s > p.turn_at, 2 * p.turn_at - s, s)
    return p.start + np.outer(s, p.heading)


def _live(p: "Person", times: np.ndarray) -> np.ndarray:
    s = _along(p, times)
    return (times >= p.t0) & (s <= p.length)


class Scene:
    def __init__(self, spec: SceneSpec) -> None:
        if spec.view not in ("top", "oblique"):
            raise ValueError(f"view: expected 'top' or 'oblique', got {spec.view!r}")
        self.spec = spec
        self.n_frames = int(spec.seconds * spec.fps)
        self.rng = np.random.default_rng(spec.seed)
        w, h = spec.width, spec.height
        if spec.view == "top":
            self.px_per_m = w / TOP_WIDTH
            self.floor = (TOP_WIDTH, h / self.px_per_m)  # x extent, y extent (m)
        else:
            self.k = w * NEAR / NEAR_WIDTH  # pixels per metre at 1 m distance
            self.floor = (FAR * NEAR_WIDTH / NEAR, FAR)
        self.people = self._spawn()
        self.background = self._background()
        self._trace()

    # -- geometry ---------------------------------------------------------------------------
    def _project(self, p: np.ndarray) -> tuple[float, float, float]:
        """World floor point -> image (x, y) and pixels per metre there."""
        if self.spec.view == "top":
            return p[0] * self.px_per_m, p[1] * self.px_per_m, self.px_per_m
        d = max(0.5, p[1])  # y is the distance ahead of the camera
        scale = self.k / d
        y = self.spec.height * (1 / d - 1 / FAR) / (1 / NEAR - 1 / FAR)
        return self.spec.width / 2 + p[0] * scale, y, scale

    @property
    def far_scale(self) -> float:
        """Size of a person at the top edge relative to the bottom edge."""
        return 1.0 if self.spec.view == "top" else NEAR / FAR

    @property
    def person_size(self) -> tuple[float, float]:
        """One person's box (width, height) at the bottom of the frame, normalised."""
        w, h = self.spec.width, self.spec.height
        if self.spec.view == "top":
            d = (SHOULDER_W * 0.85 + SHOULDER_D * 0.15) * self.px_per_m
            return d / w, d / h
        scale = self.k / NEAR
        return SHOULDER_W * scale / w, self.spec.upright * HEIGHT * scale / h

    # -- people -----------------------------------------------------------------------------
    def _spawn(self) -> list[Person]:
        spec, rng = self.spec, self.rng
        people: list[Person] = []
        fx, fy = self.floor
        flows = [
            (spec.groups_per_minute / 2, np.array([0.0, 1.0])),
            (spec.groups_per_minute / 2, np.array([0.0, -1.0])),
            (spec.cross_groups_per_minute / 2, np.array([1.0, 0.0])),
            (spec.cross_groups_per_minute / 2, np.array([-1.0, 0.0])),
        ]
        for rate, heading in flows:
            flow: list[Person] = []
            t = float(rng.exponential(60 / rate)) - 4.0 if rate > 0 else math.inf
            while t < spec.seconds:
                group = self._group(heading, t)
                # People do not walk through each other: re-place (or delay) a group that
                # would run into one ahead of it in the same flow.
                for _ in range(12):
                    if not _collides(group, flow[-12:]) and not self._along_a_line(group):
                        break
                    group = self._group(heading, t)
                    t += 0.3
                    for p in group:
                        p.t0 = t
                flow.extend(group)
                t += max(0.8, float(rng.exponential(60 / rate)))
            people.extend(flow)
        return people

    def _along_a_line(self, group: list[Person]) -> bool:
        """True when someone would walk along a counting line (nearly parallel, within 5 % of
        the picture): their sway would cross it again and again, which no counter should
        count and no real line is drawn for."""
        w, h = self.spec.width, self.spec.height
        for p in group:
            a = np.array(self._project(p.start + p.heading * p.length * 0.3)[:2])
            b = np.array(self._project(p.start + p.heading * p.length * 0.7)[:2])
            for x1, y1, x2, y2 in self.spec.lines:
                la, lb = np.array([x1 * w, y1 * h]), np.array([x2 * w, y2 * h])
                d, e = b - a, lb - la
                cos = abs(float(d @ e)) / (np.linalg.norm(d) * np.linalg.norm(e) + 1e-9)
                normal = np.array([-e[1], e[0]]) / (np.linalg.norm(e) + 1e-9)
                if cos > 0.9 and abs(float((a - la) @ normal)) < 0.05 * max(w, h):
                    return True
        return False

    def _group(self, heading: np.ndarray, t0: float) -> list[Person]:
        spec, rng = self.spec, self.rng
        fx, fy = self.floor
        n = int(rng.choice(spec.group_sizes))
        speed = float(rng.uniform(1.0, 1.5))
        spacing = float(rng.uniform(0.62, 0.78))
        vertical = heading[1] != 0
        sign = 1 if (heading[0] + heading[1]) > 0 else -1
        if self.spec.view == "top":
            across, along = (fx, fy) if vertical else (fy, fx)
            lo, hi = 0.5, across - 0.5
            begin = -1.0 if sign > 0 else along + 1.0
        elif vertical:  # oblique, walking away from / towards the camera
            half = NEAR_WIDTH / 2  # stay within the near edge's width
            lo, hi = -half + 0.4, half - 0.4
            along = FAR - NEAR + 2.2
            begin = (NEAR - 1.2) if sign > 0 else FAR + 1.0
        else:  # oblique, walking across the picture
            lo, hi = NEAR + 0.5, FAR - 0.5
            along = fx + 2.0
            begin = -(fx / 2 + 1.0) if sign > 0 else fx / 2 + 1.0
        # Keep left: the two opposite flows use the two halves, so nobody walks along the
        # middle, where the test scenes put a counting line parallel to the flow.
        mid = (lo + hi) / 2
        lane = (lo, mid - 0.35) if sign > 0 else (mid + 0.35, hi)
        width = (n - 1) * spacing
        centre = float(
            rng.uniform(lane[0] + width / 2, max(lane[0] + width / 2, lane[1] - width / 2))
        )
        stop_at, stop_for = math.inf, 0.0
        if rng.random() < spec.stop_probability:
            stop_at, stop_for = float(rng.uniform(1.0, along)), float(rng.uniform(1.0, 4.0))
        turn_at = math.inf
        if spec.turn_probability > 0 and rng.random() < spec.turn_probability:
            # Up to a line in the middle of the picture, and back out the way they came.
            turn_at = float(along * rng.uniform(0.4, 0.6)) + 1.0
            stop_at = math.inf
        members = []
        for k in range(n):
            offset = centre + (k - (n - 1) / 2) * spacing
            lag = float(rng.uniform(-0.2, 0.2))
            start = np.array([offset, begin]) if vertical else np.array([begin, offset])
            members.append(
                Person(
                    start=start - heading * lag,
                    heading=heading,
                    speed=speed,
                    t0=t0,
                    length=(along + 2.0 if turn_at == math.inf else 2 * turn_at) + lag,
                    turn_at=turn_at,
                    stop_at=stop_at,
                    stop_for=stop_for,
                    clothes=CLOTHES[int(rng.integers(len(CLOTHES)))],
                    hair=HAIR[int(rng.integers(len(HAIR)))],
                    phase=float(rng.uniform(0, 2 * math.pi)),
                )
            )
        return members

    def _box(self, p: Person, t: float) -> tuple[float, float, float, float, float]:
        """(foot x, foot y, box w, box h, pixels per metre) of a person on the image."""
        x, y, scale = self._project(p.position(t))
        if self.spec.view == "oblique":
            return x, y, SHOULDER_W * scale, self.spec.upright * HEIGHT * scale, scale
        a, b = SHOULDER_W / 2 * scale, SHOULDER_D / 2 * scale
        theta = math.atan2(p.heading[1], p.heading[0]) + math.pi / 2
        ex = math.hypot(a * math.cos(theta), b * math.sin(theta))
        ey = math.hypot(a * math.sin(theta), b * math.cos(theta))
        return x, y + ey, 2 * ex, 2 * ey, scale

    def _active(self, p: Person, t: float) -> bool:
        return t >= p.t0 and p.along(t) <= p.length

    def _trace(self) -> None:
        w, h = self.spec.width, self.spec.height
        for i in range(self.n_frames):
            t = i / self.spec.fps
            for p in self.people:
                if self._active(p, t):
                    fx, fy, *_ = self._box(p, t)
                    if 0 <= fx <= w and 0 <= fy <= h:
                        p.trail[i] = (fx, fy)

    def truth(self, since: float = 0.0) -> list[dict[str, int]]:
        """Exact crossings per spec line, by the gt_crossings.py rule on foot points.

        `since` (seconds) leaves out crossings before it, e.g. while a counter is still
        learning the empty scene.
        """
        return [self.truth_for(line, since) for line in self.spec.lines]

    def truth_for(
        self, line: tuple[float, float, float, float], since: float = 0.0
    ) -> dict[str, int]:
        w, h = self.spec.width, self.spec.height
        first = math.ceil(since * self.spec.fps)
        tracks = {
            i: [(f, xy) for f, xy in p.trail.items() if f >= first]
            for i, p in enumerate(self.people)
            if p.trail
        }
        scaled = (line[0] * w, line[1] * h, line[2] * w, line[3] * h)
        return reference_crossings(tracks, scaled)

    # -- drawing ----------------------------------------------------------------------------
    def _background(self) -> np.ndarray:
        w, h = self.spec.width, self.spec.height
        rng = np.random.default_rng(self.spec.seed + 1000)
        low = cv2.resize(rng.normal(0, 10, (max(2, h // 40), max(2, w // 40))), (w, h))
        img = np.clip(150 + low, 0, 255).astype(np.uint8)
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        tile = 0.6
        if self.spec.view == "top":
            step = tile * self.px_per_m
            for x in np.arange(0, w, step):
                cv2.line(img, (int(x), 0), (int(x), h), (128, 128, 132), 1)
            for y in np.arange(0, h, step):
                cv2.line(img, (0, int(y)), (w, int(y)), (128, 128, 132), 1)
            pillar = (int(w * 0.08), int(h * 0.12))
            cv2.circle(img, pillar, int(0.3 * self.px_per_m), (95, 95, 100), -1)
        else:
            for d in np.arange(NEAR, FAR + 1, tile):
                y = int(self._project(np.array([0.0, d]))[1])
                cv2.line(img, (0, y), (w, y), (130, 130, 134), 1)
            for x in np.arange(-8, 8.1, tile * 2):
                a = self._project(np.array([x, NEAR]))
                b = self._project(np.array([x, FAR]))
                cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (130, 130, 134), 1)
        return img

    def _draw(self, img: np.ndarray, p: Person, t: float) -> None:
        x, y, bw, bh, scale = self._box(p, t)
        if self.spec.view == "top":
            cx, cy = self._project(p.position(t))[:2]
            angle = math.degrees(math.atan2(p.heading[1], p.heading[0])) + 90
            axes = (max(1, int(SHOULDER_W / 2 * scale)), max(1, int(SHOULDER_D / 2 * scale)))
            cv2.ellipse(img, (int(cx), int(cy)), axes, angle, 0, 360, p.clothes, -1, cv2.LINE_AA)
            head = max(1, int(HEAD_R * scale))
            cv2.circle(img, (int(cx), int(cy)), head, p.hair, -1, cv2.LINE_AA)
            return
        gait = math.sin(2 * math.pi * 1.8 * (t - p.t0) + p.phase) * 0.1 * scale
        leg_top = y - 0.5 * bh
        for dx in (-0.09 * scale + gait, 0.09 * scale - gait):
            cv2.line(img, (int(x + dx * 0.3), int(leg_top)), (int(x + dx), int(y - 0.04 * scale)),
                     (45, 40, 40), max(1, int(0.16 * scale)), cv2.LINE_AA)
        torso = (int(x), int(y - 0.68 * bh))
        cv2.ellipse(img, torso, (max(1, int(bw / 2)), max(1, int(0.22 * bh))), 0, 0, 360,
                    p.clothes, -1, cv2.LINE_AA)
        cv2.circle(img, (int(x), int(y - 0.93 * bh)), max(1, int(0.07 * bh)), p.hair, -1,
                   cv2.LINE_AA)

    def _shadows(self, img: np.ndarray, people: list[Person], t: float) -> None:
        """Each person's shadow on the floor, cast by a light to their left: a darker
        ellipse beside the feet that moves with them (what a motion detector sees too)."""
        mask = np.zeros(img.shape[:2], np.uint8)
        for p in people:
            x, y, bw, bh, scale = self._box(p, t)
            if self.spec.view == "top":
                cx, cy = self._project(p.position(t))[:2]
                centre, axes = (int(cx + 0.35 * scale), int(cy + 0.1 * scale)), (0.35, 0.2)
            else:
                centre, axes = (int(x + 0.45 * scale), int(y - 0.02 * scale)), (0.5, 0.1)
            size = (max(1, int(axes[0] * scale)), max(1, int(axes[1] * scale)))
            cv2.ellipse(mask, centre, size, 0, 0, 360, 255, -1, cv2.LINE_AA)
        shade = cv2.convertScaleAbs(img, alpha=1.0 - self.spec.shadow)
        np.copyto(img, shade, where=mask[:, :, None] > 127)

    def _post(self, img: np.ndarray) -> None:
        """A dark lamp post from the top edge to 85 % of the height, with a sign on it."""
        w, h = self.spec.width, self.spec.height
        x, half = int(self.spec.post_x * w), max(1, int(0.012 * w))
        cv2.rectangle(img, (x - half, 0), (x + half, int(0.85 * h)), (60, 62, 66), -1)
        cv2.rectangle(img, (x - 4 * half, int(0.2 * h)), (x + 4 * half, int(0.3 * h)),
                      (150, 110, 40), -1)

    def gain(self, t: float) -> float:
        spec = self.spec
        g = 1.0 + spec.lighting * math.sin(2 * math.pi * t / 45.0)
        if spec.light_switch and 0.4 * spec.seconds <= t < 0.6 * spec.seconds:
            g *= 0.7
        return g

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """Every frame in order, with its time in seconds from the scene's start."""
        rng = np.random.default_rng(self.spec.seed + 2000)
        shape = self.background.shape
        bank = [
            np.clip(rng.normal(0, self.spec.noise, shape), -40, 40).astype(np.int16)
            for _ in range(6)
        ]
        noise = [(np.clip(n, 0, None).astype(np.uint8), np.clip(-n, 0, None).astype(np.uint8))
                 for n in bank]
        for i in range(self.n_frames):
            t = i / self.spec.fps
            img = self.background.copy()
            visible = [p for p in self.people if self._active(p, t)]
            visible.sort(key=lambda p: p.position(t)[1] if self.spec.view == "oblique" else 0.0,
                         reverse=self.spec.view == "oblique")
            if self.spec.shadow > 0:
                self._shadows(img, visible, t)
            for p in visible:
                self._draw(img, p, t)
            if self.spec.post_x > 0:
                self._post(img)
            img = cv2.convertScaleAbs(img, alpha=self.gain(t))
            plus, minus = noise[i % len(noise)]
            img = cv2.subtract(cv2.add(img, plus), minus)
            yield img, t


def write_video(scene: Scene, path: str, fourcc: str = "mp4v") -> int:
    """Encode the scene to a video file; returns the number of frames written."""
    spec = scene.spec
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), spec.fps,
                             (spec.width, spec.height))
    if not writer.isOpened():
        raise OSError(f"{path}: cannot open a {fourcc} video writer")
    n = 0
    try:
        for frame, _t in scene.frames():
            writer.write(frame)
            n += 1
    finally:
        writer.release()
    return n
