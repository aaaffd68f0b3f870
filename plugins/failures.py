"""A failed live item's report text, as pytest makes it, made without pytest's traceback walk.

A live check that fails raises `pytest.fail(verdict message, pytrace=False)`, from one line of
plugins/live.py. pytest turns that into the message alone (the "value" style), but first walks
the traceback: a `getcwd` call, a path check per frame and the crash line looked up again, for
each failure (~0.3 ms: 0.6 s of a ten-thousand-check run's 2,200 failures). The first failure
raised from a line gets pytest's own repr; every later one from that line reuses its crash
location with its own message, in the same pytest types, so the terminal, JUnit, Allure and
xdist's report transport read it as before. Anything else (another exception, a chained one,
--fulltrace) goes to pytest.
"""

from __future__ import annotations

from types import CodeType, TracebackType
from typing import Any

import pytest
from _pytest._code.code import (  # the types pytest's own value-style repr is made of
    ExceptionChainRepr,
    ReprEntry,
    ReprFileLocation,
    ReprTraceback,
)

crash_key = pytest.StashKey[dict[int, tuple[str, int]]]()  # raising line -> crash location


def value_repr(excinfo: pytest.ExceptionInfo[BaseException], path: str, line: int) -> Any:
    """What pytest's `getrepr(style="value")` makes of an unchained exception raised at
    path:line (the crash location pytest reports)."""
    entry = ReprEntry(str(excinfo.value).split("\n"), None, None, None, "value")
    crash = ReprFileLocation(path, line, excinfo.exconly(tryshort=True))
    return ExceptionChainRepr([(ReprTraceback([entry], None, "value"), crash, None)])


def repr_failure(item: pytest.Function, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
    """`item.repr_failure(excinfo)`, from the crash location pytest found for the same line."""
    value = excinfo.value
    plain = (
        isinstance(value, pytest.fail.Exception)
        and not value.pytrace
        and value.__cause__ is None
        and (value.__context__ is None or value.__suppress_context__)
        and not item.config.getoption("fulltrace", False)
    )
    raised_at = _line_in(excinfo.tb, item.obj.__code__) if plain else None
    known = item.config.stash.setdefault(crash_key, {})
    if raised_at is not None and raised_at in known:
        return value_repr(excinfo, *known[raised_at])
    made = pytest.Function.repr_failure(item, excinfo)
    crash = getattr(made, "reprcrash", None)
    if raised_at is not None and crash is not None and len(getattr(made, "chain", ())) == 1:
        known[raised_at] = (crash.path, crash.lineno)
    return made


def _line_in(tb: TracebackType | None, code: CodeType) -> int | None:
    """The line of the test function's own frame the exception left from."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
