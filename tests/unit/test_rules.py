"""Issue 4 rules through the service: events that trigger each rule and events that must not."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from models import events as ev
from models.policy import PolicySet
from tests.fakes import (Harness, catalog_updated, objection_raised, objection_resolved, real_policies,
                                    regulation_changed, shanghai)


@pytest.fixture
def h():
    return Harness(shanghai(2026, 3, 2, 10))


def test_objection_opens_a_data_verification_obligation_with_the_policy_limit(h):
    result = h.feed(objection_raised("o-1", "obj-1", "mzj", "2026-03-02", raised_by="jyj"))
    ob, = h.obligations()
    assert (result.obligations_opened, ob.kind, ob.department, ob.subject_ref) == (1, "data-verification", "mzj",
                                                                                   "obj-1")
    assert (ob.article, ob.working_days, ob.due_date) == ("第十三条", 5, date(2026, 3, 9))
    assert "由区教育局提出" in ob.trigger_summary


def test_objection_resolved_in_time_completes_without_violation(h):
    h.feed(objection_raised("o-1", "obj-1", "mzj", "2026-03-02"))
    h.feed(objection_resolved("o-2", "obj-1", "mzj", "2026-03-06T16:00:00+08:00"))
    h.tracker.tick(shanghai(2026, 3, 20, 9))
    ob, = h.obligations()
    assert (ob.status, ob.on_time) == ("completed", True) and h.state.violations == {}


def test_unresolved_objection_is_overdue_citing_item_eight(h):
    h.feed(objection_raised("o-1", "obj-1", "mzj", "2026-03-02"))
    assert h.tracker.tick(shanghai(2026, 3, 10, 0)).violations == 1
    violation, = h.state.violations.values()
    assert violation.articles == ("第二十五条（八）",)
    assert "校核政务数据" in violation.explanation and "第十三条" in violation.explanation
    assert "区民政局（mzj）" in violation.explanation


def test_resolution_arriving_before_the_objection_completes_it(h):
    h.feed(objection_resolved("o-2", "obj-1", "mzj", "2026-03-04T10:00:00+08:00"))
    h.feed(objection_raised("o-1", "obj-1", "mzj", "2026-03-02"))
    ob, = h.obligations()
    assert (ob.status, ob.on_time) == ("completed", True)


def test_resolution_of_another_objection_does_not_complete(h):
    h.feed(objection_raised("o-1", "obj-1", "mzj", "2026-03-02"))
    h.feed(objection_resolved("o-2", "obj-2", "mzj", "2026-03-04T10:00:00+08:00"))
    assert h.obligations()[0].status == "open"


def narrowing(code="R-1", **changes):
    resource = {"code": code, "name": "低保对象名单", "action": "modified", "share_type": "conditional",
                "previous_share_type": "unconditional"}
    resource.update(changes)
    return resource


def test_share_scope_narrowed_is_a_violation_at_once(h):
    result = h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[narrowing()]))
    assert result.violations == 1
    message, = h.outbox(ev.VIOLATION_DETECTED)
    data = message.cloudevent["data"]
    assert (data["rule"], data["article"], data["obligation_id"], data["trigger_event_id"]) == (
        "share-scope-narrowed", "第二十五条（一）", None, "c-1")
    assert "擅自缩小无条件共享类政务信息资源范围" in data["explanation"] and "区民政局（mzj）" in data["explanation"]


@pytest.mark.parametrize("resource", [
    narrowing(approval_ref="雨数据〔2026〕3号"),
    narrowing(previous_share_type="conditional", share_type="none"),
    narrowing(share_type="unconditional", previous_share_type="conditional"),
])
def test_changes_that_are_not_an_unauthorised_narrowing(h, resource):
    assert h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[resource])).violations == 0


def test_removing_an_unconditionally_shared_resource_is_narrowing(h):
    resource = {"code": "R-2", "action": "removed", "previous_share_type": "unconditional"}
    assert h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[resource])).violations == 1


def test_sensitive_data_opened_without_desensitization(h):
    opened = {"code": "R-3", "name": "居民健康档案", "action": "modified", "open_type": "conditional",
              "previous_open_type": "none", "contains_personal_info": True}
    result = h.feed(catalog_updated("c-1", "wjj", "2026-03-05T10:00:00+08:00", resources=[opened]))
    assert result.violations == 1
    violation, = h.state.violations.values()
    assert (violation.rule, violation.articles) == ("sensitive-data-opened", ("第二十条",))
    assert "居民健康档案" in violation.explanation and "脱敏" in violation.explanation


@pytest.mark.parametrize("changes", [{"desensitized": True}, {"contains_personal_info": False},
                                     {"open_type": "none"}])
def test_sensitive_data_cases_that_are_fine(h, changes):
    resource = {"code": "R-3", "action": "modified", "open_type": "unconditional", "previous_open_type": "none",
                "contains_personal_info": True, **changes}
    assert h.feed(catalog_updated("c-1", "wjj", "2026-03-05T10:00:00+08:00", resources=[resource])).violations == 0


def test_a_replayed_update_does_not_repeat_its_violations(h):
    event = catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[narrowing(), narrowing("R-9")])
    assert h.feed(event).violations == 2
    assert h.feed(event).violations == 0
    assert len(h.outbox(ev.VIOLATION_DETECTED)) == 2


def test_overdue_citations_come_from_the_policy():
    policies = real_policies()
    only_eight = PolicySet(tuple(
        replace(p, obligations={**p.obligations, "catalog-update": replace(
            p.obligations["catalog-update"], overdue_citations=("第二十五条（八）",))}) for p in policies.policies))
    h = Harness(shanghai(2026, 3, 2, 10), policies=only_eight)
    h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj"]))
    h.tracker.tick(shanghai(2026, 3, 24, 9))
    violation, = h.state.violations.values()
    assert violation.articles == ("第二十五条（八）",)
    assert "不按照规定编制、更新数据资源目录" not in violation.explanation


def test_content_rules_are_judged_by_the_policy_of_the_submission_day():
    policies = real_policies()
    without_rules = PolicySet(tuple(replace(p, rules={}) if p.continuation else p for p in policies.policies))
    h = Harness(shanghai(2026, 3, 2, 10), policies=without_rules)
    old = h.feed(catalog_updated("c-old", "mzj", "2023-05-13T10:00:00+08:00", resources=[narrowing()]))
    new = h.feed(catalog_updated("c-new", "mzj", "2023-05-14T10:00:00+08:00", resources=[narrowing()]))
    assert (old.violations, new.violations) == (1, 0)
    assert next(iter(h.state.violations.values())).policy_id == "yuhua-2021-measures"


def test_events_after_the_last_policy_are_unassessed_when_the_continuation_is_removed():
    only_2021 = PolicySet(tuple(p for p in real_policies().policies if not p.continuation))
    h = Harness(shanghai(2026, 3, 2, 10), policies=only_2021)
    result = h.feed(regulation_changed("a", "2023-05-13", ["jyj"]), regulation_changed("b", "2023-05-14", ["jyj"]),
                    catalog_updated("c", "jyj", "2023-06-01T10:00:00+08:00", resources=[narrowing()]))
    assert (result.accepted, result.unassessed) == (1, 2)
    assert [v.rule for v in h.state.violations.values()] == ["overdue"]  # "a" was overdue on arrival; "c" unjudged
    assert {r.event_id for r in h.state.unassessed.values()} == {"b", "c"}
    assert len(h.outbox(ev.EVENT_REJECTED)) == 2


def test_an_event_beyond_the_calendar_range_is_unassessed_not_a_crash():
    from calendars import load_calendar

    h = Harness(shanghai(2026, 3, 2, 10), calendar=load_calendar())
    result = h.feed(regulation_changed("far", "2099-03-02", ["jyj"]), regulation_changed("near", "2026-03-02",
                                                                                          ["jyj"]))
    assert (result.accepted, result.unassessed, result.obligations_opened) == (1, 1, 1)
    record, = h.state.unassessed.values()
    assert record.event_id == "far" and "calendar cannot count" in record.reason


def test_a_department_listed_twice_owes_one_update(h):
    assert h.feed(regulation_changed("evt-1", "2026-03-02", ["jyj", "jyj"])).obligations_opened == 1


def test_a_completion_dated_beyond_the_calendar_range_is_unassessed_not_a_crash():
    from calendars import load_calendar

    h = Harness(shanghai(2026, 3, 2, 10), calendar=load_calendar())
    h.feed(regulation_changed("near", "2026-03-02", ["jyj"]))
    result = h.feed(catalog_updated("c-far", "jyj", "2099-01-05T10:00:00+08:00"))
    assert (result.accepted, result.unassessed) == (0, 1)
    assert h.obligations()[0].status == "open"
