"""The AsyncAPI document validates as AsyncAPI 3.0 with the AsyncAPI initiative's own parser (npm).

``@asyncapi/parser`` is installed with the machine's Node.js into ``var/node-tools`` the first time (the npm
registry is reachable here; about 30 s, cached after). Without Node.js the test is skipped, except under CI where
it must run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from streams.asyncapi import document

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "var" / "node-tools"
PARSER_VERSION = "3"
SCRIPT = r"""
const { Parser } = require('@asyncapi/parser');
let text = '';
process.stdin.on('data', chunk => { text += chunk; });
process.stdin.on('end', async () => {
  const { document, diagnostics } = await new Parser().parse(text);
  const out = diagnostics.map(d => ({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  process.stdout.write(JSON.stringify({ parsed: !!document, version: document ? document.version() : null,
                                        channels: document ? document.channels().length : 0, diagnostics: out }));
});
"""


def _node_tools() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        if os.environ.get("CI") == "true":
            pytest.fail("Node.js and npm are needed under CI=true to validate the AsyncAPI document")
        pytest.skip("Node.js/npm not installed")
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--silent",
                        f"@asyncapi/parser@{PARSER_VERSION}"], check=True, timeout=300)
    return TOOLS


def test_the_document_is_valid_asyncapi_3():
    tools = _node_tools()
    answer = subprocess.run(["node", "-e", SCRIPT], input=json.dumps(document()), capture_output=True, text=True,
                            cwd=tools, timeout=120, check=True)
    result = json.loads(answer.stdout)
    problems = [d for d in result["diagnostics"] if d["severity"] == 0]  # 0: error
    assert result["parsed"] and problems == [], problems
    assert result["version"] == "3.0.0" and result["channels"] == len(document()["channels"])


def test_the_validator_refuses_a_broken_document():
    """The check itself can fail: a message pointing at a schema that is not there is an error."""
    tools = _node_tools()
    broken = document()
    first = next(iter(broken["components"]["messages"].values()))
    first["payload"] = {"$ref": "#/components/schemas/NoSuchSchema"}
    answer = subprocess.run(["node", "-e", SCRIPT], input=json.dumps(broken), capture_output=True, text=True,
                            cwd=tools, timeout=120, check=True)
    assert [d for d in json.loads(answer.stdout)["diagnostics"] if d["severity"] == 0]
