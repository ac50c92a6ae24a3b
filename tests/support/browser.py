"""Debian's headless Chromium driven by Selenium."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

SCREENSHOTS = "screenshots"


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium session (``make setup`` installs Debian's chromium and chromium-driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("chromium and chromedriver are missing: `make setup` installs them (apt-get)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield browser
    finally:
        browser.quit()


def open_board(browser: Any, base: str, key: str) -> None:
    """The board with the key in this tab's sessionStorage (as the key form leaves it)."""
    browser.get(f"{base}/board/")
    browser.execute_script("sessionStorage.setItem('lakehouse-key', arguments[0])", key)
    browser.get(f"{base}/board/")


def wait_for(browser: Any, script: str, timeout: float = 30.0, *args: Any) -> Any:
    """Poll a JavaScript expression until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.execute_script(f"return {script}", *args)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {script}")
        time.sleep(0.05)
