"""The dashboard's status line says when next year's notice is missing (headless Debian Chromium).

The API runs in this process (aiohttp on a loopback port, SQLite, a manual clock) so the
test moves the clock across 1 November and watches the status line follow, in Chinese and
in English, without reloading the page.
"""
from __future__ import annotations

import pytest

from api.app import build_api
from config.bootstrap import build_api_context, build_models
from config.settings import Settings
from models.clock import ManualClock
from tests.e2e.test_dashboard_browser import browser, chromium, text_of, wait_for  # noqa: F401  (fixtures)
from tests.fakes import accepted_at, regulation_changed, shanghai
from tests.loopback_api import LoopbackApi

pytestmark = [pytest.mark.browser]


@pytest.fixture
def served(tmp_path):
    settings = Settings.from_env({}, database_url=f"sqlite:///{tmp_path / 'tracker.db'}")
    clock = ManualClock(shanghai(2026, 12, 10, 9))
    parts = build_models(settings, clock)
    parts.tracker.apply_batch([accepted_at("t", 0, 0, regulation_changed("evt-across", "2026-12-10", ["jyj"]))])
    context = build_api_context(settings, clock=clock, parts=parts)
    with LoopbackApi(build_api(context)) as api:
        yield f"http://127.0.0.1:{api.port}", clock
    parts.engine.dispose()


def test_the_status_line_warns_from_1_november_and_not_before(browser, served):
    base, clock = served
    browser.get(f"{base}/?poll=200#/")
    wait_for(browser, lambda d: "2027 年的国务院节假日安排通知尚未载入" in text_of(d, "#status"),
             what="the missing-notice warning in the status line")
    line = text_of(browser, "#status")
    assert "1 项未完成义务" in line and "catalog-tracker calendar import --year 2027" in line
    assert "warning" in browser.execute_script("return document.getElementById('status').className;")

    clock.set(shanghai(2026, 10, 31, 9))  # before 1 November: nothing to say
    wait_for(browser, lambda d: "系统时间 2026-10-31" in text_of(d, "#status"), what="the clock moved back")
    assert "尚未载入" not in text_of(browser, "#status")
    assert "warning" not in browser.execute_script("return document.getElementById('status').className;")

    clock.set(shanghai(2026, 11, 1, 0, 1))
    browser.execute_script("document.getElementById('lang').click();")
    wait_for(browser, lambda d: "holiday notice for 2027 is not loaded" in text_of(d, "#status"),
             what="the warning in English")
    assert "1 open obligation is provisional" in text_of(browser, "#status")
