"""Events from an iCalendar feed: multilingual SUMMARY, recurring events expanded, past
events dropped; the result shows on the events scene (checked on the fit records' texts)."""

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage_player.authoring.build import build, lint
from signage_player.authoring.problems import Problems
from signage_player.ics import events_from_ics, occurrences

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tests" / "data" / "content_src"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=TOKYO)
PLACES = {"odori-park": {"name": {"ja": "大通公園", "en": "Odori Park"}},
          "chikaho": {"name": {"ja": "チ・カ・ホ 北2条", "en": "Chi-Ka-Ho, Kita 2"}}}


def _ics(tmp_path: Path, *events: str) -> Path:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    path = tmp_path / "events.ics"
    path.write_text(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{body}END:VCALENDAR\r\n", "utf-8")
    return path


def _items(path: Path, now: datetime = NOW) -> tuple[list, Problems]:
    problems = Problems()
    items = events_from_ics(path, ("ja", "en"), PLACES, {"distance_m": {"odori-park": 400}},
                            "Asia/Tokyo", now, problems)
    return items, problems


def test_weekly_byday_count_and_exdate():
    start = datetime(2026, 11, 21, 10, 0, tzinfo=TOKYO)  # a Saturday
    skip = datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)
    got = occurrences(start, "FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4", NOW + timedelta(days=90), {skip})
    assert [d.day for d in got] == [21, 22, 29]  # 4 counted, the 28th excluded


def test_daily_until_and_interval():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)
    got = occurrences(start, "FREQ=DAILY;INTERVAL=2;UNTIL=20261207", NOW + timedelta(days=90),
                      set())
    assert [d.day for d in got] == [1, 3, 5, 7]


def test_next_occurrence_shown_past_dropped_both_spellings(tmp_path):
    path = _ics(tmp_path, """
UID:a
DTSTART;TZID=Asia/Tokyo:20261121T100000
DTEND;TZID=Asia/Tokyo:20261121T120000
RRULE:FREQ=WEEKLY;BYDAY=SA
SUMMARY:朝市
X-WALKWAY-SUMMARY-EN:Morning market
LOCATION;LANGUAGE=en:Odori Park
""", """
UID:b
DTSTART:20261101T010000Z
SUMMARY;LANGUAGE=ja:終わった催し
SUMMARY;LANGUAGE=en:Already over
X-WALKWAY-PLACE:odori-park
""")
    items, problems = _items(path)
    assert not problems, [str(p) for p in problems.items]
    assert len(items) == 1  # the past one is dropped
    assert items[0]["title"] == {"ja": "朝市", "en": "Morning market"}
    assert items[0]["when"]["en"] == "Sat 5 Dec, 10:00–12:00"  # 28 Nov is over at NOW
    assert items[0]["when"]["ja"] == "12/5(土)　10:00〜12:00"
    assert items[0]["place"] == "odori-park" and items[0]["distance_m"] == 400


def test_unsupported_rule_and_missing_language_are_problems(tmp_path):
    path = _ics(tmp_path, """
UID:m
DTSTART;TZID=Asia/Tokyo:20261201T100000
RRULE:FREQ=MONTHLY;BYMONTHDAY=1
SUMMARY:月例会
SUMMARY;LANGUAGE=en:Monthly meeting
X-WALKWAY-PLACE:odori-park
""", """
UID:n
DTSTART;TZID=Asia/Tokyo:20261201T100000
SUMMARY:英語なし
X-WALKWAY-PLACE:nowhere
""")
    items, problems = _items(path)
    lines = [str(p) for p in problems.items]
    assert items == []
    assert any(":6: RRULE: RRULE BYMONTHDAY is not supported" in ln for ln in lines), lines
    assert any(":14: SUMMARY;LANGUAGE=en: expected the en title" in ln for ln in lines), lines
    assert any(":15: X-WALKWAY-PLACE: expected a place id" in ln for ln in lines), lines


@pytest.fixture
def two_language_src(tmp_path: Path) -> Path:
    dest = tmp_path / "src"
    shutil.copytree(SRC, dest)
    meta = dest / "package.toml"
    meta.write_text(meta.read_text().replace('["ja", "en", "zh-Hans", "ko"]', '["ja", "en"]'))
    return dest


def test_ics_events_show_on_the_events_scene(two_language_src, tmp_path):
    from signage_player.offscreen import render_scene

    assert [str(p) for p in lint(two_language_src, now=NOW, sizes=((1920, 1080),)).items] == []
    package = build(two_language_src, tmp_path / "pkg", now=NOW, sizes=((1920, 1080),))
    assert package.languages == ("ja", "en")
    shown_text = {}
    for lang in package.languages:
        frame, shown = render_scene(package, "events", lang, (1920, 1080))
        assert frame is not None and not shown.overflows
        shown_text[lang] = " ".join(" ".join(r.fit.lines) for r in shown.fits)
    en, ja = shown_text["en"], shown_text["ja"]
    # The daily illumination and the weekly (Sat/Sun) market show today's occurrence.
    assert "Sapporo White Illumination" in en and "Sun 29 Nov, 16:30–22:00" in en
    assert "Hokkaido" in en and "Sun 29 Nov, 10:00–18:00" in en
    assert "さっぽろホワイトイルミネーション" in ja.replace(" ", "") and "11/29(日)" in ja
    assert "Wellness" in en and "Sun 6 Dec" in en
    assert "Autumn Fest" not in en and "オータムフェスト" not in ja  # over: dropped


