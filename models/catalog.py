"""The catalog register (目录台账, 第七条–第九条): each department's catalog as the tracker keeps it.

A ``CatalogEntry`` is one resource with its 第八条 attributes (classification,
responsible party, format, update cycle, share type and channel, open type
and channel, usage requirements, personal-information and desensitization
flags), a revision that counts its changes, and what the scheduler needs
(the next period whose aggregation it will owe). ``apply_update`` applies a
``gov.catalog.catalog.updated`` to a department's register and returns one
``RegisterChange`` per resource touched: the attributes before and after,
which changed, and where the event's ``previous_*`` disagreed with the
register (the register's value is the one used). A ``complete`` update is the
whole catalog: entries it does not list are removed.

Plain Python: the entries are handed in and out; storing them is the
repository's business.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Iterable, Mapping

from models.events import CatalogUpdated, ResourceChange

ACTIVE = "active"
REMOVED = "removed"
OPEN_TYPES_OPEN = ("unconditional", "conditional")  # on the open list (开放清单)

ATTRIBUTES: tuple[str, ...] = (
    "name", "classification", "responsible_party", "format", "update_cycle", "share_type", "share_channel",
    "open_type", "open_channel", "usage_requirements", "contains_personal_info", "desensitized",
)
# The attributes an event may state the earlier value of (``previous_share_type``, ``previous_open_type``).
PREVIOUS_FIELDS = {"share_type": "previous_share_type", "open_type": "previous_open_type"}

# What a change record says happened to an entry.
ADDED, MODIFIED, REMOVED_ACTION, UNCHANGED = "added", "modified", "removed", "unchanged"


@dataclass
class CatalogEntry:
    """One resource of a department's register, with its 第八条 attributes (None: not stated)."""

    department: str
    code: str
    name: str | None = None
    classification: str | None = None
    responsible_party: str | None = None
    format: str | None = None
    update_cycle: str | None = None
    share_type: str | None = None
    share_channel: str | None = None
    open_type: str | None = None
    open_channel: str | None = None
    usage_requirements: str | None = None
    contains_personal_info: bool | None = None
    desensitized: bool | None = None
    status: str = ACTIVE
    revision: int = 0  # how many changes the register applied to it (its version in the register)
    catalog_version: str = ""  # the department's catalog version that last changed it
    entered_at: datetime | None = None  # when it (last) entered the register: the update's submitted_at
    changed_at: datetime | None = None
    changed_by: str | None = None  # the event id of the last change
    removed_at: datetime | None = None
    cycle_source: str | None = None  # the update that set the current update cycle (it opens the periods' duties)
    cycle_event_id: str | None = None
    cycle_since: datetime | None = None
    next_period: str | None = None  # the next period whose aggregation obligation opens when it begins
    next_period_start: datetime | None = None
    last_aggregated_at: datetime | None = None
    last_aggregated_period: str | None = None
    last_opened_at: datetime | None = None
    last_shared_at: datetime | None = None
    version: int = 0  # optimistic concurrency, like obligations

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def attributes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ATTRIBUTES}

    @property
    def on_open_list(self) -> bool:
        return self.active and self.open_type in OPEN_TYPES_OPEN


ENTRY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CatalogEntry))


@dataclass(frozen=True)
class Disagreement:
    """The event said the value before was ``event_value``; the register held ``register_value`` (used)."""

    attribute: str
    event_value: Any
    register_value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "event_value": self.event_value, "register_value": self.register_value}


@dataclass(frozen=True)
class RegisterChange:
    """What one update did to one resource of the register."""

    code: str
    action: str  # added, modified, removed, unchanged
    before: dict[str, Any] | None  # the attributes as judged before the update (None: nothing known)
    after: dict[str, Any] | None  # None: removed
    changed: tuple[str, ...]
    disagreements: tuple[Disagreement, ...]
    entry: CatalogEntry  # the entry after the update (status removed once removed)
    previous_entry: CatalogEntry | None  # the active entry before, if the register had one
    resource: ResourceChange | None  # the change as sent; None when a complete snapshot left it out
    before_from: str  # where ``before`` came from: register, event or none

    @property
    def implicit_removal(self) -> bool:
        return self.resource is None

    @property
    def entered(self) -> bool:
        """It was not in the register (or had been removed) and is now."""
        return self.previous_entry is None and self.entry.active

    @property
    def removed(self) -> bool:
        return self.previous_entry is not None and not self.entry.active

    def history_detail(self) -> dict[str, Any]:
        """What the register's history keeps of this change."""
        before = self.previous_entry.attributes() if self.previous_entry is not None else None
        detail: dict[str, Any] = {
            "action": self.action,
            "changes": {name: {"before": (before or {}).get(name), "after": (self.after or {}).get(name)}
                        for name in self.changed},
            "disagreements": [d.to_dict() for d in self.disagreements],
        }
        if self.implicit_removal:
            detail["implicit"] = True  # not listed in a complete snapshot
        if self.resource is not None and self.resource.approval_ref:
            detail["approval_ref"] = self.resource.approval_ref
        return detail


