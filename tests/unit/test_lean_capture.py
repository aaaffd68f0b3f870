"""plugins/lean.py: live items skip pytest's per-phase capture; every other item keeps it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from plugins import lean


def test_only_items_that_are_not_live_checks_are_captured(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def item_capture(when: str, item: Any) -> Iterator[None]:
        captured.append((when, item))
        yield

    monkeypatch.setattr(lean, "check_of", lambda item: object() if item == "live" else None)
    capture: Any = lean._except_live(item_capture)
    for item in ("live", "own test"):
        for when in ("setup", "call", "teardown"):
            with capture(when, item):
                pass
    assert captured == [("setup", "own test"), ("call", "own test"), ("teardown", "own test")]
