"""A demo feed of realistic upstream events, so the embedded quick start shows something.

The dates are counted back from *today* on the working-day calendar with the
time limits of the policy in force, so that whenever the demo runs with the
system clock there is something of each kind:

- a regulation revision (three departments) whose deadline has passed: one
  department updated on time (but opened personal data without
  desensitization), one updated late (and narrowed an unconditionally shared
  resource), one did nothing (overdue);
- a regulation revision due in two working days: one department already
  updated, two still open (due soon);
- a duty change (住建 → 城管) three working days ago: two open obligations;
- a data objection raised two working days ago (a verification obligation);
- the catalog register (issue 12): 区发展和改革局 registered its whole catalog (``complete``) about a hundred
  days ago: a monthly resource aggregated on time and opened on the platform on time, another monthly one
  never aggregated (a missed period, 第二十五条（二）), one on the open list never opened (第二十五条（八）),
  one registered with its own exchange channel and one shared by e-mail (第十四条), one classed 不予开放 and
  opened anyway (第十九条); three weeks later an update narrowed unconditional sharing without any
  ``previous_share_type`` (found from the register); an aggregation for a resource that is in no catalog
  (held, then listed as unmatched); 区卫生健康局 opens the personal data its update put on the open list;
- one message that is not a CloudEvent at all (it must land on the dead-letter topic).

Event ids are derived from the dates, so publishing the same day's demo twice
is deduplicated by the tracker.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Callable, Protocol

from models import events as ev
from models import validation
from models.clock import SHANGHAI
from models.periods import MONTH, first_whole_period
from streams import topics

LEGAL_AFFAIRS = "/yuhua/legal-affairs"
STAFFING_OFFICE = "/yuhua/staffing-office"
CATALOG_PLATFORM = "/yuhua/catalog-platform"
AGGREGATION_SYSTEM = "/yuhua/data-governance"  # 区数据治理和安全管理系统 (第十二条)
OPEN_PLATFORM = "/yuhua/open-platform"
EXCHANGE = "/yuhua/exchange"
REGISTER_DEPARTMENT = "fgj"  # 区发展和改革局: the demo's catalog register
REGISTER_DAYS_AGO = 100
BAD_MESSAGE = b'{"specversion": "1.0", "type": "gov.catalog.catalog.updated", "data": {"department": "jyj"'


class Calendar(Protocol):
    def add_working_days(self, d: date, n: int) -> date: ...

    def is_working_day(self, d: date) -> bool: ...

    def previous_working_day(self, d: date) -> date: ...


@dataclass(frozen=True)
class DemoMessage:
    """One message of the feed: a CloudEvent (dict) or, for the bad one, raw bytes."""

    topic: str  # logical topic, without prefix
    event: dict[str, Any] | None = None
    raw: bytes | None = None
    key: str | None = None


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def demo_feed(today: date, calendar: Calendar, catalog_update_days: int) -> list[DemoMessage]:
    """The demo events for ``today``; ``catalog_update_days`` is the policy's 第十条 limit."""
    wd = calendar.add_working_days
    n = catalog_update_days
    # Counted from the last working day up to today, so a weekend demo looks like Friday's.
    anchor = today if calendar.is_working_day(today) else calendar.previous_working_day(today)
    overdue_start = wd(anchor, -(n + 5))  # its deadline passed five working days ago
    due_soon_start = wd(anchor, -(n - 2))  # due in two working days
    open_start = wd(anchor, -3)
    tag = today.strftime("%Y%m%d")
    reg_overdue, reg_due_soon = f"demo-{tag}-reg-1", f"demo-{tag}-reg-2"

    def event(type_: str, source: str, name: str, data: dict, when: datetime, subject: str | None = None):
        built = validation.build_cloudevent(type_, source, data, id=f"demo-{tag}-{name}", subject=subject, time=when)
        return DemoMessage(topics.TOPIC_OF_TYPE[type_], built)

    return [
        DemoMessage(topics.REGULATION_CHANGES, validation.build_cloudevent(
            ev.REGULATION_CHANGED, LEGAL_AFFAIRS, {
                "regulation_id": "HN-DFXFG-2021-政务数据管理",
                "title": "湖南省政务数据管理办法（修订）",
                "change_kind": "amended", "changed_on": overdue_start,
                "affected_departments": ["wjj", "jyj", "mzj"],
            }, id=reg_overdue, time=_at(overdue_start, 10))),
        DemoMessage(topics.REGULATION_CHANGES, validation.build_cloudevent(
            ev.REGULATION_CHANGED, LEGAL_AFFAIRS, {
                "regulation_id": "HN-DFXFG-2020-优化营商环境",
                "title": "湖南省优化营商环境条例（修正）",
                "change_kind": "amended", "changed_on": due_soon_start,
                "affected_departments": ["scjgj", "xzspfwj", "swj"],
            }, id=reg_due_soon, time=_at(due_soon_start, 9, 30))),
        event(ev.DUTY_CHANGED, STAFFING_OFFICE, "duty-1", {
            "department": "zjj", "changed_on": open_start, "change_kind": "transferred",
            "description": "城镇燃气经营许可及燃气安全监督管理职能由区住房和城乡建设局划入区城市管理和综合执法局",
            "counterpart_departments": ["cgj"],
        }, _at(open_start, 11), subject="zjj"),
        # 区卫生健康局: on time, but opened vaccination records without desensitization (第二十条).
        event(ev.CATALOG_UPDATED, CATALOG_PLATFORM, "update-wjj", {
            "department": "wjj", "submitted_at": _at(wd(overdue_start, n - 4), 16, 20),
            "catalog_version": f"wjj-{overdue_start.year}.3", "resolves": [reg_overdue],
            "resources": [{"code": "WJJ-0007", "name": "预防接种记录", "action": "modified",
                           "share_type": "conditional", "previous_share_type": "conditional",
                           "open_type": "conditional", "previous_open_type": "none",
                           "contains_personal_info": True, "desensitized": False}],
        }, _at(wd(overdue_start, n - 4), 16, 20), subject="wjj"),
        # 区教育局: late, and narrowed an unconditionally shared resource without approval (第二十五条（一）).
        event(ev.CATALOG_UPDATED, CATALOG_PLATFORM, "update-jyj", {
            "department": "jyj", "submitted_at": _at(wd(anchor, -2), 15, 5),
            "catalog_version": f"jyj-{today.year}.2", "resolves": [reg_overdue],
            "resources": [{"code": "JYJ-0012", "name": "中小学学籍基本信息", "action": "modified",
                           "share_type": "conditional", "previous_share_type": "unconditional",
                           "open_type": "none", "previous_open_type": "none"}],
        }, _at(wd(anchor, -2), 15, 5), subject="jyj"),
        # 区市场监督管理局: answered the second revision on time.
        event(ev.CATALOG_UPDATED, CATALOG_PLATFORM, "update-scjgj", {
            "department": "scjgj", "submitted_at": _at(wd(anchor, -1), 10, 45),
            "catalog_version": f"scjgj-{today.year}.5", "resolves": [reg_due_soon],
            "resources": [{"code": "SCJGJ-0101", "name": "市场主体登记信息", "action": "modified",
                           "share_type": "unconditional", "previous_share_type": "unconditional",
                           "open_type": "unconditional", "previous_open_type": "unconditional"}],
        }, _at(wd(anchor, -1), 10, 45), subject="scjgj"),
        # 第十三条: 区医疗保障局 questions a resource of 区人力资源和社会保障局.
        event(ev.OBJECTION_RAISED, CATALOG_PLATFORM, "objection-1", {
            "objection_id": f"YH-YY-{tag}-001", "department": "rsj",
            "resource_code": "RSJ-0031", "raised_on": wd(anchor, -2), "raised_by": "ybj",
        }, _at(wd(anchor, -2), 14), subject="rsj"),
        # 区卫生健康局 opens on the platform what its update put on the open list (personal data: 第二十条).
        event(ev.DATA_OPENED, OPEN_PLATFORM, "open-wjj", {
            "department": "wjj", "resource_code": "WJJ-0007", "opened_at": _at(wd(overdue_start, n - 2), 10),
            "channel": ev.MUNICIPAL_PLATFORM,
        }, _at(wd(overdue_start, n - 2), 10), subject="wjj"),
        *register_feed(anchor, calendar, event),
        # Not a CloudEvent (cut off mid-object): the tracker must dead-letter it and go on.
        DemoMessage(topics.CATALOG_UPDATES, raw=BAD_MESSAGE, key="jyj"),
    ]


