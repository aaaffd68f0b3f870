"""Wires the smbtests pytest plugins in for runs from the repository root. Installed, the
folder plugins/ is the package `smbtests_pytest` (also a pytest11 entry point; its modules
load once under that name); from a bare checkout the folder itself is imported."""

from importlib import import_module
from importlib.util import find_spec

_package = "smbtests_pytest" if find_spec("smbtests_pytest") is not None else "plugins"
pytest_plugins: list[str] = import_module(f"{_package}.entry").pytest_plugins
