"""The event contract of ``shared/EVENTS.md`` as plain Python: types, payloads and the parsed event.

``models.cloudevents`` reads message bytes into CloudEvent attributes and
``models.validation`` turns attributes into an ``InboundEvent`` or raises
``InvalidEvent`` whose ``reason`` names the field that is wrong, so a dead
letter tells the producing team what to fix. Which topic carries which type
is the streams' business (``streams.topics``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from models.clock import SHANGHAI

# ---------------------------------------------------------------- constants

TRACKER_SOURCE = "/yuhua/catalog-tracker"

REGULATION_CHANGED = "gov.catalog.regulation.changed"
DUTY_CHANGED = "gov.catalog.duty.changed"
CATALOG_UPDATED = "gov.catalog.catalog.updated"
OBJECTION_RAISED = "gov.catalog.objection.raised"
OBJECTION_RESOLVED = "gov.catalog.objection.resolved"
DATA_AGGREGATED = "gov.catalog.data.aggregated"
DATA_OPENED = "gov.catalog.data.opened"
DATA_SHARED = "gov.catalog.data.shared"

REMINDER = "gov.catalog.obligation.reminder"
VIOLATION_DETECTED = "gov.catalog.violation.detected"
OBLIGATION_OPENED = "gov.catalog.obligation.opened"
OBLIGATION_COMPLETED = "gov.catalog.obligation.completed"
OBLIGATION_RESCHEDULED = "gov.catalog.obligation.rescheduled"
OBLIGATION_CANCELLED = "gov.catalog.obligation.cancelled"
EVENT_REJECTED = "gov.catalog.event.rejected"
NOTIFICATION_UNDELIVERABLE = "gov.catalog.notification.undeliverable"  # a delivery given up (issue 14)

INPUT_TYPES: tuple[str, ...] = (REGULATION_CHANGED, DUTY_CHANGED, CATALOG_UPDATED, OBJECTION_RAISED, OBJECTION_RESOLVED,
                                 DATA_AGGREGATED, DATA_OPENED, DATA_SHARED)
DATA_ACTIVITY_TYPES: tuple[str, ...] = (DATA_AGGREGATED, DATA_OPENED, DATA_SHARED)
OUTPUT_TYPES: tuple[str, ...] = (REMINDER, VIOLATION_DETECTED, OBLIGATION_OPENED, OBLIGATION_COMPLETED,
                                 OBLIGATION_RESCHEDULED, OBLIGATION_CANCELLED, EVENT_REJECTED,
                                 NOTIFICATION_UNDELIVERABLE)

SHARE_TYPES = ("unconditional", "conditional", "none")
OPEN_TYPES = ("unconditional", "conditional", "none")
RESOURCE_ACTIONS = ("added", "modified", "removed")
REGULATION_CHANGE_KINDS = ("enacted", "amended", "repealed")
DUTY_CHANGE_KINDS = ("added", "removed", "transferred", "merged", "split")
UPDATE_CYCLES = ("realtime", "daily", "weekly", "monthly", "quarterly", "half-yearly", "yearly", "irregular")
MUNICIPAL_PLATFORM = "municipal-platform"

# Length limits: anything longer is an "oversized value" and is dead-lettered.
MAX_ID = 256
MAX_SOURCE = 512
MAX_CODE = 64
MAX_TITLE = 1000
MAX_TEXT = 4000
MAX_LIST = 1000
MAX_RESOURCES = 5000
DEFAULT_MAX_BYTES = 1_048_576


class InvalidEvent(ValueError):
    """An input that cannot be accepted; ``reason`` is human-readable and names the field."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- payloads

@dataclass(frozen=True)
class RegulationChanged:
    regulation_id: str
    title: str
    change_kind: str
    changed_on: date
    affected_departments: tuple[str, ...]

    def departments(self) -> tuple[str, ...]:
        """Every affected department once, in order (a code listed twice owes one update)."""
        return tuple(dict.fromkeys(self.affected_departments))


