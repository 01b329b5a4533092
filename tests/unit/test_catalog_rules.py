"""The rules judged against the catalog register, through the service on fakes: triggers and their lawful twins.

Narrowing and sensitive opening found without ``previous_*``; the register winning over a ``previous_*`` that
disagrees; complete snapshots; channels (第十四条, 第十八条); opening what is classed 不予开放 (第十九条);
activities that arrive before their resource (held, never judged against a missing entry).
"""
from __future__ import annotations

import pytest

from models import events as ev
from tests.fakes import Harness, catalog_updated, data_opened, data_shared, shanghai

MUNICIPAL = "municipal-platform"


@pytest.fixture
def h():
    return Harness(shanghai(2026, 3, 2, 10))


def register(h, department="mzj", at="2026-03-02T09:00:00+08:00", **attributes):
    resource = {"code": "R-1", "name": "低保对象名单", "action": "added", "share_type": "unconditional",
                "open_type": "none", "contains_personal_info": True, "desensitized": False, **attributes}
    return h.feed(catalog_updated("c-0", department, at, resources=[resource]))


def rules(h) -> list[str]:
    return sorted(v.rule for v in h.state.violations.values())


# ------------------------------------------------------------------ share scope narrowed (第二十五条（一）)

def test_narrowing_is_found_from_the_register_without_previous_share_type(h):
    register(h)
    result = h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "share_type": "conditional"}]))
    assert result.violations == 1
    violation, = h.state.violations.values()
    assert (violation.rule, violation.articles, violation.resource_code) == (
        "share-scope-narrowed", ("第二十五条（一）",), "R-1")
    assert "由无条件共享改为有条件共享" in violation.explanation and violation.detail["judged_against"] == "register"


def test_a_lawful_twin_changing_a_conditionally_shared_resource_is_no_violation(h):
    register(h, share_type="conditional")
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "share_type": "none"}]))
    assert rules(h) == []


def test_where_previous_share_type_disagrees_the_register_is_used_and_the_explanation_says_so(h):
    register(h)  # the register holds it unconditionally shared
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "share_type": "none", "previous_share_type": "conditional"}]))
    violation, = h.state.violations.values()
    assert violation.rule == "share-scope-narrowed"
    assert "事件所述变更前共享类型为“有条件共享”，目录台账记录为“无条件共享”" in violation.explanation
    assert "已按目录台账认定" in violation.explanation
    record = h.state.catalog_history[-1]
    assert record.detail["disagreements"] == [{"attribute": "share_type", "event_value": "conditional",
                                               "register_value": "unconditional"}]


def test_a_previous_share_type_of_unconditional_the_register_does_not_hold_is_no_narrowing(h):
    register(h, share_type="conditional")
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "share_type": "none", "previous_share_type": "unconditional"}]))
    assert rules(h) == []
    assert h.state.catalog_history[-1].detail["disagreements"][0]["register_value"] == "conditional"


def test_a_disagreement_without_a_change_is_still_recorded(h):
    register(h)
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "share_type": "unconditional", "previous_share_type": "none"}]))
    assert rules(h) == []
    last = h.state.catalog_history[-1]
    assert (last.action, last.detail["disagreements"][0]["event_value"]) == ("unchanged", "none")


def test_a_complete_snapshot_that_leaves_out_an_unconditionally_shared_resource_narrows_it(h):
    h.feed(catalog_updated("c-0", "mzj", "2026-03-02T09:00:00+08:00", resources=[
        {"code": "R-1", "action": "added", "share_type": "unconditional"},
        {"code": "R-2", "action": "added", "share_type": "conditional"},
        {"code": "R-3", "action": "added", "share_type": "unconditional"}]))
    result = h.feed(catalog_updated("c-1", "mzj", "2026-03-09T10:00:00+08:00", complete=True, resources=[
        {"code": "R-3", "action": "modified", "name": "仍在目录"}]))
    assert result.violations == 1  # R-1 (unconditional) left out; R-2 (conditional) left out lawfully
    violation, = h.state.violations.values()
    assert violation.resource_code == "R-1" and "全量目录（complete）未列入" in violation.explanation
    statuses = {code: e.status for (_, code), e in h.state.catalog.items()}
    assert statuses == {"R-1": "removed", "R-2": "removed", "R-3": "active"}


