"""The domain of catalog-tracker in plain Python, and beside it its SQL persistence.

Domain (no database, no broker):
- ``events``: the event contract of EVENTS.md (parse, validate, build CloudEvents).
- ``policy``: policy files (limits, reminder stages, rules, citations, validity) and ``PolicyError``.
- ``departments``: the department registry.
- ``obligations``, ``reminders``, ``violations``, ``triggers``: what is owed, when to remind, what is a violation.
- ``messages``: outgoing CloudEvents (reminders, violations, obligation changes, dead letters).
- ``service``: the ``Tracker`` the stream agents and the scheduler call (``apply_batch``, ``tick``,
  ``reschedule_for_calendar``) through a unit of work.

Persistence (SQLAlchemy 2, beside the domain):
- ``tables`` (schema), ``migrations``/``migrate`` (Alembic, run from code), ``sql`` (engines, SQLite setup),
  ``repository`` (the SQL unit of work), ``outbox`` (what the relay reads, leases), ``queries`` (read side).
"""
