"""A new year's notice reaches open obligations (issue 4), on SQLite and PostgreSQL with the real calendar."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from calendars import LiveCalendar
from config.bootstrap import build_tracker
from config.settings import Settings
from models.clock import ManualClock
from models.sql import tables as t
from models.sql.engine import create_engine
from models.sql.migrate import upgrade
from streams import topics
from tests.fakes import CONFIG_DIR, accepted_at, catalog_updated, regulation_changed, shanghai

NOTICE_2026 = CONFIG_DIR / "calendars" / "2026.yaml"


@pytest.fixture
def world(database_url, tmp_path):
    calendar_dir = tmp_path / "calendars"
    shutil.copytree(CONFIG_DIR / "calendars", calendar_dir)
    (calendar_dir / "2026.yaml").unlink()  # 2026 without its notice: provisional
    calendar = LiveCalendar(calendar_dir, "yuhua")
    engine = create_engine(database_url)
    upgrade(engine)
    clock = ManualClock(shanghai(2026, 9, 25, 10))
    tracker = build_tracker(Settings.from_env({}, database_url=database_url), clock, engine, calendar=calendar)
    yield engine, tracker, clock, calendar, calendar_dir
    engine.dispose()


def load(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where).order_by(*table.primary_key.columns)).mappings().all()


def publish_notice(calendar_dir: Path, without_make_up_day: str | None = None) -> None:
    text = NOTICE_2026.read_text(encoding="utf-8")
    if without_make_up_day:
        text = text.replace(f", {without_make_up_day}]", "]")
    (calendar_dir / "2026.yaml").write_text(text, encoding="utf-8")


def test_notice_moves_open_deadlines_once_and_reminders_follow(world):
    engine, tracker, clock, calendar, calendar_dir = world
    tracker.apply_batch([accepted_at("t", 0, 0, regulation_changed("evt-1", "2026-09-25", ["jyj", "mzj"])),
                         accepted_at("t", 0, 1, regulation_changed("evt-2", "2026-09-25", ["czj"]))])
    before = {r["department"]: r for r in load(engine, t.obligations)}
    assert all(r["provisional"] for r in before.values())
    old_due = before["jyj"]["due_date"]
    assert old_due == date(2026, 10, 22)
    # czj's obligation is done already; jyj gets its 5-days-left reminder under the provisional calendar.
    tracker.apply_batch([accepted_at("u", 0, 0, catalog_updated("c-1", "czj", "2026-09-28T10:00:00+08:00"))])
    stage5 = calendar.add_working_days(old_due, -5)
    tracker.tick(shanghai(stage5.year, stage5.month, stage5.day, 9))
    sent_before = {r["obligation_id"]: r["stage"] for r in load(engine, t.reminders)}
    assert sent_before[before["jyj"]["id"]] == 5

    # The official notice differs from the extrapolation: 2026-10-10 is not a make-up working day.
    publish_notice(calendar_dir, without_make_up_day="2026-10-10")
    old, new = calendar.reload()
    assert tracker.reschedule_for_calendar(old, new).moved == 2
    assert tracker.reschedule_for_calendar(old, new).moved == 0  # already moved: nothing twice

    after = {r["department"]: r for r in load(engine, t.obligations)}
    assert after["jyj"]["due_date"] == calendar.add_working_days(old_due, 1) and not after["jyj"]["provisional"]
    assert after["czj"]["due_date"] == before["czj"]["due_date"]  # completed: left alone
    with engine.connect() as conn:
        values = conn.execute(sa.select(t.outbox.c.value).where(t.outbox.c.topic == topics.OBLIGATIONS)).scalars()
        moved = [json.loads(v) for v in values if b"obligation.rescheduled" in v]
    assert sorted(m["data"]["department"] for m in moved) == ["jyj", "mzj"]
    assert moved[0]["data"]["previous_provisional"] is True and moved[0]["data"]["provisional"] is False
    assert moved[0]["data"]["previous_due_date"] == old_due.isoformat()

    # Remaining reminders follow the new dates; stage 5, sent before, is not repeated.
    new_due = after["jyj"]["due_date"]
    day = stage5
    while day <= new_due:
        tracker.tick(shanghai(day.year, day.month, day.day, 9))
        day = date.fromordinal(day.toordinal() + 1)
    stages = sorted((r["stage"], r["due_date"]) for r in load(engine, t.reminders,
                                                              t.reminders.c.obligation_id == after["jyj"]["id"]))
    assert [s for s, _ in stages] == [0, 1, 3, 5]
    assert all(due == new_due for stage, due in stages if stage != 5)
    assert tracker.tick(shanghai(new_due.year, new_due.month, new_due.day, 23)).violations == 0


def test_a_notice_that_only_confirms_clears_the_provisional_flag(world):
    engine, tracker, clock, calendar, calendar_dir = world
    tracker.apply_batch([accepted_at("t", 0, 0, regulation_changed("evt-1", "2026-09-25", ["jyj"]))])
    due = load(engine, t.obligations)[0]["due_date"]
    publish_notice(calendar_dir)
    old, new = calendar.reload()
    assert tracker.reschedule_for_calendar(old, new).moved == 1
    row = load(engine, t.obligations)[0]
    assert (row["due_date"], row["provisional"]) == (due, False)
