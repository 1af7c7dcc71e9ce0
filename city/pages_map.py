"""The map of places with the latest hour's flows, and the list of places."""

import json
from importlib import resources

from city.common import NO_DATA, when
from city.figures import DAY, HOUR, current_flows, latest_hour, place_series
from city.html import esc, filters, page, select, table
from city.svg import map_svg
from city.web import App, Request, Response, json_response
from walkway.places import PLACE_KINDS, places_geojson


def base_map(request: Request) -> dict:
    """The shipped outline (walkways, rail, parks) of the city, GeoJSON."""
    name = "sapporo.geojson"
    return json.loads(resources.files("city").joinpath("data", name).read_text("utf-8"))


def map_data(request: Request) -> dict:
    model = request.app.model
    kind = request.arg("kind", "all")
    places = [p for p in model.places.values() if kind in ("all", p.kind)]
    last = latest_hour(request.app.storage)
    flows = current_flows(request.app.storage, model, last) if last is not None else {}
    return {"hour_start": last, "hour_local": when(request, last) if last else None,
            "kind": kind, "places": [
                {"id": p.id, "name": p.name(), "name_ja": p.names.get("ja"), "kind": p.kind,
                 "site": p.site, "lat": p.lat, "lon": p.lon, "people": flows.get(p.id)}
                for p in places]}


def map_page(request: Request) -> Response:
    data = map_data(request)
    kinds = [("all", "all places")] + [(k, k) for k in PLACE_KINDS]
    area = request.arg("area", "centre")
    form = filters("/", select("kind", kinds, data["kind"], "Place kind"),
                   select("area", [("centre", "city centre"), ("all", "whole city")], area,
                          "Area"))
    outline = base_map(request)
    bbox = outline.get("centre_bbox") if area == "centre" else None
    if data["hour_start"] is None:
        return Response(page(request, "Map of places", form + NO_DATA))
    body = (form + f"<p>People per hour in the latest hour with data: <strong id=map-hour>"
            f"{esc(data['hour_local'])}</strong> (Asia/Tokyo). Circle area follows people;"
            " a dashed ring is a place with no data in that hour.</p>"
            + map_svg(outline, data["places"], bbox=bbox)
            + table(["place", "kind", "people in the hour"],
                    [(p["name"], p["kind"], p["people"]) for p in data["places"]],
                    "map-table", numeric=[2]))
    return Response(page(request, "Map of places", body))


def places_data(request: Request) -> dict:
    model, storage = request.app.model, request.app.storage
    last = latest_hour(storage)
    if last is None:
        return {"places": []}
    day = place_series(storage, model, "hour", last + HOUR - DAY, last + HOUR)
    return {"until": last + HOUR, "places": [
        {"id": p.id, "name": p.name(), "names": p.names, "kind": p.kind, "site": p.site,
         "lat": p.lat, "lon": p.lon, "route_m": p.route_m,
         "counters": [{"node": c.node, "sensor": c.sensor, "directions": list(c.directions)}
                      for c in p.counters],
         "people_last_hour": day[p.id].people.get(last),
         "people_last_24h": sum(day[p.id].people.values()) if day[p.id].people else None}
        for p in model.places.values()]}


def places_page(request: Request) -> Response:
    data = places_data(request)
    rows = [(f"{p['name']}", p["names"].get("ja"), p["kind"], p["people_last_hour"],
             p["people_last_24h"]) for p in data["places"]]
    links = "".join(f"<li><a href='/place/{esc(p['id'])}'>{esc(p['name'])}</a></li>"
                    for p in data["places"])
    return Response(page(request, "Places", table(
        ["place", "日本語", "kind", "last hour", "last 24 h"], rows, "places-table",
        numeric=[3, 4]) + f"<ul id=place-links>{links}</ul>"))


def geojson(request: Request) -> Response:
    flows = current_flows(request.app.storage, request.app.model)
    return Response(json.dumps(places_geojson(request.app.model, flows), ensure_ascii=False),
                    content_type="application/geo+json; charset=utf-8")


def register(app: App) -> None:
    app.nav("/", "Map")
    app.nav("/places", "Places")
    app.route("GET", "/", map_page)
    app.route("GET", "/api/map", lambda r: json_response(map_data(r)))
    app.route("GET", "/places", places_page)
    app.route("GET", "/api/places", lambda r: json_response(places_data(r)))
    app.route("GET", "/places.geojson", geojson)
