"""The SQL side of rescheduling (``models.rescheduling``): jobs, their queue of candidates, the keyset pages.

Mixed into ``models.sql.repository.SqlRepository`` (its ``conn`` and obligation mapping). The candidates
of a run of changed days [a, b] are the open obligations with ``due_date >= a`` and ``start_day < b``
(``models.rescheduling.interval_touches``); the runs are ascending and disjoint, so run i takes the due
dates in [a_i, a_i+1) — for those only the runs up to i can meet the interval, and run i is the weakest
condition of them — and each run is one range of ``ix_obligations_reschedule`` (status, due_date,
start_day), every candidate queued once, by an INSERT ... SELECT that brings no row to Python.
``read_reschedule_job`` is the read side for ``GET /api/calendar/reschedule``.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.obligations import OPEN, ConcurrentUpdate
from models.ports import RescheduleJob
from models.sql import tables as t

_J = t.reschedule_jobs.c
_C = t.reschedule_candidates.c
_O = t.obligations.c
_JOB_FIELDS = [c.name for c in t.reschedule_jobs.columns if c.name != "id"]
_LATEST = sa.select(t.reschedule_jobs).order_by(_J.id.desc()).limit(1)
_UPDATE_JOB = sa.update(t.reschedule_jobs).where(_J.id == sa.bindparam("b_id"), _J.version == sa.bindparam("b_version"))
# Two index lookups, not a join: a join lets the planner merge the queue with the whole obligations table up
# to the cursor on every page (PostgreSQL did, 0.7 s a page at 1M rows).
_PAGE_IDS = (sa.select(_C.obligation_id)
             .where(_C.job_id == sa.bindparam("job"), _C.obligation_id > sa.bindparam("after"))
             .order_by(_C.obligation_id).limit(sa.bindparam("limit")))
_PAGE = (sa.select(t.obligations).where(_O.id.in_(sa.bindparam("ids", expanding=True)), _O.status == OPEN)
         .order_by(_O.id))
_PAGE_LOCKED = _PAGE.with_for_update()
_DEADLINE_VALUES = (sa.column("b_id", sa.String()), sa.column("b_version", sa.Integer()),
                    sa.column("n_due_date", sa.Date()), sa.column("n_due_end", t.UTCDateTime()),
                    sa.column("n_provisional", sa.Boolean()), sa.column("n_next", t.UTCDateTime()))
_UPDATE_DEADLINE = (sa.update(t.obligations)
                    .where(_O.id == sa.bindparam("b_id"), _O.version == sa.bindparam("b_version"))
                    .values(due_date=sa.bindparam("n_due_date"), due_end=sa.bindparam("n_due_end"),
                            provisional=sa.bindparam("n_provisional"), next_reminder_at=sa.bindparam("n_next"),
                            version=_O.version + 1))


def _update_from_values(rows: list[dict]) -> sa.Update:
    values = sa.values(*_DEADLINE_VALUES, name="moved").data(
        [tuple(row[c.name] for c in _DEADLINE_VALUES) for row in rows])
    return (sa.update(t.obligations).where(_O.id == values.c.b_id, _O.version == values.c.b_version)
            .values(due_date=values.c.n_due_date, due_end=values.c.n_due_end, provisional=values.c.n_provisional,
                    next_reminder_at=sa.cast(values.c.n_next, t.UTCDateTime()), version=_O.version + 1)
            .returning(_O.id))
_DROP = sa.delete(t.reschedule_candidates).where(_C.job_id == sa.bindparam("job"))


def job_to_row(job: RescheduleJob) -> dict:
    row = {name: getattr(job, name) for name in _JOB_FIELDS}
    row["changed"] = None if job.changed is None else [[a.isoformat(), b.isoformat()] for a, b in job.changed]
    return row


def job_from_row(row) -> RescheduleJob:
    values = {name: row[name] for name in _JOB_FIELDS}
    changed = values["changed"]
    values["changed"] = None if changed is None else tuple((date.fromisoformat(a), date.fromisoformat(b))
                                                           for a, b in changed)
    values["calendar_working"] = bytes(values["calendar_working"])
    values["calendar_unsettled"] = bytes(values["calendar_unsettled"])
    return RescheduleJob(id=row["id"], **values)


def candidate_selects(job_id: int, changed: tuple[tuple[date, date], ...] | None) -> list[sa.Select]:
    """One SELECT (job id, obligation id) per run; None: every open obligation."""
    columns = (sa.literal(job_id, sa.Integer()).label("job_id"), _O.id)
    if changed is None:
        return [sa.select(*columns).where(_O.status == OPEN)]
    selects = []
    for i, (first, last) in enumerate(changed):
        where = [_O.status == OPEN, _O.due_date >= first, _O.start_day < last]
        if i + 1 < len(changed):
            where.append(_O.due_date < changed[i + 1][0])
        selects.append(sa.select(*columns).where(*where))
    return selects


class SqlRescheduleStore:
    """The reschedule methods of the repository port; ``conn`` is the unit of work's connection."""

    conn: sa.engine.Connection

    def latest_reschedule_job(self):
        row = self.conn.execute(_LATEST).mappings().first()
        return None if row is None else job_from_row(row)

    def add_reschedule_job(self, job):
        result = self.conn.execute(sa.insert(t.reschedule_jobs).values(job_to_row(job)))
        job.id = result.inserted_primary_key[0]

    def save_reschedule_job(self, job):
        row = job_to_row(job)
        row.update(version=job.version + 1, b_id=job.id, b_version=job.version)
        if self.conn.execute(_UPDATE_JOB, row).rowcount != 1:
            raise ConcurrentUpdate(f"reschedule job {job.id} changed since it was read")
        job.version += 1

    def queue_reschedule_candidates(self, job_id, changed):
        self._flush_obligations()
        queued = 0
        for select in candidate_selects(job_id, changed):
            insert = sa.insert(t.reschedule_candidates).from_select(["job_id", "obligation_id"], select)
            queued += self.conn.execute(insert).rowcount
        return queued

    def reschedule_candidates(self, job_id, after_id, limit):
        ids = self.conn.execute(_PAGE_IDS, {"job": job_id, "after": after_id or "", "limit": limit}).scalars().all()
        if not ids:
            return [], None
        page = _PAGE_LOCKED if self.conn.dialect.name == "postgresql" else _PAGE
        return self._obligations(page, ids=ids), ids[-1]

    def save_rescheduled(self, obligations):
        """The deadline fields (due date and end, provisional flag, next reminder) and the version, version-checked.

        SQLite: one executemany, whose row count SQLite reports. PostgreSQL (psycopg2's batches report no row
        count): one ``UPDATE ... FROM (VALUES ...) RETURNING id``, which names the rows it wrote.
        """
        if not obligations:
            return
        self._flush_obligations()
        rows = [{"b_id": o.id, "b_version": o.version, "n_due_date": o.due_date, "n_due_end": o.due_end,
                 "n_provisional": o.provisional, "n_next": o.next_reminder_at} for o in obligations]
        if self.conn.dialect.name == "postgresql":
            written = len(self.conn.execute(_update_from_values(rows)).all())
        else:
            written = self.conn.execute(_UPDATE_DEADLINE, rows).rowcount
        if written != len(rows):
            raise ConcurrentUpdate("an obligation of the page changed since it was read")
        for obligation in obligations:
            obligation.version += 1

    def drop_reschedule_candidates(self, job_id):
        self.conn.execute(_DROP, {"job": job_id})


def read_reschedule_job(session: Session) -> RescheduleJob | None:
    """The newest reschedule job, for the API (a read on its own session)."""
    row = session.execute(_LATEST).mappings().first()
    return None if row is None else job_from_row(row)
