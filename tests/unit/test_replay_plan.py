"""The replay's plan: which instants the worker's clock visits and which messages go at each."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from models import cloudevents as ce
from models import events as ev
from models import validation
from models.clock import SHANGHAI
from streams import topics
from streams.replay import RecordedMessage, order_messages, plan_steps, progress_bar, published_instant, window


def message(topic: str, partition: int, offset: int, published: datetime | None) -> RecordedMessage:
    return RecordedMessage(topic, partition, offset, None, b"{}", (), published)


def t(day: str, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


def test_window_runs_to_the_end_of_the_last_day():
    assert window(date(2025, 1, 1), date(2025, 12, 31)) == (t("2025-01-01"), t("2026-01-01"))
    with pytest.raises(ValueError):
        window(date(2025, 2, 1), date(2025, 1, 1))


def test_messages_are_ordered_by_publication_and_clamped_to_the_window():
    begin, end = window(date(2025, 1, 1), date(2025, 1, 31))
    early = message(topics.REGULATION_CHANGES, 0, 0, t("2024-12-30", 9))
    late_answer = message(topics.CATALOG_UPDATES, 1, 0, t("2025-01-20", 16))
    trigger = message(topics.REGULATION_CHANGES, 0, 1, t("2025-01-06", 10))
    unreadable = message(topics.REGULATION_CHANGES, 0, 2, None)
    after = message(topics.CATALOG_UPDATES, 1, 1, t("2025-02-03", 9))
    scheduled, later = order_messages([after, unreadable, late_answer, trigger, early], begin, end)
    assert [(instant, m.offset, m.topic) for instant, m in scheduled] == [
        (begin, 0, topics.REGULATION_CHANGES),  # published before the window: played at its start
        (t("2025-01-06", 10), 1, topics.REGULATION_CHANGES),
        (t("2025-01-06", 10), 2, topics.REGULATION_CHANGES),  # keeps its place behind the message before it
        (t("2025-01-20", 16), 0, topics.CATALOG_UPDATES),
    ]
    assert later == [after]


def test_the_clock_visits_every_midnight_every_reminder_time_and_every_publication():
    begin, end = window(date(2025, 1, 6), date(2025, 1, 8))
    trigger = message(topics.REGULATION_CHANGES, 0, 0, t("2025-01-06", 10, 30))
    steps = plan_steps(begin, end, "09:00", [(trigger.published, trigger)])
    assert [step.at for step in steps] == [
        t("2025-01-06"), t("2025-01-06", 9), t("2025-01-06", 10, 30),
        t("2025-01-07"), t("2025-01-07", 9), t("2025-01-08"), t("2025-01-08", 9), t("2025-01-09"),
    ]
    assert [step.messages for step in steps if step.messages] == [(trigger,)]
    assert all(b.at - a.at <= timedelta(hours=15) for a, b in zip(steps, steps[1:]))


def test_published_instant_reads_the_cloudevent_time_or_none():
    event = validation.build_cloudevent(ev.DUTY_CHANGED, "/x", {"department": "zjj", "changed_on": "2025-03-03",
                                                         "change_kind": "added", "description": "d"},
                                time=t("2025-03-03", 11))
    assert published_instant(ce.encode(event), []) == t("2025-03-03", 11)
    assert published_instant(b"not json", []) is None


def test_progress_bar():
    assert progress_bar(0.5, width=10) == "[#####-----]  50.0%"
    assert progress_bar(2.0, width=4) == "[####] 100.0%"
