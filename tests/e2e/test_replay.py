"""``catalog-tracker replay``: a quarter of 2025 plays out in seconds, and twice gives the same result."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from models.clock import SHANGHAI
from streams.publisher import EventPublisher
from streams.topics import ensure_topics

pytestmark = [pytest.mark.broker, pytest.mark.slow]

SPEED = 86400 * 15  # fifteen days per second: the quarter takes about six seconds of pacing


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=SHANGHAI).replace(hour=hour)


def publish_history(bootstrap_servers: str, prefix: str) -> None:
    """A quarter's upstream events, as the upstream systems would have published them (in any order)."""
    from streams.topics import INPUT_TOPICS

    ensure_topics(bootstrap_servers, [prefix + topic for topic in INPUT_TOPICS], 2)
    with EventPublisher(bootstrap_servers, topic_prefix=prefix, source="/yuhua/legal-affairs") as legal:
        legal.regulation_changed(regulation_id="R-2025-01", title="湖南省政务数据管理办法（修订）", change_kind="amended",
                                 changed_on="2025-01-06", affected_departments=["jyj", "czj", "mzj"],
                                 id="r1", time=at("2025-01-06"))
        legal.regulation_changed(regulation_id="R-2026-01", title="下一年度的修订", change_kind="amended",
                                 changed_on="2026-01-05", affected_departments=["tjj"], id="after-window",
                                 time=at("2026-01-05"))
    with EventPublisher(bootstrap_servers, topic_prefix=prefix, source="/yuhua/staffing-office") as staffing:
        staffing.duty_changed(department="zjj", changed_on="2025-03-03", change_kind="transferred",
                              description="燃气安全监管职能划转", counterpart_departments=["cgj"], id="d1",
                              time=at("2025-03-03"))
    with EventPublisher(bootstrap_servers, topic_prefix=prefix, source="/yuhua/catalog-platform") as platform:
        # published out of order: the catalog platform's answers are on their own topic
        platform.catalog_updated(department="czj", submitted_at=at("2025-01-20", 16), catalog_version="czj-1",
                                 resolves=["r1"], id="u-czj", time=at("2025-01-20", 16))
        platform.catalog_updated(department="jyj", submitted_at=at("2025-02-20", 9), catalog_version="jyj-1",
                                 resolves=["r1"], id="u-jyj", time=at("2025-02-20", 9))
        platform.catalog_updated(department="cgj", submitted_at=at("2025-03-10", 11), catalog_version="cgj-1",
                                 id="u-cgj", time=at("2025-03-10", 11))
        platform.catalog_updated(department="wjj", submitted_at=at("2025-02-11", 15), catalog_version="wjj-1",
                                 resources=[{"code": "WJJ-1", "name": "出生医学证明信息", "action": "modified",
                                             "share_type": "conditional", "previous_share_type": "unconditional"}],
                                 id="u-wjj", time=at("2025-02-11", 15))
        platform.objection_raised(objection_id="O-1", department="rsj", resource_code="RSJ-0031",
                                  raised_on="2025-02-10", raised_by="ybj", id="o1", time=at("2025-02-10"))
        platform.send_raw("catalog.catalog-updates", b"not a cloudevent", key="jyj")
        # The catalog register (issue 12): two monthly resources, one aggregated on time, one never; one opened.
        platform.catalog_updated(department="fgj", submitted_at=at("2025-01-06", 9), catalog_version="fgj-1",
                                 complete=True, id="u-fgj", time=at("2025-01-06", 9), resources=[
                                     {"code": "FGJ-1", "name": "项目库", "action": "added", "update_cycle": "monthly",
                                      "open_type": "conditional", "open_channel": "municipal-platform"},
                                     {"code": "FGJ-2", "name": "进度月报", "action": "added",
                                      "update_cycle": "monthly"}])
    with EventPublisher(bootstrap_servers, topic_prefix=prefix, source="/yuhua/data-governance") as governance:
        # published before the catalog update in real time: the replay plays it at its own instant
        governance.data_aggregated(department="fgj", resource_code="FGJ-1", period="2025-02",
                                   aggregated_at=at("2025-03-04", 11), id="a-fgj-feb", time=at("2025-03-04", 11))
        governance.data_opened(department="fgj", resource_code="FGJ-1", opened_at=at("2025-01-08", 15),
                               id="o-fgj", time=at("2025-01-08", 15))