MARCHE = "marche-2026@example.city.sapporo.jp"


def _with_interactive(src: Path) -> Path:
    """The example package's interactive data, the market's category keyed by its UID."""
    import json

    example = ROOT / "signage_player" / "example_content" / "sapporo" / "data" / "interactive.json"
    data = json.loads(example.read_text("utf-8"))
    data["events"] = {MARCHE: {"category": "market"}}
    (src / "interactive.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return src


def _list_text(package, lang: str, now: datetime, **state) -> str:
    from signage_player.interactive.screens import State
    from signage_player.interactive.script import render_screen

    screen = render_screen(package, State(screen="list", kind="events", **state), lang,
                           (1920, 1080), now=now, draw=False)
    assert not screen.overflows
    return " ".join(" ".join(r.fit.lines) for r in screen.fits).replace(" ", "")


def test_ics_events_are_found_by_the_interactive_search(two_language_src, tmp_path):
    from signage_player.interactive.catalog import load_catalog

    src = _with_interactive(two_language_src)
    lines = [str(p) for p in lint(src, now=NOW, sizes=((1920, 1080),)).items]
    # The market's English title fits the events scene but not a line of the search list.
    assert len(lines) == 1 and "events.ics:22: btn.item:event" in lines[0], lines
    assert "expected text that fits the search list at 1920x1080" in lines[0]
    ics = src / "events.ics"
    ics.write_text(ics.read_text("utf-8").replace(": local vegetables and dairy", "").replace(
        "X-WALKWAY-DISTANCE-M:520", "X-WALKWAY-DISTANCE-M:520\r\nCATEGORIES:Festival,Lights"),
        "utf-8")
    assert [str(p) for p in lint(src, now=NOW, sizes=((1920, 1080),)).items] == []
    good = ics.read_text("utf-8")
    ics.write_text(good.replace("X-WALKWAY-PLACE:sapporo-station",
                                "X-WALKWAY-PLACE:sapporo-station\nCATEGORIES:Sumo"), "utf-8")
    lines = [str(p) for p in lint(src, now=NOW, sizes=((1920, 1080),)).items]
    assert len(lines) == 1 and "interactive.json: events.wellness-walk-2026@" in lines[0]
    assert ".category: expected one of food, shopping" in lines[0], lines
    ics.write_text(good, "utf-8")
    package = build(src, tmp_path / "pkg", now=NOW, sizes=((1920, 1080),))
    catalog = load_catalog(package)
    # Sunday 29 Nov, 10:00: the weekly (Sat/Sun) market is on today, found in both languages
    # under its category, with the date of today's occurrence.
    ja = _list_text(package, "ja", NOW, when="today", category="market")
    en = _list_text(package, "en", NOW, when="today", category="market")
    assert "北海道マルシェ" in ja and "11/29(日)" in ja
    assert "HokkaidoMarché" in en and "Sun29Nov" in en
    # The daily illumination's category comes from the feed's CATEGORIES.
    assert "WhiteIllumination" in _list_text(package, "en", NOW, category="festival")
    assert "WhiteIllumination" not in _list_text(package, "en", NOW, category="market")
    # The finished Autumn Fest is found in no language, whatever the filter.
    every = [_list_text(package, lang, NOW) for lang in ("ja", "en")]
    assert all("オータムフェスト" not in t and "AutumnFest" not in t for t in every)
    # A week on (Sunday 6 Dec, 19:00: today's market is over) the next one is offered...
    later = NOW + timedelta(days=7, hours=9)
    market = next(i for i in catalog.search("events", later) if i.title["en"].startswith("Hok"))
    assert market.when == {"ja": "12/12(土)　10:00〜18:00", "en": "Sat 12 Dec, 10:00–18:00"}
    assert "HokkaidoMarché" not in _list_text(package, "en", later, when="today")
    # ... and once its 8 occurrences are over it is not found, nor its detail shown.
    gone = datetime(2026, 12, 20, 12, 0, tzinfo=TOKYO)
    titles = [i.title["en"] for i in catalog.search("events", gone)]
    assert not any(t.startswith("Hokkaido") for t in titles), titles
    assert "Sapporo White Illumination" in titles  # daily until 25 Dec
    item_id = next(i.id for i in catalog.of("events") if i.title["en"].startswith("Hokkaido"))
    assert catalog.find("events", item_id, gone) is None
    from signage_player.interactive.screens import State
    from signage_player.interactive.script import render_screen

    def chips(now: datetime) -> set[str]:
        screen = render_screen(package, State(screen="list", kind="events"), "en", (1920, 1080),
                               now=now, draw=False)
        return {b.id for b in screen.buttons if b.id.startswith("category:")}

    assert "category:market" in chips(NOW) and "category:market" not in chips(gone)
