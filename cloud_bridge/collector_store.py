"""Collector storage behind one interface: SQLite (the laptop default) or PostgreSQL (the city).

Both backends share this module's write path. Messages received together are buffered by
`upsert`/`record_*`/`bump` and written in one transaction by `commit`:

1. every bin is keyed by (site, node, sensor, start, seconds, direction) -- the site is part
   of the key, so the same node id at two sites is two nodes; within a batch only the highest
   version of a key is kept;
2. the stored rows for those keys are locked and read (`_lock_and_read`, backend-specific);
3. a bin whose version is higher than the stored one replaces it, an equal or older version
   changes nothing (idempotent re-sends);
4. the difference between the new and the old count is added to the hourly and the city-day
   rollups (`counts_hourly`, `counts_daily`) in the same transaction, so rollups are always
   exactly the sum of the bins, however often a bin is revised.

Keys are written in sorted order, counts before rollups, so concurrent collectors on one
PostgreSQL take row locks in one global order and never deadlock each other.
"""

from collections.abc import Iterator
from typing import Any, Protocol

from cloud_bridge.collector_batch import HEALTH_HISTORY_S

__all__ = ["HEALTH_HISTORY_S", "CollectorStorage", "is_postgres_url", "open_storage"]


class CollectorStorage(Protocol):
    def upsert(self, message: dict[str, Any], received_at: float) -> int: ...
    def bump(self, counter: str, n: int = 1) -> None: ...
    def record_health(self, message: dict[str, Any], received_at: float) -> None: ...
    def record_result(self, message: dict[str, Any], received_at: float) -> None: ...
    def commit(self) -> None: ...
    def counts(self) -> Iterator[dict[str, Any]]: ...
    def site_flows(self, now: float, window_s: int,
                   recent_s: float = 3600) -> dict[str, dict[str, float]]: ...
    def close(self) -> None: ...


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def open_storage(db: str, *, must_exist: bool = False) -> "CollectorStorage":
    """`--db`: a SQLite file path or a postgresql:// URL (the same for every command)."""
    if is_postgres_url(db):
        from cloud_bridge.collector_pg import PostgresCollectorStorage

        return PostgresCollectorStorage(db)
    from pathlib import Path

    from cloud_bridge.collector_sqlite import SqliteCollectorStorage
    from walkway.errors import StoreError

    if must_exist and not Path(db).exists():
        raise StoreError(f"{db}: no such collector database")
    return SqliteCollectorStorage(db)


def __getattr__(name: str) -> Any:
    # Older imports: `from cloud_bridge.collector_store import SqliteCollectorStorage`.
    if name == "SqliteCollectorStorage":
        from cloud_bridge.collector_sqlite import SqliteCollectorStorage

        return SqliteCollectorStorage
    raise AttributeError(name)
