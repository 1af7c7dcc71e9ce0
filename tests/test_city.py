"""The city app over HTTP (a real server on a free port, real SQLite and PostgreSQL): login
and roles, every page's JSON API, figures without bounds or sign plays, exports, open data
that never leaks a small count, and the CLI commands."""

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from city_fixtures import client, get, seed, start_city
from support.walkway_procs import run_walkway

from city.open_data import coarsen
from cloud_bridge.collector_store import open_storage
from walkway.errors import ConfigError
from walkway.places import figure_of, load_places


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("city")
    db = str(tmp / "cloud.db")
    seed(db, tmp / "places.toml")
    server = start_city(db, tmp / "places.toml", tmp / "users.json")
    yield server
    server.stop()


def test_pages_need_a_login_and_fleet_needs_an_operator(city) -> None:
    anonymous = client(city)
    status, body = get(anonymous, city, "/api/map")
    assert status == 401
    status, body = get(anonymous, city, "/report")
    assert status == 200 and "Log in" in body  # redirected to the login form
    wrong = urllib.parse.urlencode({"name": "ken", "password": "nope"}).encode()
    with anonymous.open(f"{city.url}/login", wrong, timeout=10) as r:
        assert "login-failed" in r.read().decode()
    viewer = client(city, "ken")
    assert get(viewer, city, "/api/map")[0] == 200
    status, body = get(viewer, city, "/api/fleet")
    assert status == 403 and "operator" in json.loads(body)["error"]
    assert get(viewer, city, "/fleet")[0] == 403
    assert get(client(city, "aiko"), city, "/api/fleet")[0] == 200


def test_map_and_place_figures_are_people_only(city) -> None:
    op = client(city, "aiko")
    data = json.loads(get(op, city, "/api/map")[1])
    flows = {p["id"]: p["people"] for p in data["places"]}
    assert set(flows) == set(load_places(city.places).places)
    # The map's hour equals the sum of the people series of its counters in the database.
    storage = open_storage(city.db)
    rows = storage.rollup("hour", data["hour_start"], data["hour_start"] + 3600)
    storage.close()
    aurora = [r for r in rows if r["node"] == "aurora-town" and r["sensor"] == "ble"]
    assert {r["direction"] for r in aurora} == {"estimate", "lower", "upper", "passby",
                                                "staying"}
    assert flows["aurora-town"] == next(r["count"] for r in aurora
                                        if r["direction"] == "estimate")
    assert all(figure_of("signage", r["direction"]) == "signage" for r in rows
               if r["sensor"] == "signage")
    place = json.loads(get(op, city, "/api/place/aurora-town?days=2")[1])
    hour = next(h for h in place["hourly"] if h["people"])
    assert hour["lower"] < hour["people"] < hour["upper"]  # BLE's bounds kept apart
    assert len(place["hourly"]) == 48 and place["daily"]


def test_comparisons_and_report(city) -> None:
    op = client(city, "aiko")
    week = json.loads(get(op, city, "/api/compare?mode=week")[1])
    assert all(r["baseline_week"] for r in week["rows"])
    snow = json.loads(get(op, city, "/api/compare?mode=snow")[1])
    north = next(r for r in snow["rows"] if r["place"] == "chikaho-north")
    kotoni = next(r for r in snow["rows"] if r["place"] == "kotoni")
    # The demand model pushes people underground on snow days.
    assert north["change_pct"] > 0 > kotoni["change_pct"]
    event = json.loads(get(op, city, "/api/compare?mode=event&event=1&hours=1")[1])
    assert event["event_name"] == "Odori Park winter event opens"
    report = json.loads(get(op, city, "/api/report?days=7")[1])
    assert report["busiest"]["places"][0]["place"] == "chikaho-north"
    assert report["steps"]["steps_per_day"] > 0 and "route_m" in report["steps"]["method"]
    status, text = get(op, city, "/report.csv?days=7")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 200 and {r["place"] for r in rows} == set(load_places(city.places).places)
    geo = json.loads(get(op, city, "/report.geojson")[1])
    assert geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"
    assert get(op, city, "/api/compare?mode=nonsense")[0] == 400


