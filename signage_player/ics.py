"""iCalendar (RFC 5545) events for the events scene, read at `walkway content build` time.

Accepted (docs/content.md#events-from-a-calendar):
- VEVENTs with UID, SUMMARY, DTSTART and optionally DTEND, LOCATION, RRULE, EXDATE;
- per-language text either as `SUMMARY;LANGUAGE=en:...` (ja, en, ko, zh-Hans; zh, zh-CN and
  zh-Hans-CN count as zh-Hans) or as `X-WALKWAY-SUMMARY-EN:...` (also -ZH-HANS, -KO, -JA);
  a SUMMARY without LANGUAGE is Japanese. The same for LOCATION;
- the place: `X-WALKWAY-PLACE:odori-park`, else a LOCATION equal to a place's name in
  places.csv (any language); the walking distance: `X-WALKWAY-DISTANCE-M:520`, else the
  scene's `[data.distance_m]` table by place id;
- times with TZID (IANA), in UTC (`Z`), floating (the package's time zone) or all-day dates;
- CATEGORIES: its first value (lower case) is the event's category in the interactive search;
- RRULE with FREQ=DAILY or WEEKLY, INTERVAL, COUNT, UNTIL and BYDAY (plain days, no
  ordinals). Anything else (MONTHLY, YEARLY, BYMONTH, BYSETPOS, RDATE, ...) is reported as a
  problem naming the line, never silently skipped.
Each event shows its next occurrence that has not ended; past ones are dropped. Items are
sorted by start; the scene's `max_items` (default 4) are kept.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signage_player.authoring.problems import Problems

LANG_ALIASES = {"ja": "ja", "en": "en", "ko": "ko", "zh-hans": "zh-Hans", "zh": "zh-Hans",
                "zh-cn": "zh-Hans", "zh-hans-cn": "zh-Hans"}
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RRULE_KEYS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST"}
MAX_OCCURRENCES = 5000  # a runaway rule stops here rather than looping for ever
MAX_LISTED = 100  # upcoming occurrences kept per event for the sign's search (~9 KB)


@dataclass
class Prop:
    name: str
    params: dict[str, str]
    value: str
    line: int


@dataclass
class Event:
    line: int
    props: list[Prop] = field(default_factory=list)

    def get(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def parse_lines(text: str) -> list[Prop]:
    """Unfold and split content lines into (name, params, value, first line number)."""
    props: list[Prop] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if raw[:1] in (" ", "\t") and props:
            props[-1].value += raw[1:]
            continue
        if not raw.strip():
            continue
        head, value = _split_value(raw)
        name, *params = head.split(";")
        props.append(Prop(name.upper(), dict(_param(p) for p in params), value, number))
    return props


def _split_value(raw: str) -> tuple[str, str]:
    quoted = False
    for i, ch in enumerate(raw):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return raw[:i], raw[i + 1:]
    return raw, ""


def _param(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key.upper(), value.strip('"')


def read_events(path: Path, problems: Problems) -> list[Event]:
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(path, 0, "", f"expected a readable UTF-8 iCalendar file ({exc})")
        return []
    events: list[Event] = []
    current: Event | None = None
    for prop in parse_lines(text):
        if prop.name == "BEGIN" and prop.value.upper() == "VEVENT":
            current = Event(prop.line)
        elif prop.name == "END" and prop.value.upper() == "VEVENT" and current is not None:
            events.append(current)
            current = None
        elif current is not None:
            current.props.append(prop)
    if not events and "BEGIN:VCALENDAR" not in text.upper():
        problems.add(path, 1, "", "expected an iCalendar file (BEGIN:VCALENDAR)")
    return events


def texts(event: Event, name: str) -> dict[str, str]:
    """Per-language values of SUMMARY or LOCATION (both spellings)."""
    out: dict[str, str] = {}
    for p in event.props:
        if p.name == name:
            lang = LANG_ALIASES.get(p.params.get("LANGUAGE", "ja").lower())
            if lang:
                out[lang] = _unescape(p.value).strip()
        elif p.name.startswith(f"X-WALKWAY-{name}-"):
            lang = LANG_ALIASES.get(p.name.removeprefix(f"X-WALKWAY-{name}-").lower())
            if lang:
                out[lang] = _unescape(p.value).strip()
    return out


def parse_time(prop: Prop, zone: ZoneInfo) -> tuple[datetime, bool]:
    """(aware datetime, all_day); raises ValueError."""
    value = prop.value.strip()
    if prop.params.get("VALUE") == "DATE" or re.fullmatch(r"\d{8}", value):
        d = datetime.strptime(value, "%Y%m%d")
        return d.replace(tzinfo=zone), True
    tz = zone
    if "TZID" in prop.params:
        try:
            tz = ZoneInfo(prop.params["TZID"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TZID: expected an IANA time zone, got {prop.params['TZID']!r}") \
                from exc
    if value.endswith("Z"):
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC")), False
    return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz), False


def occurrences(start: datetime, rule: str, until_horizon: datetime,
                exdates: set[datetime]) -> list[datetime]:
    """Starts of a DAILY/WEEKLY rule up to the horizon; raises ValueError for the rest."""
    parts = dict(p.partition("=")[::2] for p in rule.upper().split(";") if p)
    unsupported = sorted(set(parts) - RRULE_KEYS)
    if unsupported:
        raise ValueError(f"RRULE {', '.join(unsupported)} is not supported "
                         "(FREQ, INTERVAL, COUNT, UNTIL, BYDAY are)")
    freq = parts.get("FREQ")
    if freq not in ("DAILY", "WEEKLY"):
        raise ValueError(f"RRULE FREQ={freq} is not supported (DAILY or WEEKLY are)")
    interval = int(parts.get("INTERVAL", "1"))
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    until = until_horizon
    if "UNTIL" in parts:
        u = parts["UNTIL"]
        stop = (datetime.strptime(u, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
                if u.endswith("Z") else
                datetime.strptime(u[:8], "%Y%m%d").replace(tzinfo=start.tzinfo)
                + (timedelta(days=1, seconds=-1) if len(u) == 8 else timedelta()))
        until = min(until, stop)
    days = parts.get("BYDAY", "")
    byday = {DAYS.index(d) for d in days.split(",")} if days else set()
    if any(not re.fullmatch(r"[A-Z]{2}", d) or d not in DAYS for d in days.split(",") if days):
        raise ValueError(f"RRULE BYDAY={days}: expected plain days like MO,WE (no ordinals)")
    out: list[datetime] = []
    produced = 0
    day = start
    week0 = start.date() - timedelta(days=start.weekday())
    while day <= until and produced < MAX_OCCURRENCES:
        if freq == "DAILY":
            ok = (day.date() - start.date()).days % interval == 0 and (
                not byday or day.weekday() in byday)
        else:
            weeks = (day.date() - timedelta(days=day.weekday()) - week0).days // 7
            ok = weeks % interval == 0 and (
                day.weekday() in byday if byday else day.weekday() == start.weekday())
        if ok:
            produced += 1
            if day not in exdates:
                out.append(day)
            if count is not None and produced >= count:
                break
        day = day + timedelta(days=1)
    return out


def when_text(start: datetime, end: datetime | None, all_day: bool, lang: str) -> str:
    ja_days, ko_days, zh_days = "月火水木金土日", "월화수목금토일", "一二三四五六日"
    en_days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    w, m, d = start.weekday(), start.month, start.day
    span = ""
    if not all_day:
        span = f"{start.hour}:{start.minute:02d}"
        if end is not None and end.date() == start.date():
            span += ("–" if lang == "en" else "~" if lang == "ko" else "〜") + \
                f"{end.hour}:{end.minute:02d}"
    date_text = {
        "ja": f"{m}/{d}({ja_days[w]})", "ko": f"{m}/{d}({ko_days[w]})",
        "zh-Hans": f"{m}月{d}日（周{zh_days[w]}）", "en": f"{en_days[w]} {d} {months[m - 1]}",
    }[lang]
    if not span:
        return date_text
    return f"{date_text}, {span}" if lang == "en" else f"{date_text}　{span}"


def events_from_ics(path: Path, langs: tuple[str, ...], places: dict[str, Any],
                    data: dict[str, Any], zone_name: str, now: datetime,
                    problems: Problems) -> list[dict[str, Any]]:
    """Events scene items from an .ics file: next occurrence per event, past dropped."""
    zone = ZoneInfo(zone_name)
    horizon = now + timedelta(days=int(data.get("horizon_days", 90)))
    by_name = {name: pid for pid, p in places.items()
               for name in (p.get("name") or {}).values() if isinstance(name, str)}
    found: list[tuple[datetime, dict[str, Any]]] = []
    for ev in read_events(path, problems):
        item = _item(path, ev, langs, places, by_name, data, zone, now, horizon, problems)
        if item is not None:
            found.append(item)
    found.sort(key=lambda pair: pair[0])
    return [item for _, item in found[: int(data.get("max_items", 4))]]


def _item(path: Path, ev: Event, langs: tuple[str, ...], places: dict[str, Any],
          by_name: dict[str, str], data: dict[str, Any], zone: ZoneInfo, now: datetime,
          horizon: datetime, problems: Problems) -> tuple[datetime, dict[str, Any]] | None:
    title = texts(ev, "SUMMARY")
    summary = ev.get("SUMMARY")
    ok = True
    for lang in langs:
        if not title.get(lang):
            problems.add(path, summary.line if summary else ev.line, f"SUMMARY;LANGUAGE={lang}",
                         f"expected the {lang} title (or X-WALKWAY-SUMMARY-{lang.upper()})")
            ok = False
    start_prop, end_prop = ev.get("DTSTART"), ev.get("DTEND")
    if start_prop is None:
        problems.add(path, ev.line, "DTSTART", "expected a start time (required)")
        return None
    try:
        start, all_day = parse_time(start_prop, zone)
        end = parse_time(end_prop, zone)[0] if end_prop else None
    except ValueError as exc:
        problems.add(path, start_prop.line, "DTSTART", f"expected YYYYMMDD[THHMMSS[Z]]: {exc}")
        return None
    length = (end - start) if end else timedelta(days=1 if all_day else 0)
    for p in ev.props:
        if p.name in ("RDATE", "EXRULE"):
            problems.add(path, p.line, p.name, "is not supported (use RRULE and EXDATE)")
            ok = False
    exdates: set[datetime] = set()
    for p in ev.props:
        if p.name == "EXDATE":
            for v in p.value.split(","):
                try:
                    exdates.add(parse_time(Prop("EXDATE", p.params, v, p.line), zone)[0])
                except ValueError:
                    problems.add(path, p.line, "EXDATE", f"expected a date-time, got {v!r}")
    rule = ev.get("RRULE")
    starts = [start]
    if rule is not None:
        try:
            starts = occurrences(start, rule.value, horizon, exdates)
        except ValueError as exc:
            problems.add(path, rule.line, "RRULE", str(exc))
            return None
    upcoming = [s for s in starts if s + length > now]
    place = _place(path, ev, places, by_name, problems)
    distance = _distance(path, ev, place, data, problems)
    if not ok or place is None or distance is None or not upcoming:
        return None
    first = upcoming[0]
    shown_end = first + length if end else None
    uid = ev.get("UID")
    return first, {
        "title": {lang: title[lang] for lang in langs},
        "place": place, "distance_m": distance,
        "when": {lang: when_text(first, shown_end, all_day, lang) for lang in langs},
        # For the interactive search (interactive/catalog.py): the sign picks the next
        # occurrence that has not ended at the time of the search, and drops the event once
        # the last one listed is over.
        "uid": uid.value.strip() if uid is not None else f"line{ev.line}",
        "all_day": all_day,
        "timed_end": end is not None,
        "occurrences": [[s.isoformat(), (s + length).isoformat()]
                        for s in upcoming[:MAX_LISTED]],
        **_category(ev),
    }


def _category(ev: Event) -> dict[str, str]:
    """The first CATEGORIES value, lower case: the interactive search's category id."""
    prop = ev.get("CATEGORIES")
    first = prop.value.split(",")[0].strip().lower() if prop is not None else ""
    return {"category": first} if first else {}


