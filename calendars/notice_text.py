"""Reading a State Council holiday notice from its published text into a ``<year>.yaml`` file.

The notice comes out every year in the same form::

    国务院办公厅关于2026年部分节假日安排的通知
    国办发明电〔2025〕7号
    …
    一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
    二、春节：…
    国务院办公厅
    2025年11月4日

Each numbered item names a holiday (or two, "六、中秋节、国庆节：") and says, clause by
clause, which days are off ("…至…放假调休", "…放假，…补休", "…放假，与周末连休") and
which weekend days are worked ("…（星期六）、…（星期日）上班"). The older wording
(2007–2008: "其中，…为法定节假日，…公休日调至…") explains the same days again in
clauses that are checked but add nothing; they are recognised and left aside.

Whatever does not add up is refused with the sentence it is in: a weekday in brackets
that is not the date's, a "共N天" that is not the number of days listed, a make-up day
that is not a Saturday or Sunday, a holiday name that is not known, a day outside the
year. Lines beginning with ``#`` are notes about the text, not part of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from calendars.errors import CalendarError
from calendars.results import WEEKDAYS_EN, WEEKDAYS_ZH
from calendars.sources import Shared

NEW_YEAR = "元旦"
# A block naming both: the Mid-Autumn day itself is 中秋节 (unless it is 1 October, National Day
# itself); every other day of the block and its make-up working days belong to 国庆节.
MID_AUTUMN, NATIONAL_DAY = "中秋节", "国庆节"

_NUMERALS = "一二三四五六七八九十"
_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_ONE_TO_ONE = str.maketrans({
    **{chr(0xFF10 + i): str(i) for i in range(10)},  # full-width digits
    "(": "（", ")": "）", ":": "：", ",": "，", ";": "；", "○": "〇", "零": "〇",
})
_ITEM = re.compile(r"(?:^|(?<=[。\n]))[ \t\u3000]*([一二三四五六七八九十]{1,3})、[ \t\u3000]*([^：\n。]{1,60}?)[ \t\u3000]*：")
_DATE = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日")
_RANGE_SEPARATOR = re.compile(r"^\s*(?:至|到|—|－|–|-|～|~)\s*$")
_WEEKDAY = re.compile(r"(?:星期|周)([一二三四五六日天])")
_COUNT = re.compile(r"(?:共|放假)(\d+)天")
_DOCUMENT = re.compile(r"国办发明电\s*[〔\[［【（]\s*(\d{4})\s*[〕\]］】）]\s*(\d+)\s*号")
_TITLE = re.compile(r"国务院办公厅关于\s*(\d{4})\s*年\s*部分节假日安排的通知")
_SIGNED = re.compile(r"^\s*(\d{4}|[〇一二三四五六七八九]{4})年(\d{1,2}|[一二三四五六七八九十]{1,3})月"
                     r"(\d{1,2}|[一二三四五六七八九十]{1,3})日\s*$")
_QUOTES = str.maketrans("", "", "“”\"'‘’「」")


class NoticeTextError(CalendarError):
    """The text cannot be read as a notice; ``sentence`` is the sentence at fault, if one is."""

    def __init__(self, problem: str, sentence: str | None = None):
        self.problem = problem
        self.sentence = sentence
        super().__init__(f"{problem} — in “{sentence}”" if sentence else problem)


@dataclass(frozen=True)
class ParsedNotice:
    """One year's arrangement as read from the notice's text."""

    year: int
    title: str
    document_number: str
    issued: date
    holidays: tuple[str, ...]  # in the notice's order
    rest_days: dict[date, str]  # day -> holiday
    make_up_days: dict[date, str]  # day -> holiday
    warnings: tuple[str, ...] = ()

    def days_of(self, holiday: str, *, working: bool) -> list[date]:
        listing = self.make_up_days if working else self.rest_days
        return sorted(day for day, name in listing.items() if name == holiday)


def parse_notice_text(text: str, year: int, shared: Shared) -> ParsedNotice:
    """Read the notice for ``year`` from its text; NoticeTextError names what does not add up."""
    text = "\n".join("" if line.lstrip().startswith("#") else line for line in text.splitlines())
    text = text.translate(_ONE_TO_ONE)
    title = _title(text, year)
    document_number = _document_number(text, year)
    items = _items(text)
    reader = _Reader(year, shared)
    for names, body in items:
        reader.read_item(names, body)
    issued = _signature_date(text, year)
    warnings = reader.window_warnings()
    return ParsedNotice(year, title, document_number, issued, tuple(reader.order), reader.rest, reader.make_up,
                        tuple(warnings))


# ----- the parts around the items -----------------------------------------------------------------


def _title(text: str, year: int) -> str:
    found = {int(m.group(1)) for m in _TITLE.finditer(text)}
    if found and found != {year}:
        raise NoticeTextError(f"the text is the notice for {sorted(found)[0]}, not for {year} (its title says so)")
    return f"国务院办公厅关于{year}年部分节假日安排的通知"


def _document_number(text: str, year: int) -> str:
    found = {(int(m.group(1)), int(m.group(2))) for m in _DOCUMENT.finditer(text)}
    if not found:
        raise NoticeTextError("no document number in the text (the line 国办发明电〔YYYY〕N号 under the title)")
    if len(found) > 1:
        numbers = "、".join(f"国办发明电〔{y}〕{n}号" for y, n in sorted(found))
        raise NoticeTextError(f"more than one document number in the text: {numbers}")
    (doc_year, number), = found
    if doc_year not in (year - 1, year):
        raise NoticeTextError(f"document number 国办发明电〔{doc_year}〕{number}号 is from {doc_year}; "
                              f"the notice for {year} is numbered in {year - 1} or {year}")
    return f"国办发明电〔{doc_year}〕{number}号"


def _signature_date(text: str, year: int) -> date:
    signed = None
    for line in text.splitlines():
        match = _SIGNED.match(line)
        if match:
            signed = (match, line.strip())
    if signed is None:
        raise NoticeTextError("no date under the signature 国务院办公厅 (a line such as 2025年11月4日)")
    match, line = signed
    try:
        issued = date(_number(match.group(1), year=True), _number(match.group(2)), _number(match.group(3)))
    except ValueError:
        raise NoticeTextError("the date under the signature is not a date", line) from None
    if issued.year not in (year - 1, year):
        raise NoticeTextError(f"the notice for {year} is dated {issued}, which is not in {year - 1} or {year}", line)
    return issued


def _number(text: str, *, year: bool = False) -> int:
    if text.isdigit():
        return int(text)
    if year:
        return int("".join(str(_DIGITS[c]) for c in text))
    tens, _, units = text.rpartition("十")
    if "十" not in text:
        return _DIGITS[text]
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[units] if units else 0)


def _items(text: str) -> list[tuple[str, str]]:
    """(names, body) of each numbered item, in order; the body is one paragraph."""
    found = list(_ITEM.finditer(text))
    if not found:
        raise NoticeTextError("no numbered arrangement in the text (一、元旦：…。二、春节：…)")
    items = []
    for k, match in enumerate(found):
        expected = _numeral(k + 1)
        if match.group(1) != expected:
            raise NoticeTextError(f"item {match.group(1)}、 comes where {expected}、 was expected",
                                  _first_sentence(text, match.start()))
        end = found[k + 1].start() if k + 1 < len(found) else len(text)
        lines = text[match.end():end].splitlines()
        if k + 1 == len(found):  # the last item ends with its paragraph, before the closing one
            lines = _paragraph(lines)
        items.append((match.group(0).strip(), "".join(line.strip() for line in lines)))
    return items


_CLOSING = ("节假日期间", "鼓励", "国务院办公厅", "通知要求")


def _paragraph(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            if kept:
                break
            continue
        if text.startswith(_CLOSING) or _SIGNED.match(text):
            break
        kept.append(text)
    return kept


def _numeral(n: int) -> str:
    if n <= 10:
        return _NUMERALS[n - 1] if n < 10 else "十"
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else _NUMERALS[tens - 1]) + "十" + (_NUMERALS[units - 1] if units else "")


def _first_sentence(text: str, start: int) -> str:
    end = text.find("。", start)
    return text[start:end + 1 if end >= 0 else len(text)].strip()


# ----- the items ----------------------------------------------------------------------------------


@dataclass
class _Token:
    day: date
    start: int
    end: int
    text: str


@dataclass
class _Reader:
    year: int
    shared: Shared
    order: list[str] = field(default_factory=list)
    rest: dict[date, str] = field(default_factory=dict)
    make_up: dict[date, str] = field(default_factory=dict)

    def read_item(self, header: str, body: str) -> None:
        names = self._names(header, body)
        is_new_year = names == [NEW_YEAR]
        rest: dict[date, str] = {}  # day -> sentence, for this item
        work: dict[date, str] = {}
        last: date | None = None
        sentences = [s for s in re.findall(r"[^。]+。?", body) if s.strip()]
        if not sentences:
            raise NoticeTextError("the item says nothing", header)
        for k, sentence in enumerate(sentences):
            quoted = (f"{header}{sentence}" if k == 0 else sentence).strip()
            listed: list[date] = []
            joins_weekend = False
            for clause in _clauses(sentence):
                masked = _mask_brackets(clause)
                tokens, last = self._dates(clause, masked, last, is_new_year, quoted)
                outside = re.sub(r"（[^）]*）", "", masked)
                if "调至" in outside or "照常公休" in outside or not tokens:
                    joins_weekend = joins_weekend or ("连休" in outside and "周" in outside)
                    continue
                if "上班" in outside and ("放假" in outside or "补休" in outside):
                    raise NoticeTextError("a clause says both off (放假) and worked (上班)", quoted)
                if "上班" in outside:
                    for token in tokens:
                        if token.day.weekday() < 5:
                            raise NoticeTextError(
                                f"{token.text} is a {WEEKDAYS_ZH[token.day.weekday()]} "
                                f"({WEEKDAYS_EN[token.day.weekday()]}): a make-up working day (上班) "
                                "must be a Saturday or Sunday", quoted)
                        work[token.day] = quoted
                elif "放假" in outside or "补休" in outside:
                    listed.extend(self._days(tokens, masked, quoted))
                joins_weekend = joins_weekend or ("连休" in outside and "周" in outside)
            count = _COUNT.search(re.sub(r"（[^）]*）", "", _mask_brackets(sentence)))
            if count and listed and int(count.group(1)) != len(set(listed)):
                days = "、".join(d.isoformat() for d in sorted(set(listed)))
                raise NoticeTextError(f"共{count.group(1)}天 but the days listed are {len(set(listed))}: {days}",
                                      quoted)
            if joins_weekend and listed:
                listed.extend(_adjacent_weekend(listed))
            for day in listed:
                rest[day] = quoted
        if not rest:
            raise NoticeTextError("the item lists no day off (…放假)", f"{header}{sentences[0]}".strip())
        for day, quoted in work.items():
            if day in rest:
                raise NoticeTextError(f"{day} is listed both as off and as worked", quoted)
        self._assign(names, rest, work, header)

    def _names(self, header: str, body: str) -> list[str]:
        raw = header.split("、", 1)[1].rstrip("：").strip()
        known = {name.translate(_QUOTES): name for name in self.shared.holiday_names}
        known.update({alias.translate(_QUOTES): name for alias, name in self.shared.holiday_aliases.items()})
        names = []
        for part in raw.split("、"):
            name = known.get(part.strip().translate(_QUOTES))
            if name is None:
                sentence = f"{header}{body.split('。', 1)[0]}。"
                raise NoticeTextError(f"holiday name {part.strip()!r} is not known "
                                      f"(known: {'、'.join(self.shared.holiday_names)})", sentence)
            if name in self.order or name in names:
                raise NoticeTextError(f"{name} has a second item", f"{header}{body.split('。', 1)[0]}。")
            names.append(name)
        if len(names) > 1 and set(names) != {MID_AUTUMN, NATIONAL_DAY}:
            raise NoticeTextError(f"a block for {'、'.join(names)} together is not known "
                                  f"(only {MID_AUTUMN}、{NATIONAL_DAY})", f"{header}{body.split('。', 1)[0]}。")
        return names

    def _dates(self, clause: str, masked: str, last: date | None, is_new_year: bool,
               quoted: str) -> tuple[list[_Token], date | None]:
        tokens = []
        for match in _DATE.finditer(masked):
            y, m, d = match.group(1), match.group(2), match.group(3)
            text = clause[match.start():match.end()]
            if m is None and y is None:
                if last is None:
                    raise NoticeTextError(f"{text} has no month", quoted)
                year, month = last.year, last.month
            elif y is None:
                month = int(m)
                year = self.year - 1 if (is_new_year and month == 12) else self.year
            else:
                if m is None:
                    raise NoticeTextError(f"{text} has no month", quoted)
                year, month = int(y), int(m)
            try:
                day = date(year, month, int(d))
            except ValueError:
                raise NoticeTextError(f"{text} is not a date", quoted) from None
            if not (day.year == self.year or (is_new_year and day.year == self.year - 1 and day.month == 12)):
                raise NoticeTextError(f"{text} ({day}) is outside {self.year} "
                                      f"(only the {NEW_YEAR} item may reach into December {self.year - 1})", quoted)
            after = clause[match.end():]
            if after.startswith("（"):
                said = _WEEKDAY.search(after[:after.find("）") + 1] if "）" in after else after)
                if said:
                    weekday = "一二三四五六日天".index(said.group(1))
                    weekday = 6 if weekday == 7 else weekday
                    if weekday != day.weekday():
                        raise NoticeTextError(
                            f"{text} ({day}) is a {WEEKDAYS_ZH[day.weekday()]} ({WEEKDAYS_EN[day.weekday()]}), "
                            f"not {said.group(0)}", quoted)
            tokens.append(_Token(day, match.start(), match.end(), text))
            last = day
        return tokens, last

    def _days(self, tokens: list[_Token], masked: str, quoted: str) -> list[date]:
        """Days off named by a clause: single days, and ranges "A至B" (both ends included)."""
        days: list[date] = []
        k = 0
        while k < len(tokens):
            token = tokens[k]
            if k + 1 < len(tokens):
                between = re.sub(r"（[^）]*）", "", masked[token.end:tokens[k + 1].start])
                if _RANGE_SEPARATOR.match(between):
                    first, last = token.day, tokens[k + 1].day
                    if last < first:
                        raise NoticeTextError(f"the range {token.text}至{tokens[k + 1].text} ends before it starts",
                                              quoted)
                    days.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
                    k += 2
                    continue
            days.append(token.day)
            k += 1
        return days

    def _assign(self, names: list[str], rest: dict[date, str], work: dict[date, str], header: str) -> None:
        principal = NATIONAL_DAY if len(names) > 1 else names[0]
        mid_autumn = _mid_autumn(self.year) if len(names) > 1 else None
        for day, quoted in sorted(rest.items()):
            name = MID_AUTUMN if day == mid_autumn and day != date(self.year, 10, 1) else principal
            self._put(self.rest, day, name, quoted)
        for day, quoted in sorted(work.items()):
            self._put(self.make_up, day, principal, quoted)
        self.order.extend(names)

    def _put(self, listing: dict[date, str], day: date, name: str, quoted: str) -> None:
        other = self.rest.get(day) or self.make_up.get(day)
        if other is not None:
            raise NoticeTextError(f"{day} is already listed for {other}", quoted)
        listing[day] = name

    def window_warnings(self) -> list[str]:
        first = self.shared.year_end_first_day
        early = sorted(d for d in (*self.rest, *self.make_up) if d.year == self.year - 1 and d.day < first)
        if not early:
            return []
        return [f"{early[0]} is before the year-end window (from 12-{first:02d} in calendar.yaml): a notice has "
                f"reached further back into December than the window covers; move year_end_window.first_day "
                f"to 12-{max(early[0].day - self.shared.year_end_margin_days, 1):02d}"]


def _clauses(sentence: str) -> list[str]:
    """The sentence cut at ，；： outside brackets."""
    clauses, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        if ch == "（":
            depth += 1
        elif ch == "）":
            depth = max(depth - 1, 0)
        elif ch in "，；：。" and depth == 0:
            clauses.append(sentence[start:i])
            start = i + 1
    clauses.append(sentence[start:])
    return [c for c in clauses if c.strip()]


def _mask_brackets(text: str) -> str:
    """The text with what is inside brackets blanked (same length), so dates there are not read."""
    out, depth = [], 0
    for ch in text:
        if ch == "（":
            depth += 1
            out.append(ch)
        elif ch == "）":
            depth = max(depth - 1, 0)
            out.append(ch)
        else:
            out.append("□" if depth else ch)
    return "".join(out)


def _adjacent_weekend(days: list[date]) -> list[date]:
    """The Saturdays and Sundays right before and after a block ("与周末连休")."""
    extra = []
    day = min(days) - timedelta(days=1)
    while day.weekday() >= 5:
        extra.append(day)
        day -= timedelta(days=1)
    day = max(days) + timedelta(days=1)
    while day.weekday() >= 5:
        extra.append(day)
        day += timedelta(days=1)
    return extra


def _mid_autumn(year: int) -> date | None:
    import holidays

    found = [d for d, name in holidays.China(years=year, language="zh_CN", observed=False).items()
             if MID_AUTUMN in name.split("; ")]
    return found[0] if found else None


# ----- writing the data file ----------------------------------------------------------------------


def render_notice_yaml(notice: ParsedNotice, url: str | None = None) -> str:
    """The ``<year>.yaml`` file for the notice, in the form of the files in config/calendars."""
    lines = [
        f"# {notice.title}（{notice.document_number}）.",
        "# Written by `catalog-tracker calendar import` from the notice's text; check it against the published notice.",
        "# Rest days: the days off the arrangement names, by holiday (weekend days inside a block included).",
        "# Make-up working days (调休上班): weekend days the notice turns into working days.",
        "# Days listed here win over the holidays package; other days follow the Monday–Friday rule.",
        f"year: {notice.year}",
        "notice:",
        f"  title: {notice.title}",
        f"  document_number: {notice.document_number}",
        f"  date: {notice.issued.isoformat()}",
    ]
    if url:
        lines.append(f"  url: {url}")
    for key, working in (("rest_days", False), ("make_up_working_days", True)):
        listed = [(name, notice.days_of(name, working=working)) for name in notice.holidays]
        listed = [(name, days) for name, days in listed if days]
        if listed:
            lines.append(f"{key}:")
            lines += [f"  {name}: [{', '.join(d.isoformat() for d in days)}]" for name, days in listed]
    return "\n".join(lines) + "\n"
