"""The city side: collector ingestion on PostgreSQL with 1, 2 and 4 collectors against one on
SQLite, and the dashboard API's latency over a year of hourly rollups for 200 places.

ingestion: the same counts messages (20 nodes, 100 one-minute bins each) are published QoS 1
           to a fresh mosquitto; `walkway collector run` processes in the shared
           subscription store them; bins/s from the first publish until every bin is in the
           database. Ratios are against one collector on SQLite, in the same run.
api:       200 places, a year of hourly (and daily) rollups loaded into PostgreSQL, the app
           served on a free port; p50/p95 per API endpoint over repeated requests, against
           the login page (no database) as the baseline. Target: every p95 < 300 ms.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from walkway.local_broker import Mosquitto
from walkway.local_postgres import LocalPostgres
from walkway.timeutil import iso_z

NODES, MESSAGES_PER_NODE, BINS_PER_MESSAGE = 20, 20, 100
T0 = 1_767_225_600  # 2026-01-01T00:00Z
PLACES, YEAR_HOURS = 200, 365 * 24
REQUESTS = 25


def payloads() -> list[tuple[str, bytes]]:
    out = []
    for n in range(NODES):
        node = f"bench-n{n:02d}"
        for m in range(MESSAGES_PER_NODE):
            bins = [{"sensor": "cam.main", "start": iso_z(T0 + 60 * (m * BINS_PER_MESSAGE + b)),
                     "seconds": 60, "direction": "in", "count": 1 + b % 9, "version": 1}
                    for b in range(BINS_PER_MESSAGE)]
            body = {"v": 1, "type": "counts", "msg": f"{n:04x}{m:08x}", "site": "sapporo",
                    "node": node, "sent": iso_z(T0), "bins": bins}
            out.append((f"walkway/v1/sapporo/{node}/counts", json.dumps(body).encode()))
    return out


def stored_bins(db: str, node: str | None = None) -> int:
    """Bins stored (of one node, or of every node but the probe)."""
    from cloud_bridge.collector_store import open_storage

    storage = open_storage(db)
    where = "node = %s" if node else "node <> %s"
    try:
        return int(storage._rows(f"SELECT count(*) FROM counts WHERE {where}",
                                 (node or "probe",))[0][0])
    finally:
        storage.close()


def ingest(db: str, collectors: int, messages: list[tuple[str, bytes]], work: Path) -> float:
    broker = Mosquitto(work / f"broker-{collectors}-{abs(hash(db)) % 1000}").start()
    procs = []
    try:
        stored_bins(db)  # create the schema before the collectors race to
        procs = [subprocess.Popen([sys.executable, "-m", "walkway", "collector", "run",
                                   "--broker", broker.url, "--db", db],
                                  stderr=(work / "collector.log").open("ab"))
                 for _ in range(collectors)]
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub",
                             protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(200)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        # A shared subscription without subscribers drops messages: probe until one is stored,
        # then give the other collectors a moment to subscribe too.
        probe = json.loads(messages[0][1])
        probe["node"], probe["bins"] = "probe", probe["bins"][:1]
        deadline = time.monotonic() + 60
        while stored_bins(db, "probe") == 0:
            if time.monotonic() > deadline:
                raise TimeoutError("no collector subscribed within 60 s")
            client.publish("walkway/v1/sapporo/probe/counts", json.dumps(probe), qos=1)
            time.sleep(0.3)
        time.sleep(1.0 if collectors > 1 else 0)
        total = len(messages) * BINS_PER_MESSAGE
        t0 = time.perf_counter()
        for topic, body in messages:
            client.publish(topic, body, qos=1)
        deadline = time.monotonic() + 300
        while stored_bins(db) < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{collectors} collectors on {db[:20]}: not all stored")
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        client.loop_stop()
        client.disconnect()
        return total / elapsed
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
        broker.stop()


def bench_ingestion(pg: LocalPostgres, work: Path) -> dict:
    messages = payloads()
    sqlite = ingest(str(work / "cloud.db"), 1, messages, work)
    out = {"bins": len(messages) * BINS_PER_MESSAGE, "sqlite_1_bins_per_s": round(sqlite)}
    for n in (1, 2, 4):
        rate = ingest(pg.create_database(f"ingest_{n}"), n, messages, work)
        out[f"postgresql_{n}_bins_per_s"] = round(rate)
        out[f"postgresql_{n}_vs_sqlite_1"] = round(rate / sqlite, 2)
    return out


def load_year(url: str, places_file: Path) -> None:
    """200 places x a year of hourly rollups (one people series each), and daily ones."""
    import psycopg

    from cloud_bridge.collector_batch import CityDays
    from cloud_bridge.collector_store import open_storage

    open_storage(url).close()  # the schema
    days = CityDays()
    lines = ["[city]", 'timezone = "Asia/Tokyo"']
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY counts_hourly (site, node, sensor, direction, hour,"
                                " count, bins) FROM STDIN") as copy:
            daily: dict[tuple[str, int], int] = {}
            for p in range(PLACES):
                node = f"n{p:03d}"
                for h in range(YEAR_HOURS):
                    at = T0 + h * 3600
                    n = (p % 17 + 3) * (1 + (h % 24 in range(7, 20))) * 10
                    copy.write_row(("sapporo", node, "gate", "pass", at, n, 60))
                    key = (node, days.day_of(at))
                    daily[key] = daily.get(key, 0) + n
        with conn.cursor().copy("COPY counts_daily (site, node, sensor, direction, day, count,"
                                " bins) FROM STDIN") as copy:
            for (node, day), n in daily.items():
                copy.write_row(("sapporo", node, "gate", "pass", day, n, 1440))
        conn.execute("ANALYZE counts_hourly")
        conn.execute("ANALYZE counts_daily")
    for p in range(PLACES):
        lines += ["[[places]]", f'id = "p{p:03d}"', 'site = "sapporo"', 'kind = "exit"',
                  f'name = {{en = "Place {p}"}}', f"lat = {43.05 + (p % 20) * 0.001:.4f}",
                  f"lon = {141.34 + (p // 20) * 0.002:.4f}", "route_m = 100",
                  "[[places.counters]]", f'node = "n{p:03d}"', 'sensor = "gate"']
    places_file.write_text("\n".join(lines) + "\n")


def bench_api(pg: LocalPostgres, work: Path) -> dict:
    from city.auth import add_user
    from city.web import build_app, serve
    from cloud_bridge.collector_store import open_storage
    from walkway.places import load_places

    url = pg.create_database("api_year")
    t0 = time.perf_counter()
    load_year(url, work / "places.toml")
    load_s = time.perf_counter() - t0
    add_user(work / "users.json", "bench", "viewer", "bench-pass")
    storage = open_storage(url)
    server = serve(build_app(storage, load_places(work / "places.toml"), work / "users.json"),
                   "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    opener.open(f"{base}/login", urllib.parse.urlencode(
        {"name": "bench", "password": "bench-pass"}).encode(), timeout=30).read()
    paths = ["/login", "/api/map", "/api/places", "/api/place/p042?days=7",
             "/api/place/p042?days=365", "/api/compare?mode=week", "/api/compare?mode=snow",
             "/api/report?days=7", "/api/report?days=28", "/api/open-data?days=1"]
    out: dict = {"places": PLACES, "hourly_rows": PLACES * YEAR_HOURS,
                 "load_s": round(load_s, 1)}
    try:
        for path in paths:
            times = []
            for _ in range(REQUESTS):
                t = time.perf_counter()
                with opener.open(base + path, timeout=60) as r:
                    r.read()
                    assert r.status == 200, path
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            out[path] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1)}
        baseline = out["/login"]["p95_ms"]
        worst = max(v["p95_ms"] for k, v in out.items() if k.startswith("/api/"))
        out["worst_api_p95_ms"] = worst
        out["worst_vs_login_page"] = round(worst / baseline, 1)
        out["target_p95_ms"] = 300
        out["meets_target"] = worst < 300
    finally:
        server.shutdown()
        server.server_close()
        storage.close()
    return out


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pg = LocalPostgres().start()
        try:
            results = {"ingestion": bench_ingestion(pg, work), "api": bench_api(pg, work)}
        finally:
            pg.remove()
    for section, figures in results.items():
        print(f"-- {section}")
        for key, value in figures.items():
            print(f"   {key:34} {value}")
    return results
