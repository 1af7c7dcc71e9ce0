"""Neighbours' live flows: the collector summarises, each node's bridge hands it to its sign.

The collector publishes, retained, per site, pedestrians per minute of every node/sensor over
the last `window_s` of that sensor's newest bins (event time, so a node that fell behind shows
its last known flow, and the sign ignores it once it is older than its own staleness limit).
"""

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from cloud_bridge import topics
from cloud_bridge.wire import dumps
from walkway.timeutil import iso_z

FLOW_SQL = """
WITH recent AS (
    SELECT site, node, sensor, start, seconds, count FROM counts WHERE received_at >= ?
), newest AS (
    SELECT site, node, sensor, max(start + seconds) AS until FROM recent
    GROUP BY site, node, sensor
)
SELECT r.site, r.node, r.sensor, sum(r.count), n.until - min(r.start) FROM recent r JOIN newest n
    USING (site, node, sensor)
WHERE r.start >= n.until - ?
GROUP BY r.site, r.node, r.sensor
"""


def site_flows(conn: sqlite3.Connection, now: float, window_s: int,
               recent_s: float = 3600) -> dict[str, dict[str, float]]:
    """{site: {"node/sensor": per_minute}} from bins received in the last `recent_s`."""
    out: dict[str, dict[str, float]] = {}
    for site, node, sensor, total, covered in conn.execute(FLOW_SQL, (now - recent_s, window_s)):
        # Per minute over the span the bins cover, so a sensor with two minutes of data is
        # not diluted over the whole window.
        out.setdefault(site, {})[f"{node}/{sensor}"] = round(total * 60 / covered, 2)
    return out


def flows_messages(conn: sqlite3.Connection, now: float,
                   window_s: int = 300) -> list[tuple[str, bytes]]:
    return [
        (topics.site_topic(site, topics.FLOWS),
         dumps({"v": 1, "type": "flows", "site": site, "at": iso_z(now),
                "window_s": window_s, "counts": counts}))
        for site, counts in site_flows(conn, now, window_s).items()
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
