"""The Trigger of an event that opens obligations, described as a supervisor reads it (``models.wording``)."""
from __future__ import annotations

from models import wording
from models.events import DutyChanged, InboundEvent, ObjectionRaised, RegulationChanged
from models.obligations import Trigger


def trigger_of(event: InboundEvent, department_name=lambda code: code) -> Trigger:
    """The Trigger of an event that opens obligations (regulation, duty change, objection)."""
    data = event.data
    if isinstance(data, RegulationChanged):
        summary = wording.regulation_summary(data.title, data.change_kind, data.regulation_id, data.changed_on)
        return Trigger(event.source, event.id, event.type, data.changed_on, summary)
    if isinstance(data, DutyChanged):
        summary = wording.duty_summary(department_name(data.department), data.change_kind, data.description,
                                       [department_name(c) for c in data.counterpart_departments], data.changed_on)
        return Trigger(event.source, event.id, event.type, data.changed_on, summary)
    if isinstance(data, ObjectionRaised):
        summary = wording.objection_summary(data.objection_id, department_name(data.raised_by) if data.raised_by
                                            else None, data.resource_code, data.raised_on)
        return Trigger(event.source, event.id, event.type, data.raised_on, summary, subject_ref=data.objection_id)
    raise ValueError(f"{event.type} does not open obligations")
