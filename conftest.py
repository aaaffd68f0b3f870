"""Wires the smbtests pytest plugins in for runs from the repository root."""

pytest_plugins = [
    "plugins.options",
    "plugins.suite",
    "plugins.results",
    "plugins.allure_report",
    "plugins.redact",
]
