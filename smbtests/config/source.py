"""YAML with positions: load a file so that every key path can be traced to its line and column.

Errors in policy and environment files must name the place, so loading keeps a map from each key
path (as pydantic reports it in `loc`) to the YAML mark where that value starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smbtests.errors import PolicyError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class SourceDocument:
    """A parsed YAML file plus where each value stood in it."""

    path: Path
    data: Any
    positions: Mapping[KeyPath, Position] = field(repr=False)
    text: bytes = field(repr=False, default=b"")

    def where(self, key_path: Iterable[str | int]) -> str:
        """`file:line:col` for the deepest part of key_path that exists in the file."""
        path = tuple(key_path)
        while path and path not in self.positions:
            path = path[:-1]
        position = self.positions.get(path, Position(1, 1))
        return f"{self.path}:{position.line}:{position.column}"


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


_SCALARS = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        # e.g. `expires: 2025-02-30` (no such day) or an unknown `!!tag`
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(
            f"line {_mark(node).line}, column {_mark(node).column}: cannot read the value "
            f"({problem}); fix it"
        ) from None


def _walk(node: yaml.Node, path: KeyPath, positions: dict[KeyPath, Position]) -> Any:
    positions.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, str | int):
                raise PolicyError(
                    f"line {_mark(key_node).line}: a key must be a plain name; fix the key"
                )
            if key in result:
                raise PolicyError(
                    f"{path_label(path) or 'top level'}: key `{key}` appears twice "
                    f"(line {_mark(key_node).line}); keep one."
                )
            positions[(*path, key)] = _mark(key_node)
            result[key] = _walk(value_node, (*path, key), positions)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, index), positions) for index, item in enumerate(node.value)]
    return _scalar(node)


def load_yaml(path: Path) -> SourceDocument:
    """Parse one YAML file; any syntax problem becomes a PolicyError naming file, line, column."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"{path}: file not found; check the path or create it.") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read ({exc.strerror}).") from None
    try:
        node = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text; save it as UTF-8.") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise PolicyError(f"{place}: YAML syntax error: {exc.problem}; fix the syntax.") from None
    except yaml.YAMLError as exc:  # e.g. a control character (a ReaderError has no mark)
        raise PolicyError(f"{path}: not readable as YAML ({exc}); fix the file.") from None
    positions: dict[KeyPath, Position] = {}
    try:
        data = {} if node is None else _walk(node, (), positions)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    return SourceDocument(path=path, data=data, positions=positions, text=raw)


def path_label(key_path: Iterable[str | int]) -> str:
    """`probes.corp1.control.port` — the key path as a user would type it."""
    parts: list[str] = []
    for part in key_path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


def suggest(word: str, choices: Iterable[str]) -> str:
    """`; did you mean `guest`?` when something close exists, else an empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""
