"""The catalog register on SQL (SQLite and PostgreSQL) with the real calendar, read through the HTTP API.

One department's story: a complete snapshot registers its catalog (one resource breaks a channel rule, one opens
personal data), an opening arrives before its resource and an aggregation for a resource that never appears;
the scheduler opens the monthly periods, one is missed, one is aggregated before its obligation opens. Then
the catalog, a resource's page, the unmatched list and the yearly evaluation say so.
"""
from __future__ import annotations

import asyncio
from datetime import date

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from api.app import build_api
from config.bootstrap import build_api_context, build_models
from config.settings import Settings
from models.clock import ManualClock
from models.sql import tables as t
from tests.fakes import accepted_at, catalog_updated, data_aggregated, data_opened, shanghai

DEPT = "tjj"


def resource(code: str, **attributes) -> dict:
    return {"code": code, "name": f"资源{code}", "action": "added", "share_type": "conditional",
            "share_channel": "municipal-platform", "open_type": "none", "update_cycle": "irregular", **attributes}


@pytest.fixture
def world(database_url):
    settings = Settings.from_env({}, database_url=database_url)
    clock = ManualClock(shanghai(2026, 3, 2, 10))
    parts = build_models(settings, clock)
    context = build_api_context(settings, clock=clock, parts=parts)
    offsets = iter(range(10_000))

    def feed(*events):
        return parts.tracker.apply_batch([accepted_at("catalog.data-activities", 0, next(offsets), e)
                                          for e in events])

    yield parts, context, clock, feed
    parts.engine.dispose()


def get(context, path: str):
    async def run():
        async with TestClient(TestServer(build_api(context))) as client:
            response = await client.get(path)
            return response.status, await response.json()

    return asyncio.run(run())


def test_the_register_its_periods_and_what_the_api_and_evaluation_say(world):
    parts, context, clock, feed = world
    tracker, calendar = parts.tracker, parts.tracker.calendar
    snapshot = catalog_updated("c-0", DEPT, "2026-03-02T09:00:00+08:00", complete=True, resources=[
        resource("R-m", update_cycle="monthly", share_type="unconditional"),
        resource("R-o", open_type="conditional", contains_personal_info=True, desensitized=False),
        resource("R-x", share_channel="区自建交换平台"),
        resource("R-n")])
    early = data_opened("o-early", DEPT, "R-late", "2026-03-03T10:00:00+08:00")
    ghost = data_aggregated("g-1", DEPT, "GHOST", "2026-03", "2026-04-02T10:00:00+08:00")
    result = feed(snapshot, early, ghost)
    assert (result.accepted, result.held) == (3, 2)
    assert sorted(v["rule"] for v in get(context, "/api/violations")[1]["violations"]) == [
        "sensitive-data-opened", "unauthorised-channel"]

    # April opens at its first midnight; May's data arrives before May's obligation exists.
    assert tracker.tick(shanghai(2026, 4, 1)).obligations_opened == 1
    feed(data_aggregated("a-may", DEPT, "R-m", "2026-05", "2026-05-31T20:00:00+08:00"))
    april_due = calendar.deadline(date(2026, 4, 30), 5)
    clock.set(april_due.end)
    tick = tracker.tick()
    assert tick.violations >= 1 and tick.obligations_opened == 1  # April missed, May opened (and completed)
    # The opening's resource appears: the held opening is judged now and fulfils the opening duty at once.
    feed(catalog_updated("c-1", DEPT, "2026-05-20T10:00:00+08:00", resources=[
        resource("R-late", open_type="conditional", contains_personal_info=False)]))
    clock.set(shanghai(2026, 6, 2, 10))
    tracker.tick()

    status, catalog = get(context, f"/api/departments/{DEPT}/catalog")
    assert status == 200 and catalog["total"] == 5 and (catalog["held"], catalog["unmatched"]) == (1, 1)
    by_code = {r["code"]: r for r in catalog["resources"]}
    r_m = by_code["R-m"]
    assert (r_m["update_cycle"], r_m["share_type"], r_m["share_channel"], r_m["state"]) == (
        "monthly", "unconditional", "municipal-platform", "overdue")
    assert (r_m["last_aggregated_period"], r_m["last_aggregated_at"]) == ("2026-05", "2026-05-31T20:00:00+08:00")
    assert r_m["obligations"]["completed_on_time"] == 1 and r_m["obligations"]["overdue"] == 1
    assert r_m["next_due"]["period"] == "2026-04" and r_m["next_period"] == "2026-07"
    assert by_code["R-late"]["state"] == "ok" and by_code["R-late"]["last_opened_at"] == "2026-03-03T10:00:00+08:00"
    assert by_code["R-o"]["state"] == "overdue"  # on the open list since 2 March, never opened
    assert by_code["R-n"]["state"] == "ok" and by_code["R-n"]["obligations"]["open"] == 0

    status, page = get(context, f"/api/departments/{DEPT}/resources/R-m")
    assert status == 200 and page["attributes"]["update_cycle"] == "monthly"
    assert [h["action"] for h in page["history"]] == ["added"] and "列入目录" in page["history"][0]["detail_zh"]
    assert {(o["period"], o["status"]) for o in page["obligations"]} == {
        ("2026-04", "overdue"), ("2026-05", "completed"), ("2026-06", "open")}
    missed, = page["violations"]
    assert (missed["obligation"], missed["resource_code"], missed["period"]) == ("data-aggregation", "R-m",
                                                                                 "2026-04")
    assert "2026-04 期" in missed["explanation"]

    status, unmatched = get(context, "/api/unmatched")
    assert status == 200 and unmatched["total"] == 1
    (item,) = unmatched["unmatched"]
    assert (item["resource_code"], item["event_id"], item["unmatched"]) == ("GHOST", "g-1", True)
    assert get(context, f"/api/unmatched?department=mzj")[1]["total"] == 0
    assert get(context, f"/api/departments/{DEPT}/resources/GHOST")[1]["held"][0]["event_id"] == "g-1"

    assert get(context, f"/api/departments/{DEPT}/resources/NOPE")[0] == 404
    assert get(context, "/api/departments/nope/catalog")[0] == 404

    status, evaluation = get(context, "/api/evaluation/2026")
    row = next(r for r in evaluation["departments"] if r["department"] == DEPT)
    assert (row["catalog_size"], row["periods_owed"], row["periods_on_time"], row["periods_missed"],
            row["periods_pending"]) == (5, 3, 1, 1, 1)
    assert (row["opening_obligations"], row["opening_on_time"], row["opening_overdue"],
            row["channel_violations"]) == (2, 1, 1, 1)
    assert row["obligations"] == 2  # the two opening duties; the periods are counted apart

    with parts.engine.connect() as conn:
        stored = conn.execute(sa.select(t.catalog_resources.c.code, t.catalog_resources.c.revision)
                              .where(t.catalog_resources.c.department == DEPT)).all()
    assert sorted(stored) == [("R-late", 1), ("R-m", 1), ("R-n", 1), ("R-o", 1), ("R-x", 1)]
