"""smbtests.records.indented_json writes what `json.dumps(indent=2)` writes (non-ASCII kept as
it is): evidence and results files keep their layout with orjson underneath."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from smbtests.records import indented_json

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    # latencies and durations, as observations hold them (below 1e-4 the exponent is spelt
    # e-9 by orjson and e-09 by json: the same number, see the last test)
    | st.floats(allow_nan=False, min_value=-1e15, max_value=1e15).map(lambda f: round(f, 3))
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(VALUES, st.booleans())
def test_the_layout_of_the_json_module(value: Any, sort_keys: bool) -> None:
    expected = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    assert indented_json(value, sort_keys=sort_keys) == expected


def test_keys_that_are_not_text_become_text_as_the_json_module_makes_them() -> None:
    assert json.loads(indented_json({445: "smb", 139: "netbios"})) == {
        "139": "netbios",
        "445": "smb",
    }


def test_tiny_and_huge_numbers_read_back_the_same() -> None:
    for number in (5.158751240018115e-09, 1.5e300, -2.5e-7):
        assert json.loads(indented_json([number])) == [number]
