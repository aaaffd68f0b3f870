"""plugins/lean.py: live items skip pytest's per-phase capture (every other item keeps it), and
run the lean protocol unless a fixture, a mark or a plugin of their own asks for the phases."""

from __future__ import annotations

import contextlib
import types
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


class _Impl:
    def __init__(self, module: str, name: str) -> None:
        self.plugin = types.ModuleType(module)
        self.plugin_name = name


def _config(impls: dict[str, list[_Impl]]) -> Any:
    hooks = {
        name: types.SimpleNamespace(get_hookimpls=lambda n=name: impls.get(n, []))
        for name in lean.PHASE_HOOKS
    }
    return types.SimpleNamespace(hook=types.SimpleNamespace(**hooks))


def test_a_plugin_of_its_own_on_the_phases_turns_the_lean_protocol_off() -> None:
    ours = {
        "pytest_runtest_setup": [_Impl("_pytest.runner", "runner"), _Impl("allure_pytest.x", "a")],
        "pytest_fixture_setup": [_Impl(f"{lean.__package__}.items", "items")],
    }
    assert lean.phase_hooked_by_others(_config(ours)) == []
    theirs = ours | {"pytest_runtest_call": [_Impl("conftest", "/work/conftest.py")]}
    assert lean.phase_hooked_by_others(_config(theirs)) == ["/work/conftest.py"]


def _item(fixtures: tuple[str, ...], marks: tuple[str, ...]) -> Any:
    return types.SimpleNamespace(
        fixturenames=fixtures,
        iter_markers=lambda: [pytest.Mark(name, (), {}, _ispytest=True) for name in marks],
    )


@pytest.mark.parametrize(
    ("fixtures", "marks", "lean_ok"),
    [
        (("smb_check", "smb_verdict", "request"), ("parametrize", "smb_perimeter"), True),
        (("smb_check", "smb_verdict", "tmp_path"), ("smb_perimeter",), False),  # a fixture
        (("smb_check", "smb_verdict"), ("smb_perimeter", "skip"), False),  # a mark of its own
    ],
)
def test_an_item_with_a_fixture_or_mark_of_its_own_runs_the_full_protocol(
    fixtures: tuple[str, ...], marks: tuple[str, ...], lean_ok: bool
) -> None:
    check: Any = types.SimpleNamespace(marker="smb_perimeter")
    assert lean._own(_item(fixtures, marks), check) is lean_ok


def test_flattened_keywords_have_the_same_names_and_values_and_no_parent() -> None:
    from _pytest.mark.structures import NodeKeywords

    def node(name: str, parent: Any) -> Any:
        made = types.SimpleNamespace(name=name, parent=parent)
        made.keywords = NodeKeywords(made)  # type: ignore[arg-type]
        return made

    session = node("smbtests", None)
    module = node("live.py", session)
    module.keywords["smb_perimeter"] = "a mark"
    item = node("test_policy[reach:guest1/fs1:445]", module)
    item.keywords["smb_perimeter"] = "its own mark"  # the item's own wins, as before
    before = dict(item.keywords)
    lean._flatten_keywords(item)
    assert dict(item.keywords) == before and item.keywords.parent is None
    assert item.keywords["smb_perimeter"] == "its own mark" and "smbtests" in item.keywords
