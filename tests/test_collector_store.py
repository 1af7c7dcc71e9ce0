"""Collector storage on both backends (SQLite file, real PostgreSQL): the site in every key,
versioned idempotent upserts, rollups that follow revisions, the SQLite migration, and
`export | head` without a traceback."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from support.walkway_procs import ROOT, run_walkway

from cloud_bridge.collector_sqlite import V1
from cloud_bridge.collector_store import open_storage

T0 = "2026-01-14T00:00:00Z"  # 09:00 in Sapporo


def counts(site: str, node: str, bins: list[tuple[str, str, int, int]]) -> dict:
    return {"v": 1, "type": "counts", "msg": "ab" * 8, "site": site, "node": node,
            "sent": T0, "bins": [{"sensor": "cam", "start": start, "seconds": 60,
                                  "direction": d, "count": n, "version": v}
                                 for start, d, n, v in bins]}


def test_same_node_id_at_two_sites_is_two_nodes(collector_db: str) -> None:
    storage = open_storage(collector_db)
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 5, 1)]), 1.0)
    storage.upsert(counts("otaru", "n1", [(T0, "in", 9, 1)]), 1.0)
    storage.commit()
    rows = [(r["site"], r["node"], r["count"]) for r in storage.counts()]
    assert rows == [("otaru", "n1", 9), ("sapporo", "n1", 5)]
    hourly = {(r["site"], r["count"]) for r in storage.rollup("hour", 0, 2e9)}
    assert hourly == {("otaru", 9), ("sapporo", 5)}
    storage.close()


def test_rollups_follow_revisions_and_ignore_resends(collector_db: str) -> None:
    storage = open_storage(collector_db)
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 5, 1), ("2026-01-14T00:01:00Z",
                                                              "in", 3, 1)]), 1.0)
    storage.commit()
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 5, 1)]), 2.0)  # a re-send
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 8, 2)]), 2.0)  # a revision
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 1, 1)]), 2.0)  # an old version
    storage.commit()
    storage.upsert(counts("sapporo", "n1", [("2026-01-14T00:01:00Z", "in", 2, 3)]), 3.0)
    storage.commit()
    assert [(r["count"], r["version"]) for r in storage.counts()] == [(8, 2), (2, 3)]
    (hour,) = storage.rollup("hour", 0, 2e9)
    assert (hour["count"], hour["bins"]) == (10, 2)
    (day,) = storage.rollup("day", 0, 2e9)
    # The city day starts at midnight in Asia/Tokyo: 2026-01-13T15:00Z.
    assert (day["day"], day["count"], day["bins"]) == (1768316400, 10, 2)
    storage.close()


def test_sqlite_v1_database_is_migrated_with_its_data(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(V1)
        conn.execute("INSERT INTO counts VALUES ('sapporo','n1','cam',1768348800,60,'in',7,2,1.0)")
        conn.execute("INSERT INTO node_health VALUES ('n1','sapporo',1.0,1.0,'{}')")
        conn.execute("PRAGMA user_version=1")
    storage = open_storage(str(db))
    storage.upsert(counts("otaru", "n1", [(T0, "in", 4, 1)]), 2.0)
    storage.commit()
    assert [(r["site"], r["count"], r["version"]) for r in storage.counts()] == [
        ("otaru", 4, 1), ("sapporo", 7, 2)]
    assert sorted(r["count"] for r in storage.rollup("hour", 0, 2e9)) == [4, 7]
    assert list(storage.latest_health()) == ["sapporo/n1"]
    storage.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


def test_postgres_partitions_by_month_on_demand(postgres_url: str) -> None:
    storage = open_storage(postgres_url)
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 1, 1),
                                            ("2026-02-01T00:00:00Z", "in", 2, 1)]), 1.0)
    storage.commit()
    assert storage.partitions() == ["counts_y2026m01", "counts_y2026m02"]
    storage.close()


def test_export_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "cloud.db"))
    bins = [(f"2026-01-14T{h:02d}:{m:02d}:00Z", "in", 1, 1) for h in range(24) for m in range(60)]
    storage.upsert(counts("sapporo", "n1", bins), 1.0)
    storage.commit()
    storage.close()
    export = subprocess.Popen([sys.executable, "-m", "walkway", "collector", "export", "--db",
                               str(tmp_path / "cloud.db")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=ROOT)
    first = export.stdout.readline()
    export.stdout.close()  # like `| head -1`
    assert export.wait(30) == 0
    assert first.startswith(b"site,node,place")
    assert b"Traceback" not in export.stderr.read()


def test_export_names_places_from_a_places_file(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "cloud.db"))
    storage.upsert(counts("sapporo", "n1", [(T0, "in", 3, 1)]), 1.0)
    storage.commit()
    storage.close()
    places = tmp_path / "places.toml"
    places.write_text('[[places]]\nid = "north"\nsite = "sapporo"\nkind = "exit"\n'
                      'name = {en = "North exit", ja = "北口"}\nlat = 43.07\nlon = 141.35\n'
                      '[[places.counters]]\nnode = "n1"\nsensor = "cam"\n')
    out = run_walkway("collector", "export", "--db", str(tmp_path / "cloud.db"), "--places",
                      str(places), "--format", "json").stdout
    assert json.loads(out)[0]["place"] == "north"
