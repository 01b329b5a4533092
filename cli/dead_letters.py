"""``catalog-tracker dead-letters list|redrive``: look at the rejected inputs and send chosen ones back.

    catalog-tracker dead-letters list [--reason TEXT] [--topic T] [--since DATE] [--id ID] [--json]
    catalog-tracker dead-letters redrive --reason "unknown department" [--dry-run] [--limit N]

``list`` reads ``catalog.dead-letters`` to its end and prints the chosen dead
letters (``--json``: one object a line, the original bytes in base64).
``redrive`` republishes the chosen letters' original bytes and headers to the
topic and partition they were read from, so that an event rejected for an
unknown department is judged once the registry knows it (restart the workers
after editing the registry first). Redriving is safe to repeat: the tracker
deduplicates on the event's (source, id). An input rejected again becomes a
new dead letter that counts its redrives in the ``catalog-tracker-redrive-count``
header; a letter that reached ``--max-redrives`` is refused, and a letter
already redriven and rejected again is skipped in favour of its newer letter
(``streams.dead_letters``). Filters combine: every one given must hold.
"""
from __future__ import annotations

import argparse
import json
import sys

from streams.dead_letters import DEFAULT_MAX_REDRIVES

EXIT_FAILED = 1
EXIT_USAGE = 2
REASON_WIDTH = 70


