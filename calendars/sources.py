"""Reading the calendar data files under ``config/calendars``.

One YAML file per year holds the State Council's notice for that year
(``2026.yaml``: rest days and make-up working days by holiday, the notice's
document number and date, later amendments, and the differences between the
``holidays`` and ``chinese_calendar`` packages that the notice resolves).
``calendar.yaml`` gives the legal basis quoted in explanations, the English
form of each holiday name, the year-end window (the last days of December a
next year's notice may still change) and the day the missing-notice warning
starts, and
``local/<jurisdiction>.yaml`` holds a jurisdiction's own adjustments.

Everything here is validated on load so that a bad file is reported with its
path and the problem, never discovered later as a wrong deadline.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from calendars.errors import CalendarError

DEFAULT_CALENDAR_DIR = Path(__file__).resolve().parent.parent / "config" / "calendars"
NOTICE_FILE = re.compile(r"^(\d{4})\.ya?ml$")
SHARED_FILE = "calendar.yaml"
LOCAL_DIR = "local"

class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML; an impossible date such as 2026-02-30 stays text so the check names it."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


@dataclass(frozen=True)
class Amendment:
    """A later document changing a year's arrangement for some holidays."""

    document_number: str
    holidays: tuple[str, ...]  # the holidays it changes; empty: not said
    new_holiday: bool  # True when it creates a holiday the base notice does not have


@dataclass(frozen=True)
class Notice:
    """One year's official arrangement, as transcribed in its data file."""

    year: int
    path: Path
    document_number: str
    title: str
    issued: date | None
    url: str | None
    amendments: tuple[Amendment, ...]  # later documents changing this year's arrangement
    rest_days: dict[date, str]  # day -> holiday name (Chinese)
    make_up_days: dict[date, str]  # day -> holiday name the make-up day belongs to

    def source_for(self, holiday: str) -> str:
        """Document numbers to cite for a day of ``holiday`` in this arrangement."""
        changed_by = [a for a in self.amendments if holiday in a.holidays]
        if any(a.new_holiday for a in changed_by):
            return "、".join(a.document_number for a in changed_by)
        return "、".join((self.document_number, *(a.document_number for a in changed_by)))


@dataclass(frozen=True)
class LocalAdjustment:
    day: date
    working: bool
    reason_zh: str
    reason_en: str
    document_number: str


@dataclass(frozen=True)
class LocalCalendar:
    jurisdiction: str
    path: Path
    name_zh: str
    name_en: str
    adjustments: tuple[LocalAdjustment, ...]


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CalendarError(f"{path}:{where}: not valid YAML: {problem}") from None


def notice_files(calendar_dir: Path) -> dict[int, Path]:
    """Year -> file for every ``<year>.yaml`` in the directory."""
    if not calendar_dir.is_dir():
        raise CalendarError(f"{calendar_dir}: calendar directory does not exist")
    found: dict[int, Path] = {}
    for path in sorted(calendar_dir.iterdir()):
        match = NOTICE_FILE.match(path.name)
        if match:
            year = int(match.group(1))
            if year in found:
                raise CalendarError(f"{path}: a second file for {year} (also {found[year].name})")
            found[year] = path
    return found


def watched_files(calendar_dir: Path, jurisdiction: str | None) -> list[Path]:
    """The files whose change means the calendar must be re-read."""
    paths = list(notice_files(calendar_dir).values()) if calendar_dir.is_dir() else []
    paths.append(calendar_dir / SHARED_FILE)
    if jurisdiction:
        paths.append(local_file(calendar_dir, jurisdiction))
    return paths


def local_file(calendar_dir: Path, jurisdiction: str) -> Path:
    return calendar_dir / LOCAL_DIR / f"{jurisdiction}.yaml"


@dataclass(frozen=True)
class Shared:
    """What all years share: the counting rule's citation, the holiday names, the year-end window."""

    citation_zh: str
    citation_en: str
    rule_zh: str
    rule_en: str
    holiday_names: dict[str, str]
    year_end_first_day: int = 26  # day of December: from it to 31 December, Y waits for Y+1's notice
    year_end_margin_days: int = 3  # kept before the earliest reach-back found in the notices
    warning_from: tuple[int, int] = (11, 1)  # (month, day) of Y from which a missing Y+1 notice is reported
    holiday_aliases: dict[str, str] = field(default_factory=dict)  # other names a notice gives a holiday


