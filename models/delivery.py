"""Deliveries: from a reminder or violation to the messages people get, and what a send's outcome means.

Plain Python. ``plan`` reads one notification (the CloudEvent of a reminder or
a violation), asks the ladder who is told at which level and returns one
``Planned`` delivery per (notification, recipient, channel):

- email: one per person with an address (the key names the person);
- DingTalk / WeCom: one per group robot (the department's own robot from the
  registry, else the district-wide one), @-mentioning by mobile the people of
  the step that robot reaches;
- the generic webhook: one per notification (the CloudEvent as it is).

What cannot be delivered is planned too, as a skip with its reason (a
department without contacts, a person without an address, a notification too
old), so the delivery log says why nobody was told. Every message carries
the notification id (``Notice.notification_id``): the one window in which a
send may repeat (a crash between a successful send and its record) shows
itself to people as two messages with the same id.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from models import cloudevents as ce
from models import events as ev
from models import wording
from models.clock import SHANGHAI, parse_instant
from models.departments import Contact, DepartmentRegistry
from models.escalation import DINGTALK, EMAIL, WEBHOOK, WECOM, Ladder, Step, people_for
from models.ids import stable_id

PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"
DELIVERY_STATUSES = (PENDING, CLAIMED, SENT, FAILED, SKIPPED)

NONE_CHANNEL = "none"  # a skip that no channel could have carried (a department without contacts)
DISTRICT_ROBOT = "district"  # the robot of the settings, for departments without their own
REMINDER = "reminder"
VIOLATION = "violation"


class UnreadableNotification(ValueError):
    """A message on a notification topic that is not a reminder or violation this code can read."""


# ------------------------------------------------------------------ what was notified

@dataclass(frozen=True)
class Notification:
    id: str  # the CloudEvents id: rm-… (reminder) or vi-… (violation)
    kind: str  # REMINDER or VIOLATION
    time: datetime
    department: str
    data: Mapping[str, Any]
    cloudevent: Mapping[str, Any]

    @property
    def obligation_id(self) -> str | None:
        return self.data.get("obligation_id")

    @property
    def stage(self) -> int | None:
        return self.data.get("stage") if self.kind == REMINDER else None


def read_notification(event: Mapping[str, Any]) -> Notification:
    """A reminder or violation CloudEvent (as decoded JSON) as a ``Notification``."""
    kinds = {ev.REMINDER: REMINDER, ev.VIOLATION_DETECTED: VIOLATION}
    kind = kinds.get(event.get("type"))
    if kind is None:
        raise UnreadableNotification(f"type {event.get('type')!r} is neither a reminder nor a violation")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("department"), str):
        raise UnreadableNotification("data.department is missing")
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise UnreadableNotification("the event has no id")
    try:
        time = parse_instant(str(event.get("time")))
        if kind == REMINDER:
            int(data["stage"]), date.fromisoformat(data["due_date"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableNotification(f"a field cannot be read: {exc}") from None
    return Notification(id=event["id"], kind=kind, time=time, department=data["department"], data=data,
                        cloudevent=event)


# ------------------------------------------------------------------ what people read

@dataclass(frozen=True)
class Notice:
    """The content of one message, before a channel formats it (sentences from ``models.wording``)."""

    notification_id: str
    kind: str
    level: str
    department: str
    title: str
    facts: tuple[tuple[str, str], ...]  # (label, value), in reading order
    text: str  # the reminder sentence or the violation's explanation
    obligation_id: str | None = None
    link: str | None = None
    day: str = ""  # the local day of the notification (ISO), for digests

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Notice":
        values = dict(data)
        values["facts"] = tuple(tuple(pair) for pair in values.get("facts", ()))
        return cls(**values)


@dataclass(frozen=True)
class Message:
    """What one send carries: one notice, or several in a digest, to a greeting's reader."""

    notices: tuple[Notice, ...]
    greeting: str
    mentions: tuple[str, ...] = ()  # mobiles to @-mention (robots)
    cloudevent: Mapping[str, Any] | None = None  # the webhook's body

    @property
    def is_digest(self) -> bool:
        return len(self.notices) > 1

    @property
    def subject(self) -> str:
        if self.is_digest:
            return wording.digest_title(len(self.notices), date.fromisoformat(self.notices[0].day))
        return self.notices[0].title

    @property
    def level(self) -> str:
        order = ("blue", "yellow", "red")
        return max((n.level for n in self.notices), key=order.index)