def register(subparsers) -> None:
    parser = subparsers.add_parser("dead-letters", help="list rejected inputs, or send chosen ones back (redrive)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="the dead letters, newest last")
    _filters(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per dead letter and line")
    listing.set_defaults(func=run_list)
    redrive = actions.add_parser("redrive", help="republish the chosen dead letters' inputs to their topics")
    _filters(redrive)
    redrive.add_argument("--dry-run", action="store_true", help="say what would be sent, send nothing")
    redrive.add_argument("--limit", type=_positive, metavar="N", help="send at most N letters this run")
    redrive.add_argument("--max-redrives", type=_positive, default=DEFAULT_MAX_REDRIVES, metavar="N",
                         help=f"refuse letters already redriven N times (default {DEFAULT_MAX_REDRIVES})")
    redrive.set_defaults(func=run_redrive)
    parser.set_defaults(func=lambda args: (parser.print_help(), EXIT_USAGE)[1])


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", metavar="TEXT", help="the reason contains TEXT (any case)")
    parser.add_argument("--topic", metavar="T", help="read from input topic T (with or without the prefix)")
    parser.add_argument("--since", metavar="DATE", help="rejected on or after DATE (or an RFC 3339 instant)")
    parser.add_argument("--id", dest="ids", action="append", default=[], metavar="ID",
                        help="a dead letter's id or the rejected event's id (repeat)")
    parser.add_argument("--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS or config/defaults.toml")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to read the topic to its end")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _read(args: argparse.Namespace, settings):
    """The chosen letters, or an exit status after saying what is wrong."""
    from streams import topics
    from streams.dead_letters import Selection, parse_since, read_dead_letters

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"catalog-tracker dead-letters: {exc}", file=sys.stderr)
        return EXIT_USAGE
    selection = Selection(reason=args.reason, topic=args.topic, since=since, ids=frozenset(args.ids),
                          prefix=settings.topic_prefix)
    try:
        return read_dead_letters(args.bootstrap_servers or settings.kafka_bootstrap_servers,
                                 settings.topic(topics.DEAD_LETTERS), selection, timeout=args.timeout,
                                 fetch_max_wait_ms=settings.fetch_max_wait_ms)
    except LookupError as exc:
        print(f"catalog-tracker dead-letters: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a broker problem: say so, exit 1
        print(f"catalog-tracker dead-letters: cannot read the dead letters: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return EXIT_FAILED


def run_list(args: argparse.Namespace) -> int:
    from config.settings import Settings

    letters = _read(args, Settings.from_env())
    if isinstance(letters, int):
        return letters
    if args.json:
        from models.cloudevents import jsonable

        for letter in letters.chosen:
            record = letter.to_dict() | {"superseded_by": letters.superseded(letter)}
            print(json.dumps(jsonable(record), ensure_ascii=False))
    else:
        print(render(letters.chosen, letters) if letters.chosen else "no dead letters chosen")
    print(_summary(letters), file=sys.stderr)
    return 0


def render(chosen, letters) -> str:
    from cli.table import render_table
    from models import wording

    rows = []
    for letter in chosen:
        newer = letters.superseded(letter)
        reason = letter.reason if len(letter.reason) <= REASON_WIDTH else letter.reason[:REASON_WIDTH - 1] + "…"
        if newer:
            reason = f"{reason}（{wording.DEAD_LETTER_SUPERSEDED[0]} {newer}）"
        rows.append([wording.instant_text(letter.rejected_at) if letter.rejected_at else "-",
                     f"{letter.topic}/{letter.partition}@{letter.offset}", letter.event_id or "-",
                     letter.redrive_count, reason, letter.id])
    return render_table([zh for zh, _ in wording.DEAD_LETTER_COLUMNS], rows, numeric=(3,))


def _summary(letters) -> str:
    unreadable = f"; {letters.unreadable} records were not dead letters" if letters.unreadable else ""
    return f"{len(letters.chosen)} of {letters.total} dead letters chosen{unreadable}"


def run_redrive(args: argparse.Namespace) -> int:
    from config.settings import Settings
    from streams import topics
    from streams.dead_letters import plan_redrive

    settings = Settings.from_env()
    letters = _read(args, settings)
    if isinstance(letters, int):
        return letters
    plan = plan_redrive(letters, input_topics=topics.input_topic_names(settings), max_redrives=args.max_redrives,
                        limit=args.limit)
    print(_summary(letters), file=sys.stderr)
    for letter, newer in plan.superseded:
        print(f"skipped {letter.id}: already redriven and rejected again as {newer} (redrive that one)",
              file=sys.stderr)
    for letter in plan.at_limit:
        times = "time" if letter.redrive_count == 1 else "times"
        print(f"refused {letter.id}: redriven {letter.redrive_count} {times} already, the limit is "
              f"{args.max_redrives} (--max-redrives); last reason: {letter.reason}", file=sys.stderr)
    for letter, why in plan.not_redrivable:
        print(f"cannot redrive {letter.id}: {why}", file=sys.stderr)
    if plan.over_limit_n:
        print(f"{plan.over_limit_n} more left for a later run (--limit {args.limit})", file=sys.stderr)
    if args.dry_run:
        if plan.send:
            print(render(plan.send, letters))
        print(f"dry run: {len(plan.send)} would be redriven; nothing sent")
        return 0
    if not plan.send:
        print("nothing to redrive")
        return 0
    return _send(plan.send, args.bootstrap_servers or settings.kafka_bootstrap_servers)


def _send(chosen, bootstrap_servers: str) -> int:
    from cli.progress import Progress
    from streams.dead_letters import producer_for, redrive

    try:
        producer = producer_for(bootstrap_servers)
    except Exception as exc:  # noqa: BLE001 - a broker problem: say so, exit 1
        print(f"catalog-tracker dead-letters: cannot connect to {bootstrap_servers}: {exc!r}", file=sys.stderr)
        return EXIT_FAILED
    try:
        with Progress(len(chosen), "redriven") as progress:
            outcome = redrive(chosen, producer, on_sent=progress.advance)
    finally:
        producer.close(timeout=10)
    for letter, why in outcome.failed:
        print(f"failed {letter.id} ({letter.topic}/{letter.partition}@{letter.offset}): {why}", file=sys.stderr)
    print(f"redriven {len(outcome.sent)} dead letter{'' if len(outcome.sent) == 1 else 's'} to their topics"
          + (f"; {len(outcome.failed)} failed" if outcome.failed else ""))
    return EXIT_FAILED if outcome.failed else 0
