"""Reading YAML while keeping line numbers, so a configuration mistake names its file and line.

``yaml.compose`` gives nodes with ``start_mark``; these helpers turn nodes into
Python values and raise ``ConfigFileError`` (file, line, problem) on the way.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    def __init__(self, path: Path | str, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {problem}")


class Node:
    """A YAML node with its file, for reading typed values with located errors."""

    def __init__(self, node: yaml.Node | None, path: Path, name: str, parent_line: int | None = None):
        self.node = node
        self.path = path
        self.name = name
        self.line = node.start_mark.line + 1 if node is not None else parent_line

    def error(self, problem: str) -> ConfigFileError:
        return ConfigFileError(self.path, self.line, problem)

    @property
    def present(self) -> bool:
        return self.node is not None and not (isinstance(self.node, yaml.ScalarNode)
                                              and self.node.tag == "tag:yaml.org,2002:null")

    def mapping(self) -> dict[str, "Node"]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{self.name} must be a mapping")
        result: dict[str, Node] = {}
        for key_node, value_node in self.node.value:
            key = str(key_node.value)
            if key in result:
                raise ConfigFileError(self.path, key_node.start_mark.line + 1, f"{self.name}.{key} appears twice")
            child = Node(value_node, self.path, f"{self.name}.{key}" if self.name else key)
            child.line = key_node.start_mark.line + 1  # report where the key is written
            result[key] = child
        return result

    def sequence(self) -> list["Node"]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"{self.name} must be a list")
        return [Node(item, self.path, f"{self.name}[{i}]") for i, item in enumerate(self.node.value)]

    def child(self, mapping: dict[str, "Node"], key: str, required: bool = True) -> "Node":
        if key in mapping and mapping[key].present:
            return mapping[key]
        if required:
            raise self.error(f"{self.name + '.' if self.name else ''}{key} is missing")
        return Node(None, self.path, f"{self.name}.{key}", self.line)

    def _scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"{self.name} must be a single value")
        return yaml.safe_load(yaml.serialize(self.node))

    def string(self) -> str:
        value = self._scalar()
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value).strip() == "":
            raise self.error(f"{self.name} must be a non-empty text")
        return str(value)

    def integer(self) -> int:
        value = self._scalar()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{self.name} must be a whole number, got {value!r}")
        return value

    def boolean(self) -> bool:
        value = self._scalar()
        if not isinstance(value, bool):
            raise self.error(f"{self.name} must be true or false, got {value!r}")
        return value

    def date(self) -> date:
        value = self._scalar()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.error(f"{self.name} must be a date like 2021-05-14, got {value!r}") from None


def compose_file(path: Path) -> Node:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(path, None, f"cannot be read: {exc}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigFileError(path, mark.line + 1 if mark else None, f"is not valid YAML: {exc}") from None
    if root is None:
        raise ConfigFileError(path, 1, "is empty")
    return Node(root, path, "")
