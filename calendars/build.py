"""Building a calendar snapshot from the data files (and ``holidays`` for years without a notice).

Precedence, lowest to highest, for each day:

1. Monday–Friday work, Saturday and Sunday rest;
2. in a year without a notice (provisional): the statutory holidays that the
   ``holidays`` package derives from the law (fixed-date and lunar holidays and
   their statutory substitutes), plus any make-up days it knows;
3. the State Council notices in ``<year>.yaml`` (they win over ``holidays``);
4. the jurisdiction's local adjustments.
"""
from __future__ import annotations

from array import array
from datetime import date
from pathlib import Path

from calendars.errors import CalendarError
from calendars.sources import (
    DEFAULT_CALENDAR_DIR,
    load_local,
    load_notice,
    load_shared,
    notice_files,
)
from calendars.working_days import PLAIN_CODE, WEEKEND_CODE, Reason, WorkingDayCalendar

FIRST_DAY = date(2004, 1, 1)
DEFAULT_LAST_YEAR = 2030  # the range reaches at least this year; further if notices exist for later years


def load_calendar(calendar_dir: str | Path | None = None, jurisdiction: str | None = None) -> WorkingDayCalendar:
    """Read the notices (and the jurisdiction's adjustments) and build an immutable calendar.

    Raises CalendarError, naming the file and the problem, if any data file is bad.
    """
    directory = Path(calendar_dir) if calendar_dir is not None else DEFAULT_CALENDAR_DIR
    shared = load_shared(directory)
    files = notice_files(directory)
    notices = {year: load_notice(path, year, shared.holiday_names) for year, path in files.items()}
    early = [y for y in notices if y < FIRST_DAY.year]
    if early:
        raise CalendarError(f"{files[min(early)]}: {min(early)} is before the supported range, which starts {FIRST_DAY}")
    last_year = max([DEFAULT_LAST_YEAR, *notices])
    last_day = date(last_year, 12, 31)
    ndays = (last_day - FIRST_DAY).days + 1
    base = FIRST_DAY.toordinal()

    reasons: list[Reason] = [Reason("", ""), Reason("周末", "weekend")]
    codes: dict[Reason, int] = {r: i for i, r in enumerate(reasons)}

    def code_of(reason: Reason) -> int:
        if reason not in codes:
            codes[reason] = len(reasons)
            reasons.append(reason)
        return codes[reason]

    working = bytearray(ndays)
    reason_codes = array("H", [PLAIN_CODE]) * ndays
    first_weekday = FIRST_DAY.weekday()
    for i in range(ndays):
        if (first_weekday + i) % 7 < 5:
            working[i] = 1
        else:
            reason_codes[i] = WEEKEND_CODE

    provisional_years = tuple(y for y in range(FIRST_DAY.year, last_year + 1) if y not in notices)
    if provisional_years:
        _apply_statutory_holidays(provisional_years, base, working, reason_codes, code_of)

    decided: dict[date, tuple[bool, Path]] = {}
    for year in sorted(notices):
        notice = notices[year]
        for listing, is_working in ((notice.rest_days, False), (notice.make_up_days, True)):
            for day, name in listing.items():
                earlier = decided.get(day)
                if earlier and earlier[0] != is_working:
                    raise CalendarError(f"{notice.path}: {day} contradicts {earlier[1]} (rest day in one, make-up working day in the other)")
                decided[day] = (is_working, notice.path)
                i = day.toordinal() - base
                if not 0 <= i < ndays:
                    continue  # e.g. December 2003 in the 2004 notice
                name_en = shared.holiday_names[name]
                source = notice.source_for(name)
                reason = (
                    Reason(f"调休上班（{name}）", f"make-up working day ({name_en})", source)
                    if is_working
                    else Reason(name, name_en, source)
                )
                working[i] = 1 if is_working else 0
                reason_codes[i] = code_of(reason)

    local = load_local(directory, jurisdiction) if jurisdiction else None
    local_codes: set[int] = set()
    if local:
        for adj in local.adjustments:
            i = adj.day.toordinal() - base
            if not 0 <= i < ndays:
                raise CalendarError(f"{local.path}: {adj.day} is outside the supported range {FIRST_DAY}..{last_day}")
            if adj.working:
                reason = Reason(f"地方调整上班：{adj.reason_zh}", f"local working day: {adj.reason_en}", adj.document_number)
            else:
                reason = Reason(f"地方调整休息：{adj.reason_zh}", f"local rest day: {adj.reason_en}", adj.document_number)
            code = code_of(reason)
            local_codes.add(code)
            working[i] = 1 if adj.working else 0
            reason_codes[i] = code

    if len(reasons) > 65535:
        raise CalendarError(f"{directory}: too many distinct day reasons ({len(reasons)})")
    return WorkingDayCalendar(
        first_day=FIRST_DAY,
        working=working,
        reason_codes=reason_codes,
        reasons=reasons,
        local_codes=frozenset(local_codes),
        notices=notices,
        provisional_years=provisional_years,
        shared=shared,
        local=local,
    )


def _apply_statutory_holidays(years, base, working, reason_codes, code_of) -> None:
    """Rest days (and any make-up days) that ``holidays.China`` knows for years without a notice.

    Imported here so that a process only working with notice years never pays for it.
    """
    import holidays

    names_zh = holidays.China(years=years, language="zh_CN")
    names_en = holidays.China(years=years, language="en_US")
    wanted = set(years)
    ndays = len(working)
    for day, name in names_zh.items():
        i = day.toordinal() - base
        if day.year in wanted and 0 <= i < ndays:
            working[i] = 0
            name_en = names_en.get(day, name)
            reason_codes[i] = code_of(Reason(f"{name}（暂定：按法定节日推算）", f"{name_en} (provisional: statutory holiday)"))
    for day in names_zh.weekend_workdays:
        i = day.toordinal() - base
        if day.year in wanted and 0 <= i < ndays:
            working[i] = 1
            reason_codes[i] = code_of(Reason("调休上班（暂定）", "make-up working day (provisional)"))
