"""Dayparting: when a scene may play, in the sign's local time.

A window is `{"days": [...], "from": "HH:MM", "to": "HH:MM", "dates": {"from": "MM-DD",
"to": "MM-DD"}}`, every key optional. `days` are mon..sun or "daily"/"weekdays"/"weekends";
a window whose `to` is earlier than its `from` runs overnight: it belongs to the day it
starts (fri 22:00-02:00 plays until 02:00 on Saturday). `from` == `to` means all day.
`dates` limits it to a yearly season and may wrap the new year (12-01 to 03-31 = winter).
No windows = always. Several windows: any of them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {"daily": range(7), "weekdays": range(5), "weekends": (5, 6)}


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int
    season: tuple[tuple[int, int], tuple[int, int]] | None = None

    def _in_season(self, day: datetime) -> bool:
        if self.season is None:
            return True
        lo, hi = self.season
        md = (day.month, day.day)
        return lo <= md <= hi if lo <= hi else md >= lo or md <= hi

    def active(self, now: datetime) -> bool:
        minute = now.hour * 60 + now.minute
        today = now.weekday()
        if self.start == self.end:
            return today in self.days and self._in_season(now)
        if self.start < self.end:
            return today in self.days and self.start <= minute < self.end and self._in_season(now)
        if minute >= self.start:  # overnight, evening part: starts today
            return today in self.days and self._in_season(now)
        if minute < self.end:  # overnight, morning part: started yesterday
            yesterday = now - timedelta(days=1)
            return (today - 1) % 7 in self.days and self._in_season(yesterday)
        return False


def _minutes(text: object, key: str) -> int:
    if not isinstance(text, str) or len(text.split(":")) != 2:
        raise ValueError(f"{key}: expected HH:MM, got {text!r}")
    h, m = text.split(":")
    if (
        not (len(h) == len(m) == 2 and h.isdigit() and m.isdigit())
        or int(m) > 59
        or int(h) > 24
        or (int(h) == 24 and int(m))
    ):
        raise ValueError(f"{key}: expected HH:MM from 00:00 to 24:00, got {text!r}")
    return int(h) * 60 + int(m)


def _month_day(text: object, key: str) -> tuple[int, int]:
    try:
        if not isinstance(text, str):
            raise TypeError(text)
        month, day = (int(x) for x in text.split("-"))
        datetime(2024, month, day)  # a leap year: 02-29 is allowed
    except (TypeError, ValueError, OverflowError) as exc:  # Overflow: "99999999999999999999-1"
        raise ValueError(f"{key}: expected MM-DD, got {text!r}") from exc
    return month, day


def parse_windows(raw: object) -> tuple[Window, ...]:
    """Parse a scene's `schedule` list; raises ValueError naming the bad field."""
    if not isinstance(raw, list):
        raise ValueError(f"expected a list of windows, got {raw!r}")
    out = []
    for i, w in enumerate(raw):
        if not isinstance(w, dict):
            raise ValueError(f"[{i}]: expected an object, got {w!r}")
        unknown = set(w) - {"days", "from", "to", "dates"}
        if unknown:
            raise ValueError(
                f"[{i}].{sorted(unknown)[0]}: unknown key; expected days, from, to, dates"
            )
        days_raw = w.get("days", "daily")
        if isinstance(days_raw, str) and days_raw in DAY_SETS:
            days = frozenset(DAY_SETS[days_raw])
        elif isinstance(days_raw, list) and days_raw and all(d in DAY_NAMES for d in days_raw):
            days = frozenset(DAY_NAMES.index(d) for d in days_raw)
        else:
            raise ValueError(
                f"[{i}].days: expected daily, weekdays, weekends or a list of mon..sun,"
                f" got {days_raw!r}"
            )
        start = _minutes(w.get("from", "00:00"), f"[{i}].from")
        end = _minutes(w.get("to", "24:00"), f"[{i}].to")
        if start == 24 * 60:
            raise ValueError(f"[{i}].from: expected a time before 24:00")
        if end == 24 * 60:
            end = 0  # 24:00 = midnight: from > to, so it is handled as ending at 00:00
        season = None
        if "dates" in w:
            d = w["dates"]
            if not isinstance(d, dict) or set(d) != {"from", "to"}:
                raise ValueError(
                    f'[{i}].dates: expected {{"from": "MM-DD", "to": "MM-DD"}}, got {d!r}'
                )
            season = (
                _month_day(d["from"], f"[{i}].dates.from"),
                _month_day(d["to"], f"[{i}].dates.to"),
            )
        out.append(Window(days, start, end, season))
    return tuple(out)


def is_active(windows: tuple[Window, ...], now: datetime) -> bool:
    """True if a scene with these windows may play at local time `now`."""
    return not windows or any(w.active(now) for w in windows)
