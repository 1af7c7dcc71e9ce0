"""The snowy-day scenario on the real Hakken graph: a collector SQLite file with a day of
counts at three places, a snow gauge on the suburban node, and the city's real snowfall."""

from pathlib import Path

from cloud_bridge.collector_store import open_storage
from walkway.timeutil import iso_z, parse_iso

DATA = Path(__file__).parent / "data" / "city"
REAL = Path(__file__).resolve().parents[1] / "simulator" / "scenarios" / "hakken"  # README there
ROADS = REAL / "sapporo_hakken_roads.geojson"
WAY_TAGS = REAL / "sapporo_hakken_way_tags.csv"
WEATHER = REAL / "sapporo_weather_daily.csv"
PLACES = DATA / "hakken_places.toml"
CONFIG = DATA / "hakken_snow.toml"
PLAN_AT = "2026-01-25T09:00:00+09:00"   # the season's heaviest day at 西区(西野): 30 cm
PREVIOUS_ROUND = "2026-01-24T10:00:00+09:00"
PER_HOUR = {("hakken-shops", "cam.main"): 400, ("hakken-suburb", "cam.main"): 120,
            ("shinkawa-corner", "beam.1"): 60}


def seed_counts(db: str, per_hour: dict[tuple[str, str], int] = PER_HOUR,
                until: str = PLAN_AT) -> None:
    end = int(parse_iso(until))
    storage = open_storage(db)
    for (node, sensor), n in sorted(per_hour.items()):
        bins = [{"sensor": sensor, "start": iso_z(t), "seconds": 900, "direction": "in",
                 "count": n // 4, "version": 1} for t in range(end - 86400, end, 900)]
        storage.upsert({"site": "hakken", "node": node, "bins": bins}, 0.0)
    gauge = [(PREVIOUS_ROUND, 620.0), ("2026-01-25T08:45:00+09:00", 800.0)]
    storage.upsert({"site": "hakken", "node": "hakken-suburb", "bins": [], "measures": [
        {"sensor": "snow", "start": iso_z(parse_iso(at) - 900), "seconds": 900,
         "quantity": "snow_depth_mm", "n": 1, "min": mm, "mean": mm, "max": mm, "version": 1}
        for at, mm in gauge]}, 0.0)
    storage.commit()
    storage.close()


def seed_scenario(db: str) -> None:
    """Counts, the gauge, and the previous day's round clearing every segment."""
    from city.roads import load_roads
    from city.snow_store import mark_cleared

    seed_counts(db)
    storage = open_storage(db)
    for seg in sorted(load_roads(ROADS).segments):
        mark_cleared(storage, seg, parse_iso(PREVIOUS_ROUND), "round-1")
    storage.close()


if __name__ == "__main__":  # docs/city-snow.md: `python tests/snow_fixtures.py DB`
    import sys

    seed_scenario(sys.argv[1])
