"""Picture health from the small grey frame: covered/dark, blinded, flat, frozen.

A condition must last `bad_s` (frozen: `frozen_s`) before it is reported, so a person
walking close past the lens is not an alarm; it clears on the first good frame.
"""

import cv2
import numpy as np

from sensors.base import SourceState
from sensors.camera.options import HealthOptions


class FrameHealth:
    def __init__(self, options: HealthOptions) -> None:
        self.options = options
        self.previous: np.ndarray | None = None
        self.bad_since: float | None = None
        self.frozen_since: float | None = None

    def check(self, gray: np.ndarray, now: float) -> tuple[SourceState, str] | None:
        """None when the picture is usable, else the state and a reason to report."""
        o = self.options
        mean, std = (float(np.ravel(v)[0]) for v in cv2.meanStdDev(gray))
        problem = ""
        if mean < o.dark_level and std < o.flat_std * 2:
            problem = f"lens covered or scene dark (mean level {mean:.0f})"
        elif mean > o.bright_level and std < o.flat_std * 2:
            problem = f"lens blinded (mean level {mean:.0f})"
        elif std < o.flat_std:
            problem = f"picture has no detail (contrast {std:.1f}): lens covered or fogged"
        # The pipeline may change its processing size once it has learnt the person size.
        same = (self.previous is not None and self.previous.shape == gray.shape
                and cv2.norm(gray, self.previous, cv2.NORM_INF) == 0)
        self.previous = gray.copy()
        if same:
            self.frozen_since = now if self.frozen_since is None else self.frozen_since
        else:
            self.frozen_since = None
        if problem:
            self.bad_since = now if self.bad_since is None else self.bad_since
            if now - self.bad_since >= o.bad_s:
                return SourceState.DEGRADED, problem
            return None
        self.bad_since = None
        if self.frozen_since is not None and now - self.frozen_since >= o.frozen_s:
            return SourceState.STALLED, f"picture frozen for {now - self.frozen_since:.0f} s"
        return None

    @property
    def suspect(self) -> bool:
        """True while a problem is building up: the detector should not learn from it."""
        return self.bad_since is not None
