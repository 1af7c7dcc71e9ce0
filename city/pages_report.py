"""The planning report: busiest places and hours, trend against the weeks before, and the
walking-steps KPI estimate with its method. Printable (print CSS) and exportable (CSV,
GeoJSON); the JSON behind it at /api/report."""

import csv
import io
import json

from city.common import DAY_CHOICES, NO_DATA, when, window
from city.figures import busiest, compare_weeks, place_totals, steps_kpi
from city.html import esc, filters, page, select, table
from city.svg import bar_chart
from city.web import App, Request, Response, json_response
from walkway.places import places_geojson


def report_data(request: Request) -> dict:
    w = window(request, 7)
    if w is None:
        return {"empty": True}
    storage, model = request.app.storage, request.app.model
    totals, by_hour = place_totals(storage, model, w.since, w.until)
    first = storage.extent()[0]
    covered_days = max((w.until - max(w.since, first)) / 86400, 1 / 24)
    trend = compare_weeks(storage, model, w.until)
    return {"from": w.since, "until": w.until, "from_local": when(request, max(w.since, first)),
            "until_local": when(request, w.until), "days": w.days,
            "covered_days": round(covered_days, 3),
            "busiest": busiest(totals, by_hour, model), "trend": trend["rows"],
            "steps": steps_kpi(totals, model, covered_days)}


def report_page(request: Request) -> Response:
    data = report_data(request)
    form = filters("/report", select("days", [(d, f"last {d} days") for d in DAY_CHOICES],
                                     str(data.get("days", 7)), "Period"))
    if data.get("empty"):
        return Response(page(request, "Planning report", form + NO_DATA))
    b, s = data["busiest"], data["steps"]
    chart = bar_chart([(h["hour"][:2], h["people"]) for h in b["by_hour_of_day"]],
                      title="People by hour of day (Asia/Tokyo), all places",
                      chart_id="hours-chart")
    body = (form + f"<p>{esc(data['from_local'])} to {esc(data['until_local'])} (Asia/Tokyo)."
            " Exports: <a id=report-csv href='/report.csv?days=" + str(data["days"])
            + "'>CSV</a> &middot; <a id=report-geojson href='/report.geojson?days="
            + str(data["days"]) + "'>GeoJSON</a> &middot; print this page for a PDF.</p>"
            "<h2>Busiest places</h2>"
            + table(["place", "people"], [(p["name"], p["people"]) for p in b["places"]],
                    "busiest-table", numeric=[1])
            + "<h2>Busiest hours</h2>"
            + table(["hour (Asia/Tokyo)", "people"], [(h["hour"], h["people"])
                                                      for h in b["hours"][:5]],
                    "hours-table", numeric=[1])
            + f"<div class=card>{chart}</div>"
            "<h2>Trend: the last seven whole days against the four weeks before</h2>"
            + table(["place", "this week", "mean week before", "change %"],
                    [(r["name"], r["this_week"], r["baseline_week"], r["change_pct"])
                     for r in data["trend"]], "trend-table", numeric=[1, 2, 3])
            + "<h2>Walking steps (KPI estimate)</h2>"
            f"<p class=card id=steps><strong>{s['steps_per_day']:,}</strong> steps per day in"
            f" the counted sections, the +1,500-step target of"
            f" <strong>{s['person_kpi_equivalents']:,}</strong> citizens.</p>"
            + table(["place", "people", "route m", "steps"],
                    [(request.app.model.places[r["place"]].name(), r["people"], r["route_m"],
                      r["steps"]) for r in s["by_place"]],
                    "steps-table", numeric=[1, 2, 3])
            + f"<p class=note>Method: {esc(s['method'])}</p>")
    return Response(page(request, "Planning report", body))


def report_csv(request: Request) -> Response:
    data = report_data(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["place", "people", "route_m", "steps", "this_week", "baseline_week",
                     "change_pct", "from_utc", "until_utc"])
    if not data.get("empty"):
        from walkway.timeutil import iso_z

        trend = {r["place"]: r for r in data["trend"]}
        for r in data["steps"]["by_place"]:
            t = trend.get(r["place"], {})
            writer.writerow([r["place"], r["people"], r["route_m"], r["steps"],
                             t.get("this_week"), t.get("baseline_week"), t.get("change_pct"),
                             iso_z(data["from"]), iso_z(data["until"])])
    return Response(out.getvalue(), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=report.csv"})


def report_geojson(request: Request) -> Response:
    data = report_data(request)
    model = request.app.model
    people = {} if data.get("empty") else {r["place"]: r["people"]
                                           for r in data["steps"]["by_place"]}
    geo = places_geojson(model)
    for f in geo["features"]:
        f["properties"]["people"] = people.get(f["properties"]["id"])
    return Response(json.dumps(geo, ensure_ascii=False),
                    content_type="application/geo+json; charset=utf-8")


def register(app: App) -> None:
    app.nav("/report", "Planning report")
    app.route("GET", "/report", report_page)
    app.route("GET", "/api/report", lambda r: json_response(report_data(r)))
    app.route("GET", "/report.csv", report_csv)
    app.route("GET", "/report.geojson", report_geojson)
