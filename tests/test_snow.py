"""Snow clearing plan on the real Hakken OSM graph and the City of Sapporo's real snowfall."""

import json
from datetime import date

import pytest
from snow_fixtures import (
    CONFIG,
    PER_HOUR,
    PLACES,
    PLAN_AT,
    PREVIOUS_ROUND,
    ROADS,
    WAY_TAGS,
    WEATHER,
    seed_counts,
)

from city.roads import FALLBACK_WIDTH_M, load_roads
from city.snow_build import build_plan
from city.snow_depth import load_weather
from city.snow_plan import W_UNKNOWN, load_plan_config
from city.snow_store import mark_cleared
from cloud_bridge.collector_store import open_storage
from walkway.cli import main
from walkway.places import load_places
from walkway.timeutil import parse_iso


def scenario_db(tmp_path, name="c.db", per_hour=PER_HOUR, cleared_round=True) -> str:
    db = str(tmp_path / name)
    seed_counts(db, per_hour)
    if cleared_round:  # the previous day's round cleared every segment
        storage = open_storage(db)
        for seg in load_roads(ROADS).segments:
            mark_cleared(storage, seg, parse_iso(PREVIOUS_ROUND), "round-1")
        storage.close()
    return db


def plan_of(db: str, crews: int = 3) -> dict:
    storage = open_storage(db)
    try:
        return build_plan(storage, load_places(PLACES), load_roads(ROADS, WAY_TAGS),
                          load_weather(WEATHER), load_plan_config(CONFIG), crews,
                          parse_iso(PLAN_AT))
    finally:
        storage.close()


def rows(plan: dict) -> dict[str, dict]:
    return {r["segment"]: r for r in plan["segments"]}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    return plan_of(scenario_db(tmp_path_factory.mktemp("snow")))


def test_real_graph_has_no_widths_and_every_row_says_fallback(base) -> None:
    net = load_roads(ROADS, WAY_TAGS)
    assert len(net.segments) == 676  # 1,343 directed edges folded into road segments
    assert abs(sum(s.length_m for s in net.segments.values()) - 25_842) < 50
    assert net.fallback_count == 676
    by_class = {s.highway: s for s in net.segments.values()}
    assert by_class["residential"].width_m == FALLBACK_WIDTH_M["residential"]
    assert by_class["secondary"].width_source == "fallback:secondary"
    assert base["width_fallback_segments"] == 676
    assert all(r["width_fallback"] and r["width_source"].startswith("fallback:")
               for r in base["segments"])


def test_widths_from_width_m_osm_width_and_lanes(tmp_path) -> None:
    data = json.loads(ROADS.read_text(encoding="utf-8"))
    feats = data["features"][:3]
    feats[0]["properties"]["width_m"] = 3.2
    feats[1]["properties"]["lanes"] = "2"
    path = tmp_path / "w.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    got = sorted((s.width_source, s.width_m) for s in load_roads(path).segments.values())
    assert ("width_m", 3.2) in got and ("osm:lanes", 6.5) in got
    assert any(src.startswith("fallback:") for src, _ in got)
    osm = tmp_path / "r.osm"
    osm.write_text("<osm><node id='1' lat='43.09' lon='141.30'/><node id='2' lat='43.091'"
                   " lon='141.30'/><node id='3' lat='43.092' lon='141.301'/>"
                   "<way id='7'><nd ref='1'/><nd ref='2'/><tag k='highway' v='residential'/>"
                   "<tag k='width' v='7.5 m'/></way><way id='8'><nd ref='2'/><nd ref='3'/>"
                   "<tag k='highway' v='footway'/><tag k='width' v='narrow'/></way></osm>")
    net = load_roads(osm)
    assert {s.way_id: (s.width_source, s.width_m) for s in net.segments.values()} == {
        "7": ("osm:width", 7.5), "8": ("fallback:footway", 2.0)}
    assert 100 < net.segments["7:1:2"].length_m < 120


def test_plan_is_deterministic(tmp_path, base) -> None:
    again = plan_of(scenario_db(tmp_path, "again.db"))
    assert json.dumps(again, sort_keys=True) == json.dumps(base, sort_keys=True)
    assert base["planned"] == 676 and base["not_in_shift"] == 0
    orders = sorted(r["order"] for r in base["segments"])
    assert orders == list(range(1, 677))  # every segment once, in one order
    first = min(base["segments"], key=lambda r: r["order"])
    assert first["name"] == "下手稲通" and first["designated"] == "bus route"


def test_more_walkers_near_a_segment_raise_its_priority(tmp_path, base) -> None:
    busier = dict(PER_HOUR)
    busier[("shinkawa-corner", "beam.1")] = 600
    plan = plan_of(scenario_db(tmp_path, "busy.db", busier))
    corner = load_roads(ROADS).nearest_node(141.3132148, 43.0939899)[0]
    seg = next(s for s in sorted(rows(base)) if corner in s.split(":")[1:])
    before, after = rows(base)[seg], rows(plan)[seg]
    assert after["walkers_per_hour"] > before["walkers_per_hour"] * 3
    assert after["score"] > before["score"]
    assert after["order"] < before["order"]
    far = rows(base)[max(base["segments"], key=lambda r: r["sensor_m"] or 0)["segment"]]
    assert rows(plan)[far["segment"]]["score"] >= far["score"]


