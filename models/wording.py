"""Every sentence and label a person reads, in one place: Chinese first, English beside it.

Reminders, violation explanations, trigger summaries, obligation history, the
``watch`` lines, the CLI's report tables and the dashboard's labels (served by
``GET /api/wording``) all take their words from here; the legal words
themselves (article texts, obligation titles, citations) are policy data in
``config/policies/``. Labels are ``(zh, en)`` pairs; sentences are functions
that take the facts and return the Chinese text (the language supervisors
forward as it is).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from models.clock import SHANGHAI

Pair = tuple[str, str]  # (Chinese, English)
LANGUAGES = ("zh", "en")

WEEKDAYS_ZH = "一二三四五六日"

# ------------------------------------------------------------------ labels (zh, en)

OBLIGATION_KINDS: dict[str, Pair] = {
    "catalog-update": ("更新政务数据资源目录", "Update the data catalog"),
    "data-verification": ("校核政务数据", "Verify data"),
    "data-aggregation": ("按更新时限归集数据", "Aggregate data on time"),
    "data-opening": ("主动开放数据", "Open data"),
}

RULES: dict[str, Pair] = {
    "overdue": ("逾期未履行", "Overdue"),
    "share-scope-narrowed": ("擅自缩小无条件共享范围", "Unconditional sharing narrowed"),
    "sensitive-data-opened": ("个人信息未脱敏即开放", "Personal data opened without desensitization"),
    "unauthorised-channel": ("通过平台以外的渠道共享、开放", "Shared or opened outside the municipal platform"),
    "closed-data-opened": ("开放不予开放类数据", "Data classed not-to-be-opened was opened"),
}

# Short rule names for the report's tables.
RULES_SHORT: dict[str, Pair] = {
    "overdue": ("逾期", "overdue"),
    "share-scope-narrowed": ("缩小共享范围", "sharing narrowed"),
    "sensitive-data-opened": ("敏感数据开放", "sensitive data opened"),
    "unauthorised-channel": ("渠道违规", "channel"),
    "closed-data-opened": ("开放不予开放数据", "closed data opened"),
}

UPDATE_CYCLES: dict[str, Pair] = {
    "realtime": ("实时", "real time"), "daily": ("每日", "daily"), "weekly": ("每周", "weekly"),
    "monthly": ("每月", "monthly"), "quarterly": ("每季度", "quarterly"), "half-yearly": ("每半年", "half-yearly"),
    "yearly": ("每年", "yearly"), "irregular": ("不定期", "irregular"),
}

PERIOD_KINDS: dict[str, Pair] = {"day": ("日", "day"), "week": ("周", "ISO week"), "month": ("月", "month"),
                                 "quarter": ("季度", "quarter"), "half": ("半年", "half-year"),
                                 "year": ("年", "year")}

# The 第八条 attributes of a register entry.
ATTRIBUTES: dict[str, Pair] = {
    "name": ("名称", "Name"), "classification": ("分类", "Classification"),
    "responsible_party": ("责任方", "Responsible party"), "format": ("格式", "Format"),
    "update_cycle": ("更新时限", "Update cycle"), "share_type": ("共享类型", "Share type"),
    "share_channel": ("共享方式", "Share channel"), "open_type": ("开放类型", "Open type"),
    "open_channel": ("开放方式", "Open channel"), "usage_requirements": ("使用要求", "Usage requirements"),
    "contains_personal_info": ("含个人隐私信息", "Holds personal information"),
    "desensitized": ("已脱敏", "Desensitized"),
}

DATA_CHANNELS: dict[str, Pair] = {"municipal-platform": ("市政务数据资源管理平台", "the municipal data resource platform")}

REGISTER_ACTIONS: dict[str, Pair] = {"added": ("列入目录", "added"), "modified": ("修改", "modified"),
                                     "removed": ("移出目录", "removed"), "unchanged": ("未变化", "unchanged")}

ACTIVITIES: dict[str, Pair] = {
    "gov.catalog.data.aggregated": ("归集", "aggregated"), "gov.catalog.data.opened": ("开放", "opened"),
    "gov.catalog.data.shared": ("共享", "shared"),
}

# Why obligations were cancelled (stored in English in history and events, shown in Chinese).
CANCEL_REMOVED = "the resource was removed from the catalog"
CANCEL_CYCLE = "the resource's update cycle changed"
CANCEL_CLOSED = "the resource left the open list"
CANCEL_REASONS: dict[str, Pair] = {
    CANCEL_REMOVED: ("数据资源已从目录中移除", CANCEL_REMOVED),
    CANCEL_CYCLE: ("数据资源的更新时限已变更", CANCEL_CYCLE),
    CANCEL_CLOSED: ("数据资源已移出开放清单", CANCEL_CLOSED),
}

STATUSES: dict[str, Pair] = {
    "open": ("未完成", "Open"), "overdue": ("已逾期", "Overdue"), "completed": ("已完成", "Completed"),
    "cancelled": ("已撤销", "Cancelled"),
}

HISTORY_EVENTS: dict[str, Pair] = {
    "opened": ("开启", "opened"), "completed": ("完成", "completed"), "overdue": ("逾期", "overdue"),
    "reminded": ("提醒", "reminded"), "violation": ("违规", "violation"), "rescheduled": ("期限调整", "rescheduled"),
    "cancelled": ("撤销", "cancelled"),
}

SHARE_TYPES: dict[str, Pair] = {
    "unconditional": ("无条件共享", "shared unconditionally"), "conditional": ("有条件共享", "shared conditionally"),
    "none": ("不予共享", "not shared"),
}

OPEN_TYPES: dict[str, Pair] = {
    "unconditional": ("无条件开放", "opened unconditionally"), "conditional": ("有条件开放", "opened conditionally"),
    "none": ("不予开放", "not opened"),
}

RESOURCE_ACTIONS: dict[str, Pair] = {"added": ("新增", "added"), "modified": ("修改", "modified"),
                                     "removed": ("删除", "removed")}

REGULATION_CHANGE_KINDS: dict[str, Pair] = {"enacted": ("制定", "enacted"), "amended": ("修订", "amended"),
                                            "repealed": ("废止", "repealed")}

DUTY_CHANGE_KINDS: dict[str, Pair] = {
    "added": ("新增", "added"), "removed": ("取消", "removed"), "transferred": ("划转", "transferred"),
    "merged": ("合并", "merged"), "split": ("拆分", "split"),
}

# What ``watch`` calls each output event type.
NOTIFICATION_TYPES: dict[str, Pair] = {
    "gov.catalog.violation.detected": ("违规", "violation"),
    "gov.catalog.obligation.reminder": ("提醒", "reminder"),
    "gov.catalog.obligation.opened": ("义务开启", "obligation opened"),
    "gov.catalog.obligation.completed": ("义务完成", "obligation completed"),
    "gov.catalog.obligation.rescheduled": ("期限调整", "deadline moved"),
    "gov.catalog.obligation.cancelled": ("义务撤销", "obligation cancelled"),
    "gov.catalog.event.rejected": ("拒收", "rejected"),
}

# Columns of the yearly evaluation table (CLI), in order.
EVALUATION_COLUMNS: tuple[Pair, ...] = (
    ("部门", "Department"), ("代码", "Code"), ("义务", "Obligations"), ("按时完成", "On time"),
    ("逾期完成", "Late"), ("未到期", "Open"), ("已逾期", "Overdue"), ("按时率", "On-time rate"),
    ("违规", "Violations"), ("违规（按规则）", "Violations by rule"), ("违规（按条款）", "Violations by article"),
    ("平均用时（工作日）", "Average working days taken"),
)
# The second table: the catalog register, data on time (第八条, 第十二条) and opening on time (第二十条).
CATALOG_EVALUATION_TITLE: Pair = ("目录台账、数据归集与开放", "Catalog register, aggregation and opening")
CATALOG_EVALUATION_COLUMNS: tuple[Pair, ...] = (
    ("部门", "Department"), ("代码", "Code"), ("目录资源数", "Catalog size"), ("应归集期数", "Periods owed"),
    ("按时归集", "On time"), ("逾期归集", "Late"), ("未归集", "Missed"), ("未到期", "Not yet due"),
    ("开放义务", "Opening obligations"), ("按时开放", "Opened on time"), ("逾期开放", "Opened late"),
    ("逾期未开放", "Not opened, overdue"), ("渠道违规", "Channel violations"),
)
TOTAL: Pair = ("合计", "Total")

# The dashboard's labels (served with the other tables by GET /api/wording: dashboard_tables()).
DASHBOARD: dict[str, Pair] = {
    "app_title": ("政务数据资源目录时限监督", "Government data catalog deadline supervision"),
    "app_sub": ("长沙市雨花区 · 区数据资源中心", "Yuhua District, Changsha · Data Resource Center"),
    "nav_overview": ("总览", "Overview"), "nav_departments": ("部门", "Departments"),
    "nav_violations": ("违规", "Violations"), "nav_evaluation": ("年度评估", "Yearly evaluation"),
    "loading": ("正在加载…", "Loading…"),
    "footer": ("依据《长沙市雨花区政务数据资源管理暂行办法》（雨政办发〔2021〕9号）第十条、第十三条、第二十条、第二十四条、"
               "第二十五条。页面仅读取 HTTP API，并定时刷新。",
               "Under the Yuhua District Interim Measures for Government Data Resources (2021 No. 9), articles 10, 13, "
               "20, 24 and 25. This page reads only the HTTP API and refreshes itself."),
    "overview": ("总览", "Overview"),
    "open": ("未完成", "Open"), "due_soon": ("即将到期", "Due soon"), "overdue": ("已逾期", "Overdue"),
    "completed": ("已完成", "Completed"), "on_time": ("按时完成", "On time"), "late": ("逾期完成", "Completed late"),
    "cancelled": ("已撤销", "Cancelled"), "violations": ("违规", "Violations"),
    "attention": ("需要关注的义务", "Obligations needing attention"),
    "recent_violations": ("最新违规", "Latest violations"),
    "department": ("部门", "Department"), "obligation": ("义务", "Obligation"), "article": ("条款", "Article"),
    "start_day": ("起算日", "Start day"), "due_date": ("截止日", "Due date"),
    "days_left": ("剩余工作日", "Working days left"),
    "status": ("状态", "Status"), "trigger": ("触发事件", "Trigger"), "rule": ("规则", "Rule"),
    "explanation": ("说明", "Explanation"), "detected_at": ("发现时间", "Detected"),
    "none": ("暂无", "None"), "departments": ("部门", "Departments"), "kind": ("类型", "Kind"),
    "obligations": ("义务", "Obligations"), "reminders_sent": ("已发送提醒", "Reminders sent"),
    "stage": ("阶段", "Stage"), "history": ("历史", "History"), "counted": ("计入的工作日", "Working days counted"),
    "skipped": ("跳过的日期", "Days skipped"), "deadline_explained": ("期限计算", "How the deadline was counted"),
    "evaluation": ("年度评估", "Yearly evaluation"), "year": ("年度", "Year"), "on_time_rate": ("按时率", "On-time rate"),
    "total": ("合计", "Total"), "chart_title": ("各部门按时完成率", "On-time rate per department"),
    "violations_by_article": ("违规（按条款）", "Violations by article"),
    "updated": ("已更新", "Updated"), "tracker_time": ("系统时间", "Tracker time"),
    "offline": ("无法连接 API", "API not reachable"),
    "not_found": ("未找到", "Not found"), "working_days": ("个工作日", "working days"),
    "provisional": ("暂定（当年放假安排未发布）", "Provisional (holiday notice not yet published)"),
    "completed_at": ("完成时间", "Completed at"), "opened_at": ("开启时间", "Opened"),
    "due_end": ("届满时刻", "Ends at"), "policy": ("适用政策", "Policy"), "all_obligations": ("全部义务", "All obligations"),
    "full_text": ("完整计算说明", "Full explanation"),
    "time": ("时间", "Time"), "event": ("事件", "Event"), "no_chart": ("该年度暂无义务", "No obligations in this year"),
    "catalog": ("目录台账", "Catalog register"), "resource": ("数据资源", "Resource"),
    "resource_code": ("资源代码", "Code"), "cycle": ("更新时限", "Update cycle"),
    "share": ("共享", "Sharing"), "open_list": ("开放", "Opening"), "channel": ("渠道", "Channel"),
    "last_aggregated": ("最近归集", "Last aggregated"), "next_due": ("下次截止", "Next due"),
    "period": ("期次", "Period"), "revision": ("台账版本", "Register revision"),
    "catalog_version": ("目录版本", "Catalog version"), "attributes": ("属性", "Attributes"),
    "unmatched": ("未匹配的事件（目录台账中没有对应数据资源）", "Unmatched events (no such resource in the register)"),
    "held_since": ("暂存时间", "Held since"), "activity": ("活动", "Activity"),
    "register_history": ("台账变更记录", "Register history"), "state": ("状态", "State"),
    "ok": ("正常", "In order"), "not_stated": ("未列明", "not stated"), "yes": ("是", "yes"), "no": ("否", "no"),
    "removed": ("已移出目录", "Removed"), "catalog_empty": ("目录台账暂无数据资源", "No resource in the register yet"),
    "catalog_size": ("目录资源数", "Catalog size"), "periods_owed": ("应归集期数", "Periods owed"),
    "periods_on_time": ("按时归集", "On time"), "periods_late": ("逾期归集", "Late"),
    "periods_missed": ("未归集", "Missed"), "opening_on_time": ("按时开放", "Opened on time"),
    "opening_late": ("逾期开放", "Opened late"), "channel_violations": ("渠道违规", "Channel violations"),
    "disagreement": ("与台账不一致", "Disagrees with the register"),
    "token_title": ("需要访问令牌", "Access token required"),
    "token_help": ("本系统的 API 需要读取令牌（TRACKER_READ_TOKEN）。令牌只保存在本浏览器标签页的会话中。",
                   "This tracker's API needs its read token (TRACKER_READ_TOKEN). It is kept only for this browser "
                   "tab's session."),
    "token_wrong": ("令牌无效，请重新输入。", "The token was not accepted; enter it again."),
    "token_label": ("令牌", "Token"), "token_submit": ("确定", "Continue"),
}


def zh(table: Mapping[str, Pair], key: str | None, default: str | None = None) -> str:
    """The Chinese label of ``key`` in ``table`` (``default``, else the key itself, when it has none)."""
    pair = table.get(key or "")
    if pair is not None:
        return pair[0]
    return default if default is not None else (key or "")


def dashboard_tables() -> dict[str, dict[str, Pair]]:
    """Every label table the dashboard shows, both languages (``GET /api/wording``): the page keeps no words."""
    return {"labels": DASHBOARD, "kinds": OBLIGATION_KINDS, "rules": RULES, "statuses": STATUSES,
            "history": HISTORY_EVENTS, "share_types": SHARE_TYPES, "open_types": OPEN_TYPES,
            "notifications": NOTIFICATION_TYPES, "cycles": UPDATE_CYCLES, "attributes": ATTRIBUTES,
            "register_actions": REGISTER_ACTIONS, "activities": ACTIVITIES, "channels": DATA_CHANNELS}


# ------------------------------------------------------------------ days and instants

def day_text(d: date) -> str:
    """2026-03-23（星期一）"""
    return f"{d.isoformat()}（星期{WEEKDAYS_ZH[d.weekday()]}）"


def instant_text(at: datetime) -> str:
    """2026-03-23 10:00, in Asia/Shanghai."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def department_label(code: str | None, name: str | None) -> str:
    """区教育局（jyj）; the bare code when the registry does not know it; - when there is none."""
    if not code:
        return "-"
    return f"{name}（{code}）" if name else code


