"""The read side of the catalog register: a department's catalog, one resource, the unmatched activities.

Like ``models.sql.queries``: every function takes a Session (or Connection)
first, only reads, and returns plain dicts (dates as ``date``, instants aware).
The state of a resource is the warning colour of its obligations (overdue, due
soon, open, in order), decided by the same rules the obligations use.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from models import wording
from models.catalog import ACTIVE, ATTRIBUTES, ENTRY_FIELDS
from models.departments import DepartmentRegistry
from models.obligations import CANCELLED, COMPLETED, OPEN, OVERDUE, UNFINISHED, counts_as_overdue, past_deadline
from models.sql import paging
from models.sql import tables as t
from models.sql.queries import DUE_SOON_WORKING_DAYS, _calendar, _working_days_left, obligation_dict, violation_dict

OVERDUE_STATE, SOON, OPEN_STATE, OK = "overdue", "soon", "open", "ok"
MAX_RESOURCE_OBLIGATIONS = 200  # one resource's page shows its latest obligations (a daily one owes ~250 a year)


def _entry_dict(row) -> dict[str, Any]:
    entry = {name: row[name] for name in ENTRY_FIELDS if name not in ("version", "changed_by")}
    entry["changed_by_event_id"] = row["changed_by"]
    return entry


def _obligation_state(rows: list, now: datetime, calendar) -> tuple[str, dict | None]:
    """The resource's warning state and its next unfinished obligation (earliest due first)."""
    unfinished = sorted((r for r in rows if r["status"] in UNFINISHED), key=lambda r: (r["due_date"], r["id"]))
    if not unfinished:
        return OK, None
    state = OPEN_STATE
    for r in unfinished:
        if counts_as_overdue(r["status"], past_deadline(r["due_end"], now)):
            state = OVERDUE_STATE
            break
        left = _working_days_left(calendar, now, r["due_date"])
        if left is not None and left <= DUE_SOON_WORKING_DAYS:
            state = SOON
    first = unfinished[0]
    return state, {"obligation_id": first["id"], "kind": first["kind"], "period": first["period"],
                   "due_date": first["due_date"], "status": first["status"],
                   "working_days_left": _working_days_left(calendar, now, first["due_date"])}


def department_catalog(session, registry: DepartmentRegistry, code: str, now: datetime,
                       calendar=None) -> dict[str, Any] | None:
    """The department's register: every resource in it with its attributes and the state of its obligations."""
    department = registry.get(code)
    if department is None:
        return None
    cal = _calendar(calendar)
    r = t.catalog_resources.c
    entries = session.execute(sa.select(t.catalog_resources).where(r.department == code)
                              .order_by(r.code)).mappings().all()
    o = t.obligations.c
    unfinished: dict[str, list] = defaultdict(list)
    for row in session.execute(sa.select(o.id, o.resource_code, o.kind, o.status, o.due_date, o.due_end, o.period)
                               .where(o.department == code, o.resource_code.is_not(None),
                                      o.status.in_(UNFINISHED))).mappings():
        unfinished[row["resource_code"]].append(row)
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in session.execute(sa.select(o.resource_code, o.status, o.on_time, sa.func.count().label("n"))
                               .where(o.department == code, o.resource_code.is_not(None))
                               .group_by(o.resource_code, o.status, o.on_time)).mappings():
        key = {COMPLETED: "completed_on_time" if row["on_time"] else "completed_late"}.get(row["status"],
                                                                                         row["status"])
        counts[row["resource_code"]][key] += row["n"]
    v = t.violations.c
    violations = dict(session.execute(sa.select(v.resource_code, sa.func.count())
                                      .where(v.department == code, v.resource_code.is_not(None))
                                      .group_by(v.resource_code)).all())
    resources = []
    removed = 0
    for row in entries:
        if row["status"] != ACTIVE:
            removed += 1
            continue
        item = _entry_dict(row)
        item["state"], item["next_due"] = _obligation_state(unfinished.get(row["code"], []), now, cal)
        item["obligations"] = {key: counts[row["code"]].get(key, 0) for key in
                               (OPEN, OVERDUE, "completed_on_time", "completed_late", CANCELLED)}
        item["violations"] = violations.get(row["code"], 0)
        resources.append(item)
    h = t.held_events.c
    held = session.execute(sa.select(sa.func.count()).select_from(t.held_events)
                           .where(h.department == code)).scalar_one()
    unmatched = session.execute(sa.select(sa.func.count()).select_from(t.held_events)
                                .where(h.department == code, h.unmatched_at <= now)).scalar_one()
    return {"department": department.to_dict(), "code": code, "name": department.name, "resources": resources,
            "total": len(resources), "removed": removed, "held": held, "unmatched": unmatched, "as_of": now}


