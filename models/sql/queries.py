"""The read side for the HTTP API, the CLI and dashboards: plain dicts with aware datetimes.

Every function takes a SQLAlchemy ``Session`` (or ``Connection``) first and
only reads. Dates are ``date`` objects and instants aware ``datetime`` in UTC;
the API formats them as RFC 3339 with +08:00. Functions that show working
days left or the deadline explanation take the calendar (``calendar=``); the
default is the calendar from the shipped notices.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from models import wording
from models.clock import SHANGHAI
from models.departments import DepartmentRegistry
from models.evaluation import Tally
from models.evaluation import as_of as evaluation_as_of
from models.evaluation import outcome as evaluation_outcome
from models.obligations import COMPLETED, OPEN, OVERDUE, past_deadline
from models.sql import paging
from models.sql import tables as t
from models.sql.counts import on_time_value

DUE_SOON_WORKING_DAYS = 3


@lru_cache(maxsize=1)
def default_calendar():
    """The calendar of the shipped notices, loaded once, for callers that pass none."""
    from calendars import load_calendar

    return load_calendar()


def _calendar(calendar):
    return calendar if calendar is not None else default_calendar()


def _working_days_left(calendar, now: datetime | None, due_date: date) -> int | None:
    if now is None:
        return None
    try:
        return calendar.working_days_left(now, due_date)
    except ValueError:  # outside the calendar's range
        return None


def obligation_dict(row, *, now: datetime | None = None, calendar=None, registry=None) -> dict[str, Any]:
    ob = dict(row)
    result = {
        "id": ob["id"],
        "kind": ob["kind"],
        "department": ob["department"],
        "article": ob["article"],
        "status": ob["status"],
        "on_time": ob["on_time"],
        "start_day": ob["start_day"],
        "working_days": ob["working_days"],
        "due_date": ob["due_date"],
        "due_end": ob["due_end"],
        "provisional": ob["provisional"],
        "trigger_event_id": ob["trigger_event_id"],
        "trigger_source": ob["trigger_source"],
        "trigger_type": ob["trigger_type"],
        "trigger_summary": ob["trigger_summary"],
        "subject_ref": ob["subject_ref"],
        "policy_id": ob["policy_id"],
        "policy_version": ob["policy_version"],
        "overdue_citations": list(ob["overdue_citations"]),
        "reminder_stages": list(ob["reminder_stages"]),
        "stages_sent": list(ob["stages_sent"]),
        "next_reminder_at": ob["next_reminder_at"],
        "opened_at": ob["opened_at"],
        "completed_at": ob["completed_at"],
        "completed_by_event_id": ob["completed_by"],
        "working_days_taken": ob["working_days_taken"],
        "resource_code": ob["resource_code"],
        "period": ob["period"],
    }
    if registry is not None:
        result["department_name"] = registry.name_of(ob["department"])
    if ob["status"] in (OPEN, OVERDUE):
        result["working_days_left"] = _working_days_left(_calendar(calendar), now, ob["due_date"])
    else:
        result["working_days_left"] = None
    return result


OBLIGATION_ORDER = tuple((column, False) for column in t.OBLIGATION_PAGE_ORDER)
VIOLATION_ORDER = ((t.violations.c.detected_at, True), (t.violations.c.id, False))


def _counted(session, table: sa.Table, conditions: list):
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.sum(table.c.n), 0)).where(*conditions))
               .scalar_one())


def list_obligations(session, *, department: str | None = None, status: str | None = None,
                     due_from: date | None = None, due_to: date | None = None, limit: int = 100, offset: int = 0,
                     after: str | None = None, now: datetime | None = None, calendar=None,
                     registry=None) -> dict[str, Any]:
    """One page of obligations in (due_date, opened_at, id) order, its exact ``total`` and the ``next`` page's cursor.

    ``after`` (a ``next`` of an earlier page) starts the page after that page's last row; ``offset`` skips
    rows from there. The total comes from ``obligation_counts`` (O(departments x years)) when the filter is
    department and/or status; with a due-date range it is a count over the index of that filter's rows
    (``ix_obligations_*_due``), so it costs in proportion to the rows in the range, not to the table.
    """
    c = t.obligations.c
    conditions = []
    if department is not None:
        conditions.append(c.department == department)
    if status is not None:
        conditions.append(c.status == status)
    if due_from is None and due_to is None:
        oc = t.obligation_counts.c
        total = _counted(session, t.obligation_counts,
                         [oc.department == department] * (department is not None)
                         + [oc.status == status] * (status is not None))
    if due_from is not None:
        conditions.append(c.due_date >= due_from)
    if due_to is not None:
        conditions.append(c.due_date <= due_to)
    if due_from is not None or due_to is not None:
        total = paging.count(session, t.obligations, conditions)
    rows, cursor = paging.page_rows(session, t.obligations, conditions, OBLIGATION_ORDER, limit=limit,
                                    offset=offset, after=after)
    cal = _calendar(calendar) if now is not None else None
    return {"obligations": [obligation_dict(r, now=now, calendar=cal, registry=registry) for r in rows],
            "total": total, "limit": limit, "offset": offset, "next": cursor}


def get_obligation(session, obligation_id: str, *, now: datetime | None = None, calendar=None,
                   registry=None) -> dict[str, Any] | None:
    row = session.execute(sa.select(t.obligations).where(t.obligations.c.id == obligation_id)).mappings().first()
    if row is None:
        return None
    cal = _calendar(calendar)
    result = obligation_dict(row, now=now, calendar=cal, registry=registry)
    try:
        explanation = cal.explain(row["start_day"], row["working_days"])
        result["explanation"] = {**explanation.to_dict(), "text_zh": explanation.text_zh(),
                                 "text_en": explanation.text_en() if hasattr(explanation, "text_en") else None}
    except ValueError as exc:
        result["explanation"] = {"error": str(exc)}
    h = t.obligation_history.c
    result["history"] = [
        {"at": r["at"], "event": r["what"], "event_id": r["event_id"], "detail": r["detail"],
         "detail_zh": wording.history_text(r["what"], r["detail"])}
        for r in session.execute(sa.select(t.obligation_history).where(h.obligation_id == obligation_id)
                                 .order_by(h.id)).mappings()]
    rm = t.reminders.c
    result["reminders"] = [
        {"id": r["id"], "stage": r["stage"], "working_days_left": r["working_days_left"], "sent_at": r["sent_at"],
         "due_date": r["due_date"]}
        for r in session.execute(sa.select(t.reminders).where(rm.obligation_id == obligation_id)
                                 .order_by(rm.sent_at, rm.stage.desc())).mappings()]
    result["violations"] = [violation_dict(r) for r in session.execute(
        sa.select(t.violations).where(t.violations.c.obligation_id == obligation_id)
        .order_by(t.violations.c.detected_at)).mappings()]
    return result


def violation_dict(row, registry=None) -> dict[str, Any]:
    v = dict(row)
    result = {
        "id": v["id"], "violation_id": v["id"], "rule": v["rule"], "article": v["article"],
        "articles": list(v["articles"]), "department": v["department"], "obligation_id": v["obligation_id"],
        "trigger_event_id": v["trigger_event_id"], "due_date": v["due_date"], "detected_at": v["detected_at"],
        "event_day": v["event_day"], "policy_id": v["policy_id"], "explanation": v["explanation"],
        "detail": v["detail"], "obligation": v["obligation"], "resource_code": v["resource_code"],
        "period": v["period"],
    }
    if registry is not None:
        result["department_name"] = registry.name_of(v["department"])
    return result


def list_violations(session, department: str | None = None, rule: str | None = None, *, limit: int = 100,
                    offset: int = 0, after: str | None = None, registry=None) -> dict[str, Any]:
    """One page of violations, newest first (detected_at desc, id), the exact ``total`` from
    ``violation_counts`` (O(departments x years)) and the ``next`` page's cursor (see ``list_obligations``)."""
    c = t.violations.c
    vc = t.violation_counts.c
    conditions, counted = [], []
    if department is not None:
        conditions.append(c.department == department)
        counted.append(vc.department == department)
    if rule is not None:
        conditions.append(c.rule == rule)
        counted.append(vc.rule == rule)
    total = _counted(session, t.violation_counts, counted)
    rows, cursor = paging.page_rows(session, t.violations, conditions, VIOLATION_ORDER, limit=limit,
                                    offset=offset, after=after)
    return {"violations": [violation_dict(r, registry) for r in rows], "total": total, "limit": limit,
            "offset": offset, "next": cursor}