def test_a_cleared_segment_drops_out(tmp_path, base) -> None:
    db = scenario_db(tmp_path, "cleared.db")
    top = min(base["segments"], key=lambda r: r["order"])["segment"]
    assert main(["city", "snow-cleared", "--db", db, top, "--crew", "2", "--roads", str(ROADS),
                 "--at", "2026-01-25T08:30:00+09:00"]) == 0
    plan = plan_of(db)
    row = rows(plan)[top]
    assert row["snow_cm"] < 5 and not row["planned"] and row["score"] == 0
    assert "order" not in row and plan["planned"] == 675
    assert rows(plan)[top]["cleared_at"] == parse_iso("2026-01-25T08:30:00+09:00")


def test_snow_from_gauge_near_the_node_else_the_ward_station(base) -> None:
    sources = {r["snow_source"] for r in base["segments"]}
    assert "gauge:hakken-suburb" in sources and "station:西区(西野)" in sources
    gauge = [r for r in base["segments"] if r["snow_source"].startswith("gauge:")]
    assert gauge and all(r["snow_cm"] == 18.0 for r in gauge)  # 80 cm - 62 cm since clearing
    fell = load_weather(WEATHER).snowfall
    day = date(2026, 1, 25)
    for r in base["segments"]:
        if r["snow_source"].startswith("station:"):
            # the day's window ends 09:00 on 25 Jan; 23 of its 24 h came after the 10:00 round
            station = r["snow_source"].removeprefix("station:")
            assert r["snow_cm"] == round(fell[station][day] * 23 / 24, 1)
    assert fell["西区(西野)"][day] == 30.0


def test_uncertainty_grows_with_distance_and_unknown_is_not_empty(base) -> None:
    known = [r for r in base["segments"] if r["walkers_known"]]
    near = min(known, key=lambda r: (r["sensor_m"], r["segment"]))
    far = max(known, key=lambda r: (r["sensor_m"], r["segment"]))
    assert near["confidence"] > 0.8 > 0.2 > far["confidence"]
    assert (far["walkers_high"] - far["walkers_low"]) > (near["walkers_high"] - near["walkers_low"])
    unknown = [r for r in base["segments"] if not r["walkers_known"]]
    assert unknown and all(r["walkers_per_hour"] is None for r in unknown)
    assert base["walkers_unknown_segments"] == len(unknown)
    quiet = min(known, key=lambda r: (r["walkers_per_hour"], r["segment"]))
    same = [u for u in unknown if u["width_m"] == quiet["width_m"] and not u["designated"]
            and u["snow_cm"] == quiet["snow_cm"]]
    assert W_UNKNOWN > quiet["walkers_per_hour"] / (quiet["walkers_per_hour"] + 50)
    assert all(u["score"] > quiet["score"] for u in same)


def test_cli_table_json_geojson_and_bad_input(tmp_path, capsys) -> None:
    db = scenario_db(tmp_path, cleared_round=False)
    args = ["city", "snow-plan", "--db", db, "--places", str(PLACES), "--roads", str(ROADS),
            "--weather", str(WEATHER), "--config", str(CONFIG), "--at", PLAN_AT]
    assert main([*args, "--crews", "2"]) == 0
    text = capsys.readouterr().out
    assert "676 segments use the fallback width" in text and "crew 2 from" in text
    assert main([*args, "--crews", "2", "--geojson"]) == 0
    geo = json.loads(capsys.readouterr().out)
    assert len(geo["features"]) == 676
    assert geo["features"][0]["geometry"]["type"] == "LineString"
    # never cleared: the station's whole snow depth on the day
    props = [f["properties"] for f in geo["features"]]
    nishino = {p["snow_cm"] for p in props if p["snow_source"] == "station:西区(西野)"}
    assert nishino == {load_weather(WEATHER).depth["西区(西野)"][date(2026, 1, 25)]}
    assert len(geo["properties"]["crews"]) == 2
    assert main([*args, "--crews", "0"]) == 2
    assert "--crews: expected 1 or more" in capsys.readouterr().err
    late = [a if a != PLAN_AT else "2026-06-01T09:00:00+09:00" for a in args]
    assert main([*late, "--crews", "1"]) != 0
    err = capsys.readouterr().err
    assert "sapporo_weather_daily.csv" in err and "outside the weather data" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[snow]\nw_walkers = 'lots'\n")
    assert main([*args, "--crews", "1", "--config", str(bad)]) != 0
    assert "w_walkers" in capsys.readouterr().err


def test_clearings_gauges_and_checkins_on_postgresql(postgres_url: str) -> None:
    from city.checkin import CheckinBook
    from city.snow_store import clearings, gauges
    from walkway.checkin import CheckinRefused, make_token

    seed_counts(postgres_url)
    seg = sorted(load_roads(ROADS).segments)[0]
    for at in ("2026-01-24T10:00:00+09:00", "2026-01-25T08:30:00+09:00"):
        assert main(["city", "snow-cleared", "--db", postgres_url, seg, "--crew", "1",
                     "--at", at]) == 0
    storage = open_storage(postgres_url)
    try:
        assert clearings(storage) == {seg: parse_iso("2026-01-25T08:30:00+09:00")}
        (gauge,) = gauges(storage, load_places(PLACES))
        assert gauge.node == "hakken-suburb" and [cm for _, cm in gauge.readings] == [62, 80]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        book = CheckinBook(storage, {"hakken-suburb": key.public_key()})
        now = parse_iso(PLAN_AT)
        token = make_token("hakken-suburb", key, now)
        assert book.redeem(token, "hakken-suburb", "pg-account-12345678", now)["total"] == 10
        with pytest.raises(CheckinRefused) as refused:
            book.redeem(token, "hakken-suburb", "pg-account-87654321", now)
        assert refused.value.reason == "replayed"
    finally:
        storage.close()
