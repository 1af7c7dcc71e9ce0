"""Open data: hourly people per place, coarsened so nobody can be singled out.

The rule (docs/city.md): an hour's count below SUPPRESS_BELOW (10) is published as "<10";
every other count is rounded to the nearest multiple of ROUND_TO (5). An hour without data
is empty, never 0. Only "people" figures are published (no BLE bounds, no sign plays),
only per place and hour (no node, sensor or bin), so no published figure is below 10 people
or exact to the person.
"""

import csv
import io
from typing import Any

from city.figures import HOUR, hours_between, latest_hour, place_series
from walkway.places import PlaceModel
from walkway.timeutil import iso_z, local_iso

SUPPRESS_BELOW = 10
ROUND_TO = 5
RULE = (f"counts below {SUPPRESS_BELOW} are shown as \"<{SUPPRESS_BELOW}\"; all others are"
        f" rounded to the nearest {ROUND_TO}; hours without data are empty")
HEADER = ["place", "place_ja", "kind", "hour_start_utc", "hour_start_local", "people"]


def coarsen(count: int | None) -> str:
    if count is None:
        return ""
    if count < SUPPRESS_BELOW:
        return f"<{SUPPRESS_BELOW}"
    return str(max(SUPPRESS_BELOW, ROUND_TO * round(count / ROUND_TO)))


def open_rows(storage: Any, model: PlaceModel, days: int = 7) -> list[dict[str, str]]:
    last = latest_hour(storage)
    if last is None:
        return []
    until = last + HOUR
    since = max(until - days * 86400, storage.extent()[0])
    series = place_series(storage, model, "hour", since, until)
    hours = [(at, iso_z(at), local_iso(at, model.timezone)) for at in hours_between(since, until)]
    rows = []
    for pid, s in sorted(series.items()):
        place = model.places[pid]
        ja = place.names.get("ja", "")
        for at, utc, local in hours:
            rows.append({"place": pid, "place_ja": ja, "kind": place.kind,
                         "hour_start_utc": utc, "hour_start_local": local,
                         "people": coarsen(s.people.get(at))})
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
