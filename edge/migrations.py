"""Edge store schema, versioned with PRAGMA user_version. Append migrations; never edit one."""

import sqlite3

from walkway.errors import StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: bins (the outbox), per-source positions, counters. Partial indexes: a bin moving
    # through the outbox states touches at most one index entry.
    """
    CREATE TABLE IF NOT EXISTS bins (
        id INTEGER PRIMARY KEY,
        node TEXT NOT NULL,
        sensor TEXT NOT NULL,
        start INTEGER NOT NULL,
        seconds INTEGER NOT NULL,
        kind TEXT NOT NULL,
        direction TEXT NOT NULL,
        source TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 0,
        vsum REAL, vmin REAL, vmax REAL,
        version INTEGER NOT NULL DEFAULT 1,
        state TEXT NOT NULL DEFAULT 'open',
        updated_at REAL, sealed_at REAL, delivered_at REAL,
        UNIQUE (node, sensor, start, seconds, kind, direction)
    );
    CREATE INDEX IF NOT EXISTS bins_outbox ON bins(id) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS bins_open_by_source ON bins(source, start) WHERE state = 'open';
    CREATE INDEX IF NOT EXISTS bins_by_start ON bins(start);
    CREATE TABLE IF NOT EXISTS source_state (
        source TEXT PRIMARY KEY, position TEXT, watermark REAL, updated_at REAL,
        status TEXT, status_at REAL
    );
    CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """,
    # 2: operations (issue 6): processes' heartbeats (edge, bridge) for health, status and
    # the set-config rollback check; results of processed remote commands, kept until
    # they expire so a re-delivered command is answered again without running twice.
    """
    CREATE TABLE IF NOT EXISTS node_state (
        name TEXT PRIMARY KEY, value TEXT NOT NULL, at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS commands (
        id TEXT PRIMARY KEY, command TEXT NOT NULL, received_at REAL NOT NULL,
        expires_at REAL NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS commands_by_expiry ON commands(expires_at);
    """,
    # 3: the unsent bins (open, pending, sending) by state (issue 18, the soak). The bridge's
    # health counted bins by state and looked for the oldest unsent one by reading the whole
    # table: its SQLite page cache and then malloc's free lists grew with the store's history
    # (delivered bins, kept 48 h). With this index those reads touch only the outbox. Queries
    # must say `state != 'delivered'` for SQLite to use it (edge/store.py UNSENT).
    """
    CREATE INDEX IF NOT EXISTS bins_unsent ON bins(state, start, sealed_at)
        WHERE state != 'delivered';
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(StoreError):
    pass


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION in one transaction per step. Returns the version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"store schema version {version} is newer than this software's "
                f"{SCHEMA_VERSION}: upgrade walkway"
            )
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION
