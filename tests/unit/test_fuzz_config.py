"""Property: any mutation of the lab's policy or environment file gives a clean PolicyError
or a config that loads and plans, never another exception (a traceback to the user).

Bounded for CI: a fixed number of examples, derandomized, no per-example deadline."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smbtests.checks.registry import build_plan
from smbtests.config import load
from smbtests.errors import PolicyError

ENVIRONMENTS = Path(__file__).resolve().parents[2] / "environments"
FILES = ("lab.yaml", "lab-policy.yaml")
BOUNDED = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "10.45.40.41/24",
            "8.8.8.8",
            "::1",
            "fe80::1%eth0",
            "10.45.10.0/33",
            "0.0.0.0/0",
            "2025-02-30",
            "/dev/zero",
            "guest",
            "445",
        ]
    ),
    st.lists(st.integers(min_value=0, max_value=70000), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=2),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _set(data: Any, path: tuple[Any, ...], value: Any, mode: str) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if mode == "delete":
        del parent[path[-1]]
    elif mode == "duplicate" and isinstance(parent, list):
        parent.append(parent[path[-1]])
    else:
        parent[path[-1]] = value
    return data


@st.composite
def value_mutation(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(FILES))
    data = yaml.safe_load((ENVIRONMENTS / name).read_text())
    path = draw(st.sampled_from(_paths(data)[1:]))
    mode = draw(st.sampled_from(["replace", "delete", "duplicate"]))
    data = _set(data, path, draw(ODD_VALUES), mode)
    return name, yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def text_mutation(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(FILES))
    raw = bytearray((ENVIRONMENTS / name).read_bytes())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(raw)))
        cut = draw(st.integers(min_value=0, max_value=40))
        raw[at : at + cut] = draw(st.binary(max_size=12) | st.sampled_from([b"&a", b"*a", b"\t"]))
    return name, bytes(raw)


def _check(directory: Path, name: str, content: bytes) -> None:
    for file in FILES:
        shutil.copy(ENVIRONMENTS / file, directory / file)
    (directory / name).write_bytes(content)
    env = directory / "lab.yaml"
    env.write_text(
        env.read_text(errors="replace").replace(
            "/run/smbtests-lab/policy-overlay.yaml", str(directory / "overlay.yaml")
        )
    )
    try:
        config = load(env)
    except PolicyError:
        return
    build_plan(config, date(2026, 11, 26))  # accepted: it must also plan


@BOUNDED
@given(mutation=value_mutation())
def test_a_mutated_value_is_a_policy_error_or_accepted(
    tmp_path: Path, mutation: tuple[str, str]
) -> None:
    name, text = mutation
    _check(tmp_path, name, text.encode())


@BOUNDED
@given(mutation=text_mutation())
def test_mutated_bytes_are_a_policy_error_or_accepted(
    tmp_path: Path, mutation: tuple[str, bytes]
) -> None:
    name, content = mutation
    _check(tmp_path, name, content)