def load_shared(calendar_dir: Path) -> Shared:
    path = calendar_dir / SHARED_FILE
    if not path.exists():
        raise CalendarError(f"{path}: missing (counting_rule and holiday_names)")
    data = read_yaml(path) or {}
    rule = data.get("counting_rule") if isinstance(data, dict) else None
    names = data.get("holiday_names") if isinstance(data, dict) else None
    if not isinstance(rule, dict) or not all(_text(rule.get(k)) for k in ("citation_zh", "citation_en", "rule_zh", "rule_en")):
        raise CalendarError(f"{path}: counting_rule needs citation_zh, citation_en, rule_zh and rule_en")
    if not isinstance(names, dict) or not all(_text(k) and _text(v) for k, v in names.items()):
        raise CalendarError(f"{path}: holiday_names must map each Chinese holiday name to its English name")
    window = data.get("year_end_window")
    if not isinstance(window, dict):
        raise CalendarError(f"{path}: year_end_window is missing (first_day: \"12-26\", margin_days: 3)")
    first_month, first_day = _month_day(path, "year_end_window.first_day", window.get("first_day"))
    if first_month != 12:
        raise CalendarError(f"{path}: year_end_window.first_day must be a day of December, got {window.get('first_day')!r}")
    margin = window.get("margin_days")
    if not isinstance(margin, int) or isinstance(margin, bool) or margin < 0:
        raise CalendarError(f"{path}: year_end_window.margin_days must be a whole number of days >= 0")
    warning = data.get("missing_notice_warning")
    if not isinstance(warning, dict):
        raise CalendarError(f"{path}: missing_notice_warning is missing (from: \"11-01\")")
    warning_from = _month_day(path, "missing_notice_warning.from", warning.get("from"))
    aliases = data.get("holiday_aliases") or {}
    if not isinstance(aliases, dict) or not all(_text(k) and v in names for k, v in aliases.items()):
        raise CalendarError(f"{path}: holiday_aliases must map another name to a holiday of holiday_names")
    return Shared(
        citation_zh=rule["citation_zh"].strip(),
        citation_en=rule["citation_en"].strip(),
        rule_zh=rule["rule_zh"].strip(),
        rule_en=rule["rule_en"].strip(),
        holiday_names=dict(names),
        year_end_first_day=first_day,
        year_end_margin_days=margin,
        warning_from=warning_from,
        holiday_aliases=dict(aliases),
    )


def _month_day(path: Path, where: str, raw: Any) -> tuple[int, int]:
    """A "MM-DD" day of any year (a leap day is refused: it does not exist every year)."""
    match = re.fullmatch(r"(\d{2})-(\d{2})", raw.strip()) if isinstance(raw, str) else None
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(2001, month, day)
            return month, day
        except ValueError:
            pass
    raise CalendarError(f"{path}: {where}: {raw!r} is not a day of the year (MM-DD, e.g. \"12-26\")")


def load_notice(path: Path, year: int, names_en: dict[str, str]) -> Notice:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise CalendarError(f"{path}: expected a mapping with year, notice, rest_days, make_up_working_days")
    unknown = set(data) - {"year", "notice", "amendments", "rest_days", "make_up_working_days", "differences"}
    if unknown:
        raise CalendarError(f"{path}: unknown keys {sorted(unknown)}")
    if data.get("year") != year:
        raise CalendarError(f"{path}: 'year' is {data.get('year')!r} but the file is named for {year}")
    notice = data.get("notice")
    if not isinstance(notice, dict) or not _text(notice.get("document_number")):
        raise CalendarError(f"{path}: notice.document_number is missing (e.g. 国办发明电〔2025〕7号)")
    issued = notice.get("date")
    if issued is not None:
        issued = _day(path, "notice.date", issued)
    amendments = []
    for i, item in enumerate(data.get("amendments") or []):
        if not isinstance(item, dict) or not _text(item.get("document_number")):
            raise CalendarError(f"{path}: amendments[{i}] needs a document_number")
        changed = item.get("holidays") or []
        if not isinstance(changed, list) or not all(_text(h) for h in changed):
            raise CalendarError(f"{path}: amendments[{i}].holidays must be a list of holiday names")
        amendments.append(Amendment(item["document_number"].strip(), tuple(changed), bool(item.get("new_holiday"))))
    rest = _days_by_holiday(path, year, "rest_days", data.get("rest_days"), names_en)
    make_up = _days_by_holiday(path, year, "make_up_working_days", data.get("make_up_working_days"), names_en)
    for day in sorted(set(rest) & set(make_up)):
        raise CalendarError(f"{path}: {day} is listed both as a rest day and as a make-up working day")
    for day, name in sorted(make_up.items()):
        if day.weekday() < 5:
            raise CalendarError(
                f"{path}: make_up_working_days {name}: {day} is a {day.strftime('%A')}; "
                "a make-up working day (调休上班) is a Saturday or Sunday"
            )
    _check_differences(path, data.get("differences"), rest, make_up)
    return Notice(
        year=year,
        path=path,
        document_number=notice["document_number"].strip(),
        title=str(notice.get("title") or ""),
        issued=issued,
        url=notice.get("url"),
        amendments=tuple(amendments),
        rest_days=rest,
        make_up_days=make_up,
    )


