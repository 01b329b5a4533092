"""The escalation ladder and the registry's contacts: who gets what, and mistakes named with file and line."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from config.settings import CONFIG_DIR
from models.clock import SHANGHAI
from models.delivery import Channels, plan, read_notification
from models.departments import RegistryError, load_registry
from models.escalation import EscalationError, load_ladder, missing_contacts, people_for
from models.validation import build_cloudevent

LADDER = CONFIG_DIR / "escalation.yaml"
NOW = datetime(2026, 3, 16, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def registry():
    return load_registry(CONFIG_DIR / "departments.yaml")


def reminder(stage: int, department: str = "jyj", at: datetime = NOW):
    return read_notification(build_cloudevent("gov.catalog.obligation.reminder", "/yuhua/catalog-tracker", {
        "obligation_id": "ob-1", "department": department, "obligation": "catalog-update", "article": "第十条",
        "due_date": "2026-03-23", "working_days_left": stage, "stage": stage, "text": "提醒"},
        id=f"rm-{stage}", time=at))


def test_the_shipped_ladder_tells_staff_then_head_then_the_center(registry):
    ladder = load_ladder(LADDER)
    names = lambda step: sorted(p.name for p in people_for(step, "jyj", registry))  # noqa: E731
    assert [ladder.step_for_stage(s).level for s in (5, 3, 1, 0)] == ["blue", "blue", "yellow", "yellow"]
    assert names(ladder.step_for_stage(5)) == names(ladder.step_for_stage(3)) == ["李四"]
    assert names(ladder.step_for_stage(1)) == names(ladder.step_for_stage(0)) == ["张三", "李四"]
    assert ladder.violation.level == "red" and names(ladder.violation) == ["张三", "朱十", "秦一"]
    assert ladder.digest is False


def test_plan_gives_one_row_per_person_and_channel_and_one_per_robot(registry):
    ladder = load_ladder(LADDER)
    rows = plan(reminder(1), ladder=ladder, registry=registry, now=NOW, public_url=None,
                channels=Channels(email=True, dingtalk=True, wecom=False, webhook=True))
    assert sorted((r.channel, r.recipient) for r in rows) == [
        ("dingtalk", "robot:district"), ("email", "jyj/head/张三"), ("email", "jyj/staff/李四"), ("webhook", "webhook")]
    (ding,) = [r for r in rows if r.channel == "dingtalk"]
    assert sorted(ding.mentions) == ["13800000001", "13800000002"] and ding.level == "yellow"
    assert all(r.skip_reason is None for r in rows)


def test_plan_says_why_nobody_was_told(registry):
    ladder = load_ladder(LADDER)
    rows = plan(reminder(5, "cgj"), ladder=ladder, registry=registry, now=NOW, public_url=None,
                channels=Channels(email=True))
    assert [(r.channel, r.skip_reason) for r in rows] == [("none", "区城市管理和综合执法局（cgj）未登记专职人员，无人可通知")]
    old = plan(reminder(5, at=NOW - timedelta(days=8)), ladder=ladder, registry=registry, now=NOW, public_url=None,
               channels=Channels(email=True))
    assert [r.status for r in old] == ["skipped"] and "168 小时" in old[0].skip_reason


def test_missing_contacts_names_each_department_and_the_roles_it_lacks(registry):
    lacking = dict(missing_contacts(registry, load_ladder(LADDER)))
    assert lacking["cgj"] == ("staff", "head") and "jyj" not in lacking and "sjzyzx" not in lacking


@pytest.mark.parametrize("text, line, problem", [
    ("reminders:\n  - {stages: [5], notify: [staff], level: green}\nviolations: {notify: [head], level: red}\n",
     2, "unknown level 'green'"),
    ("reminders:\n  - {stages: [5], notify: [boss], level: blue}\nviolations: {notify: [head], level: red}\n",
     2, "unknown role 'boss'"),
    ("reminders:\n  - {stages: [5], notify: [staff], level: blue}\n  - {stages: [5], notify: [head], level: red}\n"
     "violations: {notify: [head], level: red}\n", 3, "stage 5 has two steps"),
    ("reminders:\n  - {stages: [5], notify: [staff], level: blue}\n", 1, "violations is missing"),
    ("reminders: []\nviolations: {notify: [head], level: red}\ndelivery:\n  max_attempts: 0\n", 4,
     "max_attempts must be at least 1"),
])
def test_ladder_mistakes_name_the_file_and_line(tmp_path, text, line, problem):
    path = tmp_path / "escalation.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EscalationError) as caught:
        load_ladder(path)
    assert caught.value.line == line and problem in caught.value.problem and str(path) in str(caught.value)


def test_a_stage_the_policy_sends_without_a_step_stops_the_start(tmp_path):
    ladder = load_ladder(LADDER)
    with pytest.raises(EscalationError, match="no step for stage 10"):
        ladder.check_stages([10, 5, 3, 1, 0], "policy x")


@pytest.mark.parametrize("contact, problem", [
    ('{name: 张三, mobile: "1380000000"}', "must be an 11-digit mobile number"),
    ("{name: 张三, email: not-an-address}", "is not an email address"),
    ("{name: 张三}", "neither email nor mobile"),
])
def test_registry_contact_mistakes_name_the_line(tmp_path, contact, problem):
    path = tmp_path / "departments.yaml"
    path.write_text(f"departments:\n  - code: jyj\n    name: 区教育局\n    contacts:\n      head: {contact}\n",
                    encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert caught.value.line == 5 and problem in caught.value.problem