def test_a_complete_snapshot_listing_everything_removes_nothing(h):
    h.feed(catalog_updated("c-0", "mzj", "2026-03-02T09:00:00+08:00", resources=[
        {"code": "R-1", "action": "added", "share_type": "unconditional"}]))
    h.feed(catalog_updated("c-1", "mzj", "2026-03-09T10:00:00+08:00", complete=True, resources=[
        {"code": "R-1", "action": "modified", "share_type": "unconditional"}]))
    assert rules(h) == [] and h.state.catalog[("mzj", "R-1")].status == "active"


# ------------------------------------------------------------------ personal data opened (第二十条)

def test_opening_personal_data_is_found_from_the_register_without_previous_open_type(h):
    register(h)  # personal information, not desensitized, not opened
    result = h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "open_type": "conditional"}]))
    assert result.violations == 1
    violation, = h.state.violations.values()
    assert (violation.rule, violation.articles) == ("sensitive-data-opened", ("第二十条",))


def test_opening_data_the_register_records_as_desensitized_is_no_violation(h):
    register(h, desensitized=True)
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "open_type": "conditional"}]))
    assert rules(h) == []


def test_marking_open_data_as_personal_without_desensitization_is_the_same_violation(h):
    register(h, open_type="conditional", contains_personal_info=False)
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "contains_personal_info": True}]))
    assert rules(h) == ["sensitive-data-opened"]


# ------------------------------------------------------------------ channels (第十四条, 第十八条, 第二十五条（七）)

def test_a_share_channel_outside_the_municipal_platform_is_a_violation_citing_article_14(h):
    register(h, share_channel="区自建交换系统")
    violation, = h.state.violations.values()
    assert (violation.rule, violation.articles) == ("unauthorised-channel", ("第十四条", "第二十五条（七）"))
    assert "共享方式登记为“区自建交换系统”" in violation.explanation
    assert "各政务部门不得建设其他数据共享交换通道" in violation.explanation


def test_an_open_channel_outside_the_platform_cites_article_18(h):
    register(h, open_channel="部门门户网站", share_channel=MUNICIPAL)
    violation, = h.state.violations.values()
    assert violation.articles == ("第十八条", "第二十五条（七）") and violation.detail["case"] == "open"


