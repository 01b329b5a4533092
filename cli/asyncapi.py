"""``catalog-tracker asyncapi [--output FILE]``: the AsyncAPI 3.0 document of every topic, with JSON Schemas.

Generated from the code that parses the inputs and publishes the outputs
(``streams.asyncapi``), so upstream teams can generate clients and validate
their events against exactly what the worker accepts. Without ``--output`` it
prints the document; ``--output docs/asyncapi.json`` refreshes the shipped copy.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("asyncapi", help="the AsyncAPI 3.0 document of every topic (JSON Schemas included)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="write the document to this file instead of printing it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streams.asyncapi import document

    text = json.dumps(document(), ensure_ascii=False, indent=2) + "\n"
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
