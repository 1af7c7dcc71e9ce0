"""Comparisons: this week against the weeks before, snow days against dry days, and the
hours before against the hours after an event."""

from city.common import NO_DATA, when, window
from city.figures import DAY, HOUR, compare_event, compare_snow, compare_weeks, latest_hour
from city.html import cell, esc, filters, page, select, table
from city.svg import change_chart
from city.web import App, HttpError, Request, Response, json_response

MODES = (("week", "this week vs the 4 weeks before"), ("snow", "snow days vs dry days"),
         ("event", "before / after an event"))


def compare_data(request: Request) -> dict:
    storage, model = request.app.storage, request.app.model
    mode = request.arg("mode", "week")
    last = latest_hour(storage)
    if last is None:
        return {"mode": mode, "rows": []}
    until = last + HOUR
    if mode == "week":
        out = compare_weeks(storage, model, until)
    elif mode == "snow":
        w = window(request, 35)
        out = compare_snow(storage, model, w.since, w.until)
    elif mode == "event":
        if not model.events:
            raise HttpError(400, "no [[events]] in the places file to compare around")
        try:
            index = int(request.arg("event", str(len(model.events) - 1)))
            event = model.events[index]
            hours = int(request.arg("hours", "2"))
        except (ValueError, IndexError):
            last_event = len(model.events) - 1
            raise HttpError(400, "event: expected an index into the places file's [[events]]"
                            f" (0 to {last_event}); hours: a number") from None
        out = compare_event(storage, model, event.at, hours)
        out.update(event=index, event_name=event.name, at_local=when(request, event.at))
    else:
        raise HttpError(400, f"mode: expected week, snow or event, got {mode!r}")
    return out


def compare_page(request: Request) -> Response:
    data = compare_data(request)
    model = request.app.model
    fields = [select("mode", list(MODES), data["mode"], "Compare")]
    if model.events:
        fields.append(select("event", [(str(i), f"{when(request, e.at)} {e.name}")
                                       for i, e in enumerate(model.events)],
                             str(data.get("event", len(model.events) - 1)), "Event"))
        fields.append(select("hours", [(h, f"{h} h either side") for h in ("1", "2", "3", "6")],
                             str(data.get("hours", 2)), "Window"))
    form = filters("/compare", *fields)
    if not data["rows"]:
        return Response(page(request, "Comparisons", form + NO_DATA))
    mode = data["mode"]
    if mode == "week":
        head = ["place", "this week", "mean week before", "change %"]
        rows = [(r["name"], r["this_week"], r["baseline_week"], r["change_pct"])
                for r in data["rows"]]
        intro = (f"Seven city days to {esc(when(request, data['this_from'] + 7 * DAY))} against"
                 " the mean of the four weeks before. A blank baseline means too little"
                 " history: no change is claimed.")
    elif mode == "snow":
        head = ["place", "mean per snow day", "mean per dry day", "change %"]
        rows = [(r["name"], r["snow_day_mean"], r["dry_day_mean"], r["change_pct"])
                for r in data["rows"]]
        intro = (f"Snow days (fresh snow >= 1 cm): {len(data['snow_days'])}; dry days:"
                 f" {len(data['dry_days'])} (from the places file's [[days]]).")
    else:
        head = ["place", f"{data['hours']} h before", f"{data['hours']} h after", "change %",
                "usual after (same weekday, 4 weeks)", "after vs usual %"]
        rows = [(r["name"], r["before"], r["after"], r["change_pct"], r["usual_after"],
                 r["vs_usual_pct"]) for r in data["rows"]]
        intro = (f"Around <strong>{esc(data['event_name'])}</strong> at"
                 f" {esc(data['at_local'])}, from the start of its hour. A window with an"
                 " hour missing shows no figure.")
    chart = change_chart([(str(r[0]), r[3]) for r in rows], title="change %, per place",
                         chart_id="compare-chart", height=40 + 30 * len(rows))
    body = (form + f"<p>{intro}</p>" + table(head, rows, "compare-table",
                                             numeric=range(1, len(head)))
            + f"<div class=card>{chart}</div>"
            + "<p class=note>People are each place's people figure (BLE estimate, camera and"
            " beam counts; never bounds or sign plays). " + cell(None) + " = no data.</p>")
    return Response(page(request, "Comparisons", body))


def register(app: App) -> None:
    app.nav("/compare", "Compare")
    app.route("GET", "/compare", compare_page)
    app.route("GET", "/api/compare", lambda r: json_response(compare_data(r)))
