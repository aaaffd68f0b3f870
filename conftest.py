"""Wires the smbtests pytest plugins in for runs from the repository root (the installed
package also registers them as a pytest11 entry point; loading twice is a no-op)."""

from plugins.entry import pytest_plugins

__all__ = ["pytest_plugins"]
