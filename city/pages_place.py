"""One place: hourly people over the last days (BLE bounds as whiskers) and daily totals."""

from city.common import DAY_CHOICES, NO_DATA, place_named, when, window
from city.figures import DAY, days_between, hours_between, place_series
from city.html import esc, filters, page, select, table
from city.svg import bar_chart
from city.web import App, Request, Response, json_response

DAILY_DAYS = 60


def place_data(request: Request, place_id: str) -> dict:
    place = place_named(request, place_id)
    w = window(request, 1)
    out = {"place": place.id, "name": place.name(), "names": place.names, "kind": place.kind,
           "timezone": request.app.model.timezone, "hourly": [], "daily": []}
    if w is None:
        return out
    storage, model = request.app.storage, request.app.model
    hourly = place_series(storage, model, "hour", w.since, w.until, [place])[place.id]
    out["days"] = w.days
    # From the first hour anything was collected: earlier hours are before the fleet, not gaps.
    first = storage.extent()[0] or w.since
    for at in hours_between(max(w.since, first), w.until):
        out["hourly"].append({"start": at, "local": when(request, at),
                              "people": hourly.people.get(at), "lower": hourly.lower.get(at),
                              "upper": hourly.upper.get(at)})
    daily = place_series(storage, model, "day", w.until - DAILY_DAYS * DAY, w.until,
                         [place])[place.id]
    for at in days_between(max(w.until - DAILY_DAYS * DAY, first), w.until, model):
        out["daily"].append({"start": at, "local": when(request, at, "%Y-%m-%d"),
                                 "people": daily.people.get(at)})
    return out


def place_page(request: Request, place_id: str) -> Response:
    data = place_data(request, place_id)
    days = str(data.get("days", 1))
    form = filters(f"/place/{place_id}", select(
        "days", [(d, f"last {d} day{'s' * (d != '1')}") for d in DAY_CHOICES], days, "Period"))
    if not data["hourly"]:
        return Response(page(request, data["name"], form + NO_DATA))
    hourly = data["hourly"]
    if len(hourly) <= 48:  # a day or two: every third hour; longer: each day's midnight
        labels = [h["local"][11:16] if i % 3 == 0 else "" for i, h in enumerate(hourly)]
    else:
        labels = [h["local"][5:10] if h["local"][11:13] == "00" else "" for h in hourly]
    chart = bar_chart(
        [(label, h["people"]) for label, h in zip(labels, hourly, strict=True)],
        title=f"People per hour, {hourly[0]['local']} to {hourly[-1]['local']} (Asia/Tokyo)",
        chart_id="hourly-chart",
        bounds=[(h["lower"], h["upper"]) if h["people"] is not None else None for h in hourly],
    )
    daily = bar_chart([(d["local"][5:], d["people"]) for d in data["daily"]],
                      title="People per day (city days, Asia/Tokyo)", chart_id="daily-chart",
                      label_every=max(1, len(data["daily"]) // 15))
    names = " / ".join(esc(data["names"].get(lang, "")) for lang in ("ja", "zh-Hans", "ko"))
    body = (f"<p class=muted>{names} - {esc(data['kind'])}</p>{form}<div class=card>{chart}"
            "<p class=note>Orange whiskers: BLE's lower and upper bounds (the bar is its"
            " estimate plus any direct counts). Hatched: no data (not zero).</p></div>"
            f"<div class=card>{daily}</div>"
            + "<h2>Last 24 hours</h2>" + table(["hour (Asia/Tokyo)", "people", "lower", "upper"],
                    [(h["local"], h["people"], h["lower"], h["upper"]) for h in hourly[-24:]],
                    "hourly-table", numeric=[1, 2, 3]))
    return Response(page(request, data["name"], body))


def register(app: App) -> None:
    app.route("GET", r"/place/(?P<place_id>[a-z0-9-]+)", place_page)
    app.route("GET", r"/api/place/(?P<place_id>[a-z0-9-]+)",
              lambda r, place_id: json_response(place_data(r, place_id)))
