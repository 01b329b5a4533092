"""Violations: overdue obligations and the content rules of a catalog update.

Each violation has a deterministic id (same facts, same id) and a Chinese
explanation a supervisor can forward as it is: the department, what happened,
the event that showed it, and the articles with their words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models.clock import SHANGHAI
from models.events import CatalogUpdated, InboundEvent, ResourceChange
from models.obligations import Obligation, stable_id
from models.policy import OVERDUE, SENSITIVE_DATA_OPENED, SHARE_SCOPE_NARROWED, Policy
from models.ports import Calendar

SHARE_NAMES_ZH = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
OPEN_NAMES_ZH = {"unconditional": "无条件开放", "conditional": "有条件开放", "none": "不予开放"}
ACTION_NAMES_ZH = {"added": "新增", "modified": "修改", "removed": "删除"}
WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True)
class Violation:
    id: str
    rule: str
    article: str  # the first citation, e.g. 第二十五条（八）
    articles: tuple[str, ...]
    department: str
    obligation_id: str | None
    trigger_event_id: str
    due_date: date | None
    detected_at: datetime
    event_day: date  # the day the facts happened (the year of the evaluation)
    policy_id: str
    explanation: str
    detail: dict = field(default_factory=dict)


def violation_id(rule: str, *facts: str) -> str:
    return stable_id("vi", rule, *facts)


def day_text(d: date) -> str:
    return f"{d.isoformat()}（星期{WEEKDAYS_ZH[d.weekday()]}）"


def instant_text(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def overdue_violation(obligation: Obligation, *, policy: Policy, department_label: str, kind_title: str,
                      calendar: Calendar, now: datetime) -> Violation:
    """The violation for an obligation whose deadline passed while it was open (or that was completed late).

    The id depends on the obligation only, so noticing it at the deadline (the
    tick) and again at a late completion gives one violation, not two.
    """
    citations = obligation.overdue_citations
    explanation_zh = calendar.explain(obligation.start_day, obligation.working_days).text_zh()
    provisional = "（注意：该期限涉及尚未公布放假安排的年份，为暂定期限。）" if obligation.provisional else ""
    text = (
        f"{department_label}未在规定期限内{kind_title}，违反{policy.regulation_ref()}{policy.cite(citations)}。\n"
        f"触发事件：{obligation.trigger_summary}（事件编号 {obligation.trigger_event_id}，"
        f"来源 {obligation.trigger_source}）。\n"
        f"期限：依据{obligation.article}“{policy.article_words(obligation.article).rstrip('；。')}”，"
        f"自 {obligation.start_day.isoformat()} 起计 {obligation.working_days} 个工作日（事件当日不计入），"
        f"应于 {day_text(obligation.due_date)} 24:00 前完成；{_late_text(obligation, now)}。{provisional}\n"
        f"期限计算：\n{explanation_zh}"
    )
    return Violation(
        id=violation_id(OVERDUE, obligation.id),
        rule=OVERDUE,
        article=citations[0],
        articles=tuple(citations),
        department=obligation.department,
        obligation_id=obligation.id,
        trigger_event_id=obligation.trigger_event_id,
        due_date=obligation.due_date,
        detected_at=now,
        event_day=obligation.due_date,
        policy_id=obligation.policy_id,
        explanation=text,
        detail={"start_day": obligation.start_day.isoformat(), "working_days": obligation.working_days,
                "due_end": obligation.due_end.isoformat(), "kind": obligation.kind},
    )


def _late_text(obligation: Obligation, now: datetime) -> str:
    if obligation.completed_at is not None:
        return (f"实际于 {instant_text(obligation.completed_at)} 才完成（事件编号 {obligation.completed_by}），"
                f"超过规定期限")
    return f"截至 {instant_text(now)} 仍未完成"


def narrows_share_scope(resource: ResourceChange) -> bool:
    """Moves an unconditionally shared resource to conditional/none, or removes it, without approval."""
    if resource.approval_ref:
        return False
    if resource.action == "removed":
        return "unconditional" in (resource.previous_share_type, resource.share_type)
    return resource.previous_share_type == "unconditional" and resource.share_type in ("conditional", "none")


def opens_sensitive_data(resource: ResourceChange) -> bool:
    """Personal information whose open type becomes (un)conditional without desensitization."""
    if resource.action == "removed" or not resource.contains_personal_info or resource.desensitized:
        return False
    return resource.open_type in ("unconditional", "conditional") and resource.previous_open_type != resource.open_type


def content_violations(event: InboundEvent, *, policy: Policy, department_label: str,
                       now: datetime) -> list[Violation]:
    """Violations a catalog update shows at once (issue 4 rules enabled in ``policy``)."""
    update = event.data
    if not isinstance(update, CatalogUpdated):
        return []
    found: list[Violation] = []
    for resource in update.resources:
        if SHARE_SCOPE_NARROWED in policy.rules and narrows_share_scope(resource):
            found.append(_content_violation(SHARE_SCOPE_NARROWED, event, update, resource, policy,
                                            department_label, now, _share_text(resource)))
        if SENSITIVE_DATA_OPENED in policy.rules and opens_sensitive_data(resource):
            found.append(_content_violation(SENSITIVE_DATA_OPENED, event, update, resource, policy,
                                            department_label, now, _open_text(resource)))
    return found


def _resource_name(resource: ResourceChange) -> str:
    return f"“{resource.name}”（{resource.code}）" if resource.name else f"{resource.code}"


def _share_text(resource: ResourceChange) -> str:
    before = SHARE_NAMES_ZH.get(resource.previous_share_type or "unconditional", "无条件共享")
    if resource.action == "removed":
        return f"将{before}类数据资源{_resource_name(resource)}从目录中删除，且未提供审批依据（approval_ref）"
    return (f"将数据资源{_resource_name(resource)}的共享类型由{before}改为"
            f"{SHARE_NAMES_ZH.get(resource.share_type or '', resource.share_type)}，且未提供审批依据（approval_ref）")


def _open_text(resource: ResourceChange) -> str:
    before = OPEN_NAMES_ZH.get(resource.previous_open_type or "", "未列明")
    return (f"将含个人隐私信息的数据资源{_resource_name(resource)}的开放类型由{before}改为"
            f"{OPEN_NAMES_ZH.get(resource.open_type or '', resource.open_type)}，且未标明已脱敏处理")


def _content_violation(rule: str, event: InboundEvent, update: CatalogUpdated, resource: ResourceChange,
                       policy: Policy, department_label: str, now: datetime, what: str) -> Violation:
    content_rule = policy.rules[rule]
    citations = content_rule.citations
    text = (
        f"{department_label}在政务数据资源目录更新中{what}，属于“{content_rule.title}”，"
        f"违反{policy.regulation_ref()}{policy.cite(citations)}。\n"
        f"发现该情况的事件：政务数据资源目录更新（目录版本 {update.catalog_version}，"
        f"提交时间 {instant_text(update.submitted_at)}，事件编号 {event.id}，来源 {event.source}）。"
    )
    return Violation(
        id=violation_id(rule, event.source, event.id, resource.code),
        rule=rule,
        article=citations[0],
        articles=tuple(citations),
        department=update.department,
        obligation_id=None,
        trigger_event_id=event.id,
        due_date=None,
        detected_at=now,
        event_day=update.submitted_at.astimezone(SHANGHAI).date(),
        policy_id=policy.id,
        explanation=text,
        detail={"resource_code": resource.code, "action": resource.action,
                "share_type": resource.share_type, "previous_share_type": resource.previous_share_type,
                "open_type": resource.open_type, "previous_open_type": resource.previous_open_type,
                "catalog_version": update.catalog_version},
    )
