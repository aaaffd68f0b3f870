"""plugins/failures.py: a failed item's report carries what pytest's own repr_failure makes,
for failures it shortcuts (the same line again) and for those it hands to pytest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]
ADDRESS = re.compile(r"0x[0-9a-f]+")  # --fulltrace shows objects' addresses, new each run

TESTS = """
import pytest

@pytest.mark.parametrize("message", ["first", "two\\nlines", "third: 'quoted'"])
def test_verdict(message):
    pytest.fail(message, pytrace=False)

def test_other_line():
    pytest.fail("from another line", pytrace=False)

def test_chained():
    try:
        raise KeyError("inner")
    except KeyError:
        pytest.fail("while handling", pytrace=False)

def test_assertion():
    assert 1 == 2, "not a verdict"
"""

REPORTS = """
import functools, json
import pytest

SHORTCUT = {shortcut}

def pytest_configure(config):
    global CONFIG
    CONFIG = config

def pytest_collection_modifyitems(items):
    if SHORTCUT:
        from plugins import failures
        for item in items:
            item.__dict__["repr_failure"] = functools.partial(failures.repr_failure, item)

def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed:
        data = CONFIG.hook.pytest_report_to_serializable(config=CONFIG, report=report)
        print("REPORT", json.dumps([data["longrepr"], str(report.longrepr)]))
"""


def _reports(pytester: pytest.Pytester, *, shortcut: bool, extra: tuple[str, ...] = ()) -> list:
    pytester.makeconftest(REPORTS.format(shortcut=shortcut))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *extra)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # after the progress letters of the same line
    lines = [line.partition("REPORT ")[2] for line in result.outlines if "REPORT " in line]
    return [json.loads(ADDRESS.sub("0x", line)) for line in lines]


@pytest.mark.parametrize("extra", [(), ("--fulltrace",), ("--tb=short",)])
def test_every_failure_reports_what_pytest_itself_reports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, extra: tuple[str, ...]
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # `plugins` as this repository has it
    pytester.makepyfile(test_cases=TESTS)
    own = _reports(pytester, shortcut=False, extra=extra)
    assert len(own) == 6
    assert _reports(pytester, shortcut=True, extra=extra) == own