# ------------------------------------------------------------------ triggers

def regulation_summary(title: str, change_kind: str, regulation_id: str, changed_on: date) -> str:
    kind = zh(REGULATION_CHANGE_KINDS, change_kind)
    return f"法律法规{kind}：《{title.strip('《》')}》（编号 {regulation_id}），{kind}日期 {changed_on.isoformat()}"


def duty_summary(department_name: str, change_kind: str, description: str, counterpart_names: list[str],
                 changed_on: date) -> str:
    with_whom = f"，涉及{'、'.join(counterpart_names)}" if counterpart_names else ""
    return (f"{department_name}行政管理职能{zh(DUTY_CHANGE_KINDS, change_kind)}：{description}{with_whom}，"
            f"变更日期 {changed_on.isoformat()}")


def objection_summary(objection_id: str, raised_by_name: str | None, resource_code: str, raised_on: date) -> str:
    raised_by = f"由{raised_by_name}提出，" if raised_by_name else ""
    return f"数据疑义（编号 {objection_id}）：{raised_by}针对数据资源 {resource_code}，提出日期 {raised_on.isoformat()}"


# ------------------------------------------------------------------ reminders

def reminder_text(*, department_label: str, due_date: date, title: str, working_days_left: int,
                  provisional: bool, trigger_summary: str, regulation_ref: str, article: str) -> str:
    left = "今天是期限最后一天" if working_days_left <= 0 else f"剩余 {working_days_left} 个工作日"
    note = "（暂定期限：涉及尚未公布放假安排的年份）" if provisional else ""
    return (f"提醒：{department_label}应于 {day_text(due_date)} 24:00 前{title}，{left}{note}。"
            f"触发事件：{trigger_summary}。依据{regulation_ref}{article}。")


