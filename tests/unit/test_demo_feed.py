"""The demo feed is valid and, whatever day it runs, has something overdue, due soon and open."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from calendars import load_calendar
from config.settings import Settings
from models import events as ev
from models.clock import SHANGHAI
from models.policy import load_policies
from streams import topics
from streams.demo import demo_feed, demo_feed_for, publish_feed
from streams.publisher import validate_event
from streams.subscriber import load_department_names

SETTINGS = Settings.from_env({})
CALENDAR = load_calendar(SETTINGS.calendar_dir, SETTINGS.jurisdiction)
POLICIES = load_policies(SETTINGS.policy_dir)
REGISTRY = frozenset(load_department_names(SETTINGS.departments_file))
# Every tenth day over two years, so holidays (Spring Festival, National Day) are crossed.
DAYS = [date(2025, 1, 3) + timedelta(days=10 * i) for i in range(73)]


def parsed_feed(today: date, limit: int):
    feed = demo_feed(today, CALENDAR, limit)
    events = [validate_event(m.event, departments=REGISTRY)[1] for m in feed if m.event is not None]
    return feed, events


def test_the_demo_uses_the_policy_in_force():
    feed = demo_feed_for(SETTINGS, date(2026, 3, 16))
    regulation = next(m.event for m in feed if m.event and m.event["type"] == ev.REGULATION_CHANGED)
    assert len(feed) == 16
    assert regulation["data"]["changed_on"] < "2026-03-16"


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_feed_is_valid_and_dated_around_today(today):
    limit = POLICIES.policy_for(today, SETTINGS.jurisdiction).obligations["catalog-update"].working_days
    feed, events = parsed_feed(today, limit)
    assert len(REGISTRY) > 10  # the real registry: every code in the feed is known to the tracker
    assert [m.raw for m in feed if m.event is None] and all(m.topic in topics.INPUT_TOPICS for m in feed)
    end_of_today = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    assert all(e.time < end_of_today for e in events), "nothing in the demo is published in the future"

    by_id = {e.id: e for e in events}
    overdue, due_soon = [e for e in events if e.type == ev.REGULATION_CHANGED]
    overdue_deadline = CALENDAR.deadline(overdue.data.changed_on, limit)
    due_soon_deadline = CALENDAR.deadline(due_soon.data.changed_on, limit)
    assert overdue_deadline.due_date < today
    assert CALENDAR.working_days_between(today, due_soon_deadline.due_date) == 2

    updates = {e.data.department: e for e in events if e.type == ev.CATALOG_UPDATED}
    assert updates["wjj"].data.submitted_at < overdue_deadline.end  # on time
    assert updates["jyj"].data.submitted_at > overdue_deadline.end  # late
    assert updates["scjgj"].data.submitted_at < due_soon_deadline.end
    assert set(updates["jyj"].data.resolves) == {overdue.id} and overdue.id in by_id

    duty = next(e for e in events if e.type == ev.DUTY_CHANGED)
    assert CALENDAR.working_days_between(duty.data.changed_on, today) == 3
    assert duty.data.departments() == ("zjj", "cgj")


def test_answers_are_published_before_their_triggers():
    sent: list[str] = []

    class Recorder:
        def send_event(self, event):
            sent.append(event["type"])

        def send_raw(self, logical_topic, value, key=None):
            sent.append("raw")

    waits: list[int] = []
    feed = demo_feed(date(2026, 3, 20), CALENDAR, 15)
    assert publish_feed(Recorder(), feed, waits.append) == len(feed)
    activities = sum(sent.count(t) for t in ev.DATA_ACTIVITY_TYPES)
    updates = sent.count(ev.CATALOG_UPDATED)
    assert (activities, updates) == (6, 5)
    assert set(sent[:activities]) <= set(ev.DATA_ACTIVITY_TYPES)  # held until their resources are registered
    assert sent[activities:activities + updates] == [ev.CATALOG_UPDATED] * updates
    # the tracker applies the activities, then the answers, before any trigger is sent
    assert waits == [activities, activities + updates]
    assert len(sent) == len(feed) and "raw" in sent


# Every new rule of the catalog register shows at least once, whatever day the demo runs (issue 12).
REGISTER_DAYS = DAYS[::6]


@pytest.mark.parametrize("today", REGISTER_DAYS, ids=str)
def test_the_demo_shows_every_rule_of_the_catalog_register(today):
    from models.policy import DATA_AGGREGATION, DATA_OPENING
    from tests.fakes import Harness, accepted_at

    now = datetime.combine(today, datetime.min.time(), tzinfo=SHANGHAI).replace(hour=10)
    h = Harness(now, calendar=CALENDAR, policies=POLICIES)
    limit = POLICIES.policy_for(today, SETTINGS.jurisdiction).obligations["catalog-update"].working_days
    feed = demo_feed(today, CALENDAR, limit)
    events = [validate_event(m.event)[1] for m in feed if m.event is not None]
    # in the order publish_feed sends them, with a tick between each group (a worker ticks whenever it likes)
    groups = [[e for e in events if e.type in ev.DATA_ACTIVITY_TYPES], [e for e in events if e.type == ev.CATALOG_UPDATED],
              [e for e in events if e.type not in ev.DATA_ACTIVITY_TYPES and e.type != ev.CATALOG_UPDATED]]
    for n, group in enumerate(groups):
        h.tracker.apply_batch([accepted_at(topics.TOPIC_OF_TYPE[e.type], 0, 100 * n + i, e) for i, e in enumerate(group)])
        h.tracker.tick()
    found = {(v.department, v.rule, v.obligation_kind) for v in h.state.violations.values()}
    assert {("fgj", "overdue", DATA_AGGREGATION), ("fgj", "overdue", DATA_OPENING),
            ("fgj", "unauthorised-channel", None), ("fgj", "closed-data-opened", None),
            ("fgj", "share-scope-narrowed", None), ("wjj", "sensitive-data-opened", None)} <= found, found
    channels = {v.detail.get("case") for v in h.state.violations.values() if v.rule == "unauthorised-channel"}
    assert channels == {"share"}  # the registered exchange system and the e-mail
    narrowed = next(v for v in h.state.violations.values() if v.rule == "share-scope-narrowed"
                    and v.department == "fgj")
    assert narrowed.detail["judged_against"] == "register"
    held, = h.state.held.values()
    assert held.resource_code == "FGJ-9999" and held.unmatched_at <= now
    fgj = {o.resource_code: o for o in h.obligations(department="fgj", kind=DATA_OPENING)}
    assert (fgj["FGJ-0001"].status, fgj["FGJ-0001"].on_time) == ("completed", True)
    first = min((o for o in h.obligations(department="fgj", kind=DATA_AGGREGATION)
                 if o.resource_code == "FGJ-0001"), key=lambda o: o.start_day)
    assert (first.status, first.on_time) == ("completed", True)
    wjj, = h.obligations(department="wjj", kind=DATA_OPENING)
    assert (wjj.status, wjj.on_time) == ("completed", True)
    assert not [v for v in h.state.violations.values() if v.department == "wjj" and v.rule == "overdue"]
