"""The rules judged against the catalog register: what a catalog update or a data activity shows at once.

- share-scope-narrowed (第二十五条（一）): an unconditionally shared resource becomes conditional / not shared,
  or leaves the catalog, without ``approval_ref``;
- sensitive-data-opened (第二十条): a resource holding personal information, not desensitized, is on the
  open list (the update puts it there) or is opened (``gov.catalog.data.opened``);
- unauthorised-channel (第十四条 / 第十八条, 第二十五条（七）): a share or open channel that is not allowed,
  registered in the catalog or used by a ``data.shared`` / ``data.opened``;
- closed-data-opened (第十九条): opening a resource the register classes 不予开放.

"Before" is the register's entry where there is one: the event's ``previous_*`` is used only when the
register does not know the resource, and where the two disagree the register wins and the explanation says
so (``models.catalog.Disagreement``). Each rule is on only where the policy in force lists it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from models import wording
from models.catalog import OPEN_TYPES_OPEN, CatalogEntry, RegisterChange, apply_update
from models.clock import SHANGHAI
from models.events import CatalogUpdated, DataActivity, DataOpened, DataShared, InboundEvent, ResourceChange
from models.ids import violation_id
from models.policy import (CLOSED_DATA_OPENED, OPEN, SENSITIVE_DATA_OPENED, SHARE, SHARE_SCOPE_NARROWED,
                           UNAUTHORISED_CHANNEL, Policy)
from models.violations import Violation

NARROWER_SHARE_TYPES = ("conditional", "none")
CHANNEL_ATTRIBUTES = {SHARE: "share_channel", OPEN: "open_channel"}


# ------------------------------------------------------------------ the predicates

def narrows_share_scope(change: RegisterChange) -> bool:
    """Unconditionally shared before; conditional, not shared or gone after; no approval given."""
    if change.resource is not None and change.resource.approval_ref:
        return False
    if (change.before or {}).get("share_type") != "unconditional":
        return False
    return change.after is None or change.after.get("share_type") in NARROWER_SHARE_TYPES


def exposes_personal_data(attributes: Mapping[str, Any] | None) -> bool:
    """On the open list with personal information and without desensitization."""
    return bool(attributes) and attributes.get("open_type") in OPEN_TYPES_OPEN \
        and bool(attributes.get("contains_personal_info")) and not attributes.get("desensitized")


def opens_sensitive_data(change: RegisterChange) -> bool:
    """The update puts personal data on the open list undesensitized (it was not so before)."""
    return exposes_personal_data(change.after) and not exposes_personal_data(change.before)


def unauthorised_channels(change: RegisterChange, allowed: tuple[str, ...]) -> list[str]:
    """The cases (share, open) whose channel the update sets to one that is not allowed."""
    if change.after is None:
        return []
    cases = []
    for case, attribute in CHANNEL_ATTRIBUTES.items():
        channel = change.after.get(attribute)
        if channel is not None and channel not in allowed and (change.before or {}).get(attribute) != channel:
            cases.append(case)
    return cases


def enters_open_list(change: RegisterChange) -> bool:
    """Added with, or changed to, an open type on the open list (unknown before counts only for an addition)."""
    if change.after is None or change.after.get("open_type") not in OPEN_TYPES_OPEN:
        return False
    before = (change.before or {}).get("open_type")
    if before is not None or change.before_from == "register":
        return before not in OPEN_TYPES_OPEN
    return change.resource is not None and change.resource.action == "added"


def leaves_open_list(change: RegisterChange) -> bool:
    """It was on the open list in the register and is not any more (or is gone)."""
    previous = change.previous_entry
    return previous is not None and previous.on_open_list and not change.entry.on_open_list


# ------------------------------------------------------------------ a catalog update

def update_violations(event: InboundEvent, update: CatalogUpdated, changes: list[RegisterChange], *,
                      policy: Policy, department_label: str, now: datetime) -> list[Violation]:
    """Every violation the changes of one catalog update show, judged against the register before it."""
    found: list[Violation] = []
    for change in changes:
        name = _name(change)
        if SHARE_SCOPE_NARROWED in policy.rules and narrows_share_scope(change):
            if change.implicit_removal:
                what = wording.share_removed_by_snapshot_text(name)
            else:
                what = wording.share_narrowed_text(name, "removed" if change.after is None else "modified",
                                                   change.before.get("share_type"),
                                                   (change.after or {}).get("share_type"))
            found.append(_update_violation(SHARE_SCOPE_NARROWED, None, event, update, change, policy,
                                           department_label, now, what, "share_type"))
        if SENSITIVE_DATA_OPENED in policy.rules and opens_sensitive_data(change):
            what = wording.sensitive_opened_text(name, (change.before or {}).get("open_type"),
                                                 change.after.get("open_type"))
            found.append(_update_violation(SENSITIVE_DATA_OPENED, None, event, update, change, policy,
                                           department_label, now, what, "open_type"))
        rule = policy.rules.get(UNAUTHORISED_CHANNEL)
        for case in unauthorised_channels(change, rule.allowed_channels) if rule else ():
            what = wording.channel_registered_text(name, case, change.after[CHANNEL_ATTRIBUTES[case]],
                                                   rule.allowed_channels)
            found.append(_update_violation(UNAUTHORISED_CHANNEL, case, event, update, change, policy,
                                           department_label, now, what, None))
    return found


def _name(change: RegisterChange) -> str:
    name = (change.after or {}).get("name") or (change.before or {}).get("name")
    if name is None and change.resource is not None:
        name = change.resource.name
    return wording.resource_name(change.code, name)


def _update_violation(rule: str, case: str | None, event: InboundEvent, update: CatalogUpdated,
                      change: RegisterChange, policy: Policy, department_label: str, now: datetime, what: str,
                      attribute: str | None) -> Violation:
    content_rule = policy.rules[rule]
    citations = content_rule.cites(case)
    disagreements = [d.to_dict() for d in change.disagreements if d.attribute == attribute]
    text = wording.content_violation_explanation(
        department_label=department_label, what=what, rule_title=content_rule.title,
        regulation_ref=policy.regulation_ref(), citations_text=policy.cite(citations),
        catalog_version=update.catalog_version, submitted_at=update.submitted_at, event_id=event.id,
        source=event.source) + wording.disagreement_note(disagreements)
    resource = change.resource
    before, after = change.before or {}, change.after or {}
    return _resource_violation(
        rule, case, citations, event, policy, now, text, department=update.department, resource_code=change.code,
        event_day=update.submitted_at.astimezone(SHANGHAI).date(),
        detail={"action": resource.action if resource else "removed",
                "share_type": after.get("share_type"), "previous_share_type": before.get("share_type"),
                "open_type": after.get("open_type"), "previous_open_type": before.get("open_type"),
                "catalog_version": update.catalog_version, "judged_against": change.before_from,
                "disagreements": disagreements,
                **({"implicit_removal": True} if change.implicit_removal else {})})


def _resource_violation(rule: str, case: str | None, citations: list[str] | tuple[str, ...], event: InboundEvent,
                        policy: Policy, now: datetime, explanation: str, *, department: str, resource_code: str,
                        event_day, detail: dict) -> Violation:
    """A content rule's violation about one resource: found at ``now``, no obligation and no deadline."""
    return Violation(
        id=violation_id(rule, event.source, event.id, resource_code, *((case,) if case else ())),
        rule=rule,
        article=citations[0],
        articles=tuple(citations),
        department=department,
        obligation_id=None,
        trigger_event_id=event.id,
        due_date=None,
        detected_at=now,
        event_day=event_day,
        policy_id=policy.id,
        explanation=explanation,
        detail={"resource_code": resource_code, **detail, **({"case": case} if case else {})},
        resource_code=resource_code,
    )


