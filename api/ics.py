"""``GET /api/departments/{code}/deadlines.ics``: a department's open deadlines as an iCalendar feed (RFC 5545).

Staff subscribe to it in Outlook, DingTalk or a phone calendar. Each unfinished
obligation is an all-day event on its due date (the article, the trigger, a
link to the dashboard), with an alarm at each reminder stage's sending time.
The UID is the obligation id, so a rescheduled deadline moves the event (its
SEQUENCE counts the moves, LAST-MODIFIED is the last one) instead of adding a
second; a completed obligation leaves the feed. Built with the ``icalendar``
library; the words come from ``models.wording``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from aiohttp import web
from icalendar import Alarm, Calendar, Event

from api.context import context_of
from api.jsonio import ApiError
from models import wording
from models.clock import SHANGHAI
from models.reminders import stage_day
from models.sql import queries

PRODID = "-//Yuhua District Data Resource Center//catalog-tracker//ZH"
UID_DOMAIN = "catalog-tracker.yuhua"
REFRESH = timedelta(hours=1)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/departments/{code}/deadlines.ics", deadlines_ics)


async def deadlines_ics(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    context = context_of(request)
    if code not in context.registry:
        raise ApiError(404, f"unknown department {code!r} (see GET /api/departments)", code=code)
    rows = await context.read(queries.calendar_feed_rows, code)
    body = feed(rows, label=context.registry.label(code), now=context.clock.now(), calendar=context.calendar,
                public_url=getattr(context, "public_url", None))
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Content-Disposition": f'inline; filename="{code}-deadlines.ics"',
                                 "Cache-Control": "no-cache"})


def feed(rows: list[dict], *, label: str, now: datetime, calendar, public_url: str | None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", wording.calendar_name(label))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    for row in rows:
        cal.add_component(_event(row, label=label, now=now, calendar=calendar, public_url=public_url))
    return cal.to_ical()


def _event(row: dict, *, label: str, now: datetime, calendar, public_url: str | None) -> Event:
    kind_title = wording.zh(wording.OBLIGATION_KINDS, row["kind"], row["kind"])
    due: date = row["due_date"]
    link = f"{public_url.rstrip('/')}/#/obligation/{row['id']}" if public_url else None
    event = Event()
    event.add("uid", f"{row['id']}@{UID_DOMAIN}")
    event.add("dtstamp", now)
    event.add("dtstart", due)
    event.add("dtend", due + timedelta(days=1))
    event.add("sequence", int(row.get("reschedules") or 0))
    event.add("last-modified", row.get("last_moved") or row["opened_at"])
    event.add("created", row["opened_at"])
    event.add("summary", wording.calendar_event_summary(kind_title, row["article"], row["status"] == "overdue"))
    event.add("description", wording.calendar_event_description(
        department_label=label, kind_title=kind_title, due_date=due, article=row["article"],
        trigger_summary=row["trigger_summary"], obligation_id=row["id"], link=link))
    if link:
        event.add("url", link)
    event.add("transp", "TRANSPARENT")  # a deadline does not block the day in anyone's agenda
    event.add("status", "CONFIRMED")
    if calendar is not None and row["status"] == "open":
        hours, minutes = (int(part) for part in row["reminder_time"].split(":"))
        for stage in row["reminder_stages"]:
            at = datetime.combine(stage_day(due, stage, calendar), time(hours, minutes), tzinfo=SHANGHAI)
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", wording.calendar_alarm_text(kind_title, stage))
            # An absolute trigger: RFC 5545 wants it in UTC, with VALUE=DATE-TIME.
            alarm.add("trigger", at.astimezone(timezone.utc), parameters={"VALUE": "DATE-TIME"})
            event.add_component(alarm)
    return event
