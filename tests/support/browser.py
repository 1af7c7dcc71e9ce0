"""Real headless Chromium (Debian's chromium + chromedriver) through selenium."""

import shutil
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1280,1000", "--lang=en-US")


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if Path(browser).exists() and Path(driver).exists():
        return browser, driver
    return None


def start_chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = chromium_paths()
    if found is None:
        raise RuntimeError("chromium and chromium-driver not installed: run ./run setup")
    browser, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="walkway-chromium-")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.walkway_profile = profile
    return session


def stop_chromium(session) -> None:
    try:
        session.quit()
    finally:
        shutil.rmtree(session.walkway_profile, ignore_errors=True)