UNASSESSED_ORDER = ((t.unassessed_events.c.recorded_at, False), (t.unassessed_events.c.source, False),
                    (t.unassessed_events.c.event_id, False))


def list_unassessed(session, *, limit: int = 100, offset: int = 0, after: str | None = None) -> dict[str, Any]:
    """One page of the events no rule could assess, oldest first; ``total`` is a count (these are few)."""
    total = paging.count(session, t.unassessed_events, [])
    rows, cursor = paging.page_rows(session, t.unassessed_events, [], UNASSESSED_ORDER, limit=limit, offset=offset,
                                    after=after)
    return {"unassessed": [{"source": r["source"], "event_id": r["event_id"], "type": r["type"],
                            "start_day": r["start_day"], "departments": list(r["departments"]),
                            "reason": r["reason"], "recorded_at": r["recorded_at"], "event": r["event"]}
                           for r in rows],
            "total": total, "limit": limit, "offset": offset, "next": cursor}


def list_departments(registry: DepartmentRegistry) -> list[dict[str, Any]]:
    return [d.to_dict() for d in registry]


def _due_soon_horizon(calendar, now: datetime) -> date | None:
    """The first due date more than DUE_SOON_WORKING_DAYS working days away (None outside the calendar)."""
    try:
        return calendar.add_working_days(now.astimezone(SHANGHAI).date(), DUE_SOON_WORKING_DAYS + 1)
    except ValueError:
        return None


