"""Cast shadows out of the motion detector's foreground, by colour.

A shadow lowers the light falling on the floor, not the floor's colour: each colour channel
is darkened by about the same fraction. Clothes replace the floor's colour, so their
channels change by different fractions, however dark or light they are. A foreground pixel
whose three channels are each SHADOW_RATIO of the empty scene's, within SHADOW_SPREAD of
each other, is shadow (Cucchiara et al.'s test, in BGR ratios). A grey-only test cannot tell
a shadow from mid-grey or coloured clothes of the same brightness, so it has to keep to faint
shadows; this one can take dark ones. Clothes of the floor's own colour in a darker shade
are the known limit: they read as shadow wherever they are darker by that fraction.

The empty scene's colours are a small running average (in memory, never written): learnt
like the grey background, fast where there is no foreground and slowly under people.
"""

import cv2
import numpy as np

SHADOW_RATIO = (0.45, 0.92)  # channel / empty scene: darker than this is a body, lighter noise
SHADOW_SPREAD = 0.12  # largest difference between the three channels' ratios
# A shadow needs someone to cast it: a blob mostly "shadow" is a person seen with little
# contrast (behind glass, in dim clothes under a reflection), and stays whole. Shadow pixels
# leave a blob only when its caster (the rest) is at least this share of it.
CASTER_SHARE = 0.3
FAST_S = 2.0  # as the grey background: floor pixels follow the scene within this


class ShadowFilter:
    def __init__(self, fps: float, slow_s: float) -> None:
        self.fast = 1.0 / max(1.0, FAST_S * fps)
        self.slow = 1.0 / max(1.0, slow_s * fps)
        self.mean: np.ndarray | None = None

    def reset(self) -> None:
        self.mean = None

    def seed(self, colors: list[np.ndarray]) -> None:
        """Start from the median of frames sampled across a whole recording (offline)."""
        self.mean = np.median(np.stack(colors), axis=0).astype(np.float32)

    def resize(self, size: tuple[int, int]) -> None:
        if self.mean is not None:
            self.mean = cv2.resize(self.mean, size, interpolation=cv2.INTER_AREA)

    def apply(self, color: np.ndarray, fg: np.ndarray, gain: float) -> np.ndarray:
        """`fg` without its shadow pixels; `gain` is the grey normalisation of this frame."""
        frame = color.astype(np.float32)
        if gain != 1.0:
            frame *= gain
        if self.mean is None or self.mean.shape != frame.shape:
            self.mean = frame
            return fg
        ratio = cv2.divide(frame, self.mean + 1.0)
        b, g, r = cv2.split(ratio)
        low = cv2.min(cv2.min(b, g), r)
        high = cv2.max(cv2.max(b, g), r)
        shadow = cv2.bitwise_and(
            cv2.bitwise_and(cv2.compare(low, SHADOW_RATIO[0], cv2.CMP_GE),
                            cv2.compare(high, SHADOW_RATIO[1], cv2.CMP_LE)),
            cv2.compare(cv2.subtract(high, low), SHADOW_SPREAD, cv2.CMP_LE))
        floor = cv2.bitwise_not(cv2.bitwise_or(fg, shadow))
        cv2.accumulateWeighted(frame, self.mean, self.slow)
        cv2.accumulateWeighted(frame, self.mean, self.fast, mask=floor)
        return _cast_only(fg, shadow)


def _cast_only(fg: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """`fg` less the shadow pixels of blobs that have a caster in them."""
    dark = cv2.bitwise_and(fg, shadow)
    if not cv2.countNonZero(dark):
        return fg
    n, labels = cv2.connectedComponents(fg, connectivity=8)
    total = np.bincount(labels.ravel(), minlength=n)
    shaded = np.bincount(labels[dark > 0], minlength=n)
    cast = (total - shaded) >= CASTER_SHARE * total
    cast[0] = False
    drop = cast[labels] & (dark > 0)
    out = fg.copy()
    out[drop] = 0
    return out
