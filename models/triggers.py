"""How a triggering event is described in obligations and explanations (Chinese)."""
from __future__ import annotations

from models.events import DutyChanged, InboundEvent, ObjectionRaised, RegulationChanged
from models.obligations import Trigger

REGULATION_KINDS_ZH = {"enacted": "制定", "amended": "修订", "repealed": "废止"}
DUTY_KINDS_ZH = {"added": "新增", "removed": "取消", "transferred": "划转", "merged": "合并", "split": "拆分"}


def trigger_of(event: InboundEvent, department_name=lambda code: code) -> Trigger:
    """The Trigger of an event that opens obligations (regulation, duty change, objection)."""
    data = event.data
    if isinstance(data, RegulationChanged):
        summary = (f"法律法规{REGULATION_KINDS_ZH[data.change_kind]}：《{data.title.strip('《》')}》"
                   f"（编号 {data.regulation_id}），{REGULATION_KINDS_ZH[data.change_kind]}日期 {data.changed_on.isoformat()}")
        return Trigger(event.source, event.id, event.type, data.changed_on, summary)
    if isinstance(data, DutyChanged):
        counterparts = "、".join(department_name(c) for c in data.counterpart_departments)
        with_whom = f"，涉及{counterparts}" if counterparts else ""
        summary = (f"{department_name(data.department)}行政管理职能{DUTY_KINDS_ZH[data.change_kind]}："
                   f"{data.description}{with_whom}，变更日期 {data.changed_on.isoformat()}")
        return Trigger(event.source, event.id, event.type, data.changed_on, summary)
    if isinstance(data, ObjectionRaised):
        raised_by = f"由{department_name(data.raised_by)}提出，" if data.raised_by else ""
        summary = (f"数据疑义（编号 {data.objection_id}）：{raised_by}针对数据资源 {data.resource_code}，"
                   f"提出日期 {data.raised_on.isoformat()}")
        return Trigger(event.source, event.id, event.type, data.raised_on, summary, subject_ref=data.objection_id)
    raise ValueError(f"{event.type} does not open obligations")