def department_summary(session, registry: DepartmentRegistry, code: str, now: datetime,
                       calendar=None) -> dict[str, Any] | None:
    """A department's figures now: from ``obligation_counts`` and ``violation_counts`` (O(years x kinds)),
    plus two indexed reads that depend on ``now``: the open obligations already past their deadline that no
    tick has marked overdue yet (``ix_obligations_due_end``: as many as the tick has not reached), and the
    open ones due within DUE_SOON_WORKING_DAYS working days (``ix_obligations_department_status_due``: as
    many as fall due in the next days: a count below the first due date that is not "soon")."""
    department = registry.get(code)
    if department is None:
        return None
    cal = _calendar(calendar)
    oc = t.obligation_counts.c
    counts = Counter()
    for status, on_time, n in session.execute(sa.select(oc.status, oc.on_time, sa.func.sum(oc.n))
                                              .where(oc.department == code).group_by(oc.status, oc.on_time)):
        if status == COMPLETED:
            counts["completed_on_time" if on_time_value(on_time) else "completed_late"] += int(n)
        elif status in (OPEN, OVERDUE):
            counts[status] += int(n)
    c = t.obligations.c
    not_yet_marked = session.execute(sa.select(sa.func.count()).select_from(t.obligations).where(
        c.status == OPEN, c.due_end <= now, c.department == code)).scalar_one()
    counts[OPEN] -= not_yet_marked
    counts[OVERDUE] += not_yet_marked
    soon = [c.department == code, c.status == OPEN, c.due_end > now]
    horizon = _due_soon_horizon(cal, now)
    if horizon is not None:  # working days left grow with the due date: due before the horizon <=> due soon
        counts["due_soon"] = session.execute(sa.select(sa.func.count()).select_from(t.obligations)
                                             .where(*soon, c.due_date < horizon)).scalar_one()
    else:  # near the end of the calendar's range: ask it about each one
        for due_date, in session.execute(sa.select(c.due_date).where(*soon)):
            left = _working_days_left(cal, now, due_date)
            if left is not None and left <= DUE_SOON_WORKING_DAYS:
                counts["due_soon"] += 1
    vc = t.violation_counts.c
    by_rule = {rule: int(n) for rule, n in session.execute(
        sa.select(vc.rule, sa.func.sum(vc.n)).where(vc.department == code).group_by(vc.rule).order_by(vc.rule))
        if n}
    rm = t.reminders.c
    reminders = [{"obligation_id": r["obligation_id"], "stage": r["stage"], "sent_at": r["sent_at"],
                  "due_date": r["due_date"], "working_days_left": r["working_days_left"]}
                 for r in session.execute(sa.select(t.reminders).where(rm.department == code)
                                          .order_by(rm.sent_at.desc()).limit(20)).mappings()]
    figures = {key: counts.get(key, 0) for key in
               (OPEN, "due_soon", OVERDUE, "completed_on_time", "completed_late")}
    return {"department": department.to_dict(), "code": code, "name": department.name, **figures,
            "counts": figures, "violations": sum(by_rule.values()), "violations_by_rule": by_rule,
            "reminders": reminders, "as_of": now}


