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
MIN_SHADOW_SHARE = 0.05  # shadow pixels below this share of the foreground are left in
FAST_S = 2.0  # as the grey background: floor pixels follow the scene within this


class ShadowFilter:
    def __init__(self, fps: float, slow_s: float) -> None:
        # The test runs on foreground pixels only, so the filter costs a small part of the
        # detector's time. (Refreshing the colours only every 4th frame saved a little more,
        # but changed the geometry learnt on TUD-Campus enough to flip its detector.)
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
        if self.mean is None or self.mean.shape != color.shape:
            self.mean = color.astype(np.float32) * gain
            return fg
        # accumulateWeighted takes the uint8 frame as it is: no float copy at unit gain.
        frame = color if gain == 1.0 else color.astype(np.float32) * gain
        cv2.accumulateWeighted(frame, self.mean, self.slow)
        cv2.accumulateWeighted(frame, self.mean, self.fast, mask=cv2.bitwise_not(fg))
        idx = np.flatnonzero(fg)
        if not idx.size:
            return fg
        ratio = color.reshape(-1, 3)[idx] * np.float32(gain) / (self.mean.reshape(-1, 3)[idx] + 1)
        b, g, r = ratio[:, 0], ratio[:, 1], ratio[:, 2]  # numpy's min over axis 1 is slow
        low = np.minimum(np.minimum(b, g), r)
        high = np.maximum(np.maximum(b, g), r)
        shadow = ((low >= SHADOW_RATIO[0]) & (high <= SHADOW_RATIO[1])
                  & (high - low <= SHADOW_SPREAD))
        dark = idx[shadow]
        if dark.size < MIN_SHADOW_SHARE * idx.size:
            return fg  # a few noisy pixels, no shadow worth the labelling
        return _cast_only(fg, dark)


def _cast_only(fg: np.ndarray, dark: np.ndarray) -> np.ndarray:
    """`fg` less its shadow pixels (flat indices `dark`) in blobs that have a caster."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    label = labels.reshape(-1)[dark]
    total = stats[:, cv2.CC_STAT_AREA]
    shaded = np.bincount(label, minlength=n)
    cast = (total - shaded) >= CASTER_SHARE * total
    out = fg.copy()
    out.reshape(-1)[dark[cast[label]]] = 0
    return out
