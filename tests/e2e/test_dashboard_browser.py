"""The dashboard in a real browser (headless Debian Chromium) against a running tracker with real events.

The tracker is a real worker process on the real broker, fed the demo feed as
it would be on 2026-03-20 (its clock is a file, so the page shows the same
state on every run). The test reads what a person sees on each page, checks
it against the HTTP API, watches the page update without a reload when a new
event arrives, and saves the screenshot the README shows (docs/dashboard.png).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest

from config.settings import Settings
from models.clock import SHANGHAI
from streams.broker import wait_until
from streams.demo import demo_feed_for, publish_feed
from streams.publisher import EventPublisher
from tests.e2e.harness import REPO, FileClockControl, WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DEBIAN_PACKAGES = ["chromium", "chromium-driver", "fonts-wqy-microhei"]  # the font: Chinese in the screenshot
TODAY = date(2026, 3, 20)  # a Friday; the overdue revision's 15 working days cross the Spring Festival
SCREENSHOT = REPO / "docs" / "dashboard.png"


def _install_chromium() -> str | None:
    """apt-get install the browser when it is missing; returns why it could not, or None."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return None
    if shutil.which("apt-get") is None:
        return "no apt-get to install chromium with"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *DEBIAN_PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            return f"{' '.join(command)} failed: {result.stderr[-2000:]}"
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        return f"{CHROMIUM} or {CHROMEDRIVER} still missing after apt-get install"
    return None


@pytest.fixture(scope="session")
def chromium():
    problem = _install_chromium()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run under CI=true: {problem}")
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture
def browser(chromium):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="ct-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def tracker(bootstrap_servers, topic_prefix, tmp_path):
    clock = FileClockControl(tmp_path / "clock.txt", datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI))
    env = worker_env(bootstrap_servers, f"sqlite:///{tmp_path / 'tracker.db'}", topic_prefix, clock)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    publisher = EventPublisher(bootstrap_servers, topic_prefix=topic_prefix)
    try:
        worker.wait_healthy(timeout=90)

        def applied(count: int) -> None:
            wait_until(lambda: worker.get("/api/health")[1]["worker"]["ingest"]["messages"] >= count, 60,
                       what=f"the worker to apply {count} messages")

        feed = demo_feed_for(Settings.from_env({}), TODAY)
        publish_feed(publisher, feed, applied)
        applied(len(feed))  # every message of the demo, then two more ticks: the state the page shows is settled
        ticks = worker.get("/api/health")[1]["worker"]["scheduler"]["ticks"]
        wait_until(lambda: worker.get("/api/health")[1]["worker"]["scheduler"]["ticks"] >= ticks + 2, 60,
                   what="two ticks after the demo")
        wait_until(lambda: worker.get("/api/obligations")[1]["total"] >= 9 and
                   worker.get("/api/violations")[1]["total"] >= 4, 60, what="the demo's obligations and violations")
        yield worker, publisher
    finally:
        publisher.close()
        worker.stop()


def wait_for(driver, condition, timeout: float = 30.0, what: str = "the page"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message=what)


# The page redraws itself when the API's answers change, so elements are read in one
# script call each (a reference kept across a redraw would go stale).
def text_of(driver, css: str) -> str:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText).join(' ');", css)


def rows_with(driver, text: str) -> list[str]:
    """Rows of the page's obligation and violation tables (not the list of departments without contacts)."""
    rows = driver.execute_script("return Array.from(document.querySelectorAll("
                                 "'main table:not(#missing-contacts) tbody tr')).map(r => r.innerText);")
    return [row for row in rows if text in row]


def attributes(driver, css: str, *names: str) -> list[list[str]]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => arguments[1].map(n => e.getAttribute(n)));", css, list(names))


def click_link(driver, text: str) -> None:
    clicked = driver.execute_script(
        "const a = Array.from(document.querySelectorAll('main a')).find(a => a.innerText.trim() === arguments[0]);"
        "if (a) { a.click(); return true; } return false;", text)
    assert clicked, f"no link {text!r} on the page"


