"""The year-end window end to end, on SQLite and PostgreSQL with the real calendar and Tracker.

On 2026-12-10 no 2027 notice is loaded: an obligation counted across 2026-12-28 is
provisional (because of 2027), /api/health says the 2027 notice is missing from 1 November
with how many open obligations it makes provisional, and when the 2027 file appears (written
by the import from a notice text) each affected obligation gets exactly one ``rescheduled``.
The 2027 text is made up (tests/data/notices/made_up_2027.txt): it works Saturday 26 December
2026 and rests on the 31st, as the 2008 and 2019 notices did with their Decembers.
"""
from __future__ import annotations

import asyncio
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import Session

from api.app import build_api
from calendars import LiveCalendar
from calendars.notice_text import parse_notice_text, render_notice_yaml
from calendars.sources import load_shared
from config.bootstrap import ModelParts, build_api_context, build_tracker
from config.settings import Settings
from models import events as ev
from models.clock import ManualClock
from models.sql import queries
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from models.sql.outbox import Outbox
from streams import topics
from tests.fakes import CONFIG_DIR, accepted_at, catalog_updated, regulation_changed, shanghai

MADE_UP_2027 = Path(__file__).resolve().parents[1] / "data" / "notices" / "made_up_2027.txt"


@pytest.fixture
def world(database_url, tmp_path):
    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    calendar = LiveCalendar(calendar_dir, "yuhua")
    engine = create_engine(database_url)
    upgrade(engine)
    clock = ManualClock(shanghai(2026, 12, 10, 9))
    settings = Settings.from_env({}, database_url=database_url)
    tracker = build_tracker(settings, clock, engine, calendar=calendar)
    # 15 working days each: from 10 December due 31 December (across 2026-12-28, inside 2026);
    # from 1 December due 22 December (before the window); from 14 December into January 2027.
    tracker.apply_batch([accepted_at("t", 0, 0, regulation_changed("evt-across", "2026-12-10", ["jyj"])),
                         accepted_at("t", 0, 1, regulation_changed("evt-before", "2026-12-01", ["mzj"])),
                         accepted_at("t", 0, 2, regulation_changed("evt-into-2027", "2026-12-14", ["czj"]))])
    context = build_api_context(settings, clock=clock, parts=ModelParts(engine, tracker, Outbox(engine)),
                                calendar=calendar)
    yield engine, tracker, clock, calendar, calendar_dir, context
    engine.dispose()


def obligations(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["department"]: dict(r) for r in conn.execute(sa.select(t.obligations)).mappings()}


def rescheduled(engine) -> list[dict]:
    with engine.connect() as conn:
        values = conn.execute(sa.select(t.outbox.c.value).where(t.outbox.c.topic == topics.OBLIGATIONS)
                              .order_by(t.outbox.c.id)).scalars()
        return [json.loads(v) for v in values if ev.OBLIGATION_RESCHEDULED.encode() in v]


def health(context) -> dict:
    async def get():
        async with TestClient(TestServer(build_api(context))) as client:
            response = await client.get("/api/health")
            assert response.status == 200
            return await response.json()

    return asyncio.run(get())


def publish_2027(calendar_dir: Path) -> None:
    """What ``catalog-tracker calendar import --year 2027 made_up_2027.txt`` writes."""
    notice = parse_notice_text(MADE_UP_2027.read_text(encoding="utf-8"), 2027, load_shared(calendar_dir))
    (calendar_dir / "2027.yaml").write_text(render_notice_yaml(notice), encoding="utf-8")


def test_an_obligation_across_late_december_is_provisional_and_moves_once_with_the_2027_notice(world):
    engine, tracker, clock, calendar, calendar_dir, context = world
    before = obligations(engine)
    across, early, into = before["jyj"], before["mzj"], before["czj"]
    assert (across["due_date"], across["provisional"]) == (date(2026, 12, 31), True)
    assert (early["due_date"], early["provisional"]) == (date(2026, 12, 22), False)
    assert into["due_date"].year == 2027 and into["provisional"] is True
    with Session(engine) as session:
        shown = queries.get_obligation(session, across["id"], calendar=calendar)["explanation"]
    assert shown["provisional_years"] == [2027] and shown["year_end_windows"][0]["first_day"] == "2026-12-26"
    assert "2026-12-26 至 2026-12-31" in shown["text_zh"] and "2026-12-26 to 2026-12-31" in shown["text_en"]

    publish_2027(calendar_dir)
    old, new = calendar.reload()
    assert tracker.reschedule_for_calendar(old, new).moved == 2
    assert tracker.reschedule_for_calendar(old, new).moved == 0  # nothing twice

    after = obligations(engine)
    assert (after["jyj"]["due_date"], after["jyj"]["provisional"]) == (date(2026, 12, 30), False)  # 26th worked
    assert after["czj"]["provisional"] is False and after["czj"]["due_date"] == into["due_date"]
    assert after["mzj"] == early  # untouched
    moved = rescheduled(engine)
    assert sorted(m["data"]["department"] for m in moved) == ["czj", "jyj"]  # exactly one each, none for mzj
    jyj = next(m["data"] for m in moved if m["data"]["department"] == "jyj")
    assert (jyj["previous_due_date"], jyj["previous_provisional"], jyj["provisional"]) == (
        "2026-12-31", True, False)
    with engine.connect() as conn:
        history = conn.execute(sa.select(t.obligation_history.c.obligation_id).where(
            t.obligation_history.c.what == "rescheduled")).scalars().all()
    assert sorted(history) == sorted([across["id"], into["id"]])


def test_health_says_the_2027_notice_is_missing_from_1_november_with_the_count(world):
    engine, tracker, clock, calendar, calendar_dir, context = world
    clock.set(shanghai(2026, 10, 31, 23, 59))
    assert health(context)["missing_notice"] is None
    clock.set(shanghai(2026, 11, 1, 0, 0))
    body = health(context)
    assert body["status"] == "ok"  # a warning, not a failure
    warning = body["missing_notice"]
    assert (warning["year"], warning["affects_from"], warning["provisional_open"]) == (2027, "2026-12-26", 2)
    assert "2 项未完成义务" in warning["message_zh"] and "2 open obligations" in warning["message_en"]
    assert "calendar import --year 2027" in warning["needed_en"]

    # A completed obligation is no longer counted; the count follows the dates, not a stale flag.
    tracker.apply_batch([accepted_at("u", 0, 0, catalog_updated("c-1", "jyj", "2026-12-11T10:00:00+08:00"))])
    with Session(engine) as session:
        assert queries.count_open_obligations_touching(session, date(2026, 12, 26), date(2027, 12, 31)) == 1
        assert queries.count_open_obligations_touching(session, date(2026, 12, 1), date(2026, 12, 2)) == 1  # mzj
    assert health(context)["missing_notice"]["provisional_open"] == 1

    publish_2027(calendar_dir)
    calendar.reload()
    assert health(context)["missing_notice"] is None
