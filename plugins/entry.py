"""The pytest11 entry point: loads every smbtests plugin, so `--env` and the other options are
known wherever pytest runs (not only where this repository's conftest.py is)."""

pytest_plugins = [
    "plugins.options",
    "plugins.suite",
    "plugins.results",
    "plugins.allure_report",
    "plugins.redact",
]
