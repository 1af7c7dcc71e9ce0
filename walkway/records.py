"""The ingestion records every wing shares: what a source emits, what the store bins.

Sources (sensors/) emit `Batch`es of `Observation`s and `Measurement`s; the edge store
commits each batch in one transaction; the signage player's proof of play is a batch too.
They live in the core so the store and the sign never import sensor code.
"""

from collections.abc import Sequence
from dataclasses import dataclass

# A watermark meaning "this source will send nothing older than anything, ever" (end of file).
END_OF_TIME = 1e15

# The source the signage player's proof of play is stored under: scenes shown, not people.
PLAY_SOURCE = "signage"

# Bin kinds in the store's outbox and on the wire (docs/wire.md).
COUNT = "count"
MEASURE = "measure"

# Sensor, direction and quantity names as the wire schema accepts them (cloud_bridge/schemas/).
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,79}"
# Node and site ids: config keys, MQTT topic levels, certificate names.
NODE_ID_PATTERN = r"[a-z0-9-]{1,40}"


@dataclass(frozen=True, slots=True)
class Observation:
    """`count` pedestrians seen by `sensor` going `direction` at `time` (epoch s, UTC)."""

    time: float
    sensor: str
    direction: str
    count: int


@dataclass(frozen=True, slots=True)
class Measurement:
    """One reading of a physical quantity (e.g. `temperature_c`, `snow_depth_mm`)."""

    time: float
    sensor: str
    quantity: str
    value: float


@dataclass(frozen=True, slots=True)
class Batch:
    """What a source hands to the edge, committed atomically.

    position: opaque resume point (e.g. a file offset); None keeps the stored one.
    watermark: the source promises nothing older than this will follow (event time);
      bins ending `grace_seconds` before it are sealed. Live sources use their clock.
    """

    observations: Sequence[Observation] = ()
    measurements: Sequence[Measurement] = ()
    position: str | None = None
    watermark: float | None = None
