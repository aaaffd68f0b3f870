"""paramiko and testinfra's paramiko backend, imported without `invoke`.

paramiko imports invoke only to run ssh_config's `Match exec`, and goes without it when the
import fails (its own `invoke_import_error`); smbtests never parses an ssh_config. With
unittest.mock and asyncio, invoke costs ~0.13 s, and every run's SSH probes start their connect
scans only once this import is done. So paramiko is imported with invoke blocked, and the block
lifted at once: a later `import invoke` in this process gets the whole module. (The stdlib's
LazyLoader does not help here: Python 3.11's import statement reads the lazy module's __spec__,
which loads it.)
"""

from __future__ import annotations

import sys

_BLOCKED = "invoke" not in sys.modules
if _BLOCKED:
    sys.modules["invoke"] = None  # type: ignore[assignment]  # the import system's "not here"
try:
    import paramiko
finally:
    if _BLOCKED and sys.modules.get("invoke", 0) is None:
        del sys.modules["invoke"]

from testinfra.backend.paramiko import ParamikoBackend  # noqa: E402  (paramiko first, above)

__all__ = ["ParamikoBackend", "paramiko"]
