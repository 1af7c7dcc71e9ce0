"""Fleet health (operators only): online, last seen, outbox depth, source states, and the
content each sign plays -- from the health telemetry the collector keeps (health.v1) and
the signs' proof-of-play bins."""

from city.common import when
from city.figures import DAY, HOUR, latest_hour
from city.html import esc, page
from city.web import App, Request, Response, json_response
from walkway.places import SIGNAGE_SENSOR
from walkway.timeutil import parse_iso

ONLINE_S = 300  # a node is online when its newest health is this recent


def fleet_data(request: Request) -> dict:
    storage = request.app.storage
    health = storage.latest_health()
    # "Now" is the newest health snapshot in the fleet: a simulated run's clock, or the wall
    # clock of a live one, without trusting this server's clock to match the nodes'.
    reference = max((parse_iso(h["at"]) for h in health.values()), default=None)
    last = latest_hour(storage)
    plays: dict[str, dict[str, int]] = {}
    if last is not None:
        for r in storage.rollup("hour", last + HOUR - DAY, last + HOUR):
            if r["sensor"] == SIGNAGE_SENSOR and r["direction"].startswith("play."):
                scenes = plays.setdefault(f"{r['site']}/{r['node']}", {})
                scene = r["direction"][5:]
                scenes[scene] = scenes.get(scene, 0) + int(r["count"])
    nodes = []
    for key, h in sorted(health.items()):
        age = reference - parse_iso(h["at"]) if reference is not None else None
        nodes.append({
            "node": key, "never_reported": False, "online": age is not None and age <= ONLINE_S,
            "last_seen": h["at"], "behind_s": round(age or 0), "software": h["software"],
            "outbox_depth": h["store"]["outbox_depth"],
            "oldest_unsent_age_s": h["store"].get("oldest_unsent_age_s"),
            "edge": h["edge"].get("state"),
            "sources": [{"name": s["name"], "state": s["state"], "reason": s["reason"]}
                        for s in h["sources"]],
            "signage": h["signage"].get("state"), "scene": h["signage"].get("scene"),
            "plays_24h": plays.get(key, {})})
    # Nodes the places file counts with that never sent health: listed, never assumed fine.
    known = {n["node"] for n in nodes}
    for place in request.app.model.places.values():
        for c in place.counters:
            key = f"{place.site}/{c.node}"
            if key not in known:
                known.add(key)
                nodes.append({"node": key, "online": False, "last_seen": None, "behind_s": None,
                              "software": None, "outbox_depth": None,
                              "oldest_unsent_age_s": None, "edge": None, "sources": [],
                              "signage": None, "scene": None, "plays_24h": plays.get(key, {}),
                              "never_reported": True})
    return {"reference": reference, "online_within_s": ONLINE_S, "nodes": nodes}


def fleet_page(request: Request) -> Response:
    data = fleet_data(request)
    if not data["nodes"]:
        return Response(page(request, "Fleet health",
                             "<p class=error id=nodata>No health telemetry received yet.</p>"))
    rows = []
    for n in data["nodes"]:
        state = ("<span class=ok>online</span>" if n["online"] else
                 "<span class=bad>NO HEALTH EVER</span>" if n.get("never_reported") else
                 "<span class=bad>OFFLINE</span>")
        sources = ", ".join(f"{s['name']}: {s['state']}" for s in n["sources"])
        plays = ", ".join(f"{k} x{v}" for k, v in sorted(n["plays_24h"].items())) or "-"
        seen = "never" if n["last_seen"] is None else (
            f"{when(request, parse_iso(n['last_seen']))} ({n['last_seen']})")
        rows.append((n["node"], state, seen, n["outbox_depth"], n["edge"], sources,
                     f"{n['signage'] or '-'} {n['scene'] or ''}", plays))
    head = ["node", "state", "last seen, Asia/Tokyo (UTC)", "outbox", "edge", "sources", "sign now",
            "plays, last 24 h"]
    html_rows = "".join("<tr>" + "".join(
        f"<td>{v if i == 1 else esc(v)}</td>" for i, v in enumerate(r)) + "</tr>" for r in rows)
    body = (f"<p>Online: newest health within {ONLINE_S // 60} minutes of the newest in the"
            " fleet.</p><table id=fleet-table><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + f"</tr></thead><tbody>{html_rows}"
            "</tbody></table>")
    return Response(page(request, "Fleet health", body))


def register(app: App) -> None:
    app.nav("/fleet", "Fleet", role="operator")
    app.route("GET", "/fleet", fleet_page, role="operator")
    app.route("GET", "/api/fleet", lambda r: json_response(fleet_data(r)), role="operator")
