"""Content rules of a catalog update judged on the event alone (no register entry): what triggers them and what
must not. The same rules against the register are in test_catalog_rules.py."""
from __future__ import annotations

from datetime import date

import pytest

from models.events import ResourceChange
from models import catalog_rules
from models.catalog_rules import content_violations


def narrows_share_scope(resource: ResourceChange) -> bool:
    return catalog_rules.narrows_share_scope(catalog_rules.change_of(resource))


def opens_sensitive_data(resource: ResourceChange) -> bool:
    return catalog_rules.opens_sensitive_data(catalog_rules.change_of(resource))
from tests.fakes import catalog_updated, real_policies, shanghai

POLICY = real_policies().policy_for(date(2026, 3, 2), "yuhua")


@pytest.mark.parametrize("resource, expected", [
    (ResourceChange("R", "modified", share_type="conditional", previous_share_type="unconditional"), True),
    (ResourceChange("R", "modified", share_type="none", previous_share_type="unconditional"), True),
    (ResourceChange("R", "removed", previous_share_type="unconditional"), True),
    (ResourceChange("R", "removed", share_type="unconditional"), True),
    (ResourceChange("R", "modified", share_type="conditional", previous_share_type="unconditional",
                    approval_ref="雨数据〔2026〕3号"), False),
    (ResourceChange("R", "modified", share_type="unconditional", previous_share_type="conditional"), False),
    (ResourceChange("R", "modified", share_type="none", previous_share_type="conditional"), False),
    (ResourceChange("R", "removed", previous_share_type="conditional"), False),
    (ResourceChange("R", "added", share_type="none"), False),
])
def test_share_scope_narrowed(resource, expected):
    assert narrows_share_scope(resource) is expected


@pytest.mark.parametrize("resource, expected", [
    (ResourceChange("R", "modified", open_type="unconditional", previous_open_type="none",
                    contains_personal_info=True), True),
    (ResourceChange("R", "added", open_type="conditional", contains_personal_info=True), True),
    (ResourceChange("R", "modified", open_type="unconditional", previous_open_type="none",
                    contains_personal_info=True, desensitized=True), False),
    (ResourceChange("R", "modified", open_type="unconditional", previous_open_type="none"), False),
    (ResourceChange("R", "modified", open_type="none", previous_open_type="conditional",
                    contains_personal_info=True), False),
    (ResourceChange("R", "modified", open_type="conditional", previous_open_type="conditional",
                    contains_personal_info=True), False),
    (ResourceChange("R", "removed", open_type="unconditional", contains_personal_info=True), False),
])
def test_sensitive_data_opened(resource, expected):
    assert opens_sensitive_data(resource) is expected


def test_violations_carry_citations_words_and_deterministic_ids():
    event = catalog_updated("c-1", "jyj", "2026-03-10T10:00:00+08:00", resources=[
        {"code": "R-7", "name": "学生学籍信息", "action": "modified", "share_type": "conditional",
         "previous_share_type": "unconditional", "open_type": "unconditional", "previous_open_type": "none",
         "contains_personal_info": True}])
    found = content_violations(event, policy=POLICY, department_label="区教育局（jyj）", now=shanghai(2026, 3, 10, 11))
    assert [v.rule for v in found] == ["share-scope-narrowed", "sensitive-data-opened"]
    narrowed, opened = found
    assert narrowed.articles == ("第二十五条（一）",) and opened.articles == ("第二十条",)
    assert "擅自缩小无条件共享类政务信息资源范围" in narrowed.explanation
    assert "由无条件共享改为有条件共享" in narrowed.explanation and "学生学籍信息" in narrowed.explanation
    assert "个人隐私信息的数据，应不予开放或进行脱敏处理后开放" in opened.explanation
    assert "区教育局（jyj）" in opened.explanation and "c-1" in opened.explanation
    again = content_violations(event, policy=POLICY, department_label="x", now=shanghai(2026, 3, 11))
    assert [v.id for v in again] == [v.id for v in found]
    assert narrowed.event_day == date(2026, 3, 10)


def test_a_policy_without_the_rule_does_not_judge_it():
    from dataclasses import replace

    policy = replace(POLICY, rules={})
    event = catalog_updated("c-1", "jyj", "2026-03-10T10:00:00+08:00", resources=[
        {"code": "R-7", "action": "removed", "previous_share_type": "unconditional"}])
    assert content_violations(event, policy=policy, department_label="x", now=shanghai(2026, 3, 10)) == []