@dataclass(frozen=True)
class DutyChanged:
    department: str
    changed_on: date
    change_kind: str
    description: str
    counterpart_departments: tuple[str, ...] = ()

    def departments(self) -> tuple[str, ...]:
        """The department and every counterpart, each once, in order."""
        return tuple(dict.fromkeys((self.department, *self.counterpart_departments)))


@dataclass(frozen=True)
class ResourceChange:
    code: str
    action: str
    name: str | None = None
    share_type: str | None = None
    previous_share_type: str | None = None
    open_type: str | None = None
    previous_open_type: str | None = None
    contains_personal_info: bool | None = None  # None: not stated (a modified entry keeps the register's value)
    desensitized: bool | None = None
    approval_ref: str | None = None
    classification: str | None = None
    responsible_party: str | None = None
    format: str | None = None
    update_cycle: str | None = None
    share_channel: str | None = None
    open_channel: str | None = None
    usage_requirements: str | None = None


@dataclass(frozen=True)
class CatalogUpdated:
    department: str
    submitted_at: datetime
    catalog_version: str
    resolves: tuple[str, ...] | None = None
    resources: tuple[ResourceChange, ...] = ()
    complete: bool = False  # True: ``resources`` is the whole catalog; register entries not listed are removed

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


@dataclass(frozen=True)
class ObjectionRaised:
    objection_id: str
    department: str
    resource_code: str
    raised_on: date
    raised_by: str | None = None

    def departments(self) -> tuple[str, ...]:
        return (self.department,) if self.raised_by is None else tuple(dict.fromkeys((self.department, self.raised_by)))


@dataclass(frozen=True)
class ObjectionResolved:
    objection_id: str
    department: str
    resource_code: str
    resolved_at: datetime

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


@dataclass(frozen=True)
class DataAggregated:
    """The data of one period of a resource reached the district resource library (第十二条)."""

    department: str
    resource_code: str
    period: str
    aggregated_at: datetime
    records: int | None = None

    @property
    def at(self) -> datetime:
        return self.aggregated_at

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


@dataclass(frozen=True)
class DataOpened:
    """A resource's data were opened to the public through ``channel`` (第十八条, 第二十条)."""

    department: str
    resource_code: str
    opened_at: datetime
    channel: str
    records: int | None = None

    @property
    def at(self) -> datetime:
        return self.opened_at

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


@dataclass(frozen=True)
class DataShared:
    """A resource's data were shared with other departments through ``channel`` (第十四条)."""

    department: str
    resource_code: str
    shared_at: datetime
    channel: str
    records: int | None = None

    @property
    def at(self) -> datetime:
        return self.shared_at

    def departments(self) -> tuple[str, ...]:
        return (self.department,)


DataActivity = DataAggregated | DataOpened | DataShared
Payload = (RegulationChanged | DutyChanged | CatalogUpdated | ObjectionRaised | ObjectionResolved | DataAggregated
           | DataOpened | DataShared)


@dataclass(frozen=True)
class InboundEvent:
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None
    data: Payload

    @property
    def key(self) -> tuple[str, str]:
        """Deduplication key: the same source and id are processed once."""
        return (self.source, self.id)

    def start_day(self) -> date:
        """The day the policy in force is looked up for (and deadlines count from)."""
        data = self.data
        if isinstance(data, (RegulationChanged, DutyChanged)):
            return data.changed_on
        if isinstance(data, CatalogUpdated):
            return data.submitted_at.astimezone(SHANGHAI).date()
        if isinstance(data, ObjectionRaised):
            return data.raised_on
        if isinstance(data, (DataAggregated, DataOpened, DataShared)):
            return data.at.astimezone(SHANGHAI).date()
        return data.resolved_at.astimezone(SHANGHAI).date()

    def departments(self) -> tuple[str, ...]:
        """Every department code the event names (the service checks them against the registry)."""
        return self.data.departments()


