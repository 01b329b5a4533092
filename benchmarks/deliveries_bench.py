"""The delivery log's reads with N rows (default 1,000,000), through the HTTP API (issue 13).

Fills ``deliveries`` with N rows (spread over the registry's departments, four channels and the statuses a
log holds after a while: mostly sent, some pending, failed and skipped), in bulk, then fills
``delivery_counts`` from them as migration 0006 does, and prints the median of 5 GETs after a warm-up of:
the first page, each filter's first page, the page at offset N/2, the page after the first one's cursor,
``GET /api/delivery`` (the overview's counts) and ``GET /metrics`` (the gauge).

    python benchmarks/deliveries_bench.py [--rows 1000000] [--postgres]
"""
from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(os.environ.get("REPO", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(REPO))

from benchmarks.scale_bench import timed_get  # noqa: E402
from config.bootstrap import build_api_context, build_models  # noqa: E402
from config.settings import Settings  # noqa: E402
from models.clock import SHANGHAI, ManualClock  # noqa: E402
from models.sql import tables as t  # noqa: E402
from models.sql.deliveries import rebuild_delivery_counts  # noqa: E402
from models.sql.engine import insert_rows, write_transaction  # noqa: E402
from tests.fakes import real_registry  # noqa: E402
from tests.loopback_api import LoopbackApi  # noqa: E402
from tests.postgres import scratch_database  # noqa: E402

NOW = datetime(2026, 6, 15, 10, tzinfo=SHANGHAI)
CHANNELS = ("email", "dingtalk", "wecom", "webhook")
STATUSES = ("sent",) * 16 + ("pending", "failed", "skipped", "sent")  # one in twenty of each of the others
TARGETS = {"first": 50, "offset": 300}


def rows(count: int, codes: list[str]):
    start = datetime(2026, 1, 5, 1, tzinfo=timezone.utc)
    for i in range(count):
        at = start + timedelta(seconds=i * 10)
        status = STATUSES[i % len(STATUSES)]
        yield {"notification_id": f"rm-{i // 4:032x}", "channel": CHANNELS[i % 4], "recipient": f"user{i % 997}",
               "recipient_label": "专职人员", "department": codes[(i // 4) % len(codes)],
               "obligation_id": f"ob-{i // 12:032x}", "kind": "reminder", "level": "staff", "address": None,
               "mentions": [], "greeting": "您好", "notice": None, "cloudevent": None, "digest_key": None,
               "status": status, "attempts": 1, "not_before": at, "claimed_by": None, "claimed_until": None,
               "last_attempt_at": at, "reason": "拒收" if status == "failed" else None, "created_at": at,
               "updated_at": at, "sent_at": at if status == "sent" else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    drop = None
    if args.postgres:
        url, drop = scratch_database("deliveries_bench")
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='deliveries-bench-')) / 'tracker.db'}"
    settings = Settings.from_env({}, database_url=url)
    clock = ManualClock(NOW)
    parts = build_models(settings, clock)
    codes = [d.code for d in real_registry()]
    try:
        started = time.perf_counter()
        batch: list[dict] = []
        for row in rows(args.rows, codes):
            batch.append(row)
            if len(batch) == 10_000:
                with write_transaction(parts.engine) as conn:
                    insert_rows(conn, t.deliveries, batch)
                batch = []
        with write_transaction(parts.engine) as conn:
            insert_rows(conn, t.deliveries, batch)
            rebuild_delivery_counts(conn)
        if args.postgres:
            with parts.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE deliveries")
        print(f"deliveries_bench: {parts.engine.dialect.name}, {args.rows:,} delivery rows written in "
              f"{time.perf_counter() - started:.0f} s")
        from api.app import build_api

        department = codes[len(codes) // 2]
        with LoopbackApi(build_api(build_api_context(settings, clock=clock, parts=parts))) as api:
            conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=600)
            _, first = timed_get(conn, "/api/deliveries?limit=100")
            reads = [
                ("first", "first page of the log (100 rows)", "/api/deliveries?limit=100"),
                ("first", "first page, status=failed", "/api/deliveries?status=failed&limit=100"),
                ("first", f"first page, department={department}", f"/api/deliveries?department={department}&limit=100"),
                ("first", f"first page, department={department}&status=sent",
                 f"/api/deliveries?department={department}&status=sent&limit=100"),
                ("first", "first page, one obligation", "/api/deliveries?obligation_id=ob-" + f"{7:032x}"),
                ("first", "the page after the first one's cursor", f"/api/deliveries?limit=100&after={first['next']}"),
                ("offset", f"page at offset {args.rows // 2:,}", f"/api/deliveries?limit=100&offset={args.rows // 2}"),
                ("first", "GET /api/delivery (the overview's counts)", "/api/delivery"),
                ("first", "GET /metrics (the deliveries gauge among the rest)", "/metrics"),
            ]
            print(f"{'read (HTTP, median of 5 after a warm-up)':<64} {'ms':>9}  {'goal':>8}  total")
            for key, label, path in reads:
                ms, body = timed_get(conn, path, parse=not path.startswith("/metrics"))
                goal = TARGETS[key]
                total = body.get("total", "") if isinstance(body, dict) else ""
                print(f"{label:<64} {ms:>9.1f}  {'< ' + str(goal):>8}  {total}{'' if ms < goal else '  MISSED'}")
    finally:
        parts.engine.dispose()
        if drop is not None:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
