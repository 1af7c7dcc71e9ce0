"""A city app over a collector database seeded with the simulator's demand-model history,
health snapshots and proof-of-play bins; served on a free port in a thread."""

import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

from city.auth import add_user
from city.web import build_app, serve
from cloud_bridge.collector_store import open_storage
from simulator.history import snow_pattern, write_history
from simulator.places import write_places
from simulator.scenario import load_scenario
from walkway.places import load_places
from walkway.timeutil import iso_z

HISTORY_DAYS = 35
USERS = {"aiko": ("operator", "operator-pass"), "ken": ("viewer", "viewer-pass")}


def health(site: str, node: str, at: float, outbox: int, scene: str = "events") -> dict:
    return {"v": 1, "type": "health", "site": site, "node": node, "at": iso_z(at),
            "software": "0.1.0", "config_sha256": "", "uptime_s": 100.0, "cpu_temp_c": 45.0,
            "load": [0.1, 0.1, 0.1], "memory": {"total_mb": 1000, "available_mb": 500},
            "disk": {"path": "/", "free_mb": 1000, "total_mb": 2000, "free_pct": 50},
            "store": {"size_mb": 1, "outbox_depth": outbox, "oldest_unsent": None,
                      "oldest_unsent_age_s": None, "dropped_bins": 0, "late_dropped": 0},
            "edge": {"state": "up", "age_s": 1.0},
            "sources": [{"name": "cam", "type": "camera", "state": "ok", "reason": "",
                         "age_s": 1.0}],
            "signage": {"state": "ok", "emergency": False, "scene": scene},
            "clock": {"synced": True, "source": "timesyncd"}}


def seed(db: str, places: Path, days: int = HISTORY_DAYS) -> None:
    scenario = load_scenario("sapporo")
    storage = open_storage(db)
    write_history(storage, scenario, days)
    start = scenario.start
    storage.record_health(health("sapporo", "chikaho-north", start - 60, 0), start)
    storage.record_health(health("sapporo", "aurora-town", start - 30, 12, "route"), start)
    storage.record_health(health("sapporo", "kotoni", start - 3600, 250, "weather"), start)
    storage.commit()
    storage.close()
    write_places(scenario, places, snow_pattern(scenario, days))


@dataclass
class CityServer:
    url: str
    db: str
    places: Path
    users: Path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._storage.close()


def start_city(db: str, places: Path, users: Path) -> CityServer:
    for name, (role, password) in USERS.items():
        add_user(users, name, role, password)
    storage = open_storage(db)
    app = build_app(storage, load_places(places), users)
    server = serve(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    city = CityServer(f"http://127.0.0.1:{server.server_port}", db, places, users)
    city._server, city._storage = server, storage
    city.app = app  # for tests that configure pages on the running app (snow)
    return city


def client(city: CityServer, user: str | None = None) -> urllib.request.OpenerDirector:
    """An HTTP client with its own cookie jar, logged in as `user` (one of USERS) if given."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    if user is not None:
        form = urllib.parse.urlencode({"name": user, "password": USERS[user][1]}).encode()
        opener.open(f"{city.url}/login", form, timeout=10)
    return opener


def get(opener: urllib.request.OpenerDirector, city: CityServer, path: str) -> tuple[int, str]:
    """(status, body) of a GET, error statuses included."""
    try:
        with opener.open(f"{city.url}{path}", timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