def notice_for(notification: Notification, level: str, registry: DepartmentRegistry,
               public_url: str | None) -> Notice:
    data = notification.data
    label = registry.label(notification.department)
    kind_title = wording.zh(wording.OBLIGATION_KINDS, data.get("obligation"), data.get("obligation") or "")
    obligation_id = data.get("obligation_id")
    link = f"{public_url.rstrip('/')}/#/obligation/{obligation_id}" if public_url and obligation_id else None
    if notification.kind == REMINDER:
        left = int(data.get("working_days_left", data["stage"]))
        title = wording.reminder_notice_title(level=level, department_label=label, kind_title=kind_title,
                                              working_days_left=left)
        facts = [("level", wording.level_label(level)), ("department", label), ("obligation", kind_title),
                 ("deadline", wording.deadline_fact(date.fromisoformat(data["due_date"]), left)),
                 ("article", data.get("article") or "-")]
        text = data.get("text") or ""
    else:
        rule_title = wording.zh(wording.RULES, data.get("rule"), data.get("rule") or "")
        article = data.get("article") or "-"
        title = wording.violation_notice_title(level=level, department_label=label, rule_title=rule_title,
                                               article=article)
        facts = [("level", wording.level_label(level)), ("department", label), ("rule", rule_title)]
        if data.get("obligation"):
            facts.append(("obligation", wording.zh(wording.OBLIGATION_KINDS, data["obligation"], data["obligation"])))
        if data.get("due_date"):
            facts.append(("deadline", wording.deadline_fact(date.fromisoformat(data["due_date"]), None,
                                                            overdue=True)))
        facts.append(("article", "、".join(data.get("articles") or [article])))
        text = data.get("explanation") or ""
    facts.append(("notification_id", notification.id))
    return Notice(notification_id=notification.id, kind=notification.kind, level=level,
                  department=notification.department, title=title,
                  facts=tuple((wording.zh(wording.NOTICE_FACTS, key), value) for key, value in facts),
                  text=text, obligation_id=obligation_id, link=link,
                  day=notification.time.astimezone(SHANGHAI).date().isoformat())


# ------------------------------------------------------------------ the plan

@dataclass(frozen=True)
class Planned:
    """One row of the delivery log to be: a message to send, or a skip with its reason."""

    notification_id: str
    channel: str
    recipient: str  # the person's key, "robot:<department or district>", or "webhook"
    recipient_label: str
    department: str
    obligation_id: str | None
    kind: str
    level: str
    address: str | None = None  # email address (robots and webhook are resolved from settings at send time)
    mentions: tuple[str, ...] = ()
    greeting: str = ""
    notice: Notice | None = None
    digest_key: str | None = None
    not_before_seconds: float = 0.0  # wait this long before sending (digests)
    skip_reason: str | None = None
    cloudevent: Mapping[str, Any] | None = None  # the webhook's body: the notification as published

    @property
    def status(self) -> str:
        return SKIPPED if self.skip_reason else PENDING


@dataclass(frozen=True)
class Channels:
    """Which channels are configured, and which departments have robots of their own."""

    email: bool = False
    dingtalk: bool = False  # the district-wide robot
    wecom: bool = False
    webhook: bool = False

    def any(self) -> bool:
        return self.email or self.dingtalk or self.wecom or self.webhook

    def names(self) -> list[str]:
        return [name for name in (EMAIL, DINGTALK, WECOM, WEBHOOK) if getattr(self, name)]


def step_for(notification: Notification, ladder: Ladder) -> Step | None:
    if notification.kind == VIOLATION:
        return ladder.violation
    return ladder.step_for_stage(int(notification.data["stage"]))


def plan(notification: Notification, *, ladder: Ladder, registry: DepartmentRegistry, channels: Channels,
         public_url: str | None, now: datetime) -> list[Planned]:
    """Every delivery (and every skip) one notification gives, each with its own key."""
    step = step_for(notification, ladder)
    level = step.level if step else "blue"
    notice = notice_for(notification, level, registry, public_url)
    base = dict(notification_id=notification.id, department=notification.department,
                obligation_id=notification.obligation_id, kind=notification.kind, level=level)
    planned: list[Planned] = []
    if channels.webhook:
        planned.append(Planned(channel=WEBHOOK, recipient=WEBHOOK, recipient_label=WEBHOOK, notice=notice,
                               cloudevent=notification.cloudevent, **base))
    if now - notification.time > timedelta(hours=ladder.max_age_hours):
        reason = wording.skip_too_old(notification.time, ladder.max_age_hours)
        return [Planned(channel=NONE_CHANNEL, recipient="-", recipient_label="-", skip_reason=reason, **base)]
    if step is None:  # a stage no step names (the start-up check makes this rare: a policy changed meanwhile)
        reason = f"升级阶梯未规定阶段 {notification.stage} 的通知对象"
        return planned + [Planned(channel=NONE_CHANNEL, recipient="-", recipient_label="-", skip_reason=reason,
                                  **base)]
    people = people_for(step, notification.department, registry)
    if not people:
        reason = wording.skip_no_contacts(registry.label(notification.department), list(step.roles))
        planned.append(Planned(channel=NONE_CHANNEL, recipient="-", recipient_label="-", skip_reason=reason, **base))
    digest_wait = ladder.digest_wait_seconds if ladder.digest and notification.kind == REMINDER else 0.0
    if channels.email and step.uses(EMAIL):
        for person in people:
            planned.append(_email(person, notice, base, digest_wait))
    for channel in (DINGTALK, WECOM):
        if step.uses(channel):
            planned.extend(_robots(channel, people, notification, registry, channels, notice, base, digest_wait))
    return planned


