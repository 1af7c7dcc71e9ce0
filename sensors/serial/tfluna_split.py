"""How many people one TF-Luna dip holds: its shape, and its duration against a learnt single.

Walkers who follow within ~0.4 s of each other leave no floor reading between them long
enough to end the dip (the exit debounce needs `exit_frames`), so one dip can be two or
three people. Two kinds of cue tell them apart (docs/sensors.md, "Close walkers"):

- Shape: seen from above, a person is highest at the head and shoulders and falls off at
  the chest and back. Between two people the beam sees the first one's back and the next
  one's front, or the floor: the distance rises by a clear bump between two minima. A bump
  is a rise of >= `bump_cm` from a minimum followed by a fall of >= `bump_cm`; one that
  survives a 3-frame median splits any dip. At 50 Hz and slower, in a dip long enough for
  two, one-frame cues split too: a one-frame bump and a floor reading (see `cuts`).
- Duration: at a given walking pace a person takes about the same time to pass. The
  single-person duration is learnt online: the median of the last `SAMPLES` dips that were
  one segment long and isolated (`ISOLATED_S` of floor before and after), so it follows the
  pace through the day. A segment of r times that duration counts floor(r + 2 - split_ratio)
  people (at least one, at most `MAX_GROUP`): with split_ratio 2.0, r = 2 is two people,
  r = 3 three. A dip without any bump or gap uses `smooth_split_ratio` (2.6) instead: with
  the shape cues two people in file nearly always leave a mark between them, and a single
  walker who is slow, broad or carries a bag reaches 2.2 singles (docs/sensors.md has the
  figures). Until `MIN_SAMPLES` dips were learnt only lasting bumps split: a guessed
  duration would split slow walkers.
"""

from collections import deque
from statistics import median

SAMPLES = 41
MIN_SAMPLES = 8
ISOLATED_S = 0.5
MAX_GROUP = 4
MIN_SEGMENT = 0.35  # a segment shorter than this fraction of a single is part of its neighbour
LONG_ENOUGH_FOR_TWO = 1.2  # singles: one-frame cues split only a dip at least this long
# One-frame cues only where a frame is this long (50 Hz and slower). The valley between two
# walkers in file lasts >= ~60 ms (the chest and back of the two, 2 x 20 % of a 0.26 m body
# at 1.7 m/s): at 100 Hz that is 6 frames and survives the median, so a one-frame event there
# is a stray frame, not a gap between people. At 25 Hz it is one or two frames.
ONE_FRAME_CUES_S = 0.02


def smooth3(values: list[int]) -> list[int]:
    """Median of each value and its two neighbours (ends kept): removes one-frame spikes."""
    if len(values) < 3:
        return list(values)
    out = [values[0]]
    out += [sorted(values[i - 1:i + 2])[1] for i in range(1, len(values) - 1)]
    out.append(values[-1])
    return out


def bump_splits(profile: list[int], bump_cm: float, smooth: bool = True) -> list[int]:
    """Indices of the bumps (local maxima of distance) that split a dip's profile."""
    splits: list[int] = []
    low = None
    peak = peak_i = None
    for i, x in enumerate(smooth3(profile) if smooth else profile):
        if peak is None:
            if low is None or x < low:
                low = x
            elif x - low >= bump_cm:
                peak, peak_i = x, i
        elif x > peak:
            peak, peak_i = x, i
        elif peak - x >= bump_cm:
            splits.append(peak_i)  # type: ignore[arg-type]
            low, peak = x, None
    return splits


def people_in_segment(frames: int, single: float | None, split_ratio: float) -> int:
    if single is None or single <= 0:
        return 1
    r = frames / single
    return max(1, min(MAX_GROUP, int(r + 2 - split_ratio + 1e-9)))


class SinglePassModel:
    """The learnt single-person dip duration (frames) and the split of one dip into people."""

    def __init__(self, frame_rate_hz: float, bump_cm: float, split_ratio: float,
                 smooth_split_ratio: float, person_max_cm: float) -> None:
        self.rate = frame_rate_hz
        self.smooth_split_ratio = smooth_split_ratio
        self.person_max_cm = person_max_cm  # farther is floor: a short gap inside the dip
        self.bump_cm = bump_cm
        self.split_ratio = split_ratio
        self.samples: deque[int] = deque(maxlen=SAMPLES)
        self.isolated_frames = max(1, round(ISOLATED_S * frame_rate_hz))
        self.one_frame_cues = 1.0 / frame_rate_hz >= ONE_FRAME_CUES_S - 1e-9

    @property
    def single(self) -> float | None:
        """Median frames of a single isolated pass, or None while still learning."""
        return median(self.samples) if len(self.samples) >= MIN_SAMPLES else None

    def single_ms(self) -> int:
        s = self.single
        return 0 if s is None else round(s * 1000.0 / self.rate)

    def cuts(self, profile: list[int], single: float | None) -> list[int]:
        """Where the dip splits. A bump that lasts (after the 3-frame median) splits any
        dip. One-frame cues split only a dip long enough for two (`LONG_ENOUGH_FOR_TWO`
        singles), so a stray frame inside one walker never does: a floor reading (the beam
        saw between two bodies; too short to end the dip) and a one-frame bump. At 25 Hz a
        3-10 cm gap between walkers in file is one frame or none, and the valley at the
        first one's back and the next one's chest is one or two: the median erases both."""
        cuts = set(bump_splits(profile, self.bump_cm))
        on_person = [d <= self.person_max_cm for d in profile]
        if self.one_frame_cues and single is not None \
                and sum(on_person) >= LONG_ENOUGH_FOR_TWO * single:
            cuts.update(bump_splits(profile, self.bump_cm, smooth=False))
            cuts.update(i for i in range(1, len(profile)) if on_person[i - 1]
                        and not on_person[i])
        return sorted(cuts)

    def segments(self, profile: list[int]) -> list[int]:
        """Frame lengths of the dip's segments between bumps and gaps (short ones merged)."""
        single = self.single
        cuts = self.cuts(profile, single)
        bounds = [0, *cuts, len(profile)]
        # Frames on a person only: a gap too short to end the dip is nobody's duration.
        lengths = [sum(1 for d in profile[a:b] if d <= self.person_max_cm)
                   for a, b in zip(bounds, bounds[1:], strict=False)]
        shortest = MIN_SEGMENT * single if single else 0.0
        merged: list[int] = []
        for n in lengths:
            # A sliver beside a bump is an arm, a bag or a hood of the same person.
            if merged and (n < shortest or merged[-1] < shortest):
                merged[-1] += n
            else:
                merged.append(n)
        return merged

    def count(self, profile: list[int]) -> tuple[int, list[int]]:
        """(people in this dip, its segments' lengths in frames on a person)."""
        segs = self.segments(profile)
        single = self.single
        # Without a bump a long dip is far more often one slow or broad walker than two
        # walkers touching: it needs more length to count as more than one.
        ratio = self.split_ratio if len(segs) > 1 else self.smooth_split_ratio
        return sum(people_in_segment(n, single, ratio) for n in segs), segs

    def learn(self, frames: int) -> None:
        """One isolated single-segment dip counted as one person."""
        self.samples.append(frames)
