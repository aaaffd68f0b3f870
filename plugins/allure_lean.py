"""What allure-pytest's phase hooks write into a test's result, for the items that run the lean
protocol (plugins/lean.py), which calls no phase hook: the same fields by allure-pytest's own
helpers (tests/engine/test_lean_protocol.py compares both protocols' results). Written by
plugins/allure_report.py once an item's check is judged."""

from __future__ import annotations

import dataclasses

import pytest
from allure_commons.model2 import Label, Link, Parameter, TestResult
from allure_commons.types import LabelType
from allure_commons.utils import md5, platform_label, represent
from allure_pytest import utils as allure_utils  # by module: its `pytest_markers` is no hook
from allure_pytest.listener import AllureListener


@dataclasses.dataclass(frozen=True)
class _FunctionFields:
    """allure-pytest's fields that depend only on the test function, worked out once for all
    its items, not per item (for a lean item no mark can change them). allure-pytest splits
    the whole node id at "::", parameters included: an id such as
    `sweep:corp1/fd45:0:0:20::/64:139` moves part of itself into the class name, so the key is
    everything but the last "::" part, as that split sees it."""

    full_name: str
    title_path: tuple[str, ...]
    test_case_id: str
    description: str | None
    description_html: str | None
    package: str

    @classmethod
    def of(cls, item: pytest.Item) -> _FunctionFields:
        full_name = allure_utils.allure_full_name(item)
        return cls(
            full_name,
            tuple(allure_utils.allure_title_path(item)),
            md5(full_name),
            allure_utils.allure_description(item),
            allure_utils.allure_description_html(item),
            allure_utils.allure_package(item),
        )


_FUNCTION_FIELDS: dict[str, _FunctionFields] = {}


def _function_fields(item: pytest.Item) -> _FunctionFields:
    key = f"{item.nodeid.rsplit('::', 1)[0]}::{getattr(item, 'originalname', item.name)}"
    found = _FUNCTION_FIELDS.get(key)
    if found is None:
        found = _FUNCTION_FIELDS[key] = _FunctionFields.of(item)
    return found


def setup_would(item: pytest.Item, result: TestResult) -> None:
    """What allure-pytest's setup hook writes, for an item that runs the lean protocol
    (plugins/lean.py), by allure-pytest's own helpers; tests/engine/test_lean_protocol.py
    compares both protocols."""
    params = item.callspec.params  # type: ignore[attr-defined]
    result.name = allure_utils.allure_name(item, params, item.callspec.id)  # type: ignore[attr-defined]
    function = _function_fields(item)
    result.fullName = function.full_name
    result.titlePath = [*function.title_path]
    result.testCaseId = function.test_case_id
    result.description = function.description
    result.descriptionHtml = function.description_html
    named = {parameter.name for parameter in result.parameters}
    result.parameters.extend(
        Parameter(name=n, value=represent(v)) for n, v in params.items() if n not in named
    )


def teardown_would(item: pytest.Item, result: TestResult, host: str, thread: str) -> None:
    """What allure-pytest's teardown hook adds (see `setup_would`); its helpers that
    walk the item's marks run only where a mark of theirs is there to find."""
    params = item.callspec.params  # type: ignore[attr-defined]
    result.historyId = allure_utils.get_history_id(
        result.fullName, result.parameters, original_values=params
    )
    marks = list(item.iter_markers())
    names = {mark.name for mark in marks}
    if allure_utils.ALLURE_LABEL_MARK in names:
        result.labels.extend(
            Label(name=name, value=value) for name, value in allure_utils.allure_labels(item)
        )
    result.labels.extend(  # allure_utils.pytest_markers, on the marks read once
        Label(name=LabelType.TAG, value=mark.name)
        for mark in marks
        if allure_utils.should_convert_mark_to_tag(mark)
    )
    suites = {label.name for label in result.labels if label.name in AllureListener.SUITE_LABELS}
    if suites != AllureListener.SUITE_LABELS:
        result.labels.extend(
            Label(name=name, value=value)
            for name, value in allure_utils.allure_suite_labels(item)
            if name not in suites
        )
    result.labels += [
        Label(name=LabelType.HOST, value=host),
        Label(name=LabelType.THREAD, value=thread),
        Label(name=LabelType.FRAMEWORK, value="pytest"),
        Label(name=LabelType.LANGUAGE, value=platform_label()),
        Label(name="package", value=_function_fields(item).package),
    ]
    if allure_utils.ALLURE_LINK_MARK in names:
        result.links.extend(
            Link(kind, url, name) for kind, url, name in allure_utils.allure_links(item)
        )