def _place(path: Path, ev: Event, places: dict[str, Any], by_name: dict[str, str],
           problems: Problems) -> str | None:
    explicit = ev.get("X-WALKWAY-PLACE")
    if explicit is not None:
        if explicit.value.strip() in places:
            return explicit.value.strip()
        problems.add(path, explicit.line, "X-WALKWAY-PLACE",
                     f"expected a place id from places.csv, got {explicit.value!r}")
        return None
    for text in texts(ev, "LOCATION").values():
        if text in by_name:
            return by_name[text]
    loc = ev.get("LOCATION")
    problems.add(path, loc.line if loc else ev.line, "LOCATION",
                 "expected X-WALKWAY-PLACE or a LOCATION equal to a place name in places.csv")
    return None


def _distance(path: Path, ev: Event, place: str | None, data: dict[str, Any],
              problems: Problems) -> int | None:
    prop = ev.get("X-WALKWAY-DISTANCE-M")
    if prop is not None:
        if prop.value.strip().isdigit():
            return int(prop.value.strip())
        problems.add(path, prop.line, "X-WALKWAY-DISTANCE-M",
                     f"expected whole metres, got {prop.value!r}")
        return None
    table = data.get("distance_m", {})
    if place is not None and isinstance(table, dict) and isinstance(table.get(place), int):
        return int(table[place])
    if place is not None:
        problems.add(path, ev.line, "X-WALKWAY-DISTANCE-M",
                     f"expected the walking distance (or [data.distance_m] {place} = METRES)")
    return None


