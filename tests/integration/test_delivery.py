"""Delivery end to end in one process: real reminders and violations from the Tracker on SQLite and PostgreSQL,
planned by the ladder, sent by the runner to a real SMTP server and to HTTP servers that check DingTalk's
signature, WeCom's body and the webhook's X-Signature as the real ones do.

The runner's time (claims, back-off, robots' minutes) is a controllable instant, moved by the test.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from config.bootstrap import build_channels, build_models
from config.settings import CONFIG_DIR, Settings
from delivery.runner import DeliveryRunner
from models.clock import SHANGHAI, ManualClock
from models.delivery import Channels, plan, read_notification
from models.escalation import load_ladder
from models.events import CATALOG_UPDATED, REGULATION_CHANGED, REMINDER, VIOLATION_DETECTED
from models.sql import tables as t
from models.sql.deliveries import SqlDeliveryLog, list_deliveries
from models.validation import build_cloudevent, event_from_attributes
from streams.topics import UNDELIVERABLE
from tests.delivery_servers import MailCatcher, RobotServer
from tests.fakes import accepted_at

SECRET = "SECtest0123456789abcdef"
HOOK_SECRET = "hook-secret"
LISI, ZHANGSAN = "lisi@example.gov.cn", "zhangsan@example.gov.cn"  # jyj's staff and head
CENTER = ("zhushi@example.gov.cn", "qinyi@example.gov.cn")  # the data resource center's head and staff
START = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
STAGE_TIMES = {5: datetime(2026, 3, 16, 9, 30, tzinfo=SHANGHAI), 3: datetime(2026, 3, 18, 9, 30, tzinfo=SHANGHAI),
               1: datetime(2026, 3, 20, 9, 30, tzinfo=SHANGHAI), 0: datetime(2026, 3, 23, 9, 30, tzinfo=SHANGHAI)}
AFTER_DEADLINE = datetime(2026, 3, 24, 0, 30, tzinfo=SHANGHAI)


@pytest.fixture
def servers():
    mail = MailCatcher().start()
    robots = RobotServer(dingtalk_secrets={"district": SECRET}, webhook_secret=HOOK_SECRET).start()
    try:
        yield mail, robots
    finally:
        mail.stop()
        robots.stop()


class World:
    """The tracker on a real database, the delivery log, the runner and the servers."""

    def __init__(self, database_url: str, mail: MailCatcher, robots: RobotServer, ladder_path=None, **settings):
        self.settings = Settings.from_env(
            {}, database_url=database_url, smtp_url=mail.url, dingtalk_webhook=robots.dingtalk_url("district"),
            dingtalk_secret=SECRET, wecom_webhook=robots.wecom_url("district"), webhook_url=robots.url("/hook"),
            webhook_secret=HOOK_SECRET, public_url="http://tracker.example.gov.cn", delivery_timeout=5.0,
            **settings)
        self.clock = ManualClock(START)
        self.parts = build_models(self.settings, self.clock)
        self.registry = self.parts.tracker.registry
        self.ladder = load_ladder(ladder_path or CONFIG_DIR / "escalation.yaml")
        self.log = SqlDeliveryLog(self.parts.engine, UNDELIVERABLE)
        self.real_now = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
        self.runner = DeliveryRunner(self.log, build_channels(self.settings, self.registry), self.ladder,
                                     timeout=5.0, holder="test-runner", utc_now=lambda: self.real_now)
        self.channels = Channels(email=True, dingtalk=True, wecom=True, webhook=True)
        self.seen: set[str] = set()
        self.offset = 0
        self.loop = asyncio.new_event_loop()  # one loop for the runner's HTTP sessions, as in a notifier

    def publish(self, type_: str, data: dict, event_id: str) -> None:
        event = build_cloudevent(type_, "/yuhua/legal-affairs", data, id=event_id, time=self.clock.now())
        self.offset += 1
        self.parts.tracker.apply_batch([accepted_at("catalog.regulation-changes", 0, self.offset,
                                                    event_from_attributes(event))])

    def regulation(self, event_id: str, *departments: str, changed_on: str = "2026-03-02") -> None:
        self.publish(REGULATION_CHANGED, {"regulation_id": event_id, "title": "《数据条例》", "change_kind": "amended",
                                          "changed_on": changed_on, "affected_departments": list(departments)},
                     event_id)

    def notifications(self) -> list[dict]:
        """Reminder and violation CloudEvents the tracker wrote since last asked (what the notifier reads)."""
        with self.parts.engine.connect() as conn:
            rows = conn.execute(sa.select(t.outbox.c.event_id, t.outbox.c.value).order_by(t.outbox.c.id)).all()
        events = [json.loads(bytes(value)) for event_id, value in rows if event_id not in self.seen]
        self.seen.update(event_id for event_id, _ in rows)
        return [e for e in events if e["type"] in (REMINDER, VIOLATION_DETECTED)]

    def read(self) -> list[dict]:
        """Plan and record what the tracker notified (as the notifier's reader does)."""
        found = self.notifications()
        planned = [p for event in found for p in plan(read_notification(event), ladder=self.ladder,
                                                       registry=self.registry, channels=self.channels,
                                                       public_url=self.settings.public_url, now=self.clock.now())]
        self.log.record(planned, self.real_now)
        return found

    def send_due(self, rounds: int = 20) -> int:
        total = 0
        for _ in range(rounds):
            settled = self.loop.run_until_complete(self.runner.run_once())
            total += settled
            if not settled:
                break
        return total

    def at(self, when: datetime) -> list[dict]:
        """Move the tracker's clock, tick, read and send."""
        self.clock.set(when)
        self.parts.tracker.tick(when)
        found = self.read()
        self.send_due()
        return found

    def later(self, seconds: float) -> None:
        self.real_now += timedelta(seconds=seconds)

    def log_rows(self, **filters) -> list[dict]:
        with self.parts.engine.connect() as conn:
            query = sa.select(t.deliveries).order_by(t.deliveries.c.id)
            for name, value in filters.items():
                query = query.where(getattr(t.deliveries.c, name) == value)
            return [dict(r) for r in conn.execute(query).mappings()]

    def close(self) -> None:
        self.loop.run_until_complete(self.runner.close())
        self.loop.close()
        self.parts.engine.dispose()


@pytest.fixture
def world(database_url, servers):
    mail, robots = servers
    w = World(database_url, mail, robots)
    yield w
    w.close()


def ladder_file(tmp_path, **delivery) -> str:
    text = (CONFIG_DIR / "escalation.yaml").read_text(encoding="utf-8")
    for key, value in delivery.items():
        if key in ("digest", "digest_wait_seconds"):
            text = text.replace(f"\n{key}: ", f"\n{key}: {value} #", 1)
        else:
            text = text.replace(f"\n  {key}: ", f"\n  {key}: {value} #", 1)
    path = tmp_path / "escalation.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ the ladder, step by step

def test_each_ladder_step_reaches_the_right_people_on_each_channel_once(world, servers):
    mail, robots = servers
    world.regulation("R1", "jyj")
    expected_people = {5: {LISI}, 3: {LISI}, 1: {LISI, ZHANGSAN}, 0: {LISI, ZHANGSAN}}
    words = {5: "蓝色预警", 3: "蓝色预警", 1: "黄色预警", 0: "黄色预警"}
    mobiles = {LISI: "13800000002", ZHANGSAN: "13800000001"}
    for stage, when in STAGE_TIMES.items():
        before = len(mail.mails)
        (reminder,) = world.at(when)
        assert reminder["data"]["stage"] == stage
        new = mail.mails[before:]
        assert {a for m in new for a in m.envelope_to} == expected_people[stage], stage
        assert all(m.notification_ids == [reminder["id"]] for m in new)
        assert all(words[stage] in m.message["Subject"] and "区教育局" in m.message["Subject"] for m in new)
        ding = [r for r in robots.to("/dingtalk/district") if reminder["id"] in r.notification_ids]
        wecom = [r for r in robots.to("/wecom/district") if reminder["id"] in r.notification_ids]
        hook = [r for r in robots.to("/hook") if reminder["id"] in r.notification_ids]
        assert len(ding) == len(wecom) == len(hook) == 1, stage
        assert set(ding[0].json["at"]["atMobiles"]) == {mobiles[a] for a in expected_people[stage]}
        assert all(f"@{mobiles[a]}" in ding[0].text for a in expected_people[stage])
        assert set(wecom[0].json["markdown"]["mentioned_mobile_list"]) == {mobiles[a] for a in expected_people[stage]}
        assert hook[0].json == reminder  # the CloudEvent as published
    before = len(mail.mails)
    (violation,) = world.at(AFTER_DEADLINE)
    assert violation["type"] == VIOLATION_DETECTED
    new = mail.mails[before:]
    assert sorted(a for m in new for a in m.envelope_to) == sorted([ZHANGSAN, *CENTER])
    assert all("红色预警" in m.message["Subject"] for m in new)
    ding = [r for r in robots.to("/dingtalk/district") if violation["id"] in r.notification_ids]
    assert len(ding) == 1 and set(ding[0].json["at"]["atMobiles"]) == {"13800000001", "13800000018",
                                                                          "13800000019"}
    # Nothing more goes out, however often the runner looks again, and nothing failed on the way.
    sent_before = (len(mail.mails), len(robots.received))
    world.later(3600)
    assert world.send_due() == 0
    assert (len(mail.mails), len(robots.received)) == sent_before
    assert robots.refused == []
    assert {r["status"] for r in world.log_rows()} == {"sent"}
    assert all(count == 1 for count in mail.ids_by_address().values())
    assert all(count == 1 for count in robots.ids_by_path().values())


def test_the_mail_is_proper_mime_with_the_facts_and_a_link(world, servers):
    mail, _ = servers
    world.regulation("R1", "jyj")
    (reminder,) = world.at(STAGE_TIMES[1])
    message = mail.to(LISI)[0].message
    assert message.get_content_type() == "multipart/alternative"
    assert "=?utf-8?" in message.as_string()  # the Chinese subject is RFC 2047 encoded on the wire
    plain, html = mail.to(LISI)[0].body("plain"), mail.to(LISI)[0].body("html")
    for text in (plain, html):
        assert "黄色预警" in text and "更新政务数据资源目录" in text and "第十条" in text
        assert "2026-03-23（星期一） 24:00 前，剩余 1 个工作日" in text
        assert reminder["id"] in text
        assert f"http://tracker.example.gov.cn/#/obligation/{reminder['data']['obligation_id']}" in text
    assert plain.startswith("李四同志：")
    assert message["X-Catalog-Tracker-Level"] == "yellow"


def test_a_department_without_contacts_is_logged_with_the_reason_and_the_group_still_hears(world, servers):
    mail, robots = servers
    world.regulation("R2", "cgj")  # 区城市管理和综合执法局: no contacts in the sample registry
    (reminder,) = world.at(STAGE_TIMES[5])
    assert mail.mails == []
    skipped = world.log_rows(status="skipped")
    assert [(r["channel"], r["reason"]) for r in skipped] == [("none", "区城市管理和综合执法局（cgj）未登记专职人员，无人可通知")]
    ding = robots.to("/dingtalk/district")
    assert len(ding) == 1 and ding[0].json["at"]["atMobiles"] == [] and reminder["id"] in ding[0].notification_ids


# ------------------------------------------------------------------ failures

def test_transient_failures_are_retried_with_back_off_and_delivered_once(world, servers):
    mail, robots = servers
    world.regulation("R1", "jyj")
    mail.answers[LISI] = ["451 4.3.0 try again later"]
    robots.scripted["/dingtalk/district"] = [130101]
    robots.scripted["/wecom/district"] = [(503, {"errmsg": "busy"})]
    (reminder,) = world.at(STAGE_TIMES[5])
    assert mail.to(LISI) == [] and robots.to("/dingtalk/") == [] and robots.to("/wecom/") == []
    rows = {r["channel"]: r for r in world.log_rows()}
    assert rows["email"]["status"] == "pending" and "451" in rows["email"]["reason"]
    assert rows["dingtalk"]["status"] == "pending" and "130101" in rows["dingtalk"]["reason"]
    assert rows["wecom"]["status"] == "pending" and "503" in rows["wecom"]["reason"]
    world.later(31)  # the ladder's first delay: email and WeCom go now; DingTalk asked for a minute
    world.send_due()
    assert len(mail.to(LISI)) == 1 and len(robots.to("/wecom/")) == 1 and robots.to("/dingtalk/") == []
    world.later(30)
    world.send_due()
    assert len(robots.to("/dingtalk/")) == 1
    world.later(3600)
    world.send_due()
    assert len(mail.to(LISI)) == 1 and len(robots.to("/dingtalk/")) == 1 and len(robots.to("/wecom/")) == 1
    assert {(r["channel"], r["status"], r["attempts"]) for r in world.log_rows()} == {
        ("email", "sent", 2), ("dingtalk", "sent", 2), ("wecom", "sent", 2), ("webhook", "sent", 1)}


def test_permanent_failures_are_recorded_and_queued_for_the_undeliverable_topic(database_url, servers):
    mail, robots = servers
    robots.dingtalk_secrets["district"] = "SECanother-secret"  # our signature no longer matches: 310000
    mail.refused.add(ZHANGSAN)
    w = World(database_url, mail, robots)
    try:
        w.regulation("R1", "jyj")
        (reminder,) = w.at(STAGE_TIMES[1])
        assert [m.envelope_to for m in mail.mails] == [[LISI]]
        failed = {r["channel"]: r for r in w.log_rows(status="failed")}
        assert set(failed) == {"email", "dingtalk"}
        assert "550" in failed["email"]["reason"] and ZHANGSAN in failed["email"]["reason"]
        assert "310000" in failed["dingtalk"]["reason"] and failed["dingtalk"]["attempts"] == 1  # not retried
        with w.parts.engine.connect() as conn:
            queued = conn.execute(sa.select(t.outbox.c.event_id, t.outbox.c.value)
                                  .where(t.outbox.c.topic == UNDELIVERABLE)).all()
        events = [json.loads(bytes(value)) for _, value in queued]
        assert sorted(e["data"]["channel"] for e in events) == ["dingtalk", "email"]
        assert all(e["type"] == "gov.catalog.notification.undeliverable" for e in events)
        assert all(e["data"]["notification_id"] == reminder["id"] and e["data"]["department"] == "jyj"
                   for e in events)
        w.later(7200)
        assert w.send_due() == 0  # given up means given up
        with w.parts.engine.connect() as conn:
            page = list_deliveries(conn, status="failed")
        assert page["total"] == 2
    finally:
        w.close()


def test_a_transient_failure_gives_up_after_the_ladders_attempts(database_url, servers, tmp_path):
    mail, robots = servers
    w = World(database_url, mail, robots, ladder_path=ladder_file(tmp_path, max_attempts=3))
    try:
        mail.stop()  # connection refused, every time
        w.regulation("R1", "jyj")
        w.at(STAGE_TIMES[5])
        for _ in range(4):
            w.later(3600)
            w.send_due()
        (row,) = w.log_rows(channel="email")
        assert row["status"] == "failed" and row["attempts"] == 3
        assert row["reason"].startswith("尝试 3 次仍未送达")
    finally:
        w.close()


# ------------------------------------------------------------------ what is not sent, and how it is bundled

def test_a_reminder_whose_obligation_was_completed_first_is_not_delivered(world, servers):
    mail, robots = servers
    world.regulation("R1", "jyj")
    world.clock.set(STAGE_TIMES[1])
    world.parts.tracker.tick(STAGE_TIMES[1])
    world.read()  # the reminder is in the log, not yet sent ...
    world.publish(CATALOG_UPDATED, {"department": "jyj", "submitted_at": "2026-03-20T09:40:00+08:00",
                                    "catalog_version": "v2", "resolves": ["R1"]}, "U1")
    world.send_due()  # ... and the department updated its catalog meanwhile
    assert mail.mails == [] and robots.received == []
    rows = world.log_rows()
    assert {r["status"] for r in rows} == {"skipped"}
    assert {r["reason"] for r in rows} == {"义务在提醒送达前已完成，提醒不再发送"}


def test_robots_are_kept_within_their_rate_by_waiting_not_failing(database_url, servers, tmp_path):
    mail, robots = servers
    robots.messages_per_minute = 2  # the server answers 130101 past 2 a minute: it must never need to
    w = World(database_url, mail, robots, ladder_path=ladder_file(tmp_path, robot_messages_per_minute=2))
    robots.clock = lambda: w.real_now.timestamp()  # the robots' minute is the runner's minute
    try:
        for n in range(5):
            w.regulation(f"R{n}", "jyj")
        w.at(STAGE_TIMES[5])
        assert len(robots.to("/dingtalk/")) == 2
        assert {r["status"] for r in w.log_rows(channel="dingtalk")} == {"sent", "pending"}
        w.later(61)
        w.send_due()
        assert len(robots.to("/dingtalk/")) == 4
        w.later(61)
        w.send_due()
        assert len(robots.to("/dingtalk/")) == 5 and len(robots.to("/wecom/")) == 5
        assert robots.refused == []
        assert {r["status"] for r in w.log_rows(channel="dingtalk")} == {"sent"}
    finally:
        w.close()


def test_a_digest_bundles_a_persons_reminders_of_the_day(database_url, servers, tmp_path):
    mail, robots = servers
    w = World(database_url, mail, robots, ladder_path=ladder_file(tmp_path, digest="true", digest_wait_seconds=60))
    try:
        w.regulation("R1", "jyj")
        w.regulation("R2", "jyj")
        found = w.at(STAGE_TIMES[5])
        assert len(found) == 2 and mail.mails == []  # waiting for the day's others
        w.later(61)
        w.send_due()
        (digest,) = mail.to(LISI)
        assert sorted(digest.notification_ids) == sorted(e["id"] for e in found)
        assert digest.message["Subject"] == "【提醒汇总】2026-03-16 共 2 项政务数据资源目录期限提醒"
        assert len(robots.to("/dingtalk/")) == 1 and len(robots.to("/hook")) == 2  # the webhook stays per event
        assert {r["status"] for r in w.log_rows()} == {"sent"}
    finally:
        w.close()


# ------------------------------------------------------------------ the log's counts and pages (issue 13)

def test_the_logs_counts_follow_every_change_and_its_pages_walk_it_once_newest_first(database_url, servers):
    """delivery_counts changes with each insert, claim and mark (never recounted); the cursor walks every row."""
    from models.sql.deliveries import computed_delivery_counts, delivery_counts, stored_delivery_counts

    mail, robots = servers
    mail.answers[LISI] = ["451 4.3.0 try again later"]  # pending again after the first attempt
    robots.scripted["/wecom/district"] = [(503, {"errmsg": "busy"})]
    mail.refused.add(ZHANGSAN)  # failed for good
    w = World(database_url, mail, robots)
    try:
        def counts_agree():
            with w.parts.engine.connect() as conn:
                stored, computed = stored_delivery_counts(conn), computed_delivery_counts(conn)
            assert stored == computed
            return computed

        w.regulation("R1", "jyj")
        w.regulation("R2", "cgj")  # no contacts: a skipped row
        w.at(STAGE_TIMES[5])
        after_first = counts_agree()
        assert {status for _, _, status in after_first} >= {"pending", "sent", "skipped"}
        w.later(31)
        w.send_due()
        w.at(STAGE_TIMES[1])  # the head is told too: refused, failed
        counts = counts_agree()
        assert {status for _, _, status in counts} >= {"sent", "failed", "skipped"}
        rows = w.log_rows()
        with w.parts.engine.connect() as conn:
            assert delivery_counts(conn) == {s: sum(1 for r in rows if r["status"] == s)
                                             for s in {r["status"] for r in rows}}
            walked, after, totals = [], None, set()
            while True:
                page = list_deliveries(conn, department="jyj", limit=2, after=after)
                walked += [r["id"] for r in page["deliveries"]]
                totals.add(page["total"])
                after = page["next"]
                if after is None:
                    break
            failed = list_deliveries(conn, status="failed")
        jyj = sorted((r["id"] for r in rows if r["department"] == "jyj"), reverse=True)
        assert walked == jyj and len(jyj) > 2  # every row once, newest first, across pages
        assert totals == {len(jyj)}
        assert failed["total"] == sum(1 for r in rows if r["status"] == "failed") >= 1
        assert "address" not in failed["deliveries"][0]
    finally:
        w.close()
