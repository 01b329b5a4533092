"""One contract for ``AbstractRepository`` / ``AbstractUnitOfWork`` (``models.ports``), run on every backend.

The scenarios are written once in ``RepositoryContract``; each subclass only says
how to make a unit of work and how to look at what it stored (eventsourcing's
style of testing one persistence contract against each backend):

- ``TestFakeRepository``: ``tests.fakes.FakeStore``, the in-memory fake the unit tests use;
- ``TestSqlRepository``: ``models.sql.repository`` on SQLite and on PostgreSQL (``database_url``).

What the service relies on is what is asserted. Inserts ignore an existing key and
say whether they inserted; obligations and outbox rows added twice *within one unit of
work* say False the second time, and whatever happens a stored row is never replaced by
a second add (SQL buffers those inserts, so across units of work it only guarantees the
row stays unique). Dead letters say False across units of work too: a replayed rejection
is counted as the no-op it is.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from models import messages
from models.catalog import REMOVED, CatalogEntry
from models.obligations import CANCELLED, COMPLETED, OPEN, OVERDUE, ConcurrentUpdate, Obligation
from models.ports import CatalogHistory, HeldEvent, PendingResolution, RescheduleJob, Unassessed
from models.reminders import Reminder
from models.violations import Violation
from streams.ingest import KafkaOrigin
from tests.fakes import FakeStore, shanghai

NOW = shanghai(2026, 3, 2, 10)


def obligation(id: str, **changes) -> Obligation:
    values = dict(id=id, kind="catalog-update", department="jyj", trigger_source="/yuhua/legal-affairs",
                  trigger_event_id="reg-1", trigger_type="gov.regulation.changed", trigger_summary="法律法规修订《某条例》",
                  subject_ref=None, start_day=date(2026, 3, 2), working_days=15, due_date=date(2026, 3, 23),
                  due_end=shanghai(2026, 3, 24), provisional=False, policy_id="yuhua-2023", policy_version="1",
                  article="第十条", overdue_citations=("第二十五条（八）",), reminder_stages=(5, 3, 1, 0),
                  reminder_time="09:00", opened_at=NOW, next_reminder_at=shanghai(2026, 3, 16, 9))
    values.update(changes)
    return Obligation(**values)


def reschedule_job(changed=()) -> RescheduleJob:
    return RescheduleJob(None, "running", date(2026, 1, 1), b"\x01\x00\x01", b"\x00\x00\x01", "f" * 64,
                         changed, NOW, NOW)


def pending(update_event_id: str, submitted_at: datetime, department: str = "jyj",
            trigger_key: str = "reg-1") -> PendingResolution:
    return PendingResolution(department, trigger_key, update_event_id, "/yuhua/catalog-platform", submitted_at,
                             f"v-{update_event_id}")


def reminder(id: str, obligation_id: str = "ob-1", stage: int = 5) -> Reminder:
    return Reminder(id, obligation_id, "jyj", stage, stage, date(2026, 3, 23), NOW)


def violation(id: str) -> Violation:
    return Violation(id=id, rule="overdue", article="第二十五条（八）", articles=("第二十五条（八）",), department="jyj",
                     obligation_id="ob-1", trigger_event_id="reg-1", due_date=date(2026, 3, 23),
                     detected_at=shanghai(2026, 3, 24), event_day=date(2026, 3, 2), policy_id="yuhua-2023",
                     explanation="逾期未更新", detail={"days_late": 1})


def unassessed(event_id: str) -> Unassessed:
    return Unassessed("/yuhua/legal-affairs", event_id, "gov.regulation.changed", date(2019, 1, 2), ("jyj",),
                      "unassessed: outside every policy", NOW, {"id": event_id, "data": {"title": "某条例"}})


def dead_letter(offset: int) -> messages.OutgoingMessage:
    origin = KafkaOrigin("catalog.regulation-changes", 0, offset, b"jyj", b"{not json")
    return messages.dead_letter(origin=origin, reason="the value is not JSON", now=NOW)


def entry(code: str, department: str = "jyj", **changes) -> CatalogEntry:
    values = dict(name=f"资源 {code}", classification="教育", responsible_party="学籍科", format="表格",
                  update_cycle="monthly", share_type="unconditional", share_channel="municipal-platform",
                  open_type="conditional", open_channel="municipal-platform", usage_requirements="仅限政务使用",
                  contains_personal_info=True, desensitized=False, revision=1, catalog_version="v1",
                  entered_at=NOW, changed_at=NOW, changed_by="c-1", cycle_source="/yuhua/catalog-platform",
                  cycle_event_id="c-1", cycle_since=NOW, next_period="2026-04",
                  next_period_start=shanghai(2026, 4, 1), last_aggregated_at=shanghai(2026, 3, 5, 9),
                  last_aggregated_period="2026-02", last_opened_at=None, last_shared_at=shanghai(2026, 3, 6))
    values.update(changes)
    return CatalogEntry(department, code, **values)


def held(event_id: str, event_time: datetime, code: str = "R-1", department: str = "jyj") -> HeldEvent:
    return HeldEvent(department, code, "/yuhua/aggregation", event_id, "gov.catalog.data.aggregated", event_time, NOW,
                     event_time + timedelta(days=7), "暂存", {"id": event_id, "data": {"period": "2026-02"}},
                     {"reference": ["catalog.data-activities", "0", "3"], "record": {"offset": 3},
                      "key_base64": None})


def change_record(code: str, action: str, revision: int) -> CatalogHistory:
    return CatalogHistory("jyj", code, NOW, NOW, f"c-{revision}", "/yuhua/catalog-platform", action, f"v{revision}",
                          revision, {"changes": {"share_type": {"before": None, "after": "unconditional"}}})


class RepositoryContract:
    """The scenarios; a subclass provides ``new_uow()``, ``stored_outbox()``, ``history()`` and
    ``catalog_history()``."""

    def new_uow(self):
        raise NotImplementedError

    def stored_outbox(self) -> list[str]:
        """Event ids of every outbox row, in the order they were queued."""
        raise NotImplementedError

    def history(self, obligation_id: str) -> list[tuple[str, str | None, dict]]:
        """(what, event id, detail) of an obligation's history, in order."""
        raise NotImplementedError

    def catalog_history(self, department: str, code: str) -> list[tuple[str, str, int, dict]]:
        """(action, event id, revision, detail) of a resource's register history, in order."""
        raise NotImplementedError

    def committed(self, work) -> object:
        """Run ``work(repo)`` in a unit of work and commit it; its result."""
        with self.new_uow() as uow:
            result = work(uow.repo)
            uow.commit()
        return result

    def read(self, work) -> object:
        """Run ``work(repo)`` in a unit of work left without commit."""
        with self.new_uow() as uow:
            return work(uow.repo)

    # ------------------------------------------------------------ processed events

    def test_an_event_is_processed_once_per_source_and_id(self):
        assert self.committed(lambda repo: repo.mark_processed("/a", "e1", "t", NOW)) is True
        assert self.committed(lambda repo: repo.mark_processed("/a", "e1", "t", NOW)) is False
        assert self.committed(lambda repo: repo.mark_processed("/b", "e1", "t", NOW)) is True

    def test_mark_processed_many_returns_only_the_new_keys(self):
        self.committed(lambda repo: repo.mark_processed("/a", "old", "t", NOW))
        new = self.committed(lambda repo: repo.mark_processed_many(
            [("/a", "old", "t"), ("/a", "new", "t"), ("/a", "new", "t"), ("/b", "old", "t")], NOW))
        assert new == {("/a", "new"), ("/b", "old")}
        assert self.committed(lambda repo: repo.mark_processed_many([("/a", "new", "t")], NOW)) == set()

    def test_a_forgotten_event_counts_as_new_again(self):
        self.committed(lambda repo: repo.mark_processed("/a", "e1", "t", NOW))
        self.committed(lambda repo: repo.forget_processed("/a", "e1"))
        self.committed(lambda repo: repo.forget_processed("/a", "never-seen"))  # no error
        assert self.committed(lambda repo: repo.mark_processed("/a", "e1", "t", NOW)) is True

    def test_forgetting_within_the_unit_that_marked_it(self):
        def work(repo):
            assert repo.mark_processed_many([("/a", "e1", "t")], NOW) == {("/a", "e1")}
            repo.forget_processed("/a", "e1")
        self.committed(work)
        assert self.committed(lambda repo: repo.mark_processed("/a", "e1", "t", NOW)) is True

    # ------------------------------------------------------------ units of work

    def test_leaving_a_unit_without_commit_rolls_everything_back(self):
        with self.new_uow() as uow:
            uow.repo.mark_processed("/a", "e1", "t", NOW)
            uow.repo.add_obligation(obligation("ob-1"))
            uow.repo.add_pending_resolution(pending("u1", NOW))
            uow.repo.add_outbox(messages.obligation_opened(obligation("ob-1"), NOW), NOW)
            uow.repo.add_history("ob-1", NOW, "opened", "reg-1", {})
        assert self.read(lambda repo: repo.open_obligations()) == []
        assert self.read(lambda repo: repo.take_pending_resolutions("jyj", "reg-1")) == []
        assert self.stored_outbox() == [] and self.history("ob-1") == []
        assert self.committed(lambda repo: repo.mark_processed("/a", "e1", "t", NOW)) is True

    def test_an_explicit_rollback_drops_the_changes(self):
        with self.new_uow() as uow:
            uow.repo.add_obligation(obligation("ob-1"))
            uow.rollback()
        assert self.read(lambda repo: repo.open_obligations()) == []

    def test_an_exception_inside_the_unit_rolls_back(self):
        with pytest.raises(RuntimeError):
            with self.new_uow() as uow:
                uow.repo.add_obligation(obligation("ob-1"))
                raise RuntimeError("the service failed half-way")
        assert self.read(lambda repo: repo.open_obligations()) == []

    def test_commit_makes_every_change_visible_to_the_next_unit(self):
        def work(repo):
            repo.add_obligation(obligation("ob-1"))
            repo.add_history("ob-1", NOW, "opened", "reg-1", {"due_date": "2026-03-23"})
            repo.add_outbox(messages.obligation_opened(obligation("ob-1"), NOW), NOW)
        self.committed(work)
        assert [o.id for o in self.read(lambda repo: repo.open_obligations())] == ["ob-1"]
        assert self.history("ob-1") == [("opened", "reg-1", {"due_date": "2026-03-23"})]
        assert len(self.stored_outbox()) == 1

    # ------------------------------------------------------------ obligations

    def test_an_obligation_reads_back_as_it_was_stored(self):
        stored = obligation("ob-1", subject_ref="obj-1", provisional=True, stages_sent=(5,))
        self.committed(lambda repo: repo.add_obligation(stored))
        [back] = self.read(lambda repo: repo.obligations_for_trigger("reg-1", "jyj", "catalog-update"))
        assert back == stored
        assert back.due_end == shanghai(2026, 3, 24) and back.next_reminder_at == shanghai(2026, 3, 16, 9)
        assert isinstance(back.overdue_citations, tuple) and isinstance(back.stages_sent, tuple)

    def test_a_second_add_of_an_obligation_is_ignored(self):
        def work(repo):
            assert repo.add_obligation(obligation("ob-1")) is True
            assert repo.add_obligation(obligation("ob-1", department="mzj")) is False  # within one unit
        self.committed(work)
        self.committed(lambda repo: repo.add_obligation(obligation("ob-1", department="swj")))  # a later unit
        assert [o.department for o in self.read(lambda repo: repo.open_obligations())] == ["jyj"]

    def test_an_obligation_added_is_read_back_within_the_same_unit(self):
        def work(repo):
            repo.add_obligation(obligation("ob-1"))
            return repo.unfinished_obligations("jyj", "catalog-update", date(2026, 3, 2))
        assert [o.id for o in self.committed(work)] == ["ob-1"]

    def test_a_changed_copy_is_not_stored_until_saved(self):
        self.committed(lambda repo: repo.add_obligation(obligation("ob-1")))

        def work(repo):
            [read] = repo.open_obligations()
            read.status = COMPLETED  # not saved
        self.committed(work)
        assert [o.status for o in self.read(lambda repo: repo.open_obligations())] == [OPEN]

    def test_save_bumps_the_version_and_a_stale_copy_meets_concurrent_update(self):
        self.committed(lambda repo: repo.add_obligation(obligation("ob-1")))
        stale = self.read(lambda repo: repo.open_obligations())[0]

        def save_completed(repo):
            [fresh] = repo.open_obligations()
            fresh.status, fresh.on_time, fresh.completed_at = COMPLETED, True, shanghai(2026, 3, 10)
            repo.save_obligation(fresh)
            return fresh
        saved = self.committed(save_completed)
        assert saved.version == stale.version + 1

        def save_stale(repo):
            stale.status = OVERDUE
            repo.save_obligation(stale)
        with pytest.raises(ConcurrentUpdate):
            self.committed(save_stale)
        [back] = self.read(lambda repo: repo.obligations_for_trigger("reg-1", "jyj", "catalog-update"))
        assert (back.status, back.on_time, back.version) == (COMPLETED, True, saved.version)
        assert back.completed_at == shanghai(2026, 3, 10)

    def test_saving_an_obligation_nobody_stored_meets_concurrent_update(self):
        with pytest.raises(ConcurrentUpdate):
            self.committed(lambda repo: repo.save_obligation(obligation("ob-gone")))

    def test_an_added_obligation_is_stored_as_it_was_when_added(self):
        def work(repo):
            added = obligation("ob-1")
            repo.add_obligation(added)
            added.status = COMPLETED  # changed after the add, never saved
        self.committed(work)
        assert [o.status for o in self.read(lambda repo: repo.open_obligations())] == [OPEN]

    def test_an_obligation_added_and_saved_in_one_unit(self):
        def work(repo):
            added = obligation("ob-1")
            repo.add_obligation(added)
            added.status, added.on_time = COMPLETED, True
            repo.save_obligation(added)
            return added.version
        assert self.committed(work) == 1
        [back] = self.read(lambda repo: repo.obligations_for_trigger("reg-1", "jyj", "catalog-update"))
        assert (back.status, back.on_time, back.version) == (COMPLETED, True, 1)

    def test_saving_twice_in_one_unit_needs_no_reread(self):
        self.committed(lambda repo: repo.add_obligation(obligation("ob-1")))

        def work(repo):
            [ob] = repo.open_obligations()
            ob.stages_sent = (5,)
            repo.save_obligation(ob)
            ob.stages_sent = (5, 3)
            repo.save_obligation(ob)
        self.committed(work)
        [back] = self.read(lambda repo: repo.open_obligations())
        assert back.stages_sent == (5, 3) and back.version == 2

    def test_obligation_lookups_filter_and_order_by_id(self):
        def work(repo):
            repo.add_obligation(obligation("ob-3"))
            repo.add_obligation(obligation("ob-1"))
            repo.add_obligation(obligation("ob-2", department="mzj"))
            repo.add_obligation(obligation("ob-4", trigger_event_id="reg-2", start_day=date(2026, 3, 5)))
            repo.add_obligation(obligation("ob-5", status=OVERDUE, trigger_event_id="reg-3"))
            repo.add_obligation(obligation("ob-6", status=COMPLETED, trigger_event_id="reg-3"))
            repo.add_obligation(obligation("ob-7", kind="data-verification", subject_ref="obj-1",
                                           trigger_event_id="obj-evt"))
            repo.add_obligation(obligation("ob-8", kind="data-verification", subject_ref="obj-2",
                                           trigger_event_id="obj-evt"))
        self.committed(work)
        ids = lambda found: [o.id for o in found]  # noqa: E731
        assert ids(self.read(lambda r: r.obligations_for_trigger("reg-1", "jyj", "catalog-update"))) == ["ob-1", "ob-3"]
        assert ids(self.read(lambda r: r.obligations_for_trigger("reg-3", "jyj", "catalog-update"))) == ["ob-5", "ob-6"]
        assert ids(self.read(lambda r: r.unfinished_obligations("jyj", "catalog-update", date(2026, 3, 2)))) == [
            "ob-1", "ob-3", "ob-5"]  # not ob-4 (starts later), ob-6 (completed), ob-2 (another department)
        assert ids(self.read(lambda r: r.unfinished_obligations("jyj", "catalog-update", date(2026, 3, 5)))) == [
            "ob-1", "ob-3", "ob-4", "ob-5"]
        assert ids(self.read(lambda r: r.obligations_for_subject("data-verification", "jyj", "obj-2"))) == ["ob-8"]
        assert ids(self.read(lambda r: r.obligations_for_subject("catalog-update", "jyj", "obj-2"))) == []
        assert ids(self.read(lambda r: r.open_obligations())) == ["ob-1", "ob-2", "ob-3", "ob-4", "ob-7", "ob-8"]

    # ------------------------------------------------------------ what is due

    def test_due_for_overdue_takes_open_obligations_past_their_end_earliest_first(self):
        end = shanghai(2026, 3, 24)

        def work(repo):
            repo.add_obligation(obligation("ob-b", due_end=end))
            repo.add_obligation(obligation("ob-a", due_end=end))
            repo.add_obligation(obligation("ob-c", due_end=end - timedelta(days=1)))
            repo.add_obligation(obligation("ob-d", due_end=end + timedelta(seconds=1)))
            repo.add_obligation(obligation("ob-e", due_end=end - timedelta(days=2), status=OVERDUE))
            repo.add_obligation(obligation("ob-f", due_end=end - timedelta(days=2), status=COMPLETED))
        self.committed(work)
        due = lambda now, limit=100: [o.id for o in self.read(lambda r: r.due_for_overdue(now, limit))]  # noqa: E731
        assert due(end) == ["ob-c", "ob-a", "ob-b"]  # the end itself counts; ties by id
        assert due(end, limit=2) == ["ob-c", "ob-a"]
        assert due(end - timedelta(days=1, seconds=1)) == []
        assert due(end + timedelta(days=1)) == ["ob-c", "ob-a", "ob-b", "ob-d"]

    def test_due_for_reminder_takes_open_obligations_whose_time_came_before_their_end(self):
        nine = shanghai(2026, 3, 16, 9)

        def work(repo):
            repo.add_obligation(obligation("ob-b", next_reminder_at=nine))
            repo.add_obligation(obligation("ob-a", next_reminder_at=nine))
            repo.add_obligation(obligation("ob-c", next_reminder_at=nine - timedelta(days=1)))
            repo.add_obligation(obligation("ob-d", next_reminder_at=nine + timedelta(minutes=1)))
            repo.add_obligation(obligation("ob-e", next_reminder_at=None))
            repo.add_obligation(obligation("ob-f", next_reminder_at=nine, status=COMPLETED))
            repo.add_obligation(obligation("ob-g", next_reminder_at=nine - timedelta(days=2), due_end=nine))
        self.committed(work)
        due = lambda now, limit=100: [o.id for o in self.read(lambda r: r.due_for_reminder(now, limit))]  # noqa: E731
        assert due(nine) == ["ob-c", "ob-a", "ob-b"]  # ob-g's deadline ended at nine: overdue, not reminded
        assert due(nine, limit=1) == ["ob-c"]
        assert due(nine - timedelta(days=1, seconds=1)) == ["ob-g"]
        assert due(nine + timedelta(minutes=1)) == ["ob-c", "ob-a", "ob-b", "ob-d"]

    # ------------------------------------------------------------ pending resolutions

    def test_pending_resolutions_are_kept_once_and_taken_once_earliest_first(self):
        def work(repo):
            assert repo.add_pending_resolution(pending("u-late", shanghai(2026, 3, 5))) is True
            assert repo.add_pending_resolution(pending("u-b", shanghai(2026, 3, 3))) is True
            assert repo.add_pending_resolution(pending("u-a", shanghai(2026, 3, 3))) is True
            assert repo.add_pending_resolution(pending("u-a", shanghai(2026, 3, 3))) is False
            assert repo.add_pending_resolution(pending("u-x", NOW, department="mzj")) is True
            assert repo.add_pending_resolution(pending("u-y", NOW, trigger_key="reg-2")) is True
        self.committed(work)
        assert self.committed(lambda repo: repo.add_pending_resolution(pending("u-a", shanghai(2026, 3, 3)))) is False
        taken = self.committed(lambda repo: repo.take_pending_resolutions("jyj", "reg-1"))
        assert [p.update_event_id for p in taken] == ["u-a", "u-b", "u-late"]
        assert taken[0] == pending("u-a", shanghai(2026, 3, 3))
        assert self.committed(lambda repo: repo.take_pending_resolutions("jyj", "reg-1")) == []
        assert [p.update_event_id for p in self.committed(
            lambda repo: repo.take_pending_resolutions("mzj", "reg-1"))] == ["u-x"]
        assert [p.update_event_id for p in self.committed(
            lambda repo: repo.take_pending_resolutions("jyj", "reg-2"))] == ["u-y"]

    def test_a_take_left_without_commit_leaves_them_waiting(self):
        self.committed(lambda repo: repo.add_pending_resolution(pending("u1", NOW)))
        assert len(self.read(lambda repo: repo.take_pending_resolutions("jyj", "reg-1"))) == 1
        assert len(self.committed(lambda repo: repo.take_pending_resolutions("jyj", "reg-1"))) == 1

    def test_a_resolution_kept_and_taken_in_one_unit(self):
        def work(repo):
            assert repo.take_pending_resolutions("jyj", "reg-1") == []
            repo.add_pending_resolution(pending("u1", NOW))
            return repo.take_pending_resolutions("jyj", "reg-1")
        assert [p.update_event_id for p in self.committed(work)] == ["u1"]

    # ------------------------------------------------------------ reminders, violations, unassessed

    def test_a_reminder_stage_is_recorded_once(self):
        def work(repo):
            assert repo.add_reminder(reminder("rm-1", stage=5)) is True
            assert repo.add_reminder(reminder("rm-1", stage=5)) is False
            assert repo.add_reminder(reminder("rm-other", stage=5)) is False  # the same stage, another id
            assert repo.add_reminder(reminder("rm-2", stage=3)) is True
        self.committed(work)
        assert self.committed(lambda repo: repo.add_reminder(reminder("rm-2", stage=3))) is False
        assert self.committed(lambda repo: repo.add_reminder(reminder("rm-3", "ob-2", stage=3))) is True

    def test_a_violation_is_recorded_once(self):
        assert self.committed(lambda repo: repo.add_violation(violation("vi-1"))) is True
        assert self.committed(lambda repo: repo.add_violation(violation("vi-1"))) is False
        assert self.committed(lambda repo: repo.add_violation(violation("vi-2"))) is True

    def test_an_unassessed_event_is_listed_once(self):
        assert self.committed(lambda repo: repo.add_unassessed(unassessed("e1"))) is True
        assert self.committed(lambda repo: repo.add_unassessed(unassessed("e1"))) is False
        assert self.committed(lambda repo: repo.add_unassessed(unassessed("e2"))) is True

    # ------------------------------------------------------------ history and outbox

    def test_history_keeps_every_entry_in_order(self):
        def work(repo):
            repo.add_history("ob-1", NOW, "opened", "reg-1", {})
            repo.add_history("ob-1", NOW + timedelta(days=1), "reminded", None, {"stage": 5})
            repo.add_history("ob-2", NOW, "opened", "reg-2", {})
            repo.add_history("ob-1", NOW + timedelta(days=1), "reminded", None, {"stage": 5})
        self.committed(work)
        assert self.history("ob-1") == [("opened", "reg-1", {}), ("reminded", None, {"stage": 5}),
                                         ("reminded", None, {"stage": 5})]

    def test_outbox_ids_are_unique_and_kept_in_order(self):
        first = messages.obligation_opened(obligation("ob-1"), NOW)
        second = messages.obligation_opened(obligation("ob-2"), NOW)

        def work(repo):
            assert repo.add_outbox(first, NOW) is True
            assert repo.add_outbox(first, NOW) is False
            assert repo.add_outbox(second, NOW) is True
        self.committed(work)
        self.committed(lambda repo: repo.add_outbox(first, NOW))  # a later unit: still stored once
        assert self.stored_outbox() == [first.event_id, second.event_id]

    def test_a_replayed_dead_letter_is_a_no_op(self):
        assert self.committed(lambda repo: repo.add_outbox(dead_letter(7), NOW)) is True
        assert self.committed(lambda repo: repo.add_outbox(dead_letter(7), NOW)) is False
        assert self.committed(lambda repo: repo.add_outbox(dead_letter(8), NOW)) is True
        assert self.stored_outbox() == [dead_letter(7).event_id, dead_letter(8).event_id]


    # ------------------------------------------------------------ the catalog register

    def test_a_register_entry_reads_back_as_it_was_stored(self):
        stored = entry("R-1")
        assert self.committed(lambda repo: repo.add_catalog_entry(stored)) is True
        back = self.read(lambda repo: repo.catalog_entries("jyj", ["R-1"]))
        assert back == {"R-1": stored}
        assert back["R-1"].next_period_start == shanghai(2026, 4, 1) and back["R-1"].desensitized is False

    def test_register_entries_are_read_per_department_all_or_some_removed_ones_too(self):
        def work(repo):
            repo.add_catalog_entry(entry("R-2"))
            repo.add_catalog_entry(entry("R-1", status=REMOVED, next_period=None, next_period_start=None))
            repo.add_catalog_entry(entry("R-1", department="mzj"))
            repo.add_catalog_entry(entry("R-3"))
        self.committed(work)
        assert list(self.read(lambda r: r.catalog_entries("jyj"))) == ["R-1", "R-2", "R-3"]
        assert list(self.read(lambda r: r.catalog_entries("jyj", ["R-3", "R-1", "R-9", "R-1"]))) == ["R-1", "R-3"]
        assert self.read(lambda r: r.catalog_entries("jyj", [])) == {}
        assert self.read(lambda r: r.catalog_entries("jyj"))["R-1"].status == REMOVED
        assert list(self.read(lambda r: r.catalog_entries("czj"))) == []

    def test_a_register_entry_is_added_once_and_saved_with_its_version(self):
        def add_twice(repo):
            assert repo.add_catalog_entry(entry("R-1")) is True
            assert repo.add_catalog_entry(entry("R-1", name="同一单元")) is False
        self.committed(add_twice)
        self.committed(lambda repo: repo.add_catalog_entry(entry("R-1", name="另一个")))  # a later unit
        assert self.read(lambda r: r.catalog_entries("jyj")["R-1"].name) == "资源 R-1"  # never replaced

        def save(repo):
            read = repo.catalog_entries("jyj")["R-1"]
            read.share_type, read.revision = "conditional", 2
            repo.save_catalog_entry(read)
            assert read.version == 1
        self.committed(save)
        back = self.read(lambda r: r.catalog_entries("jyj")["R-1"])
        assert (back.name, back.share_type, back.revision, back.version) == ("资源 R-1", "conditional", 2, 1)
        with pytest.raises(ConcurrentUpdate):
            self.committed(lambda repo: repo.save_catalog_entry(entry("R-1", version=0)))  # stale
        with pytest.raises(ConcurrentUpdate):
            self.committed(lambda repo: repo.save_catalog_entry(entry("R-9")))  # never stored

    def test_due_catalog_periods_takes_active_entries_whose_period_has_begun_earliest_first(self):
        april = shanghai(2026, 4, 1)

        def work(repo):
            repo.add_catalog_entry(entry("R-b", next_period_start=april))
            repo.add_catalog_entry(entry("R-a", next_period_start=april))
            repo.add_catalog_entry(entry("R-a", department="czj", next_period_start=april))
            repo.add_catalog_entry(entry("R-c", next_period_start=april - timedelta(days=31)))
            repo.add_catalog_entry(entry("R-d", next_period_start=april + timedelta(seconds=1)))
            repo.add_catalog_entry(entry("R-e", next_period=None, next_period_start=None))
            repo.add_catalog_entry(entry("R-f", next_period_start=april - timedelta(days=60), status=REMOVED))
        self.committed(work)
        due = lambda now, limit=100: [(e.department, e.code) for e in  # noqa: E731
                                      self.read(lambda r: r.due_catalog_periods(now, limit))]
        assert due(april) == [("jyj", "R-c"), ("czj", "R-a"), ("jyj", "R-a"), ("jyj", "R-b")]  # the start counts
        assert due(april, limit=2) == [("jyj", "R-c"), ("czj", "R-a")]
        assert due(april - timedelta(days=31, seconds=1)) == []
        assert due(april + timedelta(days=1))[-1] == ("jyj", "R-d")

    def test_obligations_for_a_resource_filter_by_department_resource_and_kind(self):
        def work(repo):
            repo.add_obligation(obligation("ob-2", kind="data-aggregation", resource_code="R-1", period="2026-04"))
            repo.add_obligation(obligation("ob-1", kind="data-aggregation", resource_code="R-1", period="2026-03",
                                           status=CANCELLED))
            repo.add_obligation(obligation("ob-3", kind="data-opening", resource_code="R-1"))
            repo.add_obligation(obligation("ob-4", kind="data-aggregation", resource_code="R-2", period="2026-04"))
            repo.add_obligation(obligation("ob-5", kind="data-aggregation", resource_code="R-1", department="mzj"))
        self.committed(work)
        found = self.read(lambda r: r.obligations_for_resource("jyj", "R-1", "data-aggregation"))
        assert [(o.id, o.period, o.status) for o in found] == [("ob-1", "2026-03", CANCELLED),
                                                               ("ob-2", "2026-04", OPEN)]
        assert [o.id for o in self.read(lambda r: r.obligations_for_resource("jyj", "R-1", "data-opening"))] == [
            "ob-3"]

    def test_held_events_are_kept_once_and_taken_once_per_resource_earliest_first(self):
        def work(repo):
            assert repo.add_held_event(held("a-late", shanghai(2026, 3, 9))) is True
            assert repo.add_held_event(held("a-early", shanghai(2026, 3, 3))) is True
            assert repo.add_held_event(held("a-early", shanghai(2026, 3, 3))) is False
            assert repo.add_held_event(held("a-other", shanghai(2026, 3, 3), code="R-2")) is True
        self.committed(work)
        assert self.committed(lambda repo: repo.add_held_event(held("a-late", shanghai(2026, 3, 9)))) is False
        assert self.read(lambda repo: repo.take_held_events("jyj", "R-1"))[0] == held("a-early", shanghai(2026, 3, 3))
        taken = self.committed(lambda repo: repo.take_held_events("jyj", "R-1"))  # the read above rolled back
        assert [h.event_id for h in taken] == ["a-early", "a-late"]
        assert self.committed(lambda repo: repo.take_held_events("jyj", "R-1")) == []
        assert [h.event_id for h in self.committed(lambda repo: repo.take_held_events("jyj", "R-2"))] == ["a-other"]

    def test_register_history_keeps_every_change_in_order_and_rolls_back(self):
        def work(repo):
            repo.add_catalog_history(change_record("R-1", "added", 1))
            repo.add_catalog_history(change_record("R-2", "added", 1))
            repo.add_catalog_history(change_record("R-1", "modified", 2))
        self.committed(work)
        with self.new_uow() as uow:
            uow.repo.add_catalog_history(change_record("R-1", "removed", 3))  # left without commit
        assert [(a, e, r) for a, e, r, _ in self.catalog_history("jyj", "R-1")] == [("added", "c-1", 1),
                                                                                   ("modified", "c-2", 2)]
        assert self.catalog_history("jyj", "R-1")[0][3]["changes"]["share_type"]["after"] == "unconditional"

    def test_an_obligation_about_a_resource_keeps_its_code_and_period(self):
        stored = obligation("ob-1", kind="data-aggregation", resource_code="R-1", period="2026-W14",
                            subject_ref="R-1/2026-W14")
        self.committed(lambda repo: repo.add_obligation(stored))
        [back] = self.read(lambda repo: repo.obligations_for_subject("data-aggregation", "jyj", "R-1/2026-W14"))
        assert back == stored


    # ------------------------------------------------------------ rescheduling (issue 13)

    def test_reschedule_candidates_are_the_open_intervals_containing_a_changed_day(self):
        from models.rescheduling import interval_touches

        d = date
        shapes = {  # id: (start_day, due_date, status)
            "a-start-on-run": (d(2026, 3, 10), d(2026, 3, 31), OPEN),  # start on the run's only day: out
            "b-due-on-run": (d(2026, 2, 20), d(2026, 3, 10), OPEN),  # due on it: in
            "c-due-before": (d(2026, 2, 20), d(2026, 3, 9), OPEN),  # just before: out
            "d-across": (d(2026, 3, 1), d(2026, 3, 20), OPEN),
            "e-closed": (d(2026, 3, 1), d(2026, 3, 20), COMPLETED),  # not open: out
            "f-second-run": (d(2026, 4, 2), d(2026, 4, 3), OPEN),  # ends on the first day of the second run
            "g-between": (d(2026, 3, 11), d(2026, 4, 3), OPEN),  # after run 1, due on run 2's first day
            "g-short": (d(2026, 3, 11), d(2026, 4, 2), OPEN),  # after run 1, due the day before run 2: out
            "j-both": (d(2026, 3, 1), d(2026, 4, 10), OPEN),  # over both runs: once
            "h-late": (d(2026, 4, 5), d(2026, 4, 30), OPEN),  # starts on run 2's last day: out
            "i-in-run": (d(2026, 4, 3), d(2026, 4, 4), OPEN),  # both ends inside run 2
        }
        runs = ((d(2026, 3, 10), d(2026, 3, 10)), (d(2026, 4, 3), d(2026, 4, 5)))
        for ob_id, (start, due, status) in shapes.items():
            self.committed(lambda repo: repo.add_obligation(obligation(ob_id, start_day=start, due_date=due,
                                                                       status=status)))
        expected = sorted(i for i, (start, due, status) in shapes.items()
                          if status == OPEN and interval_touches(start, due, runs))
        assert expected == ["b-due-on-run", "d-across", "f-second-run", "g-between", "i-in-run", "j-both"]
        job = reschedule_job()
        self.committed(lambda repo: repo.add_reschedule_job(job))
        assert self.committed(lambda repo: repo.queue_reschedule_candidates(job.id, runs)) == len(expected)
        first, cursor = self.read(lambda repo: repo.reschedule_candidates(job.id, None, 2))
        assert [o.id for o in first] == expected[:2] and cursor == expected[1] and first[0].due_date == d(2026, 3, 10)
        rest, cursor = self.read(lambda repo: repo.reschedule_candidates(job.id, cursor, 10))
        assert [o.id for o in rest] == expected[2:] and cursor == expected[-1]
        assert self.read(lambda repo: repo.reschedule_candidates(job.id, cursor, 10)) == ([], None)
        every = reschedule_job()
        self.committed(lambda repo: repo.add_reschedule_job(every))
        assert every.id > job.id
        assert self.committed(lambda repo: repo.queue_reschedule_candidates(every.id, None)) == 10
        self.committed(lambda repo: repo.drop_reschedule_candidates(job.id))
        assert self.read(lambda repo: repo.reschedule_candidates(job.id, None, 10)) == ([], None)
        assert len(self.read(lambda repo: repo.reschedule_candidates(every.id, None, 20))[0]) == 10

    def test_a_candidate_closed_after_it_was_queued_is_skipped(self):
        self.committed(lambda repo: repo.add_obligation(obligation("ob-1")))
        self.committed(lambda repo: repo.add_obligation(obligation("ob-2")))
        job = reschedule_job()
        self.committed(lambda repo: repo.add_reschedule_job(job))
        self.committed(lambda repo: repo.queue_reschedule_candidates(job.id, None))

        def close(repo):
            ob = repo.open_obligations()[0]
            ob.status = COMPLETED
            repo.save_obligation(ob)

        self.committed(close)
        page, cursor = self.read(lambda repo: repo.reschedule_candidates(job.id, None, 1))
        assert (page, cursor) == ([], "ob-1")  # looked at, not open: skipped, the cursor moves past it
        page, cursor = self.read(lambda repo: repo.reschedule_candidates(job.id, cursor, 10))
        assert ([o.id for o in page], cursor) == (["ob-2"], "ob-2")

    def test_reschedule_jobs_keep_their_progress_and_their_calendar_and_refuse_a_stale_write(self):
        job = reschedule_job(changed=((date(2026, 3, 10), date(2026, 3, 12)),))
        self.committed(lambda repo: repo.add_reschedule_job(job))
        assert self.read(lambda repo: repo.latest_reschedule_job()) == job
        job.examined, job.moved, job.pages, job.cursor = 5, 2, 1, "ob-5"
        self.committed(lambda repo: repo.save_reschedule_job(job))
        stored = self.read(lambda repo: repo.latest_reschedule_job())
        assert stored == job and stored.version == 1 and stored.calendar_working == b"\x01\x00\x01"
        stale = reschedule_job()
        stale.id = job.id
        with pytest.raises(ConcurrentUpdate):
            self.committed(lambda repo: repo.save_reschedule_job(stale))
        with self.new_uow() as uow:  # not committed: gone
            uow.repo.add_reschedule_job(reschedule_job(changed=None))
        assert self.read(lambda repo: repo.latest_reschedule_job()).id == job.id
        unknown = reschedule_job(changed=None)
        self.committed(lambda repo: repo.add_reschedule_job(unknown))
        assert self.read(lambda repo: repo.latest_reschedule_job()).changed is None

    def test_saving_a_rescheduled_page_writes_each_and_refuses_a_stale_one(self):
        for ob_id in ("ob-1", "ob-2"):
            self.committed(lambda repo: repo.add_obligation(obligation(ob_id)))
        job = reschedule_job()
        self.committed(lambda repo: repo.add_reschedule_job(job))
        self.committed(lambda repo: repo.queue_reschedule_candidates(job.id, None))

        def move(repo):
            page, _ = repo.reschedule_candidates(job.id, None, 10)
            for ob in page:
                ob.due_date, ob.due_end, ob.provisional = date(2026, 3, 24), shanghai(2026, 3, 25), True
            repo.save_rescheduled(page)
            return page

        page = self.committed(move)
        assert [o.version for o in page] == [1, 1]
        stored = self.read(lambda repo: repo.open_obligations())
        assert [(o.due_date, o.provisional, o.version) for o in stored] == [(date(2026, 3, 24), True, 1)] * 2
        with pytest.raises(ConcurrentUpdate):
            self.committed(lambda repo: repo.save_rescheduled([obligation("ob-1")]))  # read at version 0