def _email(person: Contact, notice: Notice, base: dict, digest_wait: float) -> Planned:
    label = _person_label(person)
    if not person.email:
        return Planned(channel=EMAIL, recipient=person.key, recipient_label=label,
                       skip_reason=wording.skip_no_address(label, EMAIL), **base)
    return Planned(channel=EMAIL, recipient=person.key, recipient_label=label, address=person.email,
                   greeting=wording.greeting(person.name, person.title), notice=notice,
                   digest_key=f"{EMAIL}|{person.key}|{notice.day}" if digest_wait else None,
                   not_before_seconds=digest_wait, **base)


def _robots(channel: str, people: list[Contact], notification: Notification, registry: DepartmentRegistry,
            channels: Channels, notice: Notice, base: dict, digest_wait: float) -> list[Planned]:
    """One message per robot: the department's own, the supervisor's own, else the district's."""
    district = getattr(channels, channel)
    groups: dict[str, list[Contact]] = {}
    departments = [notification.department] + sorted({p.department for p in people} - {notification.department})
    for code in departments:
        department = registry.get(code)
        robot = code if department is not None and department.robot(channel) else (DISTRICT_ROBOT if district
                                                                                   else None)
        if robot is not None:
            groups.setdefault(robot, []).extend(p for p in people if p.department == code)
    planned = []
    for robot, members in groups.items():
        mentions = tuple(dict.fromkeys(p.mobile for p in members if p.mobile))
        name = wording.zh(wording.CHANNELS, channel)
        label = f"{name}群（{registry.name_of(robot) if robot != DISTRICT_ROBOT else '全区'}）"
        planned.append(Planned(channel=channel, recipient=f"robot:{robot}", recipient_label=label,
                               mentions=mentions, greeting=_robot_greeting(members), notice=notice,
                               digest_key=f"{channel}|robot:{robot}|{notice.day}" if digest_wait else None,
                               not_before_seconds=digest_wait, **base))
    return planned


def _person_label(person: Contact) -> str:
    return f"{person.name}（{wording.zh(wording.ROLES, person.role)}，{person.department}）"


def _robot_greeting(members: list[Contact]) -> str:
    if not members:
        return wording.greeting(None, None)
    return "、".join(f"{p.name}{p.title or ''}" for p in members) + "："


# ------------------------------------------------------------------ outcomes of a send

@dataclass(frozen=True)
class Outcome:
    """What a channel says of one send: delivered, failed for now (try again), or failed for good."""

    delivered: bool
    permanent: bool = False
    reason: str = ""
    retry_after: float | None = None  # seconds, when the other side said how long to wait

    @classmethod
    def ok(cls) -> "Outcome":
        return cls(True)

    @classmethod
    def transient(cls, reason: str, retry_after: float | None = None) -> "Outcome":
        return cls(False, False, reason, retry_after)

    @classmethod
    def permanent_failure(cls, reason: str) -> "Outcome":
        return cls(False, True, reason)


# ------------------------------------------------------------------ what the log holds, and the undeliverable event

@dataclass(frozen=True)
class DeliveryRow:
    """One row of the delivery log as the runner claims it."""

    id: int
    notification_id: str
    channel: str
    recipient: str
    recipient_label: str
    department: str
    obligation_id: str | None
    kind: str
    level: str
    address: str | None
    mentions: tuple[str, ...]
    greeting: str
    notice: Notice | None
    cloudevent: Mapping[str, Any] | None
    attempts: int
    digest_key: str | None = None
    extra: dict = field(default_factory=dict)


def undeliverable_event_id(notification_id: str, channel: str, recipient: str) -> str:
    return stable_id("nd", notification_id, channel, recipient)


def undeliverable_cloudevent(row: DeliveryRow, reason: str, attempts: int, now: datetime) -> dict[str, Any]:
    """The ``gov.catalog.notification.undeliverable`` event for a delivery given up (EVENTS-style, README)."""
    event_id = undeliverable_event_id(row.notification_id, row.channel, row.recipient)
    data = {"notification_id": row.notification_id, "notification_kind": row.kind, "department": row.department,
            "obligation_id": row.obligation_id, "level": row.level, "channel": row.channel,
            "recipient": row.recipient, "recipient_label": row.recipient_label, "reason": reason,
            "attempts": attempts, "failed_at": now}
    return ce.envelope(ev.NOTIFICATION_UNDELIVERABLE, event_id, ev.TRACKER_SOURCE, now, data, row.department)
