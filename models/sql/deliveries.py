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
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from models import cloudevents as ce
from models.delivery import CLAIMED, FAILED, PENDING, SENT, SKIPPED, DeliveryRow, Notice
from models.sql import tables as t
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
            return len(insert_returning_new_keys(conn, t.deliveries, rows))

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
        return conn.execute(sa.update(t.deliveries).where(
            _D.id.in_(row_ids), _D.status == CLAIMED, _D.claimed_by == holder).values(**values)).rowcount


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


def list_deliveries(session, *, obligation_id: str | None = None, status: str | None = None,
                    department: str | None = None, notification_id: str | None = None, limit: int = 100,
                    offset: int = 0) -> dict[str, Any]:
    """A page of the delivery log, newest first (addresses are not shown: names and roles are)."""
    conditions = []
    if obligation_id is not None:
        conditions.append(_D.obligation_id == obligation_id)
    if status is not None:
        conditions.append(_D.status == status)
    if department is not None:
        conditions.append(_D.department == department)
    if notification_id is not None:
        conditions.append(_D.notification_id == notification_id)
    where = sa.and_(sa.true(), *conditions)
    total = session.execute(sa.select(sa.func.count()).select_from(t.deliveries).where(where)).scalar_one()
    rows = session.execute(sa.select(*_PUBLIC_COLUMNS).where(where).order_by(_D.updated_at.desc(), _D.id.desc())
                           .limit(limit).offset(offset)).mappings().all()
    return {"deliveries": [dict(row) for row in rows], "total": total, "limit": limit, "offset": offset}


def delivery_counts(session) -> dict[str, int]:
    """How many rows are in each status."""
    rows = session.execute(sa.select(_D.status, sa.func.count()).group_by(_D.status)).all()
    return {status: count for status, count in rows}
