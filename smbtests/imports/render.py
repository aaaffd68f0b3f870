"""Rendering a draft: both files as block YAML with the comments (the `# TODO(human)` marks)
above each entry, and writing them, never over an existing file without `--force`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smbtests.atomic import write_text_atomically
from smbtests.errors import SmbtestsError


@dataclass(frozen=True)
class Entry:
    """A named entry of a YAML mapping with the comments written above it."""

    name: str
    value: dict[str, Any]
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Draft:
    """Both files as (top-level key, value, comments above it), in the order they are written."""

    name: str
    policy: list[tuple[str, Any, tuple[str, ...]]]
    environment: list[tuple[str, Any, tuple[str, ...]]]
    header: tuple[str, ...]  # comment lines at the top of both files
    todo_count: int


def _dump(key: str, value: Any) -> list[str]:
    """`key: value` as block YAML, lists of plain values in flow style ([a, b]) for reading."""
    if isinstance(value, dict) and value:
        return [f"{key}:", *(f"  {line}" for k, v in value.items() for line in _dump(k, v))]
    # PyYAML writes a mapping whose values are all plain as {k: v}; only lists go inline here
    flow = None if isinstance(value, list) else False
    text = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=flow, width=100)
    return text.rstrip("\n").split("\n")


def _render(items: Iterable[tuple[str, Any, tuple[str, ...]]], header: Sequence[str]) -> str:
    lines = [f"# {line}" for line in header]
    for key, value, comments in items:
        lines.extend(f"# {c}" for c in comments)
        if isinstance(value, list) and value and all(isinstance(v, Entry) for v in value):
            lines.append(f"{key}:")
            for entry in value:
                lines.extend(f"  # {c}" for c in entry.comments)
                lines.extend(f"  {line}" for line in _dump(entry.name, entry.value))
        else:
            lines.extend(_dump(key, value))
    return "\n".join(lines) + "\n"


def render(draft: Draft) -> tuple[str, str]:
    """(environment YAML, policy YAML) of a draft."""
    return _render(draft.environment, draft.header), _render(draft.policy, draft.header)


def write_draft(draft: Draft, folder: Path, force: bool) -> tuple[Path, Path]:
    """Write NAME.yaml and NAME-policy.yaml into `folder`; never overwrite without `force`."""
    environment_path = folder / f"{draft.name}.yaml"
    policy_path = folder / f"{draft.name}-policy.yaml"
    if not force:
        for path in (environment_path, policy_path):
            if path.exists():
                raise SmbtestsError(
                    f"{path} exists; pass --force to overwrite it, or choose another -o folder"
                )
    environment_text, policy_text = render(draft)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomically(policy_path, policy_text)
        write_text_atomically(environment_path, environment_text)
    except OSError as exc:
        raise SmbtestsError(f"-o {folder}: cannot write the draft ({exc.strerror})") from None
    return environment_path, policy_path
