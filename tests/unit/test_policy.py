"""Policy files: the shipped ones, validity edges, and every kind of mistake with its file and line."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from models.departments import RegistryError, load_registry
from models.policy import CATALOG_UPDATE, DATA_VERIFICATION, PolicyError, load_policies, load_policy_file
from tests.fakes import CONFIG_DIR

SHIPPED = CONFIG_DIR / "policies" / "yuhua-2021-measures.yaml"
SEED = Path("/work/shared/seed/yuhua-data-resource-measures-2021.txt")


def test_shipped_2021_measures_carry_the_regulation_and_its_validity():
    policy = load_policy_file(SHIPPED)
    assert policy.regulation_title == "长沙市雨花区政务数据资源管理暂行办法"
    assert policy.document_number == "雨政办发〔2021〕9号"
    assert (policy.valid_from, policy.valid_until) == (date(2021, 5, 14), date(2023, 5, 13))
    update = policy.obligations[CATALOG_UPDATE]
    assert (update.article, update.working_days) == ("第十条", 15)
    assert update.overdue_citations == ("第二十五条（八）", "第二十五条（一）")
    assert policy.obligations[DATA_VERIFICATION].article == "第十三条"
    assert policy.reminder_stages == (5, 3, 1, 0)
    assert policy.rules["share-scope-narrowed"].citations == ("第二十五条（一）",)
    assert policy.rules["sensitive-data-opened"].citations == ("第二十条",)


@pytest.mark.skipif(not SEED.exists(), reason="seed text not present")
def test_article_words_are_quoted_from_the_seed_text():
    seed = "".join(SEED.read_text(encoding="utf-8").split())
    policy = load_policy_file(SHIPPED)
    for article, words in policy.articles.items():
        assert "".join(words.split()).rstrip("；。") in seed, article


def test_policy_in_force_edges_first_and_last_day():
    policies = load_policies(CONFIG_DIR / "policies")
    assert policies.policy_for(date(2021, 5, 13), "yuhua") is None
    assert policies.policy_for(date(2021, 5, 14), "yuhua").id == "yuhua-2021-measures"
    assert policies.policy_for(date(2023, 5, 13), "yuhua").id == "yuhua-2021-measures"
    continuation = policies.policy_for(date(2023, 5, 14), "yuhua")
    assert continuation.continuation and continuation.valid_until is None
    assert policies.policy_for(date(2030, 1, 1), "yuhua") is continuation
    assert policies.policy_for(date(2022, 1, 1), "elsewhere") is None


def test_without_the_continuation_file_later_events_have_no_policy(tmp_path):
    shutil.copy(SHIPPED, tmp_path / SHIPPED.name)
    policies = load_policies(tmp_path)
    assert policies.policy_for(date(2023, 5, 13), "yuhua") is not None
    assert policies.policy_for(date(2023, 5, 14), "yuhua") is None


def broken(tmp_path: Path, old: str, new: str, name: str = "broken.yaml") -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_unknown_obligation_kind_names_file_and_line(tmp_path):
    path = broken(tmp_path, "  data-verification:", "  data-archiving:")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert caught.value.line == line_of(path, "data-archiving:")
    assert str(path) in str(caught.value) and "unknown obligation kind 'data-archiving'" in str(caught.value)


def test_negative_limit_names_file_and_line(tmp_path):
    path = broken(tmp_path, "working_days: 15", "working_days: -15")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert caught.value.line == line_of(path, "working_days: -15")
    assert "negative" in caught.value.problem


def test_missing_citation_names_file_and_line(tmp_path):
    path = broken(tmp_path, "    overdue_citations: [第二十五条（八）]\n", "")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert "obligation data-verification has no citation" in caught.value.problem
    assert caught.value.line == line_of(path, "  data-verification:")


def test_citation_of_an_article_without_words_is_refused(tmp_path):
    path = broken(tmp_path, "citations: [第二十条]", "citations: [第二十一条]")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert "cites 第二十一条" in caught.value.problem and caught.value.line == line_of(path, "第二十一条")


def test_overlapping_validity_for_the_same_jurisdiction_is_refused(tmp_path):
    shutil.copy(SHIPPED, tmp_path / "a.yaml")
    path = broken(tmp_path, "  from: 2021-05-14", "  from: 2023-05-13", name="b.yaml")
    text = path.read_text(encoding="utf-8").replace("id: yuhua-2021-measures", "id: yuhua-later")
    path.write_text(text.replace("  until: 2023-05-13", "  until: 2024-01-01"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert str(path) in str(caught.value) and "overlaps" in caught.value.problem
    assert caught.value.line == line_of(path, "validity:")


def test_same_period_in_another_jurisdiction_is_fine(tmp_path):
    shutil.copy(SHIPPED, tmp_path / "a.yaml")
    path = broken(tmp_path, "jurisdiction: yuhua", "jurisdiction: furong", name="b.yaml")
    path.write_text(path.read_text(encoding="utf-8").replace("id: yuhua-2021-measures", "id: furong"),
                    encoding="utf-8")
    assert len(load_policies(tmp_path).policies) == 2


def test_registry_lists_departments_streets_and_the_town():
    registry = load_registry(CONFIG_DIR / "departments.yaml")
    assert registry.sample_data
    kinds = {d.kind for d in registry}
    assert kinds == {"department", "street", "town"}
    assert registry.get("sjzyzx").name == "区数据资源中心"
    assert registry.label("tmz") == "跳马镇（tmz）"
    assert registry.unknown(["jyj", "nope"]) == ["nope"]


def test_registry_with_a_duplicate_code_names_the_line(tmp_path):
    path = tmp_path / "departments.yaml"
    path.write_text("departments:\n  - {code: jyj, name: 区教育局}\n  - {code: jyj, name: 重复}\n", encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert caught.value.line == 3 and "listed twice" in caught.value.problem


def test_departments_command_lists_the_registry_as_json(capsys):
    import json

    from cli.main import main

    assert main(["departments", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    codes = {d["code"]: d["name"] for d in listed}
    assert codes["jyj"] == "区教育局" and codes["tmz"] == "跳马镇" and codes["yht"] == "雨花亭街道"
    assert len(listed) == len(load_registry(CONFIG_DIR / "departments.yaml"))


def test_departments_command_table_says_it_is_sample_data(capsys):
    from cli.main import main

    assert main(["departments"]) == 0
    out = capsys.readouterr().out
    assert "区数据资源中心" in out and "sample data" in out


# ------------------------------------------------------------------ the catalog register's kinds and rules (issue 12)

def test_shipped_policies_carry_the_register_kinds_and_rules_with_district_limits():
    for path in sorted((CONFIG_DIR / "policies").glob("*.yaml")):
        policy = load_policy_file(path)
        aggregation = policy.obligations["data-aggregation"]
        assert (aggregation.article, aggregation.overdue_citations) == ("第十二条", ("第二十五条（二）",))
        assert aggregation.limit("realtime") == aggregation.limit("daily") == 1
        assert [aggregation.limit(c) for c in ("weekly", "monthly", "quarterly", "half-yearly", "yearly")] == [
            2, 5, 10, 15, 20]
        assert aggregation.reminder_stages == (0,)
        opening = policy.obligations["data-opening"]
        assert (opening.article, opening.working_days, opening.overdue_citations) == ("第二十条", 10,
                                                                                      ("第二十五条（八）",))
        channel = policy.rules["unauthorised-channel"]
        assert channel.allowed_channels == ("municipal-platform",)
        assert channel.cites("share") == ("第十四条", "第二十五条（七）")
        assert channel.cites("open") == ("第十八条", "第二十五条（七）")
        assert policy.rules["closed-data-opened"].cites() == ("第十九条", "第二十五条（二）")
        assert policy.unmatched_after_working_days == 5
        assert "THE MEASURES LEAVE THIS TO THE" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, says, where", [
    ("{daily: 1, weekly: 2,", "{weekly: 2,", "working_days_by_cycle has no limit for daily", "working_days_by_cycle"),
    ("{daily: 1, weekly: 2,", "{daily: 1, fortnightly: 3, weekly: 2,", "unknown update cycle 'fortnightly'",
     "working_days_by_cycle"),
    ("monthly: 5,", "monthly: 0,", "working_days_by_cycle.monthly must be at least 1", "working_days_by_cycle"),
    ("      share: [第十四条, 第二十五条（七）]\n", "", "rule unauthorised-channel (share) has no citation", "citations:"),
    ("      open: [第十八条,", "      publish: [第十八条,", "unknown case 'publish'", "publish:"),
    ("    allowed_channels: [municipal-platform]\n", "", "allowed_channels is missing", "unauthorised-channel:"),
    ("unmatched_after_working_days: 5", "unmatched_after_working_days: -1", "is negative",
     "unmatched_after_working_days"),
    ("citations: [第十九条, 第二十五条（二）]", "citations: [第十九条, 第二十五条（三）]", "cites 第二十五条（三）",
     "第二十五条（三）"),
])
def test_a_mistake_in_the_register_settings_names_file_and_line(tmp_path, old, new, says, where):
    path = broken(tmp_path, old, new)
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert says in caught.value.problem and str(path) in str(caught.value)
    lines = path.read_text(encoding="utf-8").splitlines()
    exact = next((i for i, line in enumerate(lines, 1) if line.strip() == where), None)  # "citations:" alone
    assert caught.value.line == (exact or line_of(path, where))