# ------------------------------------------------------------------ violations

def overdue_explanation(*, department_label: str, kind_title: str, regulation_ref: str, citations_text: str,
                        trigger_summary: str, trigger_event_id: str, trigger_source: str, article: str,
                        article_words: str, start_day: date, working_days: int, due_date: date, late_text: str,
                        provisional: bool, counting_zh: str) -> str:
    note = "（注意：该期限涉及尚未公布放假安排的年份，为暂定期限。）" if provisional else ""
    return (
        f"{department_label}未在规定期限内{kind_title}，违反{regulation_ref}{citations_text}。\n"
        f"触发事件：{trigger_summary}（事件编号 {trigger_event_id}，来源 {trigger_source}）。\n"
        f"期限：依据{article}“{article_words.rstrip('；。')}”，"
        f"自 {start_day.isoformat()} 起计 {working_days} 个工作日（事件当日不计入），"
        f"应于 {day_text(due_date)} 24:00 前完成；{late_text}。{note}\n"
        f"期限计算：\n{counting_zh}"
    )


def late_text(completed_at: datetime | None, completed_by: str | None, now: datetime) -> str:
    if completed_at is not None:
        return f"实际于 {instant_text(completed_at)} 才完成（事件编号 {completed_by}），超过规定期限"
    return f"截至 {instant_text(now)} 仍未完成"