class TestFakeRepository(RepositoryContract):
    @pytest.fixture(autouse=True)
    def backend(self):
        self.store = FakeStore()

    def new_uow(self):
        return self.store()

    def stored_outbox(self):
        return [message.event_id for message in self.store.state.outbox]

    def history(self, obligation_id):
        return [(what, event_id, detail) for ob_id, _, what, event_id, detail in self.store.state.history
                if ob_id == obligation_id]

    def catalog_history(self, department, code):
        return [(r.action, r.event_id, r.revision, r.detail) for r in self.store.state.catalog_history
                if (r.department, r.resource_code) == (department, code)]


class TestSqlRepository(RepositoryContract):
    """On SQLite and on PostgreSQL (``database_url``)."""

    @pytest.fixture(autouse=True)
    def backend(self, database_url):
        from models.sql.engine import create_engine
        from models.sql.migrate import upgrade
        from models.sql.repository import sql_unit_of_work_factory
        from streams.topics import topic_of_type

        self.engine = create_engine(database_url)
        upgrade(self.engine)
        self.factory = sql_unit_of_work_factory(self.engine, topic_of_type)
        try:
            yield
        finally:
            self.engine.dispose()

    def new_uow(self):
        return self.factory()

    def stored_outbox(self):
        import sqlalchemy as sa

        from models.sql import tables as t

        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.outbox.c.event_id).order_by(t.outbox.c.id)).scalars())

    def history(self, obligation_id):
        import sqlalchemy as sa

        from models.sql import tables as t

        h = t.obligation_history.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(h.what, h.event_id, h.detail).where(h.obligation_id == obligation_id)
                                .order_by(h.id))
            return [tuple(row) for row in rows]

    def catalog_history(self, department, code):
        import sqlalchemy as sa

        from models.sql import tables as t

        h = t.catalog_history.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(h.action, h.event_id, h.revision, h.detail)
                                .where(h.department == department, h.resource_code == code).order_by(h.id))
            return [tuple(row) for row in rows]


def test_every_scenario_runs_on_every_backend():
    """A scenario added to the contract runs on the fake and on SQL; none is overridden away."""
    scenarios = {name for name in dir(RepositoryContract) if name.startswith("test_")}
    assert len(scenarios) >= 25
    for backend in (TestFakeRepository, TestSqlRepository):
        assert all(getattr(backend, name) is getattr(RepositoryContract, name) for name in scenarios)