def test_channels_on_the_municipal_platform_are_lawful_and_an_unchanged_bad_channel_is_found_once(h):
    register(h, share_channel=MUNICIPAL, open_channel=MUNICIPAL)
    assert rules(h) == []
    h.feed(catalog_updated("c-1", "mzj", "2026-03-05T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "share_channel": "other"}]))
    h.feed(catalog_updated("c-2", "mzj", "2026-03-06T10:00:00+08:00", resources=[
        {"code": "R-1", "action": "modified", "name": "改名", "share_channel": "other"}]))
    assert rules(h) == ["unauthorised-channel"]


def test_sharing_or_opening_through_another_channel_is_a_violation_per_event(h):
    register(h, open_type="conditional", desensitized=True, share_channel=MUNICIPAL, open_channel=MUNICIPAL)
    h.feed(data_shared("s-1", "mzj", "R-1", "2026-03-03T10:00:00+08:00", channel="email"),
           data_shared("s-2", "mzj", "R-1", "2026-03-03T11:00:00+08:00"),
           data_opened("o-1", "mzj", "R-1", "2026-03-04T10:00:00+08:00", channel="ftp"),
           topic="catalog.data-activities")
    found = sorted((v.trigger_event_id, v.articles) for v in h.state.violations.values())
    assert found == [("o-1", ("第十八条", "第二十五条（七）")), ("s-1", ("第十四条", "第二十五条（七）"))]
    text = next(v for v in h.state.violations.values() if v.trigger_event_id == "s-1").explanation
    assert "通过“email”共享数据资源“低保对象名单”（R-1）" in text and "s-1" in text


# ------------------------------------------------------------------ opening what may not be opened (第十九条)

def test_opening_a_resource_classed_not_to_be_opened_is_a_violation(h):
    register(h, contains_personal_info=False)  # open_type none
    h.feed(data_opened("o-1", "mzj", "R-1", "2026-03-04T10:00:00+08:00"), topic="catalog.data-activities")
    violation, = h.state.violations.values()
    assert (violation.rule, violation.articles) == ("closed-data-opened", ("第十九条", "第二十五条（二）"))
    assert "不予开放类" in violation.explanation and "开放类型 不予开放" in violation.explanation


def test_opening_an_open_resource_is_lawful_and_opening_undesensitized_personal_data_is_article_20(h):
    register(h, open_type="conditional", contains_personal_info=False)
    register_other = catalog_updated("c-9", "mzj", "2026-03-02T09:00:00+08:00", resources=[
        {"code": "R-2", "action": "added", "open_type": "conditional", "contains_personal_info": True,
         "desensitized": False}])
    h.feed(register_other)
    before = set(h.state.violations)
    h.feed(data_opened("o-1", "mzj", "R-1", "2026-03-04T10:00:00+08:00"),
           data_opened("o-2", "mzj", "R-2", "2026-03-04T10:00:00+08:00"), topic="catalog.data-activities")
    new = [v for key, v in h.state.violations.items() if key not in before]
    assert [(v.rule, v.resource_code, v.trigger_event_id) for v in new] == [("sensitive-data-opened", "R-2", "o-2")]


# ------------------------------------------------------------------ activities before their resource

def test_an_opening_before_its_resource_is_held_and_judged_when_it_appears_never_against_a_missing_entry(h):
    result = h.feed(data_opened("o-1", "mzj", "R-1", "2026-03-02T08:00:00+08:00"), topic="catalog.data-activities")
    assert (result.accepted, result.held, result.violations) == (1, 1, 0)
    assert list(h.state.held) == [("/yuhua/open-platform", "o-1")]
    register(h, open_type="conditional", contains_personal_info=False)  # open: the opening was lawful
    assert rules(h) == [] and h.state.held == {}
    assert h.state.catalog[("mzj", "R-1")].last_opened_at == shanghai(2026, 3, 2, 8)


def test_a_held_opening_of_a_resource_that_turns_out_closed_is_judged_then(h):
    h.feed(data_opened("o-1", "mzj", "R-1", "2026-03-02T08:00:00+08:00"), topic="catalog.data-activities")
    register(h, contains_personal_info=False)
    violation, = h.state.violations.values()
    assert (violation.rule, violation.trigger_event_id) == ("closed-data-opened", "o-1")


def test_a_held_event_is_unmatched_after_the_policy_wait_counted_in_working_days(h):
    h.feed(data_shared("s-1", "mzj", "NOWHERE", "2026-03-06T10:00:00+08:00"), topic="catalog.data-activities")
    held, = h.state.held.values()
    # Friday 6 March + 5 working days (the shipped policy's wait) = Friday 13 March, 24:00
    assert held.unmatched_at == shanghai(2026, 3, 14)
    assert "目录台账中没有数据资源 NOWHERE" in held.reason and held.origin["reference"][0] == "catalog.data-activities"


def test_a_replayed_activity_is_processed_once(h):
    event = data_opened("o-1", "mzj", "R-1", "2026-03-04T10:00:00+08:00", channel="ftp")
    register(h, open_type="conditional", share_channel=MUNICIPAL, desensitized=True)
    first = h.feed(event, topic="catalog.data-activities")
    again = h.feed(event, topic="catalog.data-activities")
    assert (first.violations, again.duplicates, again.violations) == (1, 1, 0)
    assert len(h.outbox(ev.VIOLATION_DETECTED)) == 1