def resource_name(code: str, name: str | None) -> str:
    return f"“{name}”（{code}）" if name else f"{code}"


def share_narrowed_text(resource: str, action: str, previous_share_type: str | None, share_type: str | None) -> str:
    before = zh(SHARE_TYPES, previous_share_type or "unconditional", "无条件共享")
    if action == "removed":
        return f"将{before}类数据资源{resource}从目录中删除，且未提供审批依据（approval_ref）"
    return (f"将数据资源{resource}的共享类型由{before}改为{zh(SHARE_TYPES, share_type)}，"
            f"且未提供审批依据（approval_ref）")


def sensitive_opened_text(resource: str, previous_open_type: str | None, open_type: str | None) -> str:
    before = zh(OPEN_TYPES, previous_open_type, "未列明")
    return (f"将含个人隐私信息的数据资源{resource}的开放类型由{before}改为{zh(OPEN_TYPES, open_type)}，"
            f"且未标明已脱敏处理")


def content_violation_explanation(*, department_label: str, what: str, rule_title: str, regulation_ref: str,
                                  citations_text: str, catalog_version: str, submitted_at: datetime,
                                  event_id: str, source: str) -> str:
    return (
        f"{department_label}在政务数据资源目录更新中{what}，属于“{rule_title}”，"
        f"违反{regulation_ref}{citations_text}。\n"
        f"发现该情况的事件：政务数据资源目录更新（目录版本 {catalog_version}，"
        f"提交时间 {instant_text(submitted_at)}，事件编号 {event_id}，来源 {source}）。"
    )


# ------------------------------------------------------------------ the catalog register and its rules

def cycle_text(cycle: str | None) -> str:
    return zh(UPDATE_CYCLES, cycle, "未列明") if cycle else "未列明"


def period_text(period: str, start: date, end: date) -> str:
    """2026-11 期（2026-11-01 至 2026-11-30）"""
    return f"{period} 期（{start.isoformat()} 至 {end.isoformat()}）" if start != end else f"{period} 当日"


def channel_name(channel: str | None) -> str:
    if not channel:
        return "未列明"
    pair = DATA_CHANNELS.get(channel)
    return f"{pair[0]}（{channel}）" if pair else f"“{channel}”"


def aggregation_summary(resource: str, cycle: str, period: str, start: date, end: date) -> str:
    return (f"数据资源{resource}的更新时限为{cycle_text(cycle)}：{period_text(period, start, end)}的数据"
            f"应归集到区数据资源库")


def opening_summary(resource: str, open_type: str | None, catalog_version: str, submitted_at: datetime) -> str:
    return (f"数据资源{resource}列入开放清单（{zh(OPEN_TYPES, open_type)}），目录版本 {catalog_version}，"
            f"提交时间 {instant_text(submitted_at)}")


def aggregation_overdue_explanation(*, department_label: str, kind_title: str, regulation_ref: str,
                                    citations_text: str, trigger_summary: str, trigger_event_id: str,
                                    trigger_source: str, article: str, article_words: str, period_end: date,
                                    working_days: int, due_date: date, late_text: str, provisional: bool,
                                    counting_zh: str) -> str:
    note = "（注意：该期限涉及尚未公布放假安排的年份，为暂定期限。）" if provisional else ""
    return (
        f"{department_label}未{kind_title}：{trigger_summary}，但未按时归集，违反{regulation_ref}{citations_text}。\n"
        f"依据：{article}“{article_words.rstrip('；。')}”；更新时限以目录登记为准（目录更新事件编号 "
        f"{trigger_event_id}，来源 {trigger_source}）。\n"
        f"期限：每期数据应于该期结束（{period_end.isoformat()}）后 {working_days} 个工作日内归集（本区设定），"
        f"即应于 {day_text(due_date)} 24:00 前归集；{late_text}。{note}\n"
        f"期限计算：\n{counting_zh}"
    )


