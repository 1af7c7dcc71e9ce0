"""The report's city-services sections: the snow plan and the check-ins (issue 16)."""

from html import escape
from pathlib import Path
from typing import Any


def _e(x: Any) -> str:
    return escape(str(x))


def _walkers(j: dict[str, Any]) -> str:
    if j["walkers_per_hour"] is None:
        return "unknown"
    return f"{j['walkers_per_hour']:.0f} ({j['walkers_low']:.0f}-{j['walkers_high']:.0f})"


def snow_html(s: dict[str, Any] | None, img: str) -> str:
    if not s:
        return ""
    head = ("<tr><th>order</th><th>crew</th><th>score</th><th>walkers/h (range)</th>"
            "<th>snow cm (source)</th><th>width m</th><th>road</th><th>segment</th>"
            "<th>designated</th></tr>")
    parts = [f"<h2>Snow plan (from this run)</h2><p><b>{s['planned']}</b> of"
             f" {s['segments_total']} segments need clearing, {s['not_in_shift']} not reached"
             f" in the shift. <b>Widths:</b> {_e(s['width_note'])}. <b>Walkers unknown</b> on"
             f" {s['walkers_unknown_segments']} segments (no counted place reaches them;"
             " planned as a middling street, dashed on the map"
             + (": " + ", ".join(f"<code>{_e(x)}</code>" for x in s["walkers_unknown_ids"][:8])
                + (" ..." if s["walkers_unknown_segments"] > 8 else "")
                if s["walkers_unknown_ids"] else "") + ").</p>",
             "<p class=muted>From the run's own data in OUT/cloud.db: walkers per hour at the"
             " counted places (count / the run's length): "
             + _e(", ".join(f"{k} {v:g}" for k, v in s["walkers_per_hour_at_places"].items()))
             + "; snow per segment: " + _e(", ".join(f"{k} {v}" for k, v in
                                                     s["snow_sources"].items()))
             + " segments. Files: " + _e(", ".join(s["files"])) + ".</p>"]
    for c in s["crews"]:
        rows = "".join(
            f"<tr><td>{j['order']}</td><td>{j['crew']}</td><td>{j['score']:.1f}</td>"
            f"<td>{_e(_walkers(j))}</td><td>{j['snow_cm']:.1f} ({_e(j['snow_source'])})</td>"
            f"<td>{j['width_m']:.1f}{'*' if j['width_fallback'] else ''}</td>"
            f"<td>{_e(j['road'])}</td><td><code>{_e(j['segment'])}</code></td>"
            f"<td>{_e(j['designated'] or '')}</td></tr>" for j in c["first_jobs"])
        parts.append(f"<h3>Crew {c['crew']} from {_e(c['depot'])}: {c['segments']} segments,"
                     f" {c['cleared_m']} m, {c['minutes']} min</h3>"
                     f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>")
    parts.append("<p class=muted>*: fallback width for the road class.</p>" + img)
    return "\n".join(parts)


def checkins_html(c: dict[str, Any] | None) -> str:
    if not c:
        return ""
    refused = ", ".join(f"{k} {v}" for k, v in c["refused"].items()) or "none"
    rows = "".join(f"<tr><td>{x['phone']}</td><td>{_e(x['sign'])}</td><td>{_e(x['what'])}</td>"
                   f"<td>{x['awarded']}</td><td>{_e(x['refused'] or '-')}</td></tr>"
                   for x in c["results"])
    return (f"<h2>Health-point check-ins at the signs</h2><p>{c['phones']} simulated app users"
            f" at {_e(', '.join(c['signs']))}: <b>{c['awarded']}</b> check-ins awarded"
            f" ({c['points']} points), refused: {_e(refused)}; {c['no_checkin']} phones found"
            f" no code in time. Each phone took the sign's rendered frame ({c['frames_looked_at']}"
            " frames), decoded the QR with OpenCV and redeemed it through the city app's"
            " <code>POST /api/checkin</code>. The city keeps sign, day and pseudonym only.</p>"
            "<table><thead><tr><th>phone</th><th>sign</th><th>what</th><th>points</th>"
            f"<th>refused</th></tr></thead><tbody>{rows}</tbody></table>")


def snow_img(out: Path, img: Any) -> str:
    return img(out / "plots" / "snow-plan.png") if (out / "plots" / "snow-plan.png").exists() \
        else ""
