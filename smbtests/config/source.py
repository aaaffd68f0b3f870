"""YAML with positions: load a file so that every key path can be traced to its line and column.

Errors in policy and environment files must name the place, so loading keeps a map from each key
path (as pydantic reports it in `loc`) to the YAML mark where that value starts.

Hostile or odd input is refused before it costs anything: a size cap (read at most that much,
so `/dev/zero` or a FIFO cannot fill memory), NUL bytes, non-UTF-8, nesting depth (checked on
the flat event stream, before PyYAML's recursive composer), alias expansion (counted while
walking), and list entries written twice.
"""

from __future__ import annotations

import difflib
import json
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


MAX_BYTES = 1 << 20  # a large estate's policy is tens of KB; more is not a policy file
MAX_DEPTH = 32  # the models nest 6 deep
MAX_VALUES = 100_000  # values after alias expansion: a 2 KB alias bomb expands to billions
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class _Budget:
    values: int = 0


def _walk(
    node: yaml.Node, path: KeyPath, positions: dict[KeyPath, Position], budget: _Budget
) -> Any:
    budget.values += 1
    if budget.values > MAX_VALUES:
        raise PolicyError(
            f"line {_mark(node).line}: aliases expand to over {MAX_VALUES:,} values "
            "(an alias bomb?); write the values out or use fewer aliases"
        )
    if len(path) > MAX_DEPTH:  # also ends an alias that contains itself
        raise PolicyError(
            f"line {_mark(node).line}: nested over {MAX_DEPTH} levels deep (or an alias "
            "contains itself); flatten it"
        )
    positions.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged |= _merge_sources(value_node, path, positions, budget)
                continue
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
            result[key] = _walk(value_node, (*path, key), positions, budget)
        return merged | result  # the mapping's own keys win over merged ones (YAML's `<<:`)
    if isinstance(node, yaml.SequenceNode):
        items = [
            _walk(item, (*path, index), positions, budget) for index, item in enumerate(node.value)
        ]
        _refuse_repeats(path, node, items)
        return items
    return _scalar(node)


def _merge_sources(
    node: yaml.Node, path: KeyPath, positions: dict[KeyPath, Position], budget: _Budget
) -> dict[Any, Any]:
    """The mappings a `<<:` merge key names (one, or a list of them; earlier ones win)."""
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    merged: dict[Any, Any] = {}
    for source in reversed(sources):
        if not isinstance(source, yaml.MappingNode):
            raise PolicyError(
                f"line {_mark(source).line}: `<<:` merges mappings only; name a mapping (&anchor)"
            )
        merged |= _walk(source, path, positions, budget)
    return merged


def _refuse_repeats(path: KeyPath, node: yaml.SequenceNode, items: list[Any]) -> None:
    """A list entry written twice (a discovery range, a port, a rule) is a slip, never meant."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = json.dumps(item, sort_keys=True, default=str)
        if key in seen:
            raise PolicyError(
                f"{path_label(path) or 'top level'}: entries [{seen[key]}] and [{index}] are "
                f"the same (line {_mark(node.value[index]).line}); keep one."
            )
        seen[key] = index


def _read_capped(path: Path) -> bytes:
    """The file's bytes, refusing what is not a regular file or is larger than any policy."""
    try:
        if not path.is_file():
            raise PolicyError(
                f"{path}: not a regular file"
                + ("" if path.exists() else "; file not found")
                + "; name a YAML file."
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise PolicyError(f"{path}: file not found; check the path or create it.") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read ({exc.strerror or exc}).") from None
    if len(raw) > MAX_BYTES:
        raise PolicyError(f"{path}: larger than {MAX_BYTES >> 20} MiB; not a policy file.")
    if b"\0" in raw:
        raise PolicyError(f"{path}: a binary file (NUL bytes), not YAML text; name the YAML file.")
    return raw


# libyaml's parser where PyYAML has it (its wheels do): the same events and marks, ~10x faster
# than the pure-Python one (a generated environment of 10,000 paths took 0.6 s to load)
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the event stream (flat), before the recursive composer runs."""
    depth = 0
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 0
                raise PolicyError(f"line {line}: nested over {MAX_DEPTH} levels deep; flatten it")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(path: Path) -> SourceDocument:
    """Parse one YAML file; any syntax problem becomes a PolicyError naming file, line, column."""
    raw = _read_capped(path)
    try:
        text = raw.decode("utf-8")
        _check_nesting(text)
        node = yaml.compose(text, Loader=LOADER)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text; save it as UTF-8.") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        if "'\\t'" in str(exc.problem) or "tab character" in str(exc.problem):  # pure, libyaml
            raise PolicyError(
                f"{place}: a tab character; YAML indents with spaces only: replace it with spaces."
            ) from None
        raise PolicyError(f"{place}: YAML syntax error: {exc.problem}; fix the syntax.") from None
    except yaml.YAMLError as exc:  # e.g. a control character (a ReaderError has no mark)
        raise PolicyError(f"{path}: not readable as YAML ({exc}); fix the file.") from None
    positions: dict[KeyPath, Position] = {}
    try:
        data = {} if node is None else _walk(node, (), positions, _Budget())
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
