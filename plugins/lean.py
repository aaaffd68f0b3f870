"""Per-item pytest machinery the live items do not need: output capture, and working out each
item's location again.

pytest resumes its global capture, swaps the file descriptors and reads both streams back three
times per item (setup, call, teardown): ~8% of the main thread at ten thousand checks. A live
item writes nothing: its fixtures observe through the executor and judge with pure functions,
the test function only fails or warns (pytest records warnings itself), and scan progress lines
step around capture anyway. So for live items the streams are left as they are between items;
every other test (the project's own) is captured as `--capture`/`-s` say.

An item's location (file, line, name) is worked out per item from the test function's source
(path lookups and stat calls, ~5% of the main thread); the live items are all one function,
so its file and line are found once and each item gets its own name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .suite import check_of, live_run_key


@pytest.hookimpl(trylast=True)  # after plugins/suite.py's, which makes the live run
def pytest_configure(config: pytest.Config) -> None:
    capture = config.pluginmanager.get_plugin("capturemanager")
    if config.stash.get(live_run_key, None) is None or capture is None:
        return
    capture.item_capture = _except_live(capture.item_capture)


def _except_live(
    item_capture: Callable[[str, pytest.Item], contextlib.AbstractContextManager[None]],
) -> Callable[[str, pytest.Item], Any]:
    @contextlib.contextmanager
    def capture(when: str, item: pytest.Item) -> Iterator[None]:
        if check_of(item) is not None:
            yield
            return
        with item_capture(when, item):
            yield

    return capture


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(live_run_key, None) is None:
        return
    live = [i for i in items if isinstance(i, pytest.Function) and check_of(i) is not None]
    if not live:
        return
    path, line, _ = live[0].location
    for item in live[1:]:
        if item.function is live[0].function:
            # what pytest's cached property would compute: same file and line, own name
            item.__dict__["location"] = (path, line, item.getmodpath())