def aggregation_late_text(completed_at: datetime | None, completed_by: str | None, now: datetime) -> str:
    if completed_at is not None:
        return f"实际于 {instant_text(completed_at)} 才归集（事件编号 {completed_by}），超过规定期限"
    return f"截至 {instant_text(now)} 仍未归集"


def share_removed_by_snapshot_text(resource: str) -> str:
    return f"报送的全量目录（complete）未列入无条件共享类数据资源{resource}，使其移出目录，且未提供审批依据（approval_ref）"


def channel_registered_text(resource: str, case: str, channel: str, allowed: tuple[str, ...]) -> str:
    what = "共享方式" if case == "share" else "开放方式"
    return (f"将数据资源{resource}的{what}登记为{channel_name(channel)}，不是允许的渠道"
            f"（{'、'.join(channel_name(c) for c in allowed)}）")


def closed_opened_text(resource: str) -> str:
    return f"开放了目录中登记为不予开放类的数据资源{resource}"


def activity_sensitive_text(resource: str) -> str:
    return f"开放了目录中登记为含个人隐私信息且未脱敏的数据资源{resource}"


def activity_channel_text(resource: str, case: str, channel: str, allowed: tuple[str, ...]) -> str:
    what = "共享" if case == "share" else "开放"
    return (f"通过{channel_name(channel)}{what}数据资源{resource}，不是允许的渠道"
            f"（{'、'.join(channel_name(c) for c in allowed)}）")


def disagreement_note(disagreements: list[Mapping[str, Any]]) -> str:
    """Where the event's previous_* disagreed with the register: the register's value was used."""
    if not disagreements:
        return ""
    parts = []
    for d in disagreements:
        table = SHARE_TYPES if d["attribute"] == "share_type" else OPEN_TYPES
        parts.append(f"事件所述变更前{zh(ATTRIBUTES, d['attribute'])}为“{zh(table, d['event_value'])}”，"
                     f"目录台账记录为“{zh(table, d['register_value'])}”")
    return f"\n注：{'；'.join(parts)}；两者不一致，已按目录台账认定，并记录该不一致。"


def activity_violation_explanation(*, department_label: str, what: str, rule_title: str, regulation_ref: str,
                                   citations_text: str, activity: str, at: datetime, channel: str | None,
                                   event_id: str, source: str, register_text: str) -> str:
    via = f"，渠道 {channel}" if channel else ""
    return (
        f"{department_label}{what}，属于“{rule_title}”，违反{regulation_ref}{citations_text}。\n"
        f"发现该情况的事件：数据{zh(ACTIVITIES, activity)}（时间 {instant_text(at)}{via}，事件编号 {event_id}，"
        f"来源 {source}）。\n目录台账：{register_text}。"
    )


def register_text(entry_attributes: Mapping[str, Any], catalog_version: str, revision: int) -> str:
    """How a violation names the register entry it was judged against."""
    open_type = entry_attributes.get("open_type")
    personal = entry_attributes.get("contains_personal_info")
    return (f"开放类型 {zh(OPEN_TYPES, open_type, '未列明') if open_type else '未列明'}，"
            f"含个人隐私信息 {'是' if personal else ('否' if personal is False else '未列明')}，"
            f"已脱敏 {'是' if entry_attributes.get('desensitized') else '否'}"
            f"（目录版本 {catalog_version}，台账第 {revision} 版）")


def register_history_text(action: str, detail: Mapping[str, Any]) -> str:
    """One entry of a resource's register history as the dashboard shows it."""
    changes = detail.get("changes") or {}
    parts = []
    for name, change in changes.items():
        parts.append(f"{zh(ATTRIBUTES, name)}：{_attribute_value(name, change.get('before'))} → "
                     f"{_attribute_value(name, change.get('after'))}")
    text = zh(REGISTER_ACTIONS, action)
    if detail.get("implicit"):
        text += "（全量目录未列入）"
    if parts:
        text += "：" + "；".join(parts)
    note = disagreement_note(detail.get("disagreements") or [])
    return text + (note.replace("\n", " ") if note else "")


def _attribute_value(name: str, value: Any) -> str:
    if value is None:
        return "未列明"
    if isinstance(value, bool):
        return "是" if value else "否"
    table = {"share_type": SHARE_TYPES, "open_type": OPEN_TYPES, "update_cycle": UPDATE_CYCLES}.get(name)
    return zh(table, value) if table else str(value)


def held_reason(resource_code: str, department_label: str) -> str:
    return f"{department_label}的目录台账中没有数据资源 {resource_code}：事件暂存，待目录更新登记该资源后再判定"


PERIOD_EXAMPLES = {"day": "a day like 2026-11-20", "week": "an ISO week like 2026-W47", "month": "a month like 2026-11",
                   "quarter": "a quarter like 2026-Q4", "half": "a half-year like 2026-H2", "year": "a year like 2026"}


def period_mismatch_reason(period: str, kind: str, resource_code: str, cycle: str, expected_kind: str) -> str:
    """A dead letter's reason (English, like the contract's): the period does not fit the resource's cycle."""
    return (f"data.period {period!r} is {PERIOD_EXAMPLES[kind].split(' like ')[0]}, but resource {resource_code!r} has "
            f"update cycle {cycle} in the register: name {PERIOD_EXAMPLES[expected_kind]}")


