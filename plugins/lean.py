"""Per-item pytest machinery the live items do not need: output capture.

pytest resumes its global capture, swaps the file descriptors and reads both streams back three
times per item (setup, call, teardown): ~8% of the main thread at ten thousand checks. A live
item writes nothing: its fixtures observe through the executor and judge with pure functions,
the test function only fails or warns (pytest records warnings itself), and scan progress lines
step around capture anyway. So for live items the streams are left as they are between items;
every other test (the project's own) is captured as `--capture`/`-s` say.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .suite import check_of, live_run_key


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