# ------------------------------------------------------------------ a data activity

def activity_violations(event: InboundEvent, activity: DataActivity, entry: CatalogEntry, *, policy: Policy,
                        department_label: str, now: datetime) -> list[Violation]:
    """What an opening or a sharing shows against the register entry of its resource."""
    found: list[Violation] = []
    name = wording.resource_name(entry.code, entry.name)
    channel_rule = policy.rules.get(UNAUTHORISED_CHANNEL)
    if isinstance(activity, (DataOpened, DataShared)) and channel_rule is not None \
            and activity.channel not in channel_rule.allowed_channels:
        case = OPEN if isinstance(activity, DataOpened) else SHARE
        found.append(_activity_violation(UNAUTHORISED_CHANNEL, case, event, activity, entry, policy, department_label,
                                         now, wording.activity_channel_text(name, case, activity.channel,
                                                                            channel_rule.allowed_channels)))
    if isinstance(activity, DataOpened):
        if CLOSED_DATA_OPENED in policy.rules and entry.open_type == "none":
            found.append(_activity_violation(CLOSED_DATA_OPENED, None, event, activity, entry, policy,
                                             department_label, now, wording.closed_opened_text(name)))
        if SENSITIVE_DATA_OPENED in policy.rules and entry.contains_personal_info and not entry.desensitized:
            found.append(_activity_violation(SENSITIVE_DATA_OPENED, None, event, activity, entry, policy,
                                             department_label, now, wording.activity_sensitive_text(name)))
    return found