def resource_detail(session, registry: DepartmentRegistry, code: str, resource_code: str, now: datetime,
                    calendar=None) -> dict[str, Any] | None:
    """One resource: attributes, the history of its changes, its obligations and violations, what waits for it."""
    if code not in registry:
        return None
    r = t.catalog_resources.c
    row = session.execute(sa.select(t.catalog_resources).where(r.department == code, r.code == resource_code)
                          ).mappings().first()
    h = t.held_events.c
    held = [_held_dict(held_row, now) for held_row in session.execute(
        sa.select(t.held_events).where(h.department == code, h.resource_code == resource_code)
        .order_by(h.event_time, h.event_id)).mappings()]
    if row is None and not held:
        return None
    cal = _calendar(calendar)
    result: dict[str, Any] = _entry_dict(row) if row is not None else {"department": code, "code": resource_code,
                                                                        "status": None}
    result["department_name"] = registry.name_of(code)
    result["attributes"] = {name: row[name] for name in ATTRIBUTES} if row is not None else {}
    c = t.catalog_history.c
    result["history"] = [
        {"at": hr["at"], "recorded_at": hr["recorded_at"], "action": hr["action"], "event_id": hr["event_id"],
         "event_source": hr["event_source"], "catalog_version": hr["catalog_version"], "revision": hr["revision"],
         "detail": hr["detail"], "detail_zh": wording.register_history_text(hr["action"], hr["detail"])}
        for hr in session.execute(sa.select(t.catalog_history).where(c.department == code,
                                                                     c.resource_code == resource_code)
                                  .order_by(c.id)).mappings()]
    o = t.obligations.c
    rows = session.execute(sa.select(t.obligations).where(o.department == code, o.resource_code == resource_code)
                           .order_by(o.start_day.desc(), o.id).limit(MAX_RESOURCE_OBLIGATIONS)).mappings().all()
    result["obligations"] = [obligation_dict(ob, now=now, calendar=cal, registry=registry) for ob in rows]
    result["state"], result["next_due"] = _obligation_state(rows, now, cal)
    v = t.violations.c
    result["violations"] = [violation_dict(vr, registry) for vr in session.execute(
        sa.select(t.violations).where(v.department == code, v.resource_code == resource_code)
        .order_by(v.detected_at.desc(), v.id)).mappings()]
    result["held"] = held
    return result


def _held_dict(row, now: datetime) -> dict[str, Any]:
    return {"source": row["source"], "event_id": row["event_id"], "type": row["type"],
            "department": row["department"], "resource_code": row["resource_code"], "event_time": row["event_time"],
            "held_at": row["held_at"], "unmatched_at": row["unmatched_at"], "unmatched": row["unmatched_at"] <= now,
            "reason": row["reason"], "event": row["event"]}


HELD_ORDER = ((t.held_events.c.event_time, False), (t.held_events.c.source, False), (t.held_events.c.event_id, False))


def list_unmatched(session, now: datetime, *, department: str | None = None, limit: int = 100,
                   offset: int = 0, after: str | None = None) -> dict[str, Any]:
    """Activities whose resource has not appeared in the register within the policy's wait, oldest first.

    ``total`` is a count (held events are few: they wait for their resource to enter the register)."""
    h = t.held_events.c
    conditions = [h.unmatched_at <= now]
    if department is not None:
        conditions.append(h.department == department)
    total = paging.count(session, t.held_events, conditions)
    rows, cursor = paging.page_rows(session, t.held_events, conditions, HELD_ORDER, limit=limit, offset=offset,
                                    after=after)
    return {"unmatched": [_held_dict(row, now) for row in rows], "total": total, "limit": limit, "offset": offset,
            "next": cursor}
