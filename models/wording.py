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
}

RULES: dict[str, Pair] = {
    "overdue": ("逾期未履行", "Overdue"),
    "share-scope-narrowed": ("擅自缩小无条件共享范围", "Unconditional sharing narrowed"),
    "sensitive-data-opened": ("个人信息未脱敏即开放", "Personal data opened without desensitization"),
}

# Short rule names for the report's tables.
RULES_SHORT: dict[str, Pair] = {
    "overdue": ("逾期", "overdue"),
    "share-scope-narrowed": ("缩小共享范围", "sharing narrowed"),
    "sensitive-data-opened": ("敏感数据开放", "sensitive data opened"),
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
TOTAL: Pair = ("合计", "Total")

# The dashboard's labels (served by GET /api/wording).
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
}


def zh(table: Mapping[str, Pair], key: str | None, default: str | None = None) -> str:
    """The Chinese label of ``key`` in ``table`` (``default``, else the key itself, when it has none)."""
    pair = table.get(key or "")
    if pair is not None:
        return pair[0]
    return default if default is not None else (key or "")


def catalog(lang: str = "zh") -> dict[str, dict[str, str]]:
    """Every label table in one language, as the dashboard reads it (``GET /api/wording``)."""
    index = LANGUAGES.index(lang)
    tables = {"labels": DASHBOARD, "kinds": OBLIGATION_KINDS, "rules": RULES, "statuses": STATUSES,
              "history": HISTORY_EVENTS, "share_types": SHARE_TYPES, "open_types": OPEN_TYPES,
              "notifications": NOTIFICATION_TYPES}
    return {name: {key: pair[index] for key, pair in table.items()} for name, table in tables.items()}


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
    return what


# Notes the service writes into history entries (stored in English for machines, shown in Chinese).
NOTE_COMPLETED_BEFORE_TRIGGER = "completed by an update that arrived before its trigger"
NOTE_OVERDUE_ON_ARRIVAL = "already overdue when its event arrived"
NOTES: dict[str, Pair] = {
    NOTE_COMPLETED_BEFORE_TRIGGER: ("由先于触发事件到达的目录更新完成", NOTE_COMPLETED_BEFORE_TRIGGER),
    NOTE_OVERDUE_ON_ARRIVAL: ("事件到达时已超过期限", NOTE_OVERDUE_ON_ARRIVAL),
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
