"""The city dashboard on a simulator run (`walkway sim --serve`, which `./run sim` uses).

After a run, OUT/places.toml (the scenario's places, snow and events) and OUT/city-users.json
(one operator, `planner`, with a fresh random password in OUT/city-login.txt) are written
and the report links to the app. `--serve` then runs `walkway city serve` on OUT/cloud.db
until Ctrl-C. `--history DAYS` serves OUT/city.db instead: a copy of the run's database
with DAYS of simulated history before it (simulator.history), so comparisons have a baseline.
"""

import secrets
import shutil
from pathlib import Path
from typing import Any

from simulator.scenario import Scenario

DEMO_USER = "planner"


def prepare(scenario: Scenario, out: Path, port: int, history_days: int = 0) -> dict[str, Any]:
    from city.auth import add_user
    from simulator.history import snow_pattern
    from simulator.places import write_places

    db = out / "cloud.db"
    snow = snow_pattern(scenario, history_days) if history_days else None
    write_places(scenario, out / "places.toml", snow)
    users = out / "city-users.json"
    password = secrets.token_urlsafe(9)
    users.unlink(missing_ok=True)
    add_user(users, DEMO_USER, "operator", password)
    (out / "city-login.txt").write_text(f"{DEMO_USER}\n{password}\n")
    (out / "city-login.txt").chmod(0o600)
    return {"url": f"http://127.0.0.1:{port}/", "port": port, "db": str(db),
            "places": str(out / "places.toml"), "users": str(users), "user": DEMO_USER,
            "login_file": str(out / "city-login.txt"), "history_days": history_days,
            "command": f"walkway city serve --db {db} --places {out / 'places.toml'}"
                       f" --users {users} --port {port}"}


def add_history(scenario: Scenario, city: dict[str, Any], days: int) -> None:
    """OUT/city.db: the run's counts plus `days` of simulated history before them."""
    from cloud_bridge.collector_store import open_storage
    from simulator.history import write_history

    source = Path(city["db"])
    target = source.with_name("city.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    storage = open_storage(str(source))  # checkpoints the WAL into the file on close
    storage.close()
    shutil.copyfile(source, target)
    storage = open_storage(str(target))
    try:
        write_history(storage, scenario, days)
    finally:
        storage.close()
    city["db"] = str(target)
    city["command"] = city["command"].replace(str(source), str(target))


def serve(city: dict[str, Any]) -> None:
    from city.web import build_app
    from city.web import serve as http_serve
    from cloud_bridge.collector_store import open_storage
    from walkway.places import load_places

    storage = open_storage(city["db"], must_exist=True)
    app = build_app(storage, load_places(city["places"]), Path(city["users"]))
    server = http_serve(app, "127.0.0.1", city["port"])
    print(f"city dashboard: {city['url']} (user {city['user']}, password in"
          f" {city['login_file']}); Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        storage.close()
