"""Neighbours' live flows: the collector summarises, each node's bridge hands it to its sign.

The collector publishes, retained, per site, pedestrians per minute of every node/sensor over
the last `window_s` of that sensor's newest bins (event time, so a node that fell behind shows
its last known flow, and the sign ignores it once it is older than its own staleness limit).
"""

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloud_bridge import topics
from cloud_bridge.wire import dumps
from walkway.timeutil import iso_z

if TYPE_CHECKING:
    from cloud_bridge.collector_store import CollectorStorage

def flows_messages(storage: "CollectorStorage", now: float,
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".neighbours-")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