# ------------------------------------------------------------------ obligation history

def history_text(what: str, detail: Mapping[str, Any]) -> str:
    """One entry of an obligation's history as the dashboard shows it."""
    if what == "opened":
        return (f"义务开启，截止日 {detail.get('due_date')}（{detail.get('working_days')} 个工作日，"
                f"政策 {detail.get('policy_id')}）")
    if what == "completed":
        when = "按时" if detail.get("on_time") else "逾期"
        note = f"；{zh(NOTES, detail['note'])}" if detail.get("note") else ""
        return (f"{when}完成，完成时间 {detail.get('completed_at')}，用时 {detail.get('working_days_taken')} "
                f"个工作日{note}")
    if what == "overdue":
        return "期限届满仍未完成，转为逾期" + (f"（{zh(NOTES, detail['note'])}）" if detail.get("note") else "")
    if what == "reminded":
        return f"已发送提醒：剩余 {detail.get('working_days_left')} 个工作日（阶段 {detail.get('stage')}）"
    if what == "violation":
        return f"发现违规 {detail.get('rule')}，依据 {'、'.join(detail.get('articles', []))}"
    if what == "rescheduled":
        return f"因节假日安排调整，截止日由 {detail.get('previous_due_date')} 改为 {detail.get('due_date')}"
    if what == "cancelled":
        return f"义务撤销：{zh(CANCEL_REASONS, detail.get('reason'))}"
    return what


# Notes the service writes into history entries (stored in English for machines, shown in Chinese).
NOTE_COMPLETED_BEFORE_TRIGGER = "completed by an update that arrived before its trigger"
NOTE_OVERDUE_ON_ARRIVAL = "already overdue when its event arrived"
NOTE_AGGREGATED_BEFORE_OPENING = "completed by an aggregation that arrived before the period's obligation opened"
NOTE_OVERDUE_WHEN_OPENED = "the period's deadline had passed when its obligation opened"
NOTES: dict[str, Pair] = {
    NOTE_COMPLETED_BEFORE_TRIGGER: ("由先于触发事件到达的目录更新完成", NOTE_COMPLETED_BEFORE_TRIGGER),
    NOTE_OVERDUE_ON_ARRIVAL: ("事件到达时已超过期限", NOTE_OVERDUE_ON_ARRIVAL),
    NOTE_AGGREGATED_BEFORE_OPENING: ("由先于本期义务开启到达的归集记录完成", NOTE_AGGREGATED_BEFORE_OPENING),
    NOTE_OVERDUE_WHEN_OPENED: ("本期义务开启时已超过期限", NOTE_OVERDUE_WHEN_OPENED),
}


# ------------------------------------------------------------------ watch lines

def watch_parts(type_: str, data: Mapping[str, Any]) -> list[str]:
    """The words after ``[label] department article`` in a ``watch`` line."""
    parts: list[str] = []
    if type_ == "gov.catalog.event.rejected":
        parts.append(f"{data.get('topic', '?')}@{data.get('partition', '?')}:{data.get('offset', '?')}")
        parts.append(f"原因: {data.get('reason', '')}")
        return parts
    if data.get("due_date"):
        parts.append(f"截止 {data['due_date']}")
    if type_ == "gov.catalog.obligation.reminder":
        if data.get("working_days_left") is not None:
            parts.append(f"剩余 {data['working_days_left']} 个工作日")
        if data.get("provisional"):
            parts.append("(期限暂定：当年放假通知未发布)")
    if type_ == "gov.catalog.obligation.completed" and "on_time" in data:
        parts.append("按时完成" if data["on_time"] else "逾期完成")
    if data.get("resource_code"):
        parts.append(f"资源 {data['resource_code']}")
    if data.get("period"):
        parts.append(f"期次 {data['period']}")
    if type_ == "gov.catalog.obligation.cancelled" and data.get("reason"):
        parts.append(f"原因: {zh(CANCEL_REASONS, data['reason'])}")
    if data.get("rule"):
        parts.append(f"规则 {data['rule']}")
    return parts


def watch_obligation(obligation_id: str) -> str:
    return f"(义务 {obligation_id})"


UNKNOWN: Pair = ("未知", "unknown")


# ------------------------------------------------------------------ the yearly evaluation

def evaluation_title(year: int, as_of: datetime) -> str:
    return f"{year} 年度政务数据资源管理工作情况评价（第二十四条） — 截至 {instant_text(as_of)}"


# ------------------------------------------------------------------ delivery: reminders and violations reach people
# (issue 14: email, DingTalk, WeCom, the generic webhook, the delivery log, the iCalendar feed)

LEVELS: dict[str, Pair] = {"blue": ("蓝色预警", "Blue warning"), "yellow": ("黄色预警", "Yellow warning"),
                           "red": ("红色预警", "Red warning")}
LEVEL_MEANINGS: dict[str, Pair] = {"blue": ("期限临近", "deadline approaching"),
                                   "yellow": ("期限将至", "deadline due"),
                                   "red": ("已逾期或发现违规", "overdue or a violation found")}
ROLES: dict[str, Pair] = {"staff": ("专职人员", "staff"), "head": ("第一责任人", "head"),
                          "supervisor": ("区数据资源中心", "data resource center")}
CHANNELS: dict[str, Pair] = {"email": ("电子邮件", "email"), "dingtalk": ("钉钉", "DingTalk"),
                             "wecom": ("企业微信", "WeCom"), "webhook": ("Webhook", "webhook"),
                             "none": ("无渠道", "no channel")}
