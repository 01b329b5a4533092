"""The dashboard in headless Chromium against a worker with TRACKER_READ_TOKEN set, under its CSP.

The page asks for the token once (a wrong one is refused and asked again), keeps it in
sessionStorage for the tab's session, sends it on every fetch, and every view renders with the
Content-Security-Policy in force: the browser reports no CSP violation and no other console error.
"""
from __future__ import annotations

import shutil
import tempfile

import pytest

from tests.e2e.demo_worker import READ_TOKEN, request, start_demo_worker
from tests.e2e.harness import Pipeline
from tests.e2e.test_dashboard_browser import CHROMEDRIVER, chromium, wait_for  # noqa: F401 - chromium: a fixture

pytestmark = [pytest.mark.broker, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def logging_browser(chromium):  # noqa: F811 - the fixture imported above
    """Chromium that keeps the page's console messages (CSP violations are reported there)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    profile = tempfile.mkdtemp(prefix="ct-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,900", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def guarded_tracker(bootstrap_servers, topic_prefix, sqlite_url, tmp_path):
    pipeline = Pipeline(bootstrap_servers, topic_prefix, sqlite_url, tmp_path)
    try:
        yield start_demo_worker(pipeline, TRACKER_READ_TOKEN=READ_TOKEN)
    finally:
        pipeline.close()


def view(driver) -> str | None:
    return driver.execute_script("return document.body.getAttribute('data-view');")


def submit_token(driver, token: str) -> None:
    driver.execute_script("document.getElementById('token').value = arguments[0];"
                          "document.getElementById('token-form').requestSubmit();", token)


def test_the_dashboard_asks_for_the_read_token_once_and_keeps_it_for_the_session(logging_browser, guarded_tracker):
    driver, base = logging_browser, guarded_tracker.base_url
    driver.get(base + "/")
    wait_for(driver, lambda d: view(d) == "token", what="the token form")
    assert "TRACKER_READ_TOKEN" in driver.find_element("id", "view").text

    submit_token(driver, "not-the-token-0123456789")
    wait_for(driver, lambda d: d.execute_script("return !!document.getElementById('token-wrong');"),
             what="the wrong token refused")
    assert driver.execute_script("return sessionStorage.getItem('catalog-tracker.token');") is None

    submit_token(driver, READ_TOKEN)
    wait_for(driver, lambda d: view(d) == "overview", what="the overview with the token")
    assert driver.execute_script("return document.querySelectorAll('#counts .card').length;") == 4
    assert driver.execute_script("return sessionStorage.getItem('catalog-tracker.token');") == READ_TOKEN
    assert driver.execute_script("return localStorage.getItem('catalog-tracker.token');") is None

    driver.refresh()  # the session keeps the token: no second question
    wait_for(driver, lambda d: view(d) == "overview", what="the overview after a reload")
    for route, name in (("#/departments", "departments"), ("#/violations", "violations"),
                        ("#/evaluation/2026", "evaluation"), ("#/department/jyj", "department")):
        driver.get(base + "/" + route)
        wait_for(driver, lambda d, name=name: view(d) == name, what=f"the {name} view")
    ics = driver.execute_script("return document.getElementById('ics-link').href;")
    assert ics.endswith(f"/api/departments/jyj/deadlines.ics?token={READ_TOKEN}")  # a URL a calendar app can subscribe to
    assert request("GET", ics)[0] == 200
    obligation = driver.execute_script("return document.querySelector('main a[href^=\"#/obligation/\"]')"
                                       ".getAttribute('href');")
    driver.get(base + "/" + obligation)
    wait_for(driver, lambda d: view(d) == "obligation", what="an obligation's page")
    assert driver.execute_script("return document.querySelectorAll('#counted .day').length;") > 0

    messages = [entry["message"] for entry in driver.get_log("browser")]
    # the two 401s (before the token, and the wrong one) are the only console errors
    problems = [m for m in messages if "401" not in m]
    assert not any("Content Security Policy" in m or "Refused to" in m for m in messages), messages
    assert not problems, problems
