"""models/wording.py is edited by several people at once: a name defined twice would silently replace the first."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

WORDING = Path(__file__).resolve().parents[2] / "models" / "wording.py"


def test_every_top_level_name_of_the_wording_module_is_defined_once():
    tree = ast.parse(WORDING.read_text(encoding="utf-8"))
    names = Counter()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] += 1
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] += 1
    assert names and {name: n for name, n in names.items() if n > 1} == {}
