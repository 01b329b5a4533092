"""SQLAlchemy tables, beside the domain (the domain never imports this module).

Every instant is stored in UTC through ``UTCDateTime`` so SQLite (no time zone
type) and PostgreSQL (``timestamptz``) give back the same aware datetimes and
compare them the same way. The indexes named ``ix_obligations_due_*`` are what
keeps the tick's "what is due now" query fast with many open obligations.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


@lru_cache(maxsize=4096)
def _sqlite_text(value: datetime) -> str:
    """SQLite's text of an aware instant. Cached: a batch's rows share a few instants (when they were opened,
    processed and recorded; the deadlines of a few due days), and this conversion was 5 % of a worker's CPU."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; pass an aware one")
        value = value.astimezone(timezone.utc)
        # SQLite stores text: naive UTC text sorts and compares correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):  # process_bind_param and SQLite's DATETIME text in one step (rows are written in bulk)
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} cannot be stored; pass an aware one")
            return _sqlite_text(value)

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


processed_events = sa.Table(
    "processed_events", metadata,
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("event_id", sa.String(256), primary_key=True),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("processed_at", UTCDateTime(), nullable=False),
)

obligations = sa.Table(
    "obligations", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("trigger_source", sa.String(512), nullable=False),
    sa.Column("trigger_event_id", sa.String(256), nullable=False),
    sa.Column("trigger_type", sa.String(128), nullable=False),
    sa.Column("trigger_summary", sa.Text(), nullable=False),
    sa.Column("subject_ref", sa.String(256), nullable=True),
    sa.Column("start_day", sa.Date(), nullable=False),
    sa.Column("working_days", sa.Integer(), nullable=False),
    sa.Column("due_date", sa.Date(), nullable=False),
    sa.Column("due_end", UTCDateTime(), nullable=False),
    sa.Column("provisional", sa.Boolean(), nullable=False),
    sa.Column("policy_id", sa.String(128), nullable=False),
    sa.Column("policy_version", sa.String(64), nullable=False),
    sa.Column("article", sa.String(64), nullable=False),
    sa.Column("overdue_citations", sa.JSON(), nullable=False),
    sa.Column("reminder_stages", sa.JSON(), nullable=False),
    sa.Column("reminder_time", sa.String(5), nullable=False),
    sa.Column("stages_sent", sa.JSON(), nullable=False),
    sa.Column("next_reminder_at", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("on_time", sa.Boolean(), nullable=True),
    sa.Column("completed_at", UTCDateTime(), nullable=True),
    sa.Column("completed_by", sa.String(256), nullable=True),
    sa.Column("working_days_taken", sa.Integer(), nullable=True),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("resource_code", sa.String(256), nullable=True),  # 0003: data-aggregation / data-opening
    sa.Column("period", sa.String(16), nullable=True),
)
sa.Index("ix_obligations_due_reminder", obligations.c.status, obligations.c.next_reminder_at)
sa.Index("ix_obligations_due_end", obligations.c.status, obligations.c.due_end)
# 0005, 0007: the list pages in (due_date, opened_at, id) order under every filter (keyset and offset walk these
# indexes); opened_at before the hash id puts each new row at the end of its due day's range, not at random in it.
OBLIGATION_PAGE_ORDER = (obligations.c.due_date, obligations.c.opened_at, obligations.c.id)
sa.Index("ix_obligations_department_status_due", obligations.c.department, obligations.c.status,
         *OBLIGATION_PAGE_ORDER)
sa.Index("ix_obligations_department_due", obligations.c.department, *OBLIGATION_PAGE_ORDER)
sa.Index("ix_obligations_status_due", obligations.c.status, *OBLIGATION_PAGE_ORDER)
sa.Index("ix_obligations_due", *OBLIGATION_PAGE_ORDER)
sa.Index("ix_obligations_trigger", obligations.c.trigger_event_id, obligations.c.department)
sa.Index("ix_obligations_subject", obligations.c.kind, obligations.c.department, obligations.c.subject_ref)
sa.Index("ix_obligations_start_day", obligations.c.start_day)
sa.Index("ix_obligations_resource", obligations.c.department, obligations.c.resource_code, obligations.c.kind)
# 0004: a reschedule's "open, due on or after a changed day, started before it" (models.sql.reschedule).
sa.Index("ix_obligations_reschedule", obligations.c.status, obligations.c.due_date, obligations.c.start_day)

obligation_history = sa.Table(
    "obligation_history", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("obligation_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("what", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(256), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=False),
)

reminders = sa.Table(
    "reminders", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("obligation_id", sa.String(64), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("stage", sa.Integer(), nullable=False),
    sa.Column("working_days_left", sa.Integer(), nullable=False),
    sa.Column("due_date", sa.Date(), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("obligation_id", "stage", name="uq_reminders_obligation_stage"),
)

violations = sa.Table(
    "violations", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("article", sa.String(64), nullable=False),
    sa.Column("articles", sa.JSON(), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("obligation_id", sa.String(64), nullable=True, index=True),
    sa.Column("trigger_event_id", sa.String(256), nullable=False),
    sa.Column("due_date", sa.Date(), nullable=True),
    sa.Column("detected_at", UTCDateTime(), nullable=False),
    sa.Column("event_day", sa.Date(), nullable=False, index=True),
    sa.Column("policy_id", sa.String(128), nullable=False),
    sa.Column("explanation", sa.Text(), nullable=False),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Column("obligation", sa.String(64), nullable=True),  # 0003: the obligation's kind
    sa.Column("resource_code", sa.String(256), nullable=True),
    sa.Column("period", sa.String(16), nullable=True),
)
sa.Index("ix_violations_resource", violations.c.department, violations.c.resource_code)
# 0005: the list pages, newest first, under every filter (replace the single-column department index).
sa.Index("ix_violations_detected", violations.c.detected_at.desc(), violations.c.id)
sa.Index("ix_violations_department_detected", violations.c.department, violations.c.detected_at.desc(),
         violations.c.id)
sa.Index("ix_violations_rule_detected", violations.c.rule, violations.c.detected_at.desc(), violations.c.id)
sa.Index("ix_violations_department_rule_detected", violations.c.department, violations.c.rule,
         violations.c.detected_at.desc(), violations.c.id)

pending_resolutions = sa.Table(
    "pending_resolutions", metadata,
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Column("trigger_event_id", sa.String(256), primary_key=True),
    sa.Column("update_event_id", sa.String(256), primary_key=True),
    sa.Column("update_source", sa.String(512), nullable=False),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("catalog_version", sa.String(256), nullable=False),
)

unassessed_events = sa.Table(
    "unassessed_events", metadata,
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("event_id", sa.String(256), primary_key=True),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("start_day", sa.Date(), nullable=False),
    sa.Column("departments", sa.JSON(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("event", sa.JSON(), nullable=False),
)
sa.Index("ix_unassessed_events_recorded", unassessed_events.c.recorded_at, unassessed_events.c.source,
         unassessed_events.c.event_id)

# ------------------------------------------------------------------ maintained counts (0005)
# Written by ``models.sql.counts`` in the transaction of the change they count; read by the totals, the
# department summary and the evaluation so those cost O(departments), not O(obligations).
# ``on_time`` is 1, 0 or -1 (none: not completed), so it can be part of the key on every backend.
obligation_counts = sa.Table(
    "obligation_counts", metadata,
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),  # of start_day: the evaluation's year
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("on_time", sa.SmallInteger(), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
    sa.Column("taken_sum", sa.BigInteger(), nullable=False),  # sum of working_days_taken (where not null)
    sa.Column("taken_count", sa.BigInteger(), nullable=False),  # rows with working_days_taken not null
)

violation_counts = sa.Table(
    "violation_counts", metadata,
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),  # of event_day: the evaluation's year
    sa.Column("rule", sa.String(64), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
)

violation_article_counts = sa.Table(
    "violation_article_counts", metadata,
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer(), primary_key=True),
    sa.Column("article", sa.String(64), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
)

# ------------------------------------------------------------------ the catalog register (0003)

catalog_resources = sa.Table(
    "catalog_resources", metadata,
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Column("code", sa.String(256), primary_key=True),
    sa.Column("name", sa.String(1000), nullable=True),
    sa.Column("classification", sa.String(1000), nullable=True),
    sa.Column("responsible_party", sa.String(1000), nullable=True),
    sa.Column("format", sa.String(1000), nullable=True),
    sa.Column("update_cycle", sa.String(32), nullable=True),
    sa.Column("share_type", sa.String(32), nullable=True),
    sa.Column("share_channel", sa.String(64), nullable=True),
    sa.Column("open_type", sa.String(32), nullable=True),
    sa.Column("open_channel", sa.String(64), nullable=True),
    sa.Column("usage_requirements", sa.Text(), nullable=True),
    sa.Column("contains_personal_info", sa.Boolean(), nullable=True),
    sa.Column("desensitized", sa.Boolean(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("revision", sa.Integer(), nullable=False),
    sa.Column("catalog_version", sa.String(256), nullable=False),
    sa.Column("entered_at", UTCDateTime(), nullable=True),
    sa.Column("changed_at", UTCDateTime(), nullable=True),
    sa.Column("changed_by", sa.String(256), nullable=True),
    sa.Column("removed_at", UTCDateTime(), nullable=True),
    sa.Column("cycle_source", sa.String(512), nullable=True),
    sa.Column("cycle_event_id", sa.String(256), nullable=True),
    sa.Column("cycle_since", UTCDateTime(), nullable=True),
    sa.Column("next_period", sa.String(16), nullable=True),
    sa.Column("next_period_start", UTCDateTime(), nullable=True),
    sa.Column("last_aggregated_at", UTCDateTime(), nullable=True),
    sa.Column("last_aggregated_period", sa.String(16), nullable=True),
    sa.Column("last_opened_at", UTCDateTime(), nullable=True),
    sa.Column("last_shared_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
)
# The scheduler's "whose period has begun": proportional to the entries due, not to the register.
sa.Index("ix_catalog_resources_next_period", catalog_resources.c.next_period_start)

catalog_history = sa.Table(
    "catalog_history", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("resource_code", sa.String(256), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.Column("event_id", sa.String(256), nullable=False),
    sa.Column("event_source", sa.String(512), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("catalog_version", sa.String(256), nullable=False),
    sa.Column("revision", sa.Integer(), nullable=False),
    sa.Column("detail", sa.JSON(), nullable=False),
)
sa.Index("ix_catalog_history_resource", catalog_history.c.department, catalog_history.c.resource_code,
         catalog_history.c.id)

held_events = sa.Table(
    "held_events", metadata,
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("event_id", sa.String(256), primary_key=True),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("resource_code", sa.String(256), nullable=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("event_time", UTCDateTime(), nullable=False),
    sa.Column("held_at", UTCDateTime(), nullable=False),
    sa.Column("unmatched_at", UTCDateTime(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("event", sa.JSON(), nullable=False),
    sa.Column("origin", sa.JSON(), nullable=False),
)
sa.Index("ix_held_events_resource", held_events.c.department, held_events.c.resource_code)
sa.Index("ix_held_events_unmatched", held_events.c.unmatched_at)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(256), nullable=False, unique=True),
    sa.Column("topic", sa.String(256), nullable=False),
    sa.Column("key", sa.LargeBinary(), nullable=True),
    sa.Column("value", sa.LargeBinary(), nullable=False),
    sa.Column("headers", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent", sa.Boolean(), nullable=False, default=False),
    sa.Column("partition", sa.Integer(), nullable=True),
    sa.Column("offset", sa.BigInteger(), nullable=True),
)
sa.Index("ix_outbox_pending", outbox.c.sent, outbox.c.id)
sa.Index("ix_outbox_topic_partition", outbox.c.topic, outbox.c.partition, outbox.c.offset)

# 0004: rescheduling after a calendar change (models.rescheduling): the jobs, each with the calendar it brings
# the obligations to (the last finished one's is the calendar they agree with), and the queue of a running job.
reschedule_jobs = sa.Table(
    "reschedule_jobs", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("calendar_first_day", sa.Date(), nullable=False),
    sa.Column("calendar_working", sa.LargeBinary(), nullable=False),
    sa.Column("calendar_unsettled", sa.LargeBinary(), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("changed", sa.JSON(), nullable=True),
    sa.Column("candidates", sa.Integer(), nullable=False),
    sa.Column("examined", sa.Integer(), nullable=False),
    sa.Column("moved", sa.Integer(), nullable=False),
    sa.Column("pages", sa.Integer(), nullable=False),
    sa.Column("cursor", sa.String(64), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False),
)

reschedule_candidates = sa.Table(
    "reschedule_candidates", metadata,
    sa.Column("job_id", sa.Integer(), primary_key=True),
    sa.Column("obligation_id", sa.String(64), primary_key=True),
)

leases = sa.Table(
    "leases", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(256), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)


# The delivery log (issue 14): one row per (notification, channel, recipient), written before the send
# (claimed, attempts + 1) and after it (sent / failed with the reason / pending again with a later not_before).
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("notification_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(256), nullable=False),
    sa.Column("recipient_label", sa.Text(), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("obligation_id", sa.String(64), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("address", sa.String(320), nullable=True),
    sa.Column("mentions", sa.JSON(), nullable=False),
    sa.Column("greeting", sa.Text(), nullable=False),
    sa.Column("notice", sa.JSON(), nullable=True),
    sa.Column("cloudevent", sa.JSON(), nullable=True),
    sa.Column("digest_key", sa.String(512), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("not_before", UTCDateTime(), nullable=False),
    sa.Column("claimed_by", sa.String(256), nullable=True),
    sa.Column("claimed_until", UTCDateTime(), nullable=True),
    sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("notification_id", "channel", "recipient", name="uq_deliveries_key"),
)
sa.Index("ix_deliveries_due", deliveries.c.status, deliveries.c.not_before)
sa.Index("ix_deliveries_robot_rate", deliveries.c.channel, deliveries.c.recipient, deliveries.c.last_attempt_at)
sa.Index("ix_deliveries_digest", deliveries.c.digest_key, deliveries.c.status)
# 0006: the log's pages, newest first (id descending), under each filter (keyset and offset walk these indexes).
sa.Index("ix_deliveries_obligation", deliveries.c.obligation_id, deliveries.c.id)
sa.Index("ix_deliveries_department", deliveries.c.department, deliveries.c.status, deliveries.c.id)
sa.Index("ix_deliveries_department_id", deliveries.c.department, deliveries.c.id)
sa.Index("ix_deliveries_status_id", deliveries.c.status, deliveries.c.id)

# 0006: the delivery log's rows per department x channel x status, kept by ``models.sql.deliveries`` in the
# transaction of each change: the log's totals, its overview and the metrics' gauge read these, not the rows.
delivery_counts = sa.Table(
    "delivery_counts", metadata,
    sa.Column("department", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("n", sa.BigInteger(), nullable=False),
)