# ------------------------------------------------------------------ next year's holiday notice

def count_open_obligations_touching(session, first_day: date, last_day: date) -> int:
    """Open obligations whose counting interval (start_day, due_date] has a day in [first_day, last_day].

    From the dates, not the stored ``provisional`` flag, so the count is right even
    before a calendar reload has refreshed the flags of obligations opened earlier.
    """
    c = t.obligations.c
    return session.execute(sa.select(sa.func.count()).select_from(t.obligations).where(
        c.status == OPEN, c.due_date >= first_day, c.start_day < last_day, c.due_date > c.start_day)).scalar_one()


def missing_notice(session, now: datetime, *, calendar=None) -> dict[str, Any] | None:
    """The missing-next-notice warning due at ``now`` (``calendars.missing_notice_warning``), counted, or None."""
    from calendars import missing_notice_warning

    warning = missing_notice_warning(now.astimezone(SHANGHAI).date(), _calendar(calendar),
                                     lambda first, last: count_open_obligations_touching(session, first, last))
    return warning.to_dict() if warning is not None else None


# ------------------------------------------------------------------ yearly evaluation (第二十四条)

def catalog_sizes(session, at: datetime) -> list[tuple[str, int]]:
    """(department, resources in its register at ``at``): entered by then and not removed by then."""
    r = t.catalog_resources.c
    held_at = sa.and_(r.entered_at <= at, sa.or_(r.removed_at.is_(None), r.removed_at > at))
    return [(row[0], row[1]) for row in session.execute(
        sa.select(r.department, sa.func.count()).where(held_at).group_by(r.department))]


