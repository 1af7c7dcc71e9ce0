"""Background models for the motion detector: grey frame in, foreground mask out.

"average" (default): a per-pixel running average with a threshold from the frame's own noise
level. About 20 times cheaper than MOG2, which matters when the node must keep up with the
camera on one core; good for the steady artificial light of walkways and stations.
"mog2": OpenCV's Gaussian-mixture model, for scenes with a moving background (trees, water,
flickering screens), at about a third of a millisecond more per frame at 160 px.
"""

import cv2
import numpy as np

BACKGROUNDS = ("average", "mog2")
# Background pixels follow the scene within this many seconds (light drifting, noise);
# pixels under a person only over `background_seconds`, so a person who stops stays seen.
FAST_S = 2.0
NOISE_CLIP = 16  # grey levels: differences above this are people, not noise
MIN_DIFF = 10.0  # never call a difference below this foreground, however clean the picture
# The empty scene is first learnt as the per-pixel median of this many seconds of frames
# (people walk on, the floor stays), so people present at start-up leave no ghosts.
WARM_S = 1.5
WARM_FRAMES = 15
SHADOW_RANGE = (0.7, 0.92)  # grey / background ratios taken for a cast shadow


class AverageBackground:
    def __init__(self, fps: float, slow_s: float, var_threshold: float) -> None:
        self.fast = 1.0 / max(1.0, FAST_S * fps)
        self.slow = 1.0 / max(1.0, slow_s * fps)
        self.k = float(np.sqrt(var_threshold))  # like MOG2: foreground beyond k sigma
        self.warm_every = max(1, round(WARM_S * fps / WARM_FRAMES))
        self.reset()

    def reset(self) -> None:
        self.mean: np.ndarray | None = None
        self.warm: list[np.ndarray] = []  # small grey frames, in memory for WARM_S only
        self.frames = 0

    def seed(self, samples: list[np.ndarray]) -> None:
        """Start from the median of frames sampled across a whole recording (offline)."""
        self.mean = np.median(np.stack(samples), axis=0).astype(np.float32)
        self.warm = []

    def apply(self, gray: np.ndarray) -> np.ndarray | None:
        """The foreground mask (0/255), or None while the empty scene is being learnt."""
        self.frames += 1
        if self.mean is None:
            if (self.frames - 1) % self.warm_every == 0:
                self.warm.append(gray.copy())
            if len(self.warm) < WARM_FRAMES:
                return None
            self.mean = np.median(np.stack(self.warm), axis=0).astype(np.float32)
            self.warm = []
        diff = cv2.absdiff(gray, cv2.convertScaleAbs(self.mean))
        # Mean absolute difference of the background ~ 0.8 sigma of the noise.
        sigma = 1.25 * float(cv2.mean(cv2.min(diff, NOISE_CLIP))[0])
        _, mask = cv2.threshold(diff, max(MIN_DIFF, self.k * sigma), 255, cv2.THRESH_BINARY)
        cv2.accumulateWeighted(gray, self.mean, self.slow)
        cv2.accumulateWeighted(gray, self.mean, self.fast, mask=cv2.bitwise_not(mask))
        if SHADOW_RANGE:
            # A shadow darkens the floor by a steady fraction; a body replaces it. Pixels
            # darker than the floor by only that fraction are taken for shadow, not person.
            lo = cv2.convertScaleAbs(self.mean, alpha=SHADOW_RANGE[0])
            hi = cv2.convertScaleAbs(self.mean, alpha=SHADOW_RANGE[1])
            shadow = cv2.bitwise_and(cv2.compare(gray, lo, cv2.CMP_GE),
                                     cv2.compare(gray, hi, cv2.CMP_LE))
            mask = cv2.bitwise_and(mask, cv2.bitwise_not(shadow))
        return mask


class Mog2Background:
    def __init__(self, fps: float, slow_s: float, var_threshold: float) -> None:
        self.history = max(50, int(slow_s * fps))
        self.var_threshold = var_threshold
        self.reset()

    def reset(self) -> None:
        self.model = cv2.createBackgroundSubtractorMOG2(
            self.history, self.var_threshold, detectShadows=False
        )
        self.fresh = True

    def seed(self, samples: list[np.ndarray]) -> None:
        for gray in samples:
            self.model.apply(gray)
        self.fresh = False

    def apply(self, gray: np.ndarray) -> np.ndarray | None:
        mask = self.model.apply(gray)
        if self.fresh:  # MOG2 calls everything foreground on its first frame
            self.fresh = False
            return None
        return mask


def make_background(
    name: str, fps: float, slow_s: float, var_threshold: float
) -> AverageBackground | Mog2Background:
    kind = Mog2Background if name == "mog2" else AverageBackground
    return kind(fps, slow_s, var_threshold)
