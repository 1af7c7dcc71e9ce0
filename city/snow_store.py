"""Segment clearings and snow gauges in the collector database (SQLite or PostgreSQL).

`snow_clearings` (segment, at, crew) is this feature's own table, created on first use with
SQL both backends speak; a crew marks a segment cleared with `walkway city snow-cleared` or
POST /api/snow/cleared. Only the newest clearing of a segment counts for the plan. Gauges are
the collector's `snow_depth_mm` measures, placed where the place model puts their node.
"""

from typing import Any

from city.snow_depth import Gauge
from walkway.places import PlaceModel

SCHEMA = ("CREATE TABLE IF NOT EXISTS snow_clearings (segment TEXT NOT NULL, at REAL NOT NULL,"
          " crew TEXT NOT NULL, PRIMARY KEY (segment, at))")
GAUGE_QUANTITY = "snow_depth_mm"


def _ensure(storage: Any) -> None:
    # Both backends' connections are in autocommit mode: one statement, one transaction.
    storage._execute(SCHEMA)


def mark_cleared(storage: Any, segment: str, at: float, crew: str) -> None:
    _ensure(storage)
    storage._execute("INSERT INTO snow_clearings (segment, at, crew) VALUES (%s, %s, %s)"
                     " ON CONFLICT (segment, at) DO UPDATE SET crew = excluded.crew",
                     (segment, float(at), crew))


def clearings(storage: Any) -> dict[str, float]:
    """segment id -> time of its newest clearing."""
    _ensure(storage)
    return {seg: float(at) for seg, at in storage._rows(
        "SELECT segment, max(at) FROM snow_clearings GROUP BY segment")}


def gauges(storage: Any, model: PlaceModel) -> list[Gauge]:
    """One gauge per node with snow_depth_mm readings and a place (the place's position)."""
    where: dict[str, tuple[float, float]] = {}
    for place in sorted(model.places.values(), key=lambda p: p.id):
        for c in place.counters:
            where.setdefault(c.node, (place.lon, place.lat))
    readings: dict[str, list[tuple[float, float]]] = {}
    for row in storage.measures():
        if row["quantity"] == GAUGE_QUANTITY and row["node"] in where and row["mean"] is not None:
            at = float(row["start"]) + float(row["seconds"])
            readings.setdefault(row["node"], []).append((at, float(row["mean"]) / 10))
    return [Gauge(node, *where[node], tuple(sorted(r))) for node, r in sorted(readings.items())]