def apply_update(register: Mapping[str, CatalogEntry], update: CatalogUpdated, *, event_id: str,
                 source: str) -> list[RegisterChange]:
    """Apply one catalog update to a department's register (code -> entry; removed entries may be in it).

    Returns the changes in the order of the update's resources, then (for a
    ``complete`` update) the removals of the active entries it did not list.
    The entries handed in are not modified; each change carries a new entry.
    """
    current = dict(register)
    changes: list[RegisterChange] = []
    for resource in update.resources:
        change = _apply_one(current.get(resource.code), resource, update, event_id, source)
        current[resource.code] = change.entry
        changes.append(change)
    if update.complete:
        listed = {resource.code for resource in update.resources}
        for code in sorted(current):
            entry = current[code]
            if code not in listed and entry.active:
                change = _remove(entry, None, update, event_id)
                current[code] = change.entry
                changes.append(change)
    return changes


def _apply_one(entry: CatalogEntry | None, resource: ResourceChange, update: CatalogUpdated, event_id: str,
               source: str) -> RegisterChange:
    known = entry if entry is not None and entry.active else None
    if resource.action == "removed":
        if known is None:  # nothing to remove: judged by what the event says it was
            before = _before_from_event(resource, removal=True)
            kept = entry if entry is not None else CatalogEntry(update.department, resource.code, status=REMOVED)
            return RegisterChange(resource.code, UNCHANGED, before, None, (), (), kept, None, resource,
                                  "event" if before else "none")
        return _remove(known, resource, update, event_id)
    stated = _stated(resource)
    if known is None:
        base = CatalogEntry(update.department, resource.code,
                            revision=entry.revision if entry is not None else 0,
                            version=entry.version if entry is not None else 0)
        base.entered_at = update.submitted_at
        after_entry = replace(base, **stated)
        before = _before_from_event(resource, removal=False)
        before_from = "event" if before else "none"
        disagreements: tuple[Disagreement, ...] = ()
    else:
        after_entry = replace(known, **stated)
        before = known.attributes()
        before_from = "register"
        disagreements = _disagreements(known, resource)
    was = known.attributes() if known is not None else {}
    changed = tuple(name for name in ATTRIBUTES if was.get(name) != getattr(after_entry, name))
    action = ADDED if known is None else (MODIFIED if changed else UNCHANGED)
    after_entry.status = ACTIVE
    after_entry.removed_at = None
    if action != UNCHANGED:
        _stamp(after_entry, update, event_id)
    if known is None or "update_cycle" in changed:
        after_entry.cycle_source, after_entry.cycle_event_id = source, event_id
        after_entry.cycle_since = update.submitted_at
    return RegisterChange(resource.code, action, before, after_entry.attributes(), changed, disagreements,
                          after_entry, known, resource, before_from)


def _remove(entry: CatalogEntry, resource: ResourceChange | None, update: CatalogUpdated,
            event_id: str) -> RegisterChange:
    after_entry = replace(entry, status=REMOVED, removed_at=update.submitted_at, next_period=None,
                          next_period_start=None)
    _stamp(after_entry, update, event_id)
    disagreements = _disagreements(entry, resource) if resource is not None else ()
    return RegisterChange(entry.code, REMOVED_ACTION, entry.attributes(), None, (), disagreements, after_entry,
                          entry, resource, "register")


def _stamp(entry: CatalogEntry, update: CatalogUpdated, event_id: str) -> None:
    entry.revision += 1
    entry.catalog_version = update.catalog_version
    entry.changed_at = update.submitted_at
    entry.changed_by = event_id


def _stated(resource: ResourceChange) -> dict[str, Any]:
    """The attributes the change states (a modification keeps whatever it leaves out)."""
    return {name: getattr(resource, name) for name in ATTRIBUTES if getattr(resource, name) is not None}


def _before_from_event(resource: ResourceChange, *, removal: bool) -> dict[str, Any] | None:
    """What the event says the entry was, when the register does not know it."""
    before: dict[str, Any] = {}
    for attribute, previous in PREVIOUS_FIELDS.items():
        value = getattr(resource, previous)
        if value is None and removal:
            value = getattr(resource, attribute)  # a removal's share/open type describe what was removed
        if value is not None:
            before[attribute] = value
    if not before:
        return None
    for flag in ("contains_personal_info", "desensitized"):  # the event's own flags describe it before too
        before[flag] = getattr(resource, flag)
    return before


def _disagreements(entry: CatalogEntry, resource: ResourceChange | None) -> tuple[Disagreement, ...]:
    if resource is None:
        return ()
    found = []
    for attribute, previous in PREVIOUS_FIELDS.items():
        said, held = getattr(resource, previous), getattr(entry, attribute)
        if said is not None and held is not None and said != held:
            found.append(Disagreement(attribute, said, held))
    return tuple(found)


def registered(entries: Iterable[CatalogEntry]) -> dict[str, CatalogEntry]:
    """Entries by code."""
    return {entry.code: entry for entry in entries}
