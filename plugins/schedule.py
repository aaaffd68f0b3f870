"""Our own xdist scheduler: batches stay on one worker, node ids stay as pytest made them.

xdist's `loadgroup` groups by an `xdist_group` mark and renames every node id to `...@group`,
so ids printed under `-n` differ from serial ones (JUnit names change, `-k` and node ids don't
paste back). This scheduler groups like loadgroup, but reads the group from the plan: the
controller builds the same plan as the workers, so a check id maps to its batch's group.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

from .interrupted import check_id


class BatchScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped here
    """loadscope with one work unit per batch group; items outside the plan run alone."""

    def __init__(
        self, config: pytest.Config, groups: Mapping[str, str], log: Producer | None = None
    ) -> None:
        super().__init__(config, log)
        self._groups = dict(groups)

    def _split_scope(self, nodeid: str) -> str:
        found = check_id(nodeid)
        group = None if found is None else self._groups.get(found)
        return nodeid if group is None else f"smbtests-batch:{group}"
