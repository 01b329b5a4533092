"""``catalog-tracker publish``: send one valid input event, for upstream engineers.

    catalog-tracker publish regulation-change --regulation-id R1 --title "…" \\
        --changed-on 2026-03-02 --department yh-edu --department yh-fin
    catalog-tracker publish catalog-update --file update.json
    catalog-tracker publish catalog-update --department tjj --complete \
        --resource '{"code": "TJJ-01", "action": "added", "update_cycle": "monthly", "share_type": "unconditional"}'
    catalog-tracker publish data-aggregated --department tjj --resource-code TJJ-01 --period 2026-11
    catalog-tracker publish data-opened --department tjj --resource-code TJJ-01 --channel municipal-platform
    catalog-tracker publish --validate-only event.json

Options build the event's ``data``; ``--file`` reads either a whole CloudEvent
(it has ``specversion``) or just its ``data`` object, and options given beside
it override fields of ``data``. The event is validated exactly as the tracker
will read it (``streams.publisher``); invalid input is refused with the reason
and exit status 2, and nothing is sent.

``--validate-only FILE`` (``-`` for standard input) checks a whole CloudEvent
(structured JSON mode, as it would be sent) against the contract and the
department registry, and sends nothing: exit 0 when valid, 2 with the reason
when not.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from models import cloudevents as ce
from models import events as ev

EXIT_INVALID = 2
EXIT_SEND_FAILED = 1

# sub-command -> (event type, data fields filled from options: (option dest, data field))
KINDS: dict[str, str] = {
    "regulation-change": ev.REGULATION_CHANGED,
    "duty-change": ev.DUTY_CHANGED,
    "catalog-update": ev.CATALOG_UPDATED,
    "objection": ev.OBJECTION_RAISED,
    "data-aggregated": ev.DATA_AGGREGATED,
    "data-opened": ev.DATA_OPENED,
    "data-shared": ev.DATA_SHARED,
}
# Each activity's timestamp field, filled with the time of publication when not given.
ACTIVITY_TIMES = {ev.DATA_AGGREGATED: "aggregated_at", ev.DATA_OPENED: "opened_at", ev.DATA_SHARED: "shared_at"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "publish", help="build, validate and send one input event (CloudEvents, structured JSON mode)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--validate-only", metavar="FILE",
                        help="check the CloudEvent in FILE (- for stdin) against the contract; send nothing")
    parser.set_defaults(func=lambda args: validate_only(args) if args.validate_only else (parser.print_usage(), 2)[1])
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")

    p = kinds.add_parser("regulation-change", help="法律法规修订 (gov.catalog.regulation.changed)")
    p.add_argument("--regulation-id")
    p.add_argument("--title")
    p.add_argument("--change-kind", choices=ev.REGULATION_CHANGE_KINDS)
    p.add_argument("--changed-on", help="the day the law or regulation was revised (YYYY-MM-DD)")
    p.add_argument("--department", "--affected-department", dest="affected_departments", action="append",
                   help="an affected department code (repeat, or comma-separate)")
    _common(p)

    p = kinds.add_parser("duty-change", help="行政管理职能变更 (gov.catalog.duty.changed)")
    p.add_argument("--department")
    p.add_argument("--changed-on", help="the day the change took effect (YYYY-MM-DD)")
    p.add_argument("--change-kind", choices=ev.DUTY_CHANGE_KINDS)
    p.add_argument("--description")
    p.add_argument("--counterpart", dest="counterpart_departments", action="append",
                   help="a department that gains or loses the functions (repeat, or comma-separate)")
    _common(p)

    p = kinds.add_parser("catalog-update", help="目录更新 (gov.catalog.catalog.updated)")
    p.add_argument("--department")
    p.add_argument("--submitted-at", help="RFC 3339 timestamp (default: now)")
    p.add_argument("--catalog-version")
    p.add_argument("--resolves", action="append", help="id of a triggering event this update answers (repeat)")
    p.add_argument("--resource", dest="resources", action="append", metavar="JSON",
                   help="one changed entry as a JSON object (code, action, share_type, update_cycle, …; repeat)")
    p.add_argument("--complete", action="store_const", const=True, default=None,
                   help="the resources are the whole catalog: register entries not listed are removed")
    _common(p)

    p = kinds.add_parser("objection", help="数据疑义 (gov.catalog.objection.raised, or .resolved with --resolved-at)")
    p.add_argument("--objection-id")
    p.add_argument("--department", help="the providing department, who must verify")
    p.add_argument("--resource-code")
    p.add_argument("--raised-on", help="YYYY-MM-DD")
    p.add_argument("--raised-by")
    p.add_argument("--resolved-at", help="send gov.catalog.objection.resolved with this RFC 3339 timestamp")
    _common(p)

    p = kinds.add_parser("data-aggregated", help="数据归集 (gov.catalog.data.aggregated)")
    _activity(p, "aggregated")
    p.add_argument("--period", help="the period aggregated: 2026-11-20, 2026-W47, 2026-11, 2026-Q4, 2026-H2, 2026")
    _common(p)
    for kind, word, zh in (("data-opened", "opened", "数据开放 (gov.catalog.data.opened)"),
                           ("data-shared", "shared", "数据共享 (gov.catalog.data.shared)")):
        p = kinds.add_parser(kind, help=zh)
        _activity(p, word)
        p.add_argument("--channel", default=ev.MUNICIPAL_PLATFORM,
                       help=f"the system used (default {ev.MUNICIPAL_PLATFORM}, the municipal platform)")
        _common(p)


def _activity(parser: argparse.ArgumentParser, word: str) -> None:
    parser.add_argument("--department")
    parser.add_argument("--resource-code", help="the catalog resource")
    parser.add_argument(f"--{word}-at", help="RFC 3339 timestamp (default: now)")
    parser.add_argument("--records", type=int, help="rows or files delivered")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, help="JSON file: a whole CloudEvent, or the event's data object")
    parser.add_argument("--id", help="CloudEvents id (default: a new UUID)")
    parser.add_argument("--source", help="CloudEvents source URI (default: /yuhua/upstream)")
    parser.add_argument("--time", help="CloudEvents time, RFC 3339 (default: now)")
    parser.add_argument("--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS or config/defaults.toml")
    parser.add_argument("--topic-prefix", help="default: TRACKER_TOPIC_PREFIX")
    parser.add_argument("--no-registry-check", action="store_true",
                        help="do not refuse department codes missing from the registry")
    parser.add_argument("--dry-run", action="store_true", help="validate and print the event, send nothing")
    parser.add_argument("--json", action="store_true", help="print the sent event as JSON")
    parser.set_defaults(func=run)


LIST_FIELDS = ("affected_departments", "counterpart_departments", "resolves")
DATA_FIELDS = {
    ev.REGULATION_CHANGED: ("regulation_id", "title", "change_kind", "changed_on", "affected_departments"),
    ev.DUTY_CHANGED: ("department", "changed_on", "change_kind", "description", "counterpart_departments"),
    ev.CATALOG_UPDATED: ("department", "submitted_at", "catalog_version", "resolves"),
    ev.OBJECTION_RAISED: ("objection_id", "department", "resource_code", "raised_on", "raised_by"),
    ev.OBJECTION_RESOLVED: ("objection_id", "department", "resource_code", "resolved_at"),
    ev.DATA_AGGREGATED: ("department", "resource_code", "period", "aggregated_at", "records"),
    ev.DATA_OPENED: ("department", "resource_code", "opened_at", "channel", "records"),
    ev.DATA_SHARED: ("department", "resource_code", "shared_at", "channel", "records"),
}
DATA_FIELDS[ev.CATALOG_UPDATED] += ("complete",)


def event_from_args(args: argparse.Namespace, now_iso: str) -> dict[str, Any]:
    """The CloudEvent the options (and ``--file``) describe, not yet validated."""
    from streams.publisher import DEFAULT_SOURCE

    event_type = KINDS[args.kind]
    if args.kind == "objection" and getattr(args, "resolved_at", None):
        event_type = ev.OBJECTION_RESOLVED
    envelope: dict[str, Any] = {}
    data: dict[str, Any] = {}
    if args.file is not None:
        try:
            loaded = json.loads(args.file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ev.InvalidEvent(f"cannot read {args.file}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ev.InvalidEvent(f"{args.file} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        if not isinstance(loaded, dict):
            raise ev.InvalidEvent(f"{args.file} must hold a JSON object (a CloudEvent or its data)")
        if "specversion" in loaded:
            envelope = {k: v for k, v in loaded.items() if k != "data"}
            data = loaded.get("data") if isinstance(loaded.get("data"), dict) else {}
            file_type = loaded.get("type")
            allowed = {event_type} | ({ev.OBJECTION_RESOLVED} if args.kind == "objection" else set())
            if file_type not in allowed:
                raise ev.InvalidEvent(f"{args.file} has type {file_type!r}, but `publish {args.kind}` sends "
                                      f"{' or '.join(sorted(allowed))}")
            event_type = file_type
        else:
            data = dict(loaded)
    for field in DATA_FIELDS[event_type]:
        value = getattr(args, field, None)
        if value is None:
            continue
        if field in LIST_FIELDS:
            value = [code.strip() for item in value for code in item.split(",") if code.strip()]
        data[field] = value
    if event_type == ev.CATALOG_UPDATED and getattr(args, "resources", None):
        data["resources"] = [*(data.get("resources") or []), *(_resource(text) for text in args.resources)]
    if event_type == ev.CATALOG_UPDATED and "submitted_at" not in data:
        data["submitted_at"] = now_iso
    if event_type in ACTIVITY_TIMES and ACTIVITY_TIMES[event_type] not in data:
        data[ACTIVITY_TIMES[event_type]] = now_iso
    event = {
        "specversion": envelope.get("specversion", ce.SPECVERSION),
        "id": args.id or envelope.get("id"),
        "source": args.source or envelope.get("source") or DEFAULT_SOURCE,
        "type": event_type,
        "time": args.time or envelope.get("time") or now_iso,
        "datacontenttype": "application/json",
        "data": data,
    }
    for extra, value in envelope.items():
        event.setdefault(extra, value)
    subject = envelope.get("subject") or data.get("department")
    if subject:
        event["subject"] = subject
    if not event["id"]:
        import uuid

        event["id"] = str(uuid.uuid4())
    return event


def _resource(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ev.InvalidEvent(f"--resource is not JSON: {exc.msg} at column {exc.colno}: {text!r}") from None


def validate_only(args: argparse.Namespace) -> int:
    """Read one CloudEvent and judge its bytes as the worker would; nothing is sent."""
    from config.settings import Settings
    from models.validation import parse_cloudevent
    from streams.publisher import message_key
    from streams.topics import TOPIC_OF_TYPE

    settings = Settings.from_env()
    name = "standard input" if args.validate_only == "-" else args.validate_only
    try:
        value = sys.stdin.buffer.read() if args.validate_only == "-" else Path(args.validate_only).read_bytes()
    except OSError as exc:
        print(f"catalog-tracker publish: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        event = parse_cloudevent(value, ce.STRUCTURED_HEADERS, max_bytes=settings.max_event_bytes)
        departments = registry_codes(settings)
        unknown = [code for code in event.departments() if departments is not None and code not in departments]
        if unknown:
            raise ev.InvalidEvent(f"unknown department code(s) {', '.join(unknown)}: not in the department "
                                  f"registry ({settings.departments_file})")
    except ev.InvalidEvent as exc:
        print(f"catalog-tracker publish: {name} is not a valid event: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    key = message_key(json.loads(value))
    print(f"{name}: valid {event.type} id={event.id} source={event.source}; it would go to "
          f"{settings.topic(TOPIC_OF_TYPE[event.type])} with key {key or '-'} (nothing sent)")
    return 0


def run(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from config.settings import Settings
    from streams.publisher import EventPublisher, validate_event

    if args.validate_only:
        print("catalog-tracker publish: --validate-only FILE checks a whole CloudEvent and takes no KIND",
              file=sys.stderr)
        return EXIT_INVALID
    settings = Settings.from_env()
    departments = None if args.no_registry_check else registry_codes(settings)
    try:
        event = event_from_args(args, ce.format_timestamp(datetime.now(timezone.utc)))
        validate_event(event, departments=departments, max_bytes=settings.max_event_bytes)
    except ev.InvalidEvent as exc:
        print(f"catalog-tracker publish: invalid event, nothing sent: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    if args.dry_run:
        print(json.dumps(event, ensure_ascii=False, indent=2))
        return 0
    prefix = settings.topic_prefix if args.topic_prefix is None else args.topic_prefix
    try:
        with EventPublisher(args.bootstrap_servers or settings.kafka_bootstrap_servers, topic_prefix=prefix,
                            departments=departments, max_bytes=settings.max_event_bytes) as publisher:
            sent = publisher.send_event(event)
    except ev.InvalidEvent as exc:  # pragma: no cover - validated above already
        print(f"catalog-tracker publish: invalid event, nothing sent: {exc.reason}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # noqa: BLE001 - any Kafka failure: report it, exit 1
        print(f"catalog-tracker publish: could not send: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_SEND_FAILED
    if args.json:
        print(json.dumps(sent.event, ensure_ascii=False))
    else:
        print(f"sent {sent.event['type']} id={sent.id} to {sent.topic} "
              f"partition={sent.partition} offset={sent.offset} key={sent.key or '-'}")
    return 0


def registry_codes(settings) -> frozenset[str] | None:
    """The department codes of the registry, or None when no registry file is there."""
    from streams.subscriber import load_department_names

    names = load_department_names(settings.departments_file)
    return frozenset(names) if names else None
