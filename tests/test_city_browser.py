"""The city app in a real headless Chromium (Debian's chromium + chromedriver, selenium):
log in, open each page, the map and charts show the simulated data, filters change them, and
the operator-only page refuses a viewer. WALKWAY_SCREENSHOTS=1 writes docs/screenshots/."""

import os
from pathlib import Path

import pytest
from city_fixtures import USERS, seed, start_city
from support.browser import chromium_paths, start_chromium, stop_chromium

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(chromium_paths() is None,
                                reason="chromium/chromium-driver missing: ./run setup")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("city-browser")
    seed(str(tmp / "cloud.db"), tmp / "places.toml")
    server = start_city(str(tmp / "cloud.db"), tmp / "places.toml", tmp / "users.json")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    session = start_chromium()
    yield session
    stop_chromium(session)


def shot(browser, name: str, tmp: Path) -> None:
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(max(800, height + 40), 3000))
    folder = SHOTS if os.environ.get("WALKWAY_SCREENSHOTS") == "1" else tmp
    browser.save_screenshot(str(folder / f"city-{name}.png"))
    browser.set_window_size(1280, 1000)


def click_and_wait(browser, element_id: str) -> None:
    """Click something that loads a page, and wait (polling) until the new one is in: 60 s,
    which only a broken page needs (a loaded machine took over 10 s). The old page is marked
    and the wait is for a loaded document without the mark: selenium's staleness_of asks the
    old element, and chromedriver can answer that mid-navigation with "Node with given id
    does not belong to the document" (a WebDriverException, not a stale element)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.walkwayOldPage = true")
    browser.find_element(By.ID, element_id).click()
    WebDriverWait(browser, 60, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script(
            "return !window.walkwayOldPage && document.readyState === 'complete'"))


def log_in(browser, city, user: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{city.url}/login")
    browser.find_element(By.ID, "name").send_keys(user)
    browser.find_element(By.ID, "password").send_keys(USERS[user][1])
    click_and_wait(browser, "login")


def choose(browser, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, f"f-{name}")).select_by_value(value)
    click_and_wait(browser, "apply")


def test_staff_use_the_dashboard_in_chromium(city, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    def count(css: str) -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, css))

    browser.get(f"{city.url}/report")
    assert "Log in" in browser.title  # not logged in: sent to the login form
    log_in(browser, city, "ken")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Map of places"
    # The map shows every central place with the latest hour's people.
    circles = browser.find_elements(By.CSS_SELECTOR, "#map circle.place")
    assert len(circles) == 5
    assert all(int(c.get_attribute("data-people")) > 0 for c in circles)
    assert count("#map polyline") >= 5  # the shipped outline, no tile server
    shot(browser, "map", tmp_path)
    choose(browser, "kind", "exit")  # a filter changes the map
    assert count("#map circle.place") == 2
    choose(browser, "area", "all")
    assert count("#map circle.place") == 2
    choose(browser, "kind", "station-front")
    assert count("#map circle.place") == 2

    browser.get(f"{city.url}/place/aurora-town")
    assert count("#hourly-chart rect.bar") == 24 and count("#hourly-chart line.bound") == 24
    assert count("#daily-chart rect.bar") > 30
    choose(browser, "days", "7")  # a filter changes the chart
    assert count("#hourly-chart rect.bar") == 7 * 24
    shot(browser, "place", tmp_path)

    browser.get(f"{city.url}/compare?mode=snow")
    assert count("#compare-table tbody tr") == 7
    shot(browser, "compare-snow", tmp_path)
    choose(browser, "mode", "event")
    assert "Odori Park winter event opens" in browser.page_source
    shot(browser, "compare-event", tmp_path)

    browser.get(f"{city.url}/report")
    assert count("#busiest-table tbody tr") == 7 and count("#hours-chart rect.bar") == 24
    assert "steps per day" in browser.find_element(By.ID, "steps").text
    shot(browser, "report", tmp_path)

    browser.get(f"{city.url}/fleet")  # operators only
    assert "needs the operator role" in browser.find_element(By.ID, "refused").text
    assert count("#fleet-table") == 0
    click_and_wait(browser, "logout")

    log_in(browser, city, "aiko")
    browser.get(f"{city.url}/fleet")
    assert count("#fleet-table tbody tr") == 5  # 3 with health, 2 never reported
    assert "OFFLINE" in browser.find_element(By.ID, "fleet-table").text
    shot(browser, "fleet", tmp_path)
    click_and_wait(browser, "logout")

    browser.get(f"{city.url}/open-data")  # public, no login
    assert "<10" in browser.find_element(By.ID, "open-table").text
    shot(browser, "open-data", tmp_path)
