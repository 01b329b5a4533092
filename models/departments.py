"""The department registry: which codes exist and what each department is called.

Read from ``config/departments.yaml`` (sample data an operator edits). Events
naming a code that is not here are dead-lettered by the service.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from models.yamlnodes import ConfigFileError, compose_file

KINDS = ("department", "street", "town")
KIND_NAMES_ZH = {"department": "区直部门", "street": "街道", "town": "镇"}
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class RegistryError(ConfigFileError):
    """The registry file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    kind: str = "department"

    def label(self) -> str:
        """How explanations name a department: 区教育局（jyj）."""
        return f"{self.name}（{self.code}）"

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "kind": self.kind, "kind_zh": KIND_NAMES_ZH[self.kind]}


class DepartmentRegistry:
    def __init__(self, departments: Iterable[Department], sample_data: bool = False):
        self._by_code = {d.code: d for d in departments}
        self.sample_data = sample_data

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Department]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Department | None:
        return self._by_code.get(code)

    def label(self, code: str) -> str:
        department = self._by_code.get(code)
        return department.label() if department else code

    def name_of(self, code: str) -> str:
        department = self._by_code.get(code)
        return department.name if department else code

    def unknown(self, codes: Iterable[str]) -> list[str]:
        return [code for code in codes if code not in self._by_code]


def load_registry(path: str | Path) -> DepartmentRegistry:
    path = Path(path)
    try:
        root = compose_file(path)
        top = root.mapping()
        sample = root.child(top, "sample_data", required=False)
        departments: list[Department] = []
        seen: set[str] = set()
        for item in root.child(top, "departments").sequence():
            fields = item.mapping()
            code_node = item.child(fields, "code")
            code = code_node.string()
            if not _CODE_RE.match(code):
                raise code_node.error(f"department code {code!r} must be short lowercase ASCII (a-z, 0-9, - or _)")
            if code in seen:
                raise code_node.error(f"department code {code!r} is listed twice")
            seen.add(code)
            kind_node = item.child(fields, "kind", required=False)
            kind = kind_node.string() if kind_node.present else "department"
            if kind not in KINDS:
                raise kind_node.error(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
            departments.append(Department(code=code, name=item.child(fields, "name").string(), kind=kind))
    except RegistryError:
        raise
    except ConfigFileError as exc:
        raise RegistryError(exc.path, exc.line, exc.problem) from None
    return DepartmentRegistry(departments, sample_data=sample.boolean() if sample.present else False)