def test_dashboard_shows_the_tracker_state_and_follows_it(browser, tracker):
    worker, publisher = tracker
    base = worker.base_url
    _, overdue = worker.get("/api/obligations?status=overdue")
    _, open_ = worker.get("/api/obligations?status=open")

    # Overview: the counts a supervisor reads first, and the rows that need attention.
    browser.get(base + "/?poll=300")
    wait_for(browser, lambda d: rows_with(d, "区民政局"), what="the overview table")
    assert browser.title == "政务数据资源目录时限监督"
    assert "系统时间 2026-03-20 10:00" in text_of(browser, "#status")  # the tracker's clock, not the browser's
    cards = text_of(browser, "#counts")
    assert f"已逾期\n{overdue['total']}" in cards
    assert f"未完成\n{open_['total']}" in cards
    soon = [o for o in open_["obligations"] if o["working_days_left"] <= 3]
    assert soon and f"即将到期\n{len(soon)}" in cards
    assert "已逾期" in rows_with(browser, "区民政局")[0]
    assert "即将到期" in rows_with(browser, "区行政审批服务局")[0]
    assert "第二十五条（八）" in text_of(browser, "main")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browser.set_window_size(1400, 1400)  # tall enough for the latest violations too
    wait_for(browser, lambda d: d.execute_script("return window.innerHeight") > 1000, what="the taller window")
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A new event appears without a full reload (a marker set in the page survives).
    browser.execute_script("window.__stillTheSamePage = true;")
    publisher.regulation_changed(regulation_id="YH-2026-07", title="长沙市雨花区统计数据管理办法（修订）",
                                 change_kind="amended", changed_on=date(2026, 3, 19), affected_departments=["tjj"],
                                 id="browser-test-reg-tjj")
    wait_for(browser, lambda d: rows_with(d, "区统计局"), what="the new obligation of 区统计局")
    assert browser.execute_script("return window.__stillTheSamePage === true;")
    assert "未完成" in rows_with(browser, "区统计局")[0]

    # Department page: its obligations, violations and figures.
    click_link(browser, "区教育局")
    wait_for(browser, lambda d: "区教育局" in text_of(d, "main h1") and rows_with(d, "擅自缩小"),
             what="the department page of 区教育局")
    assert "逾期完成" in text_of(browser, "main table")
    assert "第二十五条（一）" in text_of(browser, "main")

    # The reminders the tick sent (at 09:00, for what is due soon) are listed on the department's page.
    reminders = wait_until(lambda: worker.get("/api/departments/swj/summary")[1]["reminders"], 30,
                           what="a reminder to 区商务局")
    browser.get(f"{base}/?poll=300#/department/swj")
    wait_for(browser, lambda d: "区商务局" in text_of(d, "main h1") and text_of(d, "#reminders"),
             what="the reminders sent to 区商务局")
    assert reminders[0]["due_date"] in text_of(browser, "#reminders")
    assert "更新政务数据资源目录" in text_of(browser, "#reminders")

    # The catalog register on the department's page (issue 12): each resource with its types, channels and cycle,
    # when its data was last aggregated and is next due, in the warning colour of its state.
    _, catalog = worker.get("/api/departments/fgj/catalog")
    by_code = {r["code"]: r for r in catalog["resources"]}
    assert by_code["FGJ-0002"]["state"] == "overdue" and by_code["FGJ-0001"]["last_aggregated_period"]
    browser.get(f"{base}/?poll=300#/department/fgj")
    wait_for(browser, lambda d: len(attributes(d, "#catalog tbody tr", "data-resource")) == catalog["total"],
             what="the catalog of 区发展和改革局")
    states = dict(attributes(browser, "#catalog tbody tr", "data-resource", "data-state"))
    assert states == {code: r["state"] for code, r in by_code.items()}
    row = lambda code: text_of(browser, f'#catalog tr[data-resource="{code}"]')  # noqa: E731
    assert "每月" in row("FGJ-0002") and "已逾期" in row("FGJ-0002")
    first = by_code["FGJ-0001"]
    assert first["last_aggregated_period"] in row("FGJ-0001") and "有条件共享" in row("FGJ-0001")
    assert first["next_due"]["due_date"] in row("FGJ-0001") and "市政务数据资源管理平台" in row("FGJ-0001")
    assert "发改局自建数据交换系统" in row("FGJ-0004") and "不予开放" in row("FGJ-0005")
    red, = browser.execute_script(
        "return [getComputedStyle(document.querySelector('#catalog tr[data-resource=\"FGJ-0002\"] td'))"
        ".backgroundColor];")
    assert red == "rgb(253, 240, 238)", red  # the overdue colour of the stylesheet
    assert "FGJ-9999" in text_of(browser, "#unmatched")  # an aggregation no catalog lists
    click_link(browser, "重点项目进度月报")
    wait_for(browser, lambda d: "重点项目进度月报" in text_of(d, "main h1") and text_of(d, "#register-history"),
             what="the page of FGJ-0002")
    assert "列入目录" in text_of(browser, "#register-history") and "按更新时限归集数据" in text_of(browser, "main")
    assert "第二十五条（二）" in text_of(browser, "main")

    # Obligation page: the deadline explained day by day, as the API explains it.
    _, mzj = worker.get("/api/obligations?department=mzj")
    obligation_id = mzj["obligations"][0]["id"]
    _, detail = worker.get(f"/api/obligations/{obligation_id}")
    browser.get(f"{base}/?poll=300#/obligation/{obligation_id}")
    wait_for(browser, lambda d: text_of(d, "#counted"), what="the counted days")
    counted = attributes(browser, "#counted .day", "title")
    skipped_text = text_of(browser, "#skipped .day")
    assert len(counted) == len(detail["explanation"]["counted"]) == 15
    assert len(attributes(browser, "#skipped .day", "class")) == len(detail["explanation"]["skipped"])
    assert "春节" in skipped_text, "the Spring Festival holidays are shown as skipped"
    assert detail["due_date"] in text_of(browser, "dl.facts")
    assert "开启" in text_of(browser, "main")  # the history

    # Yearly evaluation: one bar per judged department with the API's on-time rate.
    browser.get(f"{base}/?poll=300#/evaluation/2026")
    wait_for(browser, lambda d: attributes(d, "#rate-chart rect.bar", "data-name"), what="the chart")
    bars = {name: float(rate) for name, rate in attributes(browser, "#rate-chart rect.bar", "data-name", "data-rate")}
    _, evaluation = worker.get("/api/evaluation/2026")
    expected = {row["name"]: row["on_time_rate"] for row in evaluation["departments"]
                if row["on_time_rate"] is not None}
    assert bars == pytest.approx(expected)
    assert bars["区卫生健康局"] == 1.0 and bars["区教育局"] == 0.0
    _download_link_gives_the_workbook(browser, worker, expected)

    # English switch.
    browser.get(base + "/?poll=300#/")
    wait_for(browser, lambda d: rows_with(d, "区民政局"), what="the overview again")
    browser.execute_script("document.getElementById('lang').click();")
    wait_for(browser, lambda d: text_of(d, "main h1") == "Overview", what="the English overview")
    assert "Overdue" in text_of(browser, "#counts") and "Departments" in text_of(browser, "nav")
    assert text_of(browser, "#lang") == "中文"



def _download_link_gives_the_workbook(browser, worker, rates: dict) -> None:
    """The evaluation page's link downloads the year's workbook, whose chart plots the rates the page shows."""
    import io
    import urllib.request

    from openpyxl import load_workbook

    from models import wording

    ((href,),) = attributes(browser, "a#evaluation-xlsx", "href")
    assert href == "/api/evaluation/2026.xlsx"
    assert text_of(browser, "a#evaluation-xlsx") == wording.DASHBOARD["download_xlsx"][0]
    with urllib.request.urlopen(worker.base_url + href, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(io.BytesIO(response.read()))
    chart_sheet = book[wording.XLSX_SHEETS["chart"][0]]
    assert len(chart_sheet._charts) == 1
    assert dict(chart_sheet.iter_rows(min_row=3, values_only=True)) == pytest.approx(rates)
