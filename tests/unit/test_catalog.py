"""Applying catalog updates to a department's register: additions, partial modifications, removals, snapshots."""
from __future__ import annotations

from dataclasses import replace

from models.catalog import ACTIVE, ADDED, MODIFIED, REMOVED, REMOVED_ACTION, UNCHANGED, CatalogEntry, apply_update
from models.events import CatalogUpdated, ResourceChange
from tests.fakes import shanghai

AT = shanghai(2026, 3, 10, 15)


def update(*resources: ResourceChange, complete: bool = False, version: str = "v2") -> CatalogUpdated:
    return CatalogUpdated("jyj", AT, version, resources=resources, complete=complete)


def entry(code: str, **attributes) -> CatalogEntry:
    values = dict(name=f"资源{code}", update_cycle="monthly", share_type="unconditional", open_type="none",
                  contains_personal_info=True, desensitized=False, revision=3, catalog_version="v1",
                  entered_at=shanghai(2026, 1, 5), cycle_event_id="c-0", cycle_source="/p", version=7)
    values.update(attributes)
    return CatalogEntry("jyj", code, **values)


def test_an_added_resource_enters_with_every_stated_attribute():
    change, = apply_update({}, update(ResourceChange(
        "R1", "added", name="学籍", classification="教育", responsible_party="学籍科", format="表格",
        update_cycle="weekly", share_type="conditional", share_channel="municipal-platform", open_type="none",
        open_channel=None, usage_requirements="仅限政务", contains_personal_info=True, desensitized=False)),
        event_id="c-1", source="/p")
    assert (change.action, change.entered, change.before, change.before_from) == (ADDED, True, None, "none")
    e = change.entry
    assert (e.status, e.revision, e.catalog_version, e.entered_at, e.changed_by) == (ACTIVE, 1, "v2", AT, "c-1")
    assert (e.update_cycle, e.share_channel, e.classification, e.usage_requirements) == (
        "weekly", "municipal-platform", "教育", "仅限政务")
    assert (e.cycle_event_id, e.cycle_source, e.cycle_since) == ("c-1", "/p", AT)
    assert "open_channel" not in change.changed and "update_cycle" in change.changed


def test_a_modification_keeps_what_it_does_not_state():
    change, = apply_update({"R1": entry("R1")}, update(ResourceChange("R1", "modified", share_type="conditional")),
                           event_id="c-2", source="/p")
    assert (change.action, change.changed, change.before_from) == (MODIFIED, ("share_type",), "register")
    assert change.before["share_type"] == "unconditional" and change.after["share_type"] == "conditional"
    e = change.entry
    assert (e.contains_personal_info, e.update_cycle, e.name, e.revision, e.version) == (True, "monthly", "资源R1", 4, 7)
    assert (e.cycle_event_id, e.entered_at) == ("c-0", shanghai(2026, 1, 5))  # the cycle did not change
    assert change.history_detail()["changes"] == {"share_type": {"before": "unconditional", "after": "conditional"}}


def test_previous_values_that_disagree_with_the_register_are_recorded_and_the_register_wins():
    change, = apply_update({"R1": entry("R1")}, update(ResourceChange(
        "R1", "modified", share_type="conditional", previous_share_type="conditional", open_type="none",
        previous_open_type="none")), event_id="c-2", source="/p")
    assert [d.to_dict() for d in change.disagreements] == [
        {"attribute": "share_type", "event_value": "conditional", "register_value": "unconditional"}]
    assert change.before["share_type"] == "unconditional"
    assert change.history_detail()["disagreements"][0]["register_value"] == "unconditional"


def test_the_event_previous_values_are_used_only_when_the_register_does_not_know_the_resource():
    change, = apply_update({}, update(ResourceChange("R9", "modified", share_type="none",
                                                     previous_share_type="unconditional")), event_id="c", source="/p")
    assert (change.action, change.before_from, change.before["share_type"]) == (ADDED, "event", "unconditional")
    assert change.disagreements == ()


def test_a_removal_keeps_the_entry_as_removed_and_stops_its_periods():
    change, = apply_update({"R1": entry("R1", next_period="2026-04", next_period_start=shanghai(2026, 4, 1))},
                           update(ResourceChange("R1", "removed")), event_id="c-3", source="/p")
    assert (change.action, change.removed, change.after) == (REMOVED_ACTION, True, None)
    assert (change.entry.status, change.entry.removed_at, change.entry.next_period_start) == (REMOVED, AT, None)
    assert change.entry.revision == 4 and change.previous_entry.next_period == "2026-04"


def test_removing_what_the_register_does_not_hold_changes_nothing():
    change, = apply_update({}, update(ResourceChange("R1", "removed", previous_share_type="unconditional")),
                           event_id="c", source="/p")
    assert (change.action, change.before, change.removed) == (UNCHANGED, {"share_type": "unconditional",
                                                                          "contains_personal_info": None,
                                                                          "desensitized": None}, False)


def test_a_complete_snapshot_removes_every_active_entry_it_does_not_list():
    register = {"R1": entry("R1"), "R2": entry("R2"), "R3": entry("R3", status=REMOVED)}
    changes = apply_update(register, update(ResourceChange("R1", "modified", name="学籍（新）"),
                                            ResourceChange("R4", "added", share_type="none"), complete=True),
                           event_id="c-4", source="/p")
    assert [(c.code, c.action, c.implicit_removal) for c in changes] == [
        ("R1", MODIFIED, False), ("R4", ADDED, False), ("R2", REMOVED_ACTION, True)]
    assert changes[2].history_detail()["implicit"] is True


def test_without_complete_unlisted_entries_stay():
    changes = apply_update({"R1": entry("R1"), "R2": entry("R2")}, update(ResourceChange("R1", "modified",
                                                                                         name="x")),
                           event_id="c", source="/p")
    assert [c.code for c in changes] == ["R1"]


def test_a_code_listed_twice_applies_in_order():
    first, second = apply_update({}, update(ResourceChange("R1", "added", share_type="unconditional"),
                                            ResourceChange("R1", "modified", share_type="none")),
                                 event_id="c", source="/p")
    assert (first.action, second.action, second.before["share_type"], second.entry.share_type) == (
        ADDED, MODIFIED, "unconditional", "none")
    assert second.entry.revision == 2


def test_a_removed_resource_added_again_enters_afresh_with_a_new_cycle():
    removed = entry("R1", status=REMOVED, removed_at=shanghai(2026, 2, 1))
    change, = apply_update({"R1": removed}, update(ResourceChange("R1", "added", update_cycle="monthly")),
                           event_id="c-5", source="/p")
    assert change.entered and change.previous_entry is None and change.before is None
    assert (change.entry.status, change.entry.removed_at, change.entry.entered_at) == (ACTIVE, None, AT)
    assert (change.entry.revision, change.entry.version, change.entry.cycle_event_id) == (4, 7, "c-5")


def test_an_update_that_states_what_the_register_holds_is_unchanged():
    held = entry("R1")
    change, = apply_update({"R1": held}, update(ResourceChange("R1", "modified", share_type="unconditional")),
                           event_id="c", source="/p")
    assert (change.action, change.changed, change.entry.revision) == (UNCHANGED, (), 3)
    assert replace(change.entry) == held