def replay(env: dict[str, str], tmp_path: Path, name: str) -> tuple[dict, str]:
    report = tmp_path / f"{name}.json"
    database = tmp_path / f"{name}.db"
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "replay", "--from", "2025-01-01", "--to", "2025-03-31",
         "--speed", str(SPEED), "--database-url", f"sqlite:///{database}", "--report", str(report)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(report.read_text(encoding="utf-8")), result.stderr


def comparable(report: dict) -> dict:
    """What must not depend on the run: obligations, violations and the evaluation figures."""
    obligations = sorted((o["id"], o["department"], o["kind"], o["status"], o["on_time"], o["start_day"],
                          o["due_date"], o["completed_at"], o["period"]) for o in report["obligations"])
    violations = sorted((v["id"], v["department"], v["rule"], v["article"], v["due_date"], v["detected_at"],
                         v["resource_code"], v["period"]) for v in report["violations"])
    return {"obligations": obligations, "violations": violations, "evaluation": report["evaluation"]}


def test_replaying_the_same_topics_twice_gives_the_same_state(bootstrap_servers, topic_prefix, tmp_path):
    publish_history(bootstrap_servers, topic_prefix)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRACKER_")}
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers, TRACKER_TOPIC_PREFIX=topic_prefix)

    first, progress = replay(env, tmp_path, "first")
    second, _ = replay(env, tmp_path, "second")

    assert "replay [" in progress and "100.0%" in progress  # the progress bar on stderr
    assert first["messages"] == 11 and first["left_out"] == 1  # 2026's event is after --to
    assert first["topic_prefix"] != second["topic_prefix"]  # each replay has its own copy of the topics
    assert comparable(first) == comparable(second)

    # And the state is the right one, not merely the same twice.
    by_department = {(o["department"], o["kind"]): o for o in first["obligations"]}
    assert by_department[("czj", "catalog-update")]["on_time"] is True
    assert by_department[("jyj", "catalog-update")]["on_time"] is False
    assert by_department[("mzj", "catalog-update")]["status"] == "overdue"
    assert by_department[("cgj", "catalog-update")]["status"] == "completed"
    assert by_department[("zjj", "catalog-update")]["status"] == "overdue"
    assert ("rsj", "data-verification") in by_department
    assert ("tjj", "catalog-update") not in by_department
    rules = sorted((v["department"], v["rule"]) for v in first["violations"])
    assert ("mzj", "overdue") in rules and ("jyj", "overdue") in rules and ("zjj", "overdue") in rules
    assert ("wjj", "share-scope-narrowed") in rules and ("czj", "overdue") not in rules
    figures = {row["department"]: row for row in first["evaluation"]["2025"]["departments"]}
    assert figures["czj"]["on_time_rate"] == 1.0 and figures["jyj"]["late"] == 1 and figures["mzj"]["overdue"] == 1
    periods = {(o["resource_code"], o["period"]): (o["status"], o["on_time"]) for o in first["obligations"]
               if o["kind"] == "data-aggregation"}
    # The window ends at 1 April 00:00, when April begins: its obligations open then too.
    assert periods == {("FGJ-1", "2025-02"): ("completed", True), ("FGJ-2", "2025-02"): ("overdue", None),
                       ("FGJ-1", "2025-03"): ("open", None), ("FGJ-2", "2025-03"): ("open", None),
                       ("FGJ-1", "2025-04"): ("open", None), ("FGJ-2", "2025-04"): ("open", None)}
    assert by_department[("fgj", "data-opening")]["on_time"] is True
    missed = [v for v in first["violations"] if v["department"] == "fgj"]
    assert [(v["rule"], v["resource_code"], v["period"]) for v in missed] == [("overdue", "FGJ-2", "2025-02")]
    assert missed[0]["detected_at"] == "2025-03-08T00:00:00+08:00"  # 28 Feb + 5 working days, at its end
    assert (figures["fgj"]["catalog_size"], figures["fgj"]["periods_owed"], figures["fgj"]["periods_missed"]) == (
        2, 6, 1)