DELIVERY_STATUSES: dict[str, Pair] = {
    "pending": ("待发送", "pending"), "claimed": ("发送中", "sending"), "sent": ("已送达", "sent"),
    "failed": ("无法送达", "undeliverable"), "skipped": ("未发送", "not sent"),
}
NOTICE_FACTS: dict[str, Pair] = {
    "level": ("预警等级", "Warning level"), "department": ("部门", "Department"), "obligation": ("义务", "Obligation"),
    "deadline": ("期限", "Deadline"), "article": ("依据条款", "Article"), "rule": ("违规类型", "Violation"),
    "notification_id": ("通知编号", "Notification id"), "link": ("查看详情", "Details"),
    "detail": ("说明", "Details"),
}
# The dashboard's and the API's labels for delivery (GET /api/delivery serves them).
DELIVERY_LABELS: dict[str, Pair] = {
    "title": ("通知送达", "Notification delivery"),
    "channels": ("已配置的渠道", "Channels configured"), "no_channels": ("未配置任何渠道", "No channel configured"),
    "missing_contacts": ("未登记联系人的部门", "Departments without contacts"),
    "lacks": ("缺少", "Lacks"), "undeliverable": ("无法送达的通知", "Undeliverable notifications"),
    "deliveries": ("通知送达记录", "Deliveries"), "channel": ("渠道", "Channel"), "recipient": ("接收人", "Recipient"),
    "status": ("状态", "Status"), "attempts": ("尝试次数", "Attempts"), "reason": ("原因", "Reason"),
    "level": ("预警等级", "Level"), "notification": ("通知", "Notification"), "updated_at": ("时间", "Time"),
    "department": ("部门", "Department"), "none": ("暂无", "None"), "ics": ("订阅期限日历", "Subscribe to the deadlines"),
}


def level_label(level: str) -> str:
    """蓝色预警（期限临近）"""
    return f"{zh(LEVELS, level)}（{zh(LEVEL_MEANINGS, level)}）"


def reminder_notice_title(*, level: str, department_label: str, kind_title: str, working_days_left: int) -> str:
    left = "今天是期限最后一天" if working_days_left <= 0 else f"剩余 {working_days_left} 个工作日"
    return f"【{zh(LEVELS, level)}】{department_label}：{kind_title}，{left}"


def violation_notice_title(*, level: str, department_label: str, rule_title: str, article: str) -> str:
    return f"【{zh(LEVELS, level)}】{department_label}：{rule_title}（{article}）"


def deadline_fact(due_date: date, working_days_left: int | None, overdue: bool = False) -> str:
    """2026-03-23（星期一）24:00 前，剩余 1 个工作日"""
    if overdue:
        return f"{day_text(due_date)} 24:00，已超过期限"
    if working_days_left is None:
        return f"{day_text(due_date)} 24:00 前"
    if working_days_left <= 0:
        return f"{day_text(due_date)} 24:00 前，今天是期限最后一天"
    return f"{day_text(due_date)} 24:00 前，剩余 {working_days_left} 个工作日"


def greeting(name: str | None, title: str | None) -> str:
    """张三局长：/ 李四同志：/ 各位："""
    if not name:
        return "各位："
    return f"{name}{title or '同志'}："


def notification_id_note(*notification_ids: str) -> str:
    return (f"通知编号 {'、'.join(notification_ids)}。同一编号的通知只发送一次；如收到两条相同编号的通知，"
            f"为同一通知的重复发送，无需重复处理。")


def robot_mentions(mobiles: list[str]) -> str:
    """@13800000001 @13800000002 (DingTalk and WeCom ping the people whose numbers the text names)."""
    return " ".join(f"@{mobile}" for mobile in mobiles)


def digest_title(count: int, day: date) -> str:
    return f"【提醒汇总】{day.isoformat()} 共 {count} 项政务数据资源目录期限提醒"


def digest_intro(count: int) -> str:
    return f"今天有 {count} 项期限提醒，逐项如下："


def footer_text() -> str:
    return "本通知由政务数据资源目录时限监督系统（区数据资源中心）自动发送，请勿直接回复。"


# Why a delivery was not made (the delivery log and the dashboard show these).
def skip_obligation_closed(status: str) -> str:
    if status == "overdue":
        return "义务已逾期，提醒不再发送（逾期违规另行通知）"
    return f"义务在提醒送达前{zh(STATUSES, status)}，提醒不再发送"


def skip_no_contacts(department_label: str, roles: list[str]) -> str:
    return f"{department_label}未登记{'、'.join(zh(ROLES, r) for r in roles)}，无人可通知"


def skip_no_address(person: str, channel: str) -> str:
    needs = "电子邮箱" if channel == "email" else "手机号"
    return f"{person}未登记{needs}，无法通过{zh(CHANNELS, channel)}通知"


def skip_too_old(produced_at: datetime, max_age_hours: float) -> str:
    return f"通知产生于 {instant_text(produced_at)}，读到时已超过 {max_age_hours:g} 小时，不再发送"


def skip_unreadable(reason: str) -> str:
    return f"通知无法读取，未发送：{reason}"


def gave_up(attempts: int, last_reason: str) -> str:
    return f"尝试 {attempts} 次仍未送达，停止重试。最后一次：{last_reason}"


def missing_contacts_line(entries: list[tuple[str, tuple[str, ...]]], label) -> str:
    """One log line: 未登记联系人的部门（2）：区城市管理和综合执法局（cgj）缺专职人员、第一责任人；…"""
    parts = [f"{label(code) if code != '-' else '（未标记区数据资源中心）'}缺{'、'.join(zh(ROLES, r) for r in roles)}"
             for code, roles in entries]
    return f"未登记联系人的部门（{len(entries)}）/ departments without contacts: " + "；".join(parts)


