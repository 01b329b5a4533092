"""Violations, and the one found when an obligation's deadline passes (the content rules judged against the
catalog register are ``models.catalog_rules``).

Each violation has a deterministic id (same facts, same id) and a Chinese
explanation a supervisor can forward as it is: the department, what happened,
the event that showed it, and the articles with their words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models import wording
from models.ids import violation_id
from models.obligations import Obligation
from models.policy import DATA_AGGREGATION, OVERDUE, Policy
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
    obligation_kind: str | None = None  # the kind of ``obligation_id`` (e.g. data-aggregation)
    resource_code: str | None = None  # the catalog resource, where the violation is about one
    period: str | None = None  # data-aggregation: the period


def overdue_violation(obligation: Obligation, *, policy: Policy, department_label: str, kind_title: str,
                      calendar: Calendar, now: datetime) -> Violation:
    """The violation for an obligation whose deadline passed while it was open (or that was completed late).

    The id depends on the obligation only, so noticing it at the deadline (the
    tick) and again at a late completion gives one violation, not two.
    """
    citations = obligation.overdue_citations
    if obligation.kind == DATA_AGGREGATION:
        text = _aggregation_overdue_text(obligation, policy, department_label, kind_title, calendar, now)
    else:
        text = _overdue_text(obligation, policy, department_label, kind_title, calendar, now)
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
        obligation_kind=obligation.kind,
        resource_code=obligation.resource_code,
        period=obligation.period,
    )


def _overdue_text(obligation: Obligation, policy: Policy, department_label: str, kind_title: str,
                  calendar: Calendar, now: datetime) -> str:
    return wording.overdue_explanation(
        department_label=department_label, kind_title=kind_title, regulation_ref=policy.regulation_ref(),
        citations_text=policy.cite(obligation.overdue_citations), trigger_summary=obligation.trigger_summary,
        trigger_event_id=obligation.trigger_event_id, trigger_source=obligation.trigger_source,
        article=obligation.article, article_words=policy.article_words(obligation.article),
        start_day=obligation.start_day, working_days=obligation.working_days, due_date=obligation.due_date,
        late_text=wording.late_text(obligation.completed_at, obligation.completed_by, now),
        provisional=obligation.provisional,
        counting_zh=calendar.explain(obligation.start_day, obligation.working_days).text_zh())


def _aggregation_overdue_text(obligation: Obligation, policy: Policy, department_label: str, kind_title: str,
                              calendar: Calendar, now: datetime) -> str:
    """The period, the resource, the deadline after the period's end and the days counted (第十二条)."""
    return wording.aggregation_overdue_explanation(
        department_label=department_label, kind_title=kind_title, regulation_ref=policy.regulation_ref(),
        citations_text=policy.cite(obligation.overdue_citations), trigger_summary=obligation.trigger_summary,
        trigger_event_id=obligation.trigger_event_id, trigger_source=obligation.trigger_source,
        article=obligation.article, article_words=policy.article_words(obligation.article),
        period_end=obligation.start_day, working_days=obligation.working_days, due_date=obligation.due_date,
        late_text=wording.aggregation_late_text(obligation.completed_at, obligation.completed_by, now),
        provisional=obligation.provisional,
        counting_zh=calendar.explain(obligation.start_day, obligation.working_days).text_zh())
