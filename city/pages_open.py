"""The public open-data page and endpoints (no login): coarsened hourly people per place."""

from city.html import esc, page, table
from city.open_data import RULE, open_rows, to_csv
from city.web import App, HttpError, Request, Response, json_response


def _days(request: Request) -> int:
    try:
        days = int(request.arg("days", "7"))
    except ValueError:
        raise HttpError(400, "days: expected a whole number") from None
    if not 1 <= days <= 366:
        raise HttpError(400, f"days: expected 1 to 366, got {days}")
    return days


def open_page(request: Request) -> Response:
    rows = open_rows(request.app.storage, request.app.model, _days(request))
    body = (f"<p>Hourly people per place, free to reuse. Rule: {esc(RULE)}.</p>"
            "<p><a href='/open-data/hourly.csv' id=open-csv>hourly.csv</a> &middot;"
            " <a href='/api/open-data' id=open-json>JSON</a> (add ?days=N, up to 366)</p>"
            + table(["place", "hour (Asia/Tokyo)", "people"],
                    [(r["place"], r["hour_start_local"], r["people"] or None)
                     for r in rows[-48:]], "open-table"))
    return Response(page(request, "Open data", body))


def register(app: App) -> None:
    app.route("GET", "/open-data", open_page, role=None)
    app.route("GET", "/open-data/hourly.csv", lambda r: Response(
        to_csv(open_rows(r.app.storage, r.app.model, _days(r))),
        content_type="text/csv; charset=utf-8"), role=None)
    app.route("GET", "/api/open-data", lambda r: json_response(
        {"rule": RULE, "rows": open_rows(r.app.storage, r.app.model, _days(r))}), role=None)