def load_local(calendar_dir: Path, jurisdiction: str) -> LocalCalendar:
    path = local_file(calendar_dir, jurisdiction)
    if not path.exists():
        raise CalendarError(f"{path}: no local calendar file for jurisdiction {jurisdiction!r}")
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise CalendarError(f"{path}: expected a mapping with jurisdiction and adjustments")
    if data.get("jurisdiction", jurisdiction) != jurisdiction:
        raise CalendarError(f"{path}: 'jurisdiction' is {data.get('jurisdiction')!r}, expected {jurisdiction!r}")
    adjustments: list[LocalAdjustment] = []
    seen: set[date] = set()
    for i, item in enumerate(data.get("adjustments") or []):
        where = f"adjustments[{i}]"
        if not isinstance(item, dict):
            raise CalendarError(f"{path}: {where} must be a mapping with date, status, reason_zh")
        day = _day(path, f"{where}.date", item.get("date"))
        status = item.get("status")
        if status not in ("rest", "working"):
            raise CalendarError(f"{path}: {where}.status is {status!r}; expected rest or working")
        if not _text(item.get("reason_zh")):
            raise CalendarError(f"{path}: {where}.reason_zh is missing")
        if day in seen:
            raise CalendarError(f"{path}: {where}: {day} is adjusted twice")
        seen.add(day)
        adjustments.append(
            LocalAdjustment(
                day=day,
                working=status == "working",
                reason_zh=item["reason_zh"].strip(),
                reason_en=str(item.get("reason_en") or item["reason_zh"]).strip(),
                document_number=str(item.get("document_number") or "").strip(),
            )
        )
    return LocalCalendar(
        jurisdiction=jurisdiction,
        path=path,
        name_zh=str(data.get("name_zh") or jurisdiction),
        name_en=str(data.get("name_en") or jurisdiction),
        adjustments=tuple(adjustments),
    )


def _days_by_holiday(path: Path, year: int, key: str, value: Any, names_en: dict[str, str]) -> dict[date, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CalendarError(f"{path}: {key} must map a holiday name to a list of dates")
    days: dict[date, str] = {}
    for name, listed in value.items():
        if not _text(name):
            raise CalendarError(f"{path}: {key}: holiday name {name!r} is not a name")
        if name not in names_en:
            raise CalendarError(f"{path}: {key}: holiday {name!r} has no English form in {SHARED_FILE} holiday_names")
        if not isinstance(listed, list):
            raise CalendarError(f"{path}: {key} {name}: expected a list of dates")
        for raw in listed:
            day = _day(path, f"{key} {name}", raw)
            if not (day.year == year or (day.year == year - 1 and day.month == 12)):
                raise CalendarError(
                    f"{path}: {key} {name}: {day} is outside {year} "
                    f"(only December {year - 1} may belong to the {year} notice)"
                )
            if day in days:
                raise CalendarError(f"{path}: {key}: {day} is listed twice ({days[day]}, {name})")
            days[day] = name
    return days


def _check_differences(path: Path, value: Any, rest: dict[date, str], make_up: dict[date, str]) -> None:
    """Each recorded difference must say what the notice decided, and the lists must agree with it."""
    for i, item in enumerate(value or []):
        where = f"differences[{i}]"
        if not isinstance(item, dict):
            raise CalendarError(f"{path}: {where} must be a mapping")
        day = _day(path, f"{where}.date", item.get("date"))
        verdict = item.get("notice")
        if verdict not in ("working", "rest"):
            raise CalendarError(f"{path}: {where}.notice is {verdict!r}; expected working or rest")
        if not _text(item.get("citation")):
            raise CalendarError(f"{path}: {where}.citation is missing (cite the notice)")
        listed_working = day in make_up or (day not in rest and day.weekday() < 5)
        if listed_working != (verdict == "working"):
            raise CalendarError(f"{path}: {where}: the notice says {day} is {verdict}, but the lists say otherwise")


def differences(path: Path) -> list[dict[str, Any]]:
    """The recorded differences of one notice file (for tests and ``calendar show``)."""
    data = read_yaml(path) or {}
    return list(data.get("differences") or [])


def _day(path: Path, where: str, raw: Any) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise CalendarError(f"{path}: {where}: {raw!r} is not a date (YYYY-MM-DD)")


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""
