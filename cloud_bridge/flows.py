"""Neighbours' live flows: the collector summarises, each node's bridge hands it to its sign.

The collector publishes, retained, per site, pedestrians per minute of every node/sensor over
the last `window_s` of that sensor's newest bins (event time, so a node that fell behind shows
its last known flow, and the sign ignores it once it is older than its own staleness limit).
"""

import json
from pathlib import Path
from typing import Any, Protocol

from cloud_bridge import topics
from cloud_bridge.wire import dumps
from walkway.files import write_atomic
from walkway.timeutil import iso_z


class FlowSource(Protocol):
    """The collector storage's summary (CollectorStorage.site_flows)."""

    def site_flows(self, now: float, window_s: int) -> dict[str, dict[str, float]]: ...


def flows_messages(storage: FlowSource, now: float,
                   window_s: int = 300) -> list[tuple[str, bytes]]:
    return [
        (topics.site_topic(site, topics.FLOWS),
         dumps({"v": 1, "type": "flows", "site": site, "at": iso_z(now),
                "window_s": window_s, "counts": counts}))
        for site, counts in storage.site_flows(now, window_s).items()
    ]


def write_neighbours(path: Path, message: dict[str, Any], now: float) -> None:
    """The sign's neighbours file (signage_player.live), written atomically."""
    body = {"updated_at": now, "counts": message["counts"]}
    write_atomic(path, json.dumps(body))