def register_feed(anchor: date, calendar: Calendar, event: Callable[..., DemoMessage]) -> list[DemoMessage]:
    """区发展和改革局's catalog register and what it did with its data, dated back from ``anchor``."""
    from datetime import timedelta

    wd = calendar.add_working_days
    dept = REGISTER_DEPARTMENT
    registered_on = anchor - timedelta(days=REGISTER_DAYS_AGO)
    if not calendar.is_working_day(registered_on):
        registered_on = calendar.previous_working_day(registered_on)
    registered = _at(registered_on, 9)
    first_month = first_whole_period(MONTH, registered)  # the first period owed; its deadline has long passed

    def resource(code: str, name: str, **attributes) -> dict:
        return {"code": code, "name": name, "action": "added", "classification": "经济运行", "responsible_party":
                "区发展和改革局", "format": "数据库表", "share_type": "conditional", "share_channel":
                ev.MUNICIPAL_PLATFORM, "open_type": "none", "update_cycle": "irregular", **attributes}

    def activity(type_: str, source: str, name: str, data: dict, when: datetime) -> DemoMessage:
        return event(type_, source, name, {"department": dept, **data}, when, subject=dept)

    aggregated_at = _at(wd(first_month.end, 1), 10)
    opened_at = _at(wd(registered_on, 1), 15)
    return [
        event(ev.CATALOG_UPDATED, CATALOG_PLATFORM, "register-fgj", {
            "department": dept, "submitted_at": registered, "catalog_version": f"fgj-{registered_on.year}.1",
            "complete": True, "resources": [
                resource("FGJ-0001", "政府投资项目库", update_cycle="monthly", share_type="unconditional",
                         open_type="conditional", open_channel=ev.MUNICIPAL_PLATFORM, contains_personal_info=False,
                         usage_requirements="仅限政务部门履职使用"),
                resource("FGJ-0002", "重点项目进度月报", update_cycle="monthly"),
                resource("FGJ-0003", "政府定价目录", open_type="unconditional", open_channel=ev.MUNICIPAL_PLATFORM,
                         contains_personal_info=False),
                resource("FGJ-0004", "粮食储备库存台账", share_channel="发改局自建数据交换系统"),
                resource("FGJ-0005", "企业信用评价明细", contains_personal_info=False),
            ]}, registered, subject=dept),
        # Three weeks later FGJ-0001 goes from 无条件共享 to 有条件共享 with no approval and no previous_share_type.
        event(ev.CATALOG_UPDATED, CATALOG_PLATFORM, "narrow-fgj", {
            "department": dept, "submitted_at": _at(registered_on + timedelta(days=21), 11),
            "catalog_version": f"fgj-{registered_on.year}.2",
            "resources": [{"code": "FGJ-0001", "action": "modified", "share_type": "conditional"}],
        }, _at(registered_on + timedelta(days=21), 11), subject=dept),
        activity(ev.DATA_AGGREGATED, AGGREGATION_SYSTEM, "aggregate-fgj-0001", {
            "resource_code": "FGJ-0001", "period": first_month.text(), "aggregated_at": aggregated_at,
            "records": 1_284}, aggregated_at),
        activity(ev.DATA_OPENED, OPEN_PLATFORM, "open-fgj-0001", {
            "resource_code": "FGJ-0001", "opened_at": opened_at, "channel": ev.MUNICIPAL_PLATFORM}, opened_at),
        activity(ev.DATA_SHARED, EXCHANGE, "share-fgj-0001-mail", {
            "resource_code": "FGJ-0001", "shared_at": _at(wd(registered_on, 3), 16), "channel": "电子邮件"},
            _at(wd(registered_on, 3), 16)),
        activity(ev.DATA_OPENED, OPEN_PLATFORM, "open-fgj-0005", {
            "resource_code": "FGJ-0005", "opened_at": _at(wd(registered_on, 4), 10),
            "channel": ev.MUNICIPAL_PLATFORM}, _at(wd(registered_on, 4), 10)),
        # A resource no catalog lists: held, then unmatched after the policy's wait.
        activity(ev.DATA_AGGREGATED, AGGREGATION_SYSTEM, "aggregate-fgj-9999", {
            "resource_code": "FGJ-9999", "period": first_month.text(), "aggregated_at": aggregated_at},
            aggregated_at),
    ]


