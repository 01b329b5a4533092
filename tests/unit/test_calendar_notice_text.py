"""Reading a notice's text: what does not add up is refused, naming the sentence.

The texts that reproduce the data files day by day are in
tests/integration/test_calendar_import.py; here each kind of inconsistency is put into
the 2026 notice (tests/data/notices/2026.txt) and must be refused with its sentence.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from calendars.notice_text import NoticeTextError, parse_notice_text, render_notice_yaml
from calendars.sources import DEFAULT_CALENDAR_DIR, load_shared

NOTICES = Path(__file__).resolve().parents[1] / "data" / "notices"
TEXT_2026 = (NOTICES / "2026.txt").read_text(encoding="utf-8")
NEW_YEAR = "一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。"


@pytest.fixture(scope="module")
def shared():
    return load_shared(DEFAULT_CALENDAR_DIR)


def refused(shared, text: str, year: int = 2026) -> NoticeTextError:
    with pytest.raises(NoticeTextError) as raised:
        parse_notice_text(text, year, shared)
    return raised.value


def test_the_2026_text_reads_as_its_notice(shared):
    notice = parse_notice_text(TEXT_2026, 2026, shared)
    assert (notice.document_number, notice.issued) == ("国办发明电〔2025〕7号", date(2025, 11, 4))
    assert notice.holidays == ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
    assert notice.days_of("春节", working=False)[0] == date(2026, 2, 15) and len(notice.days_of("春节", working=False)) == 9
    assert notice.days_of("国庆节", working=True) == [date(2026, 9, 20), date(2026, 10, 10)]
    assert notice.warnings == ()


@pytest.mark.parametrize("wrong, right, sentence, problem", [
    # a weekday in brackets that is not the date's
    ("1月1日（周四）至3日（周六）", "1月1日（周五）至3日（周六）", "一、元旦：1月1日（周五）至3日（周六）放假调休，共3天。",
     "1月1日 (2026-01-01) is a 星期四 (Thursday), not 周五"),
    ("9月20日（周日）、10月10日（周六）上班", "9月20日（周日）、10月10日（星期日）上班",
     "9月20日（周日）、10月10日（星期日）上班。", "is a 星期六 (Saturday), not 星期日"),
    # a 共N天 that is not the number of days listed
    ("共3天。1月4日", "共4天。1月4日", "一、元旦：1月1日（周四）至3日（周六）放假调休，共4天。",
     "共4天 but the days listed are 3"),
    ("放假调休，共9天", "放假调休，共8天", "二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共8天。",
     "共8天 but the days listed are 9"),
    # a make-up day that is not a weekend day
    ("5月9日（周六）上班", "5月8日（周五）上班", "5月8日（周五）上班。",
     "a make-up working day (上班) must be a Saturday or Sunday"),
    # a holiday name it does not know
    ("五、端午节：", "五、端阳节：", "五、端阳节：6月19日（周五）至21日（周日）放假，共3天。",
     "holiday name '端阳节' is not known"),
    # a day outside the year, and a range that ends before it starts
    ("6月19日（周五）至21日（周日）", "6月19日（周五）至12日（周五）", "五、端午节：6月19日（周五）至12日（周五）放假，共3天。",
     "ends before it starts"),
    ("5月9日（周六）上班", "2027年5月8日（周六）上班", "2027年5月8日（周六）上班。", "is outside 2026"),
    ("2月28日（周六）上班", "2月30日（周六）上班", "2月14日（周六）、2月30日（周六）上班。", "2月30日 is not a date"),
])
def test_each_kind_of_inconsistency_is_refused_with_its_sentence(shared, wrong, right, sentence, problem):
    assert wrong in TEXT_2026
    error = refused(shared, TEXT_2026.replace(wrong, right))
    assert error.sentence == sentence
    assert problem in error.problem
    assert f"“{sentence}”" in str(error)  # the message a person reads quotes it


def test_a_day_listed_both_off_and_worked_is_refused(shared):
    error = refused(shared, TEXT_2026.replace("1月4日（周日）上班", "1月3日（周六）上班"))
    assert error.sentence == "1月3日（周六）上班。" and "both as off and as worked" in error.problem


def test_the_notice_must_be_the_years_and_carry_its_number_and_date(shared):
    assert "not for 2027" in refused(shared, TEXT_2026, 2027).problem
    assert "no document number" in refused(shared, TEXT_2026.replace("国办发明电〔2025〕7号", "")).problem
    assert "no date under the signature" in refused(shared, TEXT_2026.replace("2025年11月4日", "")).problem
    assert "no numbered arrangement" in refused(shared, "国办发明电〔2025〕7号\n2025年11月4日\n").problem
    skipped = refused(shared, TEXT_2026.replace("三、清明节", "四、清明节"))
    assert "comes where 三、 was expected" in skipped.problem and skipped.sentence.startswith("四、清明节")
    twice = refused(shared, TEXT_2026.replace("六、中秋节", "六、国庆节"))
    assert "国庆节 has a second item" in twice.problem


def test_a_block_of_two_holidays_other_than_mid_autumn_and_national_day_is_refused(shared):
    error = refused(shared, TEXT_2026.replace("五、端午节：", "五、端午节、中秋节："))
    assert "not known" in error.problem and error.sentence.startswith("五、端午节、中秋节：")


def test_older_wording_and_notes_are_read(shared):
    # 星期 for 周, “放假，…补休”, “与周末连休”, half-width brackets, a note line, a Chinese-numeral date.
    text = "\n".join([
        "# a note about where this text came from",
        "国务院办公厅关于2026年部分节假日安排的通知",
        "国办发明电〔2025〕7号",
        "一、元旦:1月1日(星期四)放假,1月2日(星期五)补休。",
        "二、清明节:4月6日放假，与周末连休。",
        "国务院办公厅",
        "二〇二五年十一月四日",
    ])
    notice = parse_notice_text(text, 2026, shared)
    assert notice.days_of("元旦", working=False) == [date(2026, 1, 1), date(2026, 1, 2)]
    assert notice.days_of("清明节", working=False) == [date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6)]
    assert notice.issued == date(2025, 11, 4)


def test_a_reach_back_before_the_year_end_window_is_warned_about(shared):
    text = "\n".join([
        "国办发明电〔2026〕99号",
        "一、元旦：2026年12月24日（周四）至2027年1月3日（周日）放假调休，共11天。",
        "国务院办公厅", "2026年12月1日",
    ])
    notice = parse_notice_text(text, 2027, shared)
    assert notice.warnings and "2026-12-24 is before the year-end window" in notice.warnings[0]
    assert "12-21" in notice.warnings[0]  # the margin of 3 days, as calendar.yaml keeps it


def test_the_rendered_file_keeps_the_notice_order_and_the_url(shared):
    notice = parse_notice_text(TEXT_2026, 2026, shared)
    text = render_notice_yaml(notice, url="https://www.gov.cn/example")
    assert text.splitlines()[0] == "# 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）."
    assert "  url: https://www.gov.cn/example" in text
    lines = text.splitlines()
    rest = lines[lines.index("rest_days:") + 1:lines.index("make_up_working_days:")]
    assert [line.split(":")[0].strip() for line in rest] == list(notice.holidays)
