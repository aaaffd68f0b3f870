"""Hostile or odd input files: each gives one located PolicyError, quickly, never another
exception, a hang or a memory blow-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from smbtests.config import load
from smbtests.errors import PolicyError
from tests.unit.conftest import Editor

BOMB = "a: &a [0, 1, 2, 3, 4, 5, 6, 7, 8]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} {{{', '.join(f'k{k}: *{chr(97 + i)}' for k in range(9))}}}\n"
    for i in range(8)
)  # ~700 bytes, 9**9 values once expanded


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (BOMB.encode(), "aliases expand to over"),
        (b"a: &a [*a]\n", "alias contains itself"),
        (b"x: " + b"[" * 500 + b"]" * 500 + b"\n", "nested over 32 levels"),
        (b"x: \xff\xfe not utf-8\n", "not UTF-8"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
        (b"x: " + b"y" * (2 << 20) + b"\n", "larger than 1 MiB"),
    ],
    ids=["alias bomb", "recursive alias", "deep nesting", "not utf-8", "binary", "too large"],
)
def test_hostile_file_is_one_located_message(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    with pytest.raises(PolicyError, match=expected) as info:
        load(path)
    assert str(path) in str(info.value)


def test_a_device_as_the_policy_is_refused(edit: Editor) -> None:
    env = edit("lab.yaml", lambda d: d.update(policy="/dev/zero"))
    with pytest.raises(PolicyError, match="/dev/zero: not a regular file"):
        load(env)


def test_a_discovery_range_listed_twice_is_located(edit: Editor) -> None:
    def twice(d: dict) -> None:
        d["discovery"]["ranges"].append(d["discovery"]["ranges"][0])

    with pytest.raises(PolicyError, match=r"discovery\.ranges: entries \[0\] and \[6\] are the"):
        load(edit("lab-policy.yaml", twice))
