"""The domain of catalog-tracker in plain Python, and in ``models.sql`` its SQL persistence.

Domain (no database, no broker, no framework):
- ``ports``: every port the domain talks through (repository, unit of work, calendar, clock, outbox, lease).
- ``events``: the event contract of EVENTS.md (parse, validate, build CloudEvents).
- ``policy``: policy files (limits, reminder stages, rules, citations, validity) and ``PolicyError``.
- ``departments``: the department registry.
- ``obligations``, ``reminders``, ``violations``, ``triggers``: what is owed, when to remind, what is a violation.
- ``periods``, ``catalog``, ``catalog_rules``, ``catalog_tracking``: the catalog register (目录台账): update cycles
  and their periods, the register and its changes, the rules judged against it, the tracker's handling of it.
- ``messages``: outgoing CloudEvents (reminders, violations, obligation changes, dead letters).
- ``evaluation``: the yearly evaluation's arithmetic.
- ``service``: the ``Tracker`` the stream agents and the scheduler call (``apply_batch``, ``tick``,
  ``reschedule_for_calendar``) through a unit of work.

Persistence: ``models.sql`` (SQLAlchemy 2 Core, Alembic), the ports' SQL implementation and the read side.
Output formats: ``models.exports`` (the evaluation as an Excel workbook, openpyxl).
"""