def opening_counts(activity: DataActivity, entry: CatalogEntry, policy: Policy) -> bool:
    """Whether an opening fulfils the resource's data-opening obligation: through an allowed channel."""
    rule = policy.rules.get(UNAUTHORISED_CHANNEL)
    return isinstance(activity, DataOpened) and (rule is None or activity.channel in rule.allowed_channels)


def _activity_violation(rule: str, case: str | None, event: InboundEvent, activity: DataActivity,
                        entry: CatalogEntry, policy: Policy, department_label: str, now: datetime,
                        what: str) -> Violation:
    content_rule = policy.rules[rule]
    citations = content_rule.cites(case)
    text = wording.activity_violation_explanation(
        department_label=department_label, what=what, rule_title=content_rule.title,
        regulation_ref=policy.regulation_ref(), citations_text=policy.cite(citations), activity=event.type,
        at=activity.at, channel=getattr(activity, "channel", None), event_id=event.id, source=event.source,
        register_text=wording.register_text(entry.attributes(), entry.catalog_version, entry.revision))
    return _resource_violation(
        rule, case, citations, event, policy, now, text, department=entry.department, resource_code=entry.code,
        event_day=activity.at.astimezone(SHANGHAI).date(),
        detail={"activity": event.type, "channel": getattr(activity, "channel", None),
                "open_type": entry.open_type, "contains_personal_info": entry.contains_personal_info,
                "desensitized": entry.desensitized, "register_revision": entry.revision})


# ------------------------------------------------------------------ judged on the event alone

_NO_REGISTER_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)


def change_of(resource: ResourceChange, department: str = "-") -> RegisterChange:
    """The change one entry makes to an empty register: the rules as the event alone shows them."""
    update = CatalogUpdated(department, _NO_REGISTER_AT, "-", resources=(resource,))
    return apply_update({}, update, event_id="-", source="-")[0]


def content_violations(event: InboundEvent, *, policy: Policy, department_label: str,
                       now: datetime) -> list[Violation]:
    """What a catalog update shows judged without a register (every entry as new to the tracker)."""
    update = event.data
    if not isinstance(update, CatalogUpdated):
        return []
    changes = apply_update({}, update, event_id=event.id, source=event.source)
    return update_violations(event, update, changes, policy=policy, department_label=department_label, now=now)