def test_fleet_health(city) -> None:
    fleet = json.loads(get(client(city, "aiko"), city, "/api/fleet")[1])
    by_node = {n["node"]: n for n in fleet["nodes"]}
    assert by_node["sapporo/chikaho-north"]["online"] is True
    assert by_node["sapporo/kotoni"]["online"] is False  # an hour behind the fleet
    assert by_node["sapporo/aurora-town"]["outbox_depth"] == 12
    assert by_node["sapporo/aurora-town"]["scene"] == "route"
    assert by_node["sapporo/chikaho-north"]["plays_24h"] == {"events": 24}  # 2 h x 4 bins x 3


def test_open_data_is_public_and_never_shows_a_small_count(city) -> None:
    status, text = get(client(city), city, "/open-data/hourly.csv?days=35")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["place"] for r in rows} == set(load_places(city.places).places)
    small = 0
    for r in rows:
        value = r["people"]
        if value == "<10":
            small += 1
        elif value:
            assert int(value) >= 10 and int(value) % 5 == 0, r
    assert small > 0  # the night hours really were suppressed, not just absent
    # The same figures from the CLI, and nothing there either.
    out = run_walkway("city", "open-data", "--db", city.db, "--places", str(city.places),
                      "--days", "35").stdout
    assert out == text
    assert [coarsen(n) for n in (None, 0, 9, 10, 12, 13, 1234)] == [
        "", "<10", "<10", "10", "10", "15", "1235"]


def test_city_serves_from_postgresql(postgres_url: str, tmp_path: Path) -> None:
    seed(postgres_url, tmp_path / "places.toml", days=2)
    server = start_city(postgres_url, tmp_path / "places.toml", tmp_path / "users.json")
    try:
        data = json.loads(get(client(server, "ken"), server, "/api/map")[1])
        assert data["places"] and all(p["people"] is not None for p in data["places"])
    finally:
        server.stop()


def test_places_file_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "places.toml"
    bad.write_text('[[places]]\nid = "x"\nsite = "s"\nkind = "plaza"\nname = {fr = "x"}\n'
                   'lat = 95\nlon = 141\n')
    with pytest.raises(ConfigError) as err:
        load_places(bad)
    text = str(err.value)
    assert "places[0].kind: expected one of walkway-section, exit, station-front" in text
    assert "places[0].lat: expected a number >= -90 and <= 90" in text
    assert "places[0].name" in text
    result = run_walkway("city", "open-data", "--db", str(tmp_path / "none.db"), check=False)
    assert result.returncode == 2 and "no such collector database" in result.stderr


def test_add_user_hashes_with_scrypt(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    result = run_walkway("city", "add-user", "mika", "--role", "operator", "--users", str(users),
                         "--password-stdin", input_text="correct horse\n")
    assert "mika (operator)" in result.stdout
    stored = json.loads(users.read_text())["users"]["mika"]
    assert stored["role"] == "operator" and "correct horse" not in users.read_text()
    from city.auth import check_password

    assert check_password("correct horse", stored["scrypt"])
    assert not check_password("wrong horse", stored["scrypt"])


def test_city_serve_command_starts_serves_and_stops(city, tmp_path: Path) -> None:
    import re

    from support.walkway_procs import WalkwayProcess, wait_for

    log = tmp_path / "serve.log"
    proc = WalkwayProcess(["city", "serve", "--db", city.db, "--places", str(city.places),
                           "--users", str(city.users), "--port", "0"], log).start()
    try:
        found = wait_for(lambda: re.search(r"http://127\.0\.0\.1:(\d+)/", log.read_text()), 30,
                         "the server's address")
        with urllib.request.urlopen(f"{found.group(0)}open-data/hourly.csv?days=35",
                                    timeout=30) as r:
            assert r.status == 200 and "<10" in r.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{found.group(0)}api/map", timeout=10)
        assert refused.value.code == 401
    finally:
        assert proc.terminate() == 0
    broken = tmp_path / "users.json"
    broken.write_text("{not json")
    result = run_walkway("city", "serve", "--db", city.db, "--users", str(broken), check=False)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"{broken}: not a walkway users file")
