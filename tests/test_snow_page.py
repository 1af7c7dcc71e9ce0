"""The snow page and API in the city app, on the Hakken scenario; and the plan picture."""

import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from city_fixtures import USERS, client, get, start_city
from snow_fixtures import CONFIG, PLACES, PLAN_AT, ROADS, WAY_TAGS, WEATHER, seed_counts
from support.browser import chromium_paths, start_chromium, stop_chromium

from city.pages_snow import configure_snow

AT = urllib.parse.quote(PLAN_AT)
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snowcity")
    db = str(tmp / "cloud.db")
    seed_counts(db)
    city = start_city(db, PLACES, tmp / "users.json")
    yield city, city.app
    city.stop()


def test_snow_page_off_until_configured_then_map_routes_and_clearing(city, tmp_path) -> None:
    server, app = city
    opener = client(server, "aiko")
    status, body = get(opener, server, "/snow")
    assert status == 404 and "--snow-roads" in body
    configure_snow(app, argparse.Namespace(snow_roads=ROADS, snow_weather=WEATHER,
                                           snow_config=CONFIG, snow_way_tags=WAY_TAGS,
                                           snow_crews=2))
    status, body = get(opener, server, f"/snow?crews=3&at={AT}")
    assert status == 200
    assert "id='snow-map'" in body and "snow-crew-3" in body and "@media print" in body
    assert "676 segments use the fallback width" in body
    status, text = get(opener, server, f"/api/snow/plan?crews=2&at={AT}")
    plan = json.loads(text)
    first = min((r for r in plan["segments"] if r.get("order")), key=lambda r: r["order"])
    viewer = client(server, "ken")
    form = urllib.parse.urlencode({"segment": first["segment"], "crew": "2",
                                   "at": "2026-01-25T08:59:00+09:00"}).encode()
    try:
        viewer.open(f"{server.url}/api/snow/cleared", form, timeout=10)
        refused = None
    except urllib.error.HTTPError as exc:
        refused = exc.code
    assert refused == 403  # only operators mark clearings
    with opener.open(f"{server.url}/api/snow/cleared", form, timeout=10) as r:
        assert json.loads(r.read())["segment"] == first["segment"]
    after = {r["segment"]: r for r in json.loads(
        get(opener, server, f"/api/snow/plan?crews=2&at={AT}")[1])["segments"]}
    assert not after[first["segment"]]["planned"] and after[first["segment"]]["score"] == 0
    bad = urllib.parse.urlencode({"segment": "nope", "crew": "2"}).encode()
    try:
        opener.open(f"{server.url}/api/snow/cleared", bad, timeout=10)
        code, msg = 200, ""
    except urllib.error.HTTPError as exc:
        code, msg = exc.code, exc.read().decode()
    assert code == 400 and "segment" in msg
    assert get(opener, server, "/snow?crews=abc")[0] == 400


@pytest.mark.skipif(chromium_paths() is None, reason="chromium/chromium-driver missing")
def test_snow_page_in_chromium_draws_the_map_and_prints_without_the_menu(city, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    server, app = city
    configure_snow(app, argparse.Namespace(snow_roads=ROADS, snow_weather=WEATHER,
                                           snow_config=CONFIG, snow_way_tags=WAY_TAGS,
                                           snow_crews=3))
    browser = start_chromium()
    try:
        browser.set_window_size(1200, 1600)
        browser.get(server.url + "/login")
        browser.find_element("name", "name").send_keys("ken")
        browser.find_element("name", "password").send_keys(USERS["ken"][1] + "\n")
        # The login's POST must be answered (its cookie set) before the next page is asked
        # for: without the wait, /snow was once fetched still logged out (no map on it).
        WebDriverWait(browser, 30).until(lambda b: "/login" not in b.current_url)
        browser.get(f"{server.url}/snow?crews=3&at={AT}")
        WebDriverWait(browser, 30).until(
            lambda b: b.execute_script("return !!document.getElementById('snow-map')"))
        drawn = browser.execute_script(
            "const m = document.getElementById('snow-map'); const b = m.getBoundingClientRect();"
            " return [b.width, b.height, m.querySelectorAll('line').length,"
            " m.querySelectorAll('circle').length]")
        assert drawn[0] > 800 and drawn[1] > 700 and drawn[2] == 676 and drawn[3] == 36
        pdf = browser.print_page()  # print media: no menu, no form
        assert len(pdf) > 10_000
        hidden = browser.execute_script(
            "for (const r of document.styleSheets) for (const x of r.cssRules)"
            " if (x.media && x.media.mediaText === 'print') return x.cssText; return ''")
        assert "header" in hidden and "display: none" in hidden
        if os.environ.get("WALKWAY_SCREENSHOTS") == "1":
            browser.save_screenshot(str(SHOTS / "city-snow-page.png"))
    finally:
        stop_chromium(browser)