def evaluation(session, registry: DepartmentRegistry, year: int, now: datetime | None = None) -> dict[str, Any]:
    """Per department: obligations whose start day falls in ``year`` and violations of that year.

    Computed from stored facts only (start days, deadlines, the times in the
    completing events), so replaying the same events gives the same figures.
    An unfinished obligation counts as overdue when its deadline ended before
    ``as_of``: ``now`` while the year runs, the end of the year once it is
    over (so the API and the CLI give the same report of a past year
    whenever they are asked). The arithmetic is ``models.evaluation``'s.

    Read from the maintained counts (``obligation_counts``, ``violation_counts``, ``violation_article_counts``
    of ``year``: O(departments x kinds)), plus one indexed count of the year's obligations still open past
    their deadline at ``as_of`` (``ix_obligations_due_end``; as many as no tick has marked overdue yet), which
    count as overdue, not open.
    """
    at = evaluation_as_of(year, now)
    oc = t.obligation_counts.c
    c = t.obligations.c
    first, last = date(year, 1, 1), date(year, 12, 31)
    past = {(row[0], row[1]): row[2] for row in session.execute(
        sa.select(c.department, c.kind, sa.func.count()).where(c.status == OPEN, c.due_end <= at,
                                                                c.start_day >= first, c.start_day <= last)
        .group_by(c.department, c.kind))}
    tally = Tally()
    for row in session.execute(sa.select(oc.department, oc.kind, oc.status, oc.on_time, oc.n, oc.taken_sum,
                                         oc.taken_count).where(oc.year == year)
                               .order_by(oc.department, oc.kind, oc.status, oc.on_time)).mappings():
        n = int(row["n"])
        if n == 0:
            continue
        if row["status"] == OPEN:
            moved = min(n, past.get((row["department"], row["kind"]), 0))
            if moved:
                past[(row["department"], row["kind"])] -= moved
                tally.add_obligations(row["department"], status=OPEN, on_time=None, past_deadline=True,
                                      count=moved, kind=row["kind"])
            n -= moved
        if n:
            tally.add_obligations(row["department"], status=row["status"], on_time=on_time_value(row["on_time"]),
                                  past_deadline=False, count=n, taken_sum=int(row["taken_sum"]),
                                  taken_count=int(row["taken_count"]), kind=row["kind"])
    for department, resources in catalog_sizes(session, at):
        tally.add_catalog_size(department, resources)
    for table, column in ((t.violation_counts, "rule"), (t.violation_article_counts, "article")):
        for department, name, n in session.execute(
                sa.select(table.c.department, table.c[column], table.c.n).where(table.c.year == year, table.c.n > 0)
                .order_by(table.c.department, table.c[column])):
            tally.add_violation_count(department, **{column: name}, count=int(n))
    return tally.report(year, at, [(d.code, d.name) for d in registry])


# ------------------------------------------------------------------ the iCalendar feed (issue 14)

def calendar_feed_rows(session, department: str) -> list[dict[str, Any]]:
    """A department's unfinished obligations with how often and when their deadline last moved."""
    history = t.obligation_history.c
    moves = (sa.select(history.obligation_id, sa.func.count().label("reschedules"),
                       sa.func.max(history.at).label("last_moved"))
             .where(history.what == "rescheduled").group_by(history.obligation_id).subquery())
    query = (sa.select(t.obligations, moves.c.reschedules, moves.c.last_moved)
             .outerjoin(moves, moves.c.obligation_id == t.obligations.c.id)
             .where(t.obligations.c.department == department, t.obligations.c.status.in_(("open", "overdue")))
             .order_by(*t.OBLIGATION_PAGE_ORDER))
    return [dict(row) for row in session.execute(query).mappings()]


def counted_obligations(session, registry: DepartmentRegistry, year: int,
                        now: datetime | None = None) -> list[dict[str, Any]]:
    """The obligations ``evaluation(year)`` counts, one dict each, with what each counts as (``outcome``).

    Same selection (start day in ``year``) and the same as-of instant as ``evaluation``, so these rows add up
    to its figures; ordered by department as the registry lists them, then start day and id.
    """
    at = evaluation_as_of(year, now)
    c = t.obligations.c
    rows = session.execute(
        sa.select(c.id, c.department, c.kind, c.article, c.start_day, c.working_days, c.due_date, c.due_end,
                  c.provisional, c.status, c.on_time, c.completed_at, c.working_days_taken, c.trigger_event_id,
                  c.trigger_summary, c.policy_id, c.policy_version)
        .where(c.start_day >= date(year, 1, 1), c.start_day <= date(year, 12, 31))
        .order_by(c.department, c.start_day, c.id)).mappings().all()
    order = {department.code: n for n, department in enumerate(registry)}
    result = []
    for row in rows:
        item = {key: row[key] for key in row.keys() if key != "due_end"}
        item["department_name"] = registry.name_of(row["department"])
        item["outcome"] = evaluation_outcome(row["status"], row["on_time"], past_deadline(row["due_end"], at))
        result.append(item)
    result.sort(key=lambda item: (order.get(item["department"], len(order)), item["department"]))  # stable
    return result
