"""Dayparting edges: midnight, overnight windows, seasons across the new year."""

from datetime import datetime

import pytest

from signage_player.schedule import is_active, parse_windows


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)  # 2026-11-27 is a Friday


def test_no_windows_means_always():
    assert is_active((), at("2026-11-27T03:00"))


@pytest.mark.parametrize(
    "when, expected",
    [
        ("2026-11-27T21:59", False),  # Fri before start
        ("2026-11-27T22:00", True),  # Fri start (inclusive)
        ("2026-11-27T23:59", True),
        ("2026-11-28T00:00", True),  # midnight: Saturday, but the window started Friday
        ("2026-11-28T01:59", True),
        ("2026-11-28T02:00", False),  # end is exclusive
        ("2026-11-28T22:30", False),  # Saturday evening: not a listed day
        ("2026-11-27T01:00", False),  # Friday early morning: Thursday is not listed
    ],
)
def test_overnight_window_belongs_to_the_day_it_starts(when, expected):
    windows = parse_windows([{"days": ["fri"], "from": "22:00", "to": "02:00"}])
    assert is_active(windows, at(when)) is expected


@pytest.mark.parametrize(
    "when, expected",
    [("2026-11-27T23:59", True), ("2026-11-28T00:00", False), ("2026-11-27T17:59", False)],
)
def test_window_ending_at_midnight(when, expected):
    windows = parse_windows([{"days": "daily", "from": "18:00", "to": "24:00"}])
    assert is_active(windows, at(when)) is expected


def test_whole_day_and_weekends():
    windows = parse_windows([{"days": "weekends"}])
    assert is_active(windows, at("2026-11-28T00:00"))  # Sat
    assert is_active(windows, at("2026-11-29T23:59"))  # Sun
    assert not is_active(windows, at("2026-11-30T00:00"))  # Mon


@pytest.mark.parametrize(
    "when, expected",
    [
        ("2026-12-31T12:00", True),
        ("2027-01-01T00:00", True),
        ("2027-04-15T12:00", True),
        ("2027-04-16T00:00", False),
        ("2026-10-31T23:59", False),
    ],
)
def test_season_wraps_the_new_year(when, expected):
    windows = parse_windows([{"dates": {"from": "11-01", "to": "04-15"}}])
    assert is_active(windows, at(when)) is expected


def test_overnight_on_the_last_day_of_a_season():
    windows = parse_windows(
        [{"from": "22:00", "to": "02:00", "dates": {"from": "11-01", "to": "04-15"}}]
    )
    assert is_active(windows, at("2027-04-16T01:00"))  # started on 04-15
    assert not is_active(windows, at("2027-04-16T22:00"))


def test_any_of_several_windows():
    windows = parse_windows([{"from": "05:00", "to": "10:00"}, {"from": "15:00", "to": "20:00"}])
    assert is_active(windows, at("2026-11-27T09:59"))
    assert not is_active(windows, at("2026-11-27T12:00"))
    assert is_active(windows, at("2026-11-27T15:00"))


@pytest.mark.parametrize(
    "raw, match",
    [
        ([{"from": "7:5"}], r"\[0\].from: expected HH:MM"),
        ([{"to": "24:30"}], r"\[0\].to: expected HH:MM from 00:00 to 24:00"),
        ([{"days": ["funday"]}], r"\[0\].days: expected daily"),
        ([{"dates": {"from": "02-30", "to": "03-01"}}], r"\[0\].dates.from: expected MM-DD"),
        ([{"start": "07:00"}], r"\[0\].start: unknown key"),
        ({"from": "07:00"}, r"expected a list of windows"),
    ],
)
def test_bad_windows_name_the_field(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_windows(raw)


def test_playlist_follows_schedule_and_sign_kind():
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from signage_player.config import SignageConfig
    from signage_player.content import load_package
    from signage_player.player import playlist

    root = Path(__file__).resolve().parents[1]
    package = load_package(root / "signage_player" / "example_content" / "sapporo")
    tokyo = ZoneInfo("Asia/Tokyo")
    under = SignageConfig(content=None, state_dir=Path("."), sign_kind="underground")
    suburb = SignageConfig(content=None, state_dir=Path("."), sign_kind="suburban")
    noon = datetime(2026, 11, 27, 12, 0, tzinfo=tokyo)
    ids = [s.id for s, _ in playlist(package, under, noon)]
    assert ids[:4] == ["events"] * 4  # each scene in all four languages, Japanese first
    assert [lang for _, lang in playlist(package, under, noon)][:4] == ["ja", "en", "zh-Hans", "ko"]
    assert "jogging" not in ids and "emergency" not in ids
    assert "jogging" not in {s.id for s, _ in playlist(package, suburb, noon)}  # 10:00-15:00 gap
    morning = datetime(2026, 11, 27, 6, 0, tzinfo=tokyo)
    assert "jogging" in {s.id for s, _ in playlist(package, suburb, morning)}
    after_midnight = datetime(2026, 11, 28, 0, 30, tzinfo=tokyo)  # route runs 05:00-01:00
    night = {s.id for s, _ in playlist(package, under, after_midnight)}
    assert "route" in night and "events" not in night
    three_am = datetime(2026, 11, 28, 3, 0, tzinfo=tokyo)
    assert playlist(package, under, three_am)  # never blank
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=tokyo)
    assert "weather" not in {s.id for s, _ in playlist(package, under, summer)}
