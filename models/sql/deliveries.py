"""The delivery log in SQL (``models.ports.DeliveryLogPort``) and its read side for the API.

Each (notification, channel, recipient) is one row, unique: a second notifier
reading the same notification inserts nothing. A row goes ``pending`` ->
``claimed`` (before the send: ``attempts`` + 1, ``claimed_until`` a few send
timeouts ahead) -> ``sent`` / ``failed`` (with the reason) / ``skipped``, or
back to ``pending`` with a later ``not_before`` after a transient failure.
A claim whose holder crashed expires and the row is claimed again.

Claims are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction
advisory lock), so two notifiers never claim one row and the robots' rate
(attempts in the last minute per robot, counted from ``last_attempt_at``)
holds across all of them.

``delivery_counts`` (department x channel x status) changes in the transaction of each insert, claim and
mark, so the log's totals, its overview and the metrics' gauge never count the rows.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import cloudevents as ce
from models.delivery import CLAIMED, FAILED, PENDING, SENT, SKIPPED, DeliveryRow, Notice
from models.sql import paging
from models.sql import tables as t
from models.sql.counts import upsert_adding
from models.sql.engine import insert_ignoring_duplicates, insert_returning_new_keys, write_transaction
from models.sql.outbox import headers_to_json

CLAIM_LOCK_ID = 7_412_020  # PostgreSQL advisory lock serialising claims (any constant shared by every process)
ROBOT_CHANNELS = ("dingtalk", "wecom")

_D = t.deliveries.c


class SqlDeliveryLog:
    def __init__(self, engine: Engine, undeliverable_topic: str):
        self.engine = engine
        self.undeliverable_topic = undeliverable_topic  # logical topic of the undeliverable events

    # ------------------------------------------------------------ writing

    def record(self, planned: Iterable[Any], now_utc: datetime) -> int:
        rows = [_row(p, now_utc) for p in planned]
        if not rows:
            return 0
        with write_transaction(self.engine) as conn:
            new = [key[0] for key in insert_returning_new_keys(conn, t.deliveries, rows)]
            if new:
                changes: Counter = Counter()
                for department, channel, status in conn.execute(
                        sa.select(_D.department, _D.channel, _D.status).where(_D.id.in_(new))):
                    changes[(department, channel, status)] += 1
                add_counts(conn, changes)
            return len(new)

    def claim_due(self, holder: str, now_utc: datetime, *, limit: int, claim_seconds: float,
                  robot_per_minute: int) -> list[DeliveryRow]:
        due = sa.or_(sa.and_(_D.status == PENDING, _D.not_before <= now_utc),
                     sa.and_(_D.status == CLAIMED, _D.claimed_until <= now_utc))
        with write_transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CLAIM_LOCK_ID})")
            candidates = conn.execute(
                sa.select(_D.id, _D.channel, _D.recipient, _D.digest_key).where(due)
                .order_by(_D.not_before, _D.id).limit(limit * 4)).all()
            chosen: list[int] = []
            used: dict[tuple[str, str], int] = {}
            digests: set[str] = set()
            for row_id, channel, recipient, digest_key in candidates:
                if len(chosen) >= limit:
                    break
                if digest_key is not None and digest_key in digests:
                    continue
                if channel in ROBOT_CHANNELS:
                    key = (channel, recipient)
                    if key not in used:
                        used[key] = _recent_attempts(conn, channel, recipient, now_utc)
                    if used[key] >= robot_per_minute:
                        continue  # this robot's minute is full: the row waits its turn
                    used[key] += 1
                if digest_key is not None:
                    digests.add(digest_key)
                    chosen.extend(conn.execute(sa.select(_D.id).where(
                        _D.digest_key == digest_key, sa.or_(_D.status == PENDING, due))).scalars())
                else:
                    chosen.append(row_id)
            if not chosen:
                return []
            changes: Counter = Counter()
            locked = sa.select(_D.department, _D.channel, _D.status).where(_D.id.in_(chosen)).with_for_update()
            for department, channel, status in conn.execute(locked):
                changes[(department, channel, status)] -= 1
                changes[(department, channel, CLAIMED)] += 1
            add_counts(conn, changes)
            conn.execute(sa.update(t.deliveries).where(_D.id.in_(chosen)).values(
                status=CLAIMED, claimed_by=holder, claimed_until=now_utc + timedelta(seconds=claim_seconds),
                attempts=_D.attempts + 1, last_attempt_at=now_utc, updated_at=now_utc))
            rows = conn.execute(sa.select(t.deliveries).where(_D.id.in_(chosen)).order_by(_D.id)).mappings().all()
        return [_delivery_row(row) for row in rows]

    def obligation_status(self, obligation_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.obligations.c.status)
                                .where(t.obligations.c.id == obligation_id)).scalar()

    def mark_sent(self, row_ids: Iterable[int], holder: str, now_utc: datetime) -> int:
        return self._mark(row_ids, holder, status=SENT, reason=None, sent_at=now_utc, updated_at=now_utc,
                          claimed_until=None)

    def mark_retry(self, row_ids: Iterable[int], holder: str, reason: str, not_before: datetime,
                   now_utc: datetime) -> int:
        return self._mark(row_ids, holder, status=PENDING, reason=reason, not_before=not_before, updated_at=now_utc,
                          claimed_until=None)

    def mark_skipped(self, row_ids: Iterable[int], holder: str, reason: str, now_utc: datetime) -> int:
        return self._mark(row_ids, holder, status=SKIPPED, reason=reason, updated_at=now_utc, claimed_until=None)

    def mark_failed(self, rows: Iterable[DeliveryRow], holder: str, reason: str, now_utc: datetime,
                    undeliverable: Iterable[dict[str, Any]]) -> int:
        rows = list(rows)
        with write_transaction(self.engine) as conn:
            count = self._mark_on(conn, [r.id for r in rows], holder, status=FAILED, reason=reason,
                                  updated_at=now_utc, claimed_until=None)
            if count:
                for event in undeliverable:
                    value, headers = ce.encode_structured(event)
                    insert_ignoring_duplicates(conn, t.outbox, {
                        "event_id": event["id"], "topic": self.undeliverable_topic,
                        "key": event.get("subject", "").encode("utf-8") or None, "value": value,
                        "headers": headers_to_json(headers), "created_at": now_utc, "sent": False})
        return count

    def _mark(self, row_ids: Iterable[int], holder: str, **values: Any) -> int:
        with write_transaction(self.engine) as conn:
            return self._mark_on(conn, list(row_ids), holder, **values)

    @staticmethod
    def _mark_on(conn: Connection, row_ids: list[int], holder: str, **values: Any) -> int:
        """Only the holder of the claim marks a row (a claim taken over after expiry is no longer ours)."""
        if not row_ids:
            return 0
        marked = conn.execute(sa.update(t.deliveries).where(
            _D.id.in_(row_ids), _D.status == CLAIMED, _D.claimed_by == holder).values(**values)
            .returning(_D.department, _D.channel)).all()
        changes: Counter = Counter()
        for department, channel in marked:
            changes[(department, channel, CLAIMED)] -= 1
            changes[(department, channel, values["status"])] += 1
        add_counts(conn, changes)
        return len(marked)


# ------------------------------------------------------------------ maintained counts

def add_counts(conn: Connection, changes: Counter) -> None:
    """Add each (department, channel, status) delta to ``delivery_counts``, in sorted key order (no lock cycles)."""
    rows = [{"department": d, "channel": c, "status": s, "n": n} for (d, c, s), n in sorted(changes.items()) if n]
    if rows:
        conn.execute(upsert_adding(conn.dialect.name, "delivery_counts"), rows)


def computed_delivery_counts(conn) -> dict[tuple[str, str, str], int]:
    """(department, channel, status) -> rows, counted from the log itself."""
    key = (_D.department, _D.channel, _D.status)
    return {(d, c, s): n for d, c, s, n in conn.execute(sa.select(*key, sa.func.count()).group_by(*key))}


def stored_delivery_counts(conn) -> dict[tuple[str, str, str], int]:
    c = t.delivery_counts.c
    return {(d, ch, s): n for d, ch, s, n in conn.execute(sa.select(c.department, c.channel, c.status, c.n)) if n}


def rebuild_delivery_counts(conn) -> None:
    """Replace ``delivery_counts`` with what the log holds (the migration; a repair after manual edits)."""
    conn.execute(sa.delete(t.delivery_counts))
    rows = [{"department": d, "channel": c, "status": s, "n": n}
            for (d, c, s), n in sorted(computed_delivery_counts(conn).items())]
    for start in range(0, len(rows), 1000):
        conn.execute(sa.insert(t.delivery_counts), rows[start:start + 1000])


def _recent_attempts(conn: Connection, channel: str, recipient: str, now_utc: datetime) -> int:
    """Messages tried through one robot in the last minute (a digest's rows are one message)."""
    one_message = sa.func.coalesce(_D.digest_key, sa.cast(_D.id, sa.String))
    return conn.execute(sa.select(sa.func.count(sa.distinct(one_message))).select_from(t.deliveries).where(
        _D.channel == channel, _D.recipient == recipient,
        _D.last_attempt_at > now_utc - timedelta(seconds=60))).scalar_one()


def _row(planned: Any, now_utc: datetime) -> dict[str, Any]:
    return {
        "notification_id": planned.notification_id, "channel": planned.channel, "recipient": planned.recipient,
        "recipient_label": planned.recipient_label, "department": planned.department,
        "obligation_id": planned.obligation_id, "kind": planned.kind, "level": planned.level,
        "address": planned.address, "mentions": list(planned.mentions), "greeting": planned.greeting,
        "notice": planned.notice.to_dict() if planned.notice else None,
        "cloudevent": dict(planned.cloudevent) if getattr(planned, "cloudevent", None) else None,
        "digest_key": planned.digest_key, "status": planned.status, "attempts": 0,
        "not_before": now_utc + timedelta(seconds=planned.not_before_seconds), "reason": planned.skip_reason,
        "created_at": now_utc, "updated_at": now_utc,
    }


def _delivery_row(row) -> DeliveryRow:
    return DeliveryRow(
        id=row["id"], notification_id=row["notification_id"], channel=row["channel"], recipient=row["recipient"],
        recipient_label=row["recipient_label"], department=row["department"], obligation_id=row["obligation_id"],
        kind=row["kind"], level=row["level"], address=row["address"], mentions=tuple(row["mentions"] or ()),
        greeting=row["greeting"], notice=Notice.from_dict(row["notice"]) if row["notice"] else None,
        cloudevent=row["cloudevent"], attempts=row["attempts"], digest_key=row["digest_key"])


# ------------------------------------------------------------------ the read side (API, dashboard)

_PUBLIC_COLUMNS = (_D.id, _D.notification_id, _D.channel, _D.recipient, _D.recipient_label, _D.department,
                   _D.obligation_id, _D.kind, _D.level, _D.status, _D.attempts, _D.reason, _D.created_at,
                   _D.updated_at, _D.sent_at, _D.not_before)


DELIVERY_ORDER = ((_D.id, True),)  # newest first: a row's id is fixed when it is written, its updates do not move it


def list_deliveries(session, *, obligation_id: str | None = None, status: str | None = None,
                    department: str | None = None, notification_id: str | None = None, limit: int = 100,
                    offset: int = 0, after: str | None = None) -> dict[str, Any]:
    """A page of the delivery log, newest first, its exact ``total`` and the ``next`` page's cursor.

    Addresses are not shown: names and roles are. The total comes from ``delivery_counts`` when the filter is
    department and/or status; an obligation's or a notification's rows are counted on their index (a handful).
    """
    conditions = []
    if obligation_id is not None:
        conditions.append(_D.obligation_id == obligation_id)
    if status is not None:
        conditions.append(_D.status == status)
    if department is not None:
        conditions.append(_D.department == department)
    if notification_id is not None:
        conditions.append(_D.notification_id == notification_id)
    if obligation_id is None and notification_id is None:
        c = t.delivery_counts.c
        total = int(session.execute(sa.select(sa.func.coalesce(sa.func.sum(c.n), 0)).where(
            *([c.department == department] * (department is not None) + [c.status == status] * (status is not None))
        )).scalar_one())
    else:
        total = paging.count(session, t.deliveries, conditions)
    rows, cursor = paging.page_rows(session, t.deliveries, conditions, DELIVERY_ORDER, limit=limit, offset=offset,
                                    after=after)
    return {"deliveries": [{column.name: row[column.name] for column in _PUBLIC_COLUMNS} for row in rows],
            "total": total, "limit": limit, "offset": offset, "next": cursor}


def delivery_counts(session) -> dict[str, int]:
    """How many rows are in each status (from ``delivery_counts``)."""
    by_status: Counter = Counter()
    for (_, status), count in delivery_counts_by_channel(session).items():
        by_status[status] += count
    return dict(by_status)


def delivery_counts_by_channel(session) -> dict[tuple[str, str], int]:
    """(channel, status) -> rows (from ``delivery_counts``): the metrics' gauge."""
    c = t.delivery_counts.c
    rows = session.execute(sa.select(c.channel, c.status, sa.func.sum(c.n)).group_by(c.channel, c.status)).all()
    return {(channel, status): int(count) for channel, status, count in rows if count}
