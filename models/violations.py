"""Violations: overdue obligations and the content rules of a catalog update.

Each violation has a deterministic id (same facts, same id) and a Chinese
explanation a supervisor can forward as it is: the department, what happened,
the event that showed it, and the articles with their words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models import wording
from models.clock import SHANGHAI
from models.events import CatalogUpdated, InboundEvent, ResourceChange
from models.ids import violation_id
from models.obligations import Obligation
from models.policy import OVERDUE, SENSITIVE_DATA_OPENED, SHARE_SCOPE_NARROWED, Policy
from models.ports import Calendar


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


def overdue_violation(obligation: Obligation, *, policy: Policy, department_label: str, kind_title: str,
                      calendar: Calendar, now: datetime) -> Violation:
    """The violation for an obligation whose deadline passed while it was open (or that was completed late).

    The id depends on the obligation only, so noticing it at the deadline (the
    tick) and again at a late completion gives one violation, not two.
    """
    citations = obligation.overdue_citations
    text = wording.overdue_explanation(
        department_label=department_label, kind_title=kind_title, regulation_ref=policy.regulation_ref(),
        citations_text=policy.cite(citations), trigger_summary=obligation.trigger_summary,
        trigger_event_id=obligation.trigger_event_id, trigger_source=obligation.trigger_source,
        article=obligation.article, article_words=policy.article_words(obligation.article),
        start_day=obligation.start_day, working_days=obligation.working_days, due_date=obligation.due_date,
        late_text=wording.late_text(obligation.completed_at, obligation.completed_by, now),
        provisional=obligation.provisional,
        counting_zh=calendar.explain(obligation.start_day, obligation.working_days).text_zh())
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
                                            department_label, now, wording.share_narrowed_text(
                                                _resource_name(resource), resource.action,
                                                resource.previous_share_type, resource.share_type)))
        if SENSITIVE_DATA_OPENED in policy.rules and opens_sensitive_data(resource):
            found.append(_content_violation(SENSITIVE_DATA_OPENED, event, update, resource, policy,
                                            department_label, now, wording.sensitive_opened_text(
                                                _resource_name(resource), resource.previous_open_type,
                                                resource.open_type)))
    return found


def _resource_name(resource: ResourceChange) -> str:
    return wording.resource_name(resource.code, resource.name)


def _content_violation(rule: str, event: InboundEvent, update: CatalogUpdated, resource: ResourceChange,
                       policy: Policy, department_label: str, now: datetime, what: str) -> Violation:
    content_rule = policy.rules[rule]
    citations = content_rule.citations
    text = wording.content_violation_explanation(
        department_label=department_label, what=what, rule_title=content_rule.title,
        regulation_ref=policy.regulation_ref(), citations_text=policy.cite(citations),
        catalog_version=update.catalog_version, submitted_at=update.submitted_at, event_id=event.id,
        source=event.source)
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
