"""state.json: what `up` created, so `down` and scenarios undo exactly that and nothing else."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smbtests.errors import LabError
from smbtests.lab import paths

STATE_VERSION = 1


@dataclass(frozen=True)
class TrackedProcess:
    pid: int
    # Kernel start time (clock ticks since boot) of that pid: together they name one process for
    # good, so a recycled pid of a long-gone lab is never signalled.
    start_time: int
    namespace: str
    argv: tuple[str, ...]


@dataclass
class LabState:
    created_users: list[str] = field(default_factory=list)
    created_paths: list[str] = field(default_factory=list)
    processes: dict[str, TrackedProcess] = field(default_factory=dict)
    active_scenarios: list[str] = field(default_factory=list)

    def save(self) -> None:
        """Write atomically: a crash mid-write must not lose the record `down` depends on."""
        document = {"version": STATE_VERSION, **asdict(self)}
        tmp = paths.STATE_FILE.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
        tmp.replace(paths.STATE_FILE)


def load(path: Path = paths.STATE_FILE) -> LabState | None:
    """The recorded state, or None when no lab has been brought up."""
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabError(f"cannot read {path}: {exc}; remove it by hand, then `lab up`") from exc
    if document.get("version") != STATE_VERSION:
        raise LabError(f"{path} has an unknown version; remove it by hand, then `lab up`")
    return LabState(
        created_users=list(document["created_users"]),
        created_paths=list(document["created_paths"]),
        processes={
            name: TrackedProcess(
                pid=proc["pid"],
                start_time=proc["start_time"],
                namespace=proc["namespace"],
                argv=tuple(proc["argv"]),
            )
            for name, proc in document["processes"].items()
        },
        active_scenarios=list(document["active_scenarios"]),
    )


def require() -> LabState:
    state = load()
    if state is None:
        raise LabError(f"the lab is not up (no {paths.STATE_FILE}): run `smbtests lab up`")
    return state