def demo_feed_for(settings, today: date) -> list[DemoMessage]:
    """The demo feed with the calendar and the policy in force that the tracker itself uses."""
    from calendars import load_calendar
    from models.policy import load_policies

    policy = load_policies(settings.policy_dir).policy_for(today, settings.jurisdiction)
    if policy is None:
        raise RuntimeError(f"no policy in force on {today} for {settings.jurisdiction}: cannot date the demo feed")
    calendar = load_calendar(settings.calendar_dir, settings.jurisdiction)
    return demo_feed(today, calendar, policy.obligations["catalog-update"].working_days)


class Sender(Protocol):
    def send_event(self, event: dict[str, Any]) -> Any: ...

    def send_raw(self, logical_topic: str, value: bytes, key: str | None = None) -> None: ...


def publish_feed(publisher: Sender, feed: list[DemoMessage],
                 wait_applied: Callable[[int], None] | None = None) -> int:
    """Send every message of the feed (events validated by the publisher); returns how many.

    The feed tells weeks (and a register months) of history at once. Sent in that order, a regulation
    change would arrive long after its deadline with the department's on-time
    answer still behind it, and be judged overdue on arrival; and a tick between
    a catalog update and the activities that fulfil what it opens would judge
    those overdue too. So the data activities go first (the tracker holds them:
    their resources are not registered yet), then the catalog updates (which
    register the resources, judge the held activities and answer nothing yet),
    and then the triggers: each update is matched to its trigger as soon as that
    arrives, on time or late as its ``submitted_at`` says. ``wait_applied(n)``
    (when given) waits until the tracker has applied ``n`` messages in all.
    """
    activities = [m for m in feed if m.event is not None and m.event["type"] in ev.DATA_ACTIVITY_TYPES]
    answers = [m for m in feed if m.event is not None and m.event["type"] == ev.CATALOG_UPDATED]
    rest = [m for m in feed if m not in activities and m not in answers]
    sent = 0
    for group in (activities, answers):
        for message in group:
            publisher.send_event(message.event)
        sent += len(group)
        if wait_applied is not None and group:
            wait_applied(sent)
    for message in rest:
        if message.event is not None:
            publisher.send_event(message.event)
        else:
            publisher.send_raw(message.topic, message.raw or b"", key=message.key)
    return len(feed)