# The iCalendar feed (GET /api/departments/{code}/deadlines.ics).
def calendar_name(department_label: str) -> str:
    return f"{department_label} · 政务数据资源目录期限"


def calendar_event_summary(kind_title: str, article: str, overdue: bool) -> str:
    mark = "【已逾期】" if overdue else "【截止】"
    return f"{mark}{kind_title}（{article}）"


def calendar_event_description(*, department_label: str, kind_title: str, due_date: date, article: str,
                               trigger_summary: str, obligation_id: str, link: str | None) -> str:
    lines = [f"{department_label}应于 {day_text(due_date)} 24:00 前{kind_title}。",
             f"依据：{article}", f"触发事件：{trigger_summary}", f"义务编号：{obligation_id}"]
    if link:
        lines.append(f"查看详情：{link}")
    return "\n".join(lines)


def calendar_alarm_text(kind_title: str, stage: int) -> str:
    left = "今天是期限最后一天" if stage == 0 else f"剩余 {stage} 个工作日"
    return f"提醒：{kind_title}，{left}"

NOTIFICATION_TYPES["gov.catalog.notification.undeliverable"] = ("无法送达", "undeliverable")

MAIL_FROM_NAME = "雨花区政务数据资源目录时限监督"


def truncated_note(link: str | None) -> str:
    return "……（说明过长已截断，完整内容见详情链接）" if link else "……（说明过长已截断，完整内容见仪表盘）"
# ------------------------------------------------------------------ the yearly evaluation as a workbook (Excel)

XLSX_SHEETS: dict[str, Pair] = {  # sheet names: at most 31 characters, none of []:*?/\
    "departments": ("部门评价", "Per department"),
    "articles": ("违规（按条款）", "Violations by article"),
    "catalog": ("目录台账与数据归集开放", "Catalog, aggregation, opening"),
    "obligations": ("计入的义务", "Counted obligations"),
    "chart": ("按时率图表", "On-time rate chart"),
}

# Per-department sheet; the rule columns ("violations_by_rule") follow RULES_SHORT, prefixed by XLSX_RULE_PREFIX.
XLSX_DEPARTMENT_COLUMNS: dict[str, Pair] = {
    "name": ("部门", "Department"), "department": ("代码", "Code"), "obligations": ("义务", "Obligations"),
    "on_time": ("按时完成", "On time"), "late": ("逾期完成", "Late"), "open": ("未到期", "Open"),
    "overdue": ("已逾期", "Overdue"), "on_time_rate": ("按时率", "On-time rate"), "violations": ("违规", "Violations"),
    "average_working_days_taken": ("平均用时（工作日）", "Average working days taken"),
}
XLSX_RULE_PREFIX: Pair = ("违规：", "Violations: ")

XLSX_COUNTED_COLUMNS: dict[str, Pair] = {
    "department_name": ("部门", "Department"), "department": ("代码", "Code"), "kind": ("义务类型", "Obligation"),
    "article": ("条款", "Article"), "start_day": ("起算日", "Start day"), "working_days": ("期限（工作日）", "Working days"),
    "due_date": ("截止日", "Due date"), "provisional": ("暂定期限", "Provisional"), "status": ("状态", "Status"),
    "outcome": ("评价计为", "Counted as"), "completed_at": ("完成时间", "Completed at"),
    "working_days_taken": ("用时（工作日）", "Working days taken"), "trigger_summary": ("触发事件", "Trigger"),
    "trigger_event_id": ("触发事件编号", "Trigger event id"), "policy_id": ("适用政策", "Policy"),
    "policy_version": ("政策版本", "Policy version"), "id": ("义务编号", "Obligation id"),
}

# What each obligation counts as in the evaluation (models.evaluation.outcome; None: cancelled, not judged).
OUTCOMES: dict[str, Pair] = {
    "on_time": ("按时完成", "On time"), "late": ("逾期完成", "Late"), "overdue": ("已逾期", "Overdue"),
    "open": ("未到期", "Open"), "": ("不计入（已撤销）", "Not counted (cancelled)"),
}
YES_NO: dict[bool, Pair] = {True: ("是", "yes"), False: ("否", "no")}
XLSX_TIME_NOTE: Pair = ("时间均为北京时间（UTC+8）", "Times are Beijing time (UTC+8)")
XLSX_NO_POLICY: Pair = ("（该年度没有适用的政策）", "(no policy applies to this year)")
DASHBOARD_EXPORTS: dict[str, Pair] = {"download_xlsx": ("下载 Excel 表格", "Download as Excel")}
DASHBOARD.update(DASHBOARD_EXPORTS)  # served with the other labels by dashboard_tables()


def evaluation_workbook_title(year: int, as_of: datetime, policies: list[str]) -> str:
    """The title row of every sheet: the year, the as-of time and the policies the year was judged under."""
    applied = "；".join(policies) if policies else XLSX_NO_POLICY[0]
    return f"{evaluation_title(year, as_of)} — 适用政策：{applied} — {XLSX_TIME_NOTE[0]}"


# ------------------------------------------------------------------ dead letters (catalog-tracker dead-letters list)

DEAD_LETTER_COLUMNS: tuple[Pair, ...] = (
    ("拒收时间", "Rejected at"), ("原消息位置", "Where it was read"), ("事件编号", "Event id"),
    ("重投次数", "Redrives"), ("原因", "Reason"), ("死信编号", "Dead letter id"),
)
DEAD_LETTER_SUPERSEDED: Pair = ("已重投并再次拒收，见", "redriven and rejected again, see")
