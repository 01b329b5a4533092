"""``GET /api/departments/{code}/deadlines.ics`` and the delivery routes, on SQLite and PostgreSQL.

The feed is parsed with the ``icalendar`` library (what a calendar client reads); a new holiday notice that
moves the deadline moves the event (same UID, higher SEQUENCE) instead of adding one.
"""
from __future__ import annotations

import asyncio
import shutil
from datetime import date, datetime, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from api.app import build_api
from calendars import LiveCalendar
from config.bootstrap import build_api_context, build_models
from config.settings import Settings
from models.clock import SHANGHAI, ManualClock
from tests.fakes import CONFIG_DIR, accepted_at, catalog_updated, regulation_changed

NOTICE_2026 = CONFIG_DIR / "calendars" / "2026.yaml"


@pytest.fixture
def world(database_url, tmp_path):
    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    (calendar_dir / "2026.yaml").unlink()  # 2026 without its notice: provisional deadlines, moved later
    calendar = LiveCalendar(calendar_dir, "yuhua")
    settings = Settings.from_env({}, database_url=database_url, public_url="http://tracker.example.gov.cn")
    clock = ManualClock(datetime(2026, 9, 25, 10, 0, tzinfo=SHANGHAI))
    parts = build_models(settings, clock, calendar)
    parts.tracker.apply_batch([accepted_at("t", 0, 0, regulation_changed("evt-1", "2026-09-25", ["jyj", "mzj"])),
                               accepted_at("t", 0, 1, regulation_changed("evt-2", "2026-09-24", ["jyj"]))])
    context = build_api_context(settings, clock=clock, parts=parts, calendar=calendar)
    yield context, parts, calendar, calendar_dir
    parts.engine.dispose()


def get(context, path: str):
    async def run():
        async with TestClient(TestServer(build_api(context))) as client:
            response = await client.get(path)
            return response.status, response.headers.get("Content-Type", ""), await response.read()

    return asyncio.run(run())


def events_of(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_parses_with_one_all_day_event_per_open_obligation_and_alarms_at_the_stages(world):
    context, parts, calendar, _ = world
    status, content_type, body = get(context, "/api/departments/jyj/deadlines.ics")
    assert status == 200 and content_type.startswith("text/calendar")
    parsed = Calendar.from_ical(body)
    assert str(parsed["X-WR-CALNAME"]) == "区教育局（jyj） · 政务数据资源目录期限"
    events = events_of(body)
    assert len(events) == 2 and all(uid.endswith("@catalog-tracker.yuhua") for uid in events)
    event = next(iter(events.values()))
    due = event.decoded("DTSTART")
    assert isinstance(due, date) and not isinstance(due, datetime)  # all-day
    assert event.decoded("DTEND") == date.fromordinal(due.toordinal() + 1)
    assert str(event["SUMMARY"]) == "【截止】更新政务数据资源目录（第十条）"
    assert "第十条" in str(event["DESCRIPTION"]) and "http://tracker.example.gov.cn/#/obligation/ob-" in str(event["URL"])
    alarms = [a.decoded("TRIGGER") for a in event.walk("VALARM")]
    expected = [datetime.combine(calendar.add_working_days(due, -s) if s else due, datetime.min.time().replace(hour=9),
                                 tzinfo=SHANGHAI) for s in (5, 3, 1, 0)]
    assert sorted(alarms) == sorted(expected)
    assert all(a.tzinfo is not None and a.utcoffset().total_seconds() == 0 for a in alarms)  # absolute, UTC
    status, _, other = get(context, "/api/departments/mzj/deadlines.ics")
    assert status == 200 and len(events_of(other)) == 1
    status, _, _ = get(context, "/api/departments/nope/deadlines.ics")
    assert status == 404


def test_a_rescheduled_deadline_moves_its_event_and_a_completed_one_leaves(world):
    context, parts, calendar, calendar_dir = world
    before = events_of(get(context, "/api/departments/jyj/deadlines.ics")[2])
    assert all(int(e["SEQUENCE"]) == 0 for e in before.values())
    text = NOTICE_2026.read_text(encoding="utf-8").replace(", 2026-10-10]", "]")  # the notice moves them
    (calendar_dir / "2026.yaml").write_text(text, encoding="utf-8")
    old, new = calendar.reload()
    assert parts.tracker.reschedule_for_calendar(old, new).moved == 3
    after = events_of(get(context, "/api/departments/jyj/deadlines.ics")[2])
    assert set(after) == set(before)  # the same UIDs: moved, not duplicated
    for uid, event in after.items():
        assert event.decoded("DTSTART") > before[uid].decoded("DTSTART")
        assert int(event["SEQUENCE"]) == 1
        assert event.decoded("LAST-MODIFIED") >= before[uid].decoded("LAST-MODIFIED")
    parts.tracker.apply_batch([accepted_at("u", 0, 0, catalog_updated("c-1", "jyj", "2026-09-28T10:00:00+08:00"))])
    assert events_of(get(context, "/api/departments/jyj/deadlines.ics")[2]) == {}


def test_delivery_overview_lists_departments_without_contacts(world):
    import json

    context, *_ = world
    status, _, body = get(context, "/api/delivery")
    answer = json.loads(body)
    assert status == 200 and answer["channels"] == []
    missing = {m["department"]: m["lacks"] for m in answer["missing_contacts"]}
    assert missing["cgj"] == ["staff", "head"] and "jyj" not in missing and "sjzyzx" not in missing
    assert answer["wording"]["labels"]["missing_contacts"] == ["未登记联系人的部门", "Departments without contacts"]
    status, _, body = get(context, "/api/deliveries?status=failed")
    assert status == 200 and json.loads(body)["total"] == 0
    status, _, body = get(context, "/api/deliveries?status=lost")
    assert status == 400
