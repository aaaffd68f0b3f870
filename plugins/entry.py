"""The pytest11 entry point: loads every smbtests plugin, so `--env` and the other options are
known wherever pytest runs (not only where this repository's conftest.py is).

The folder `plugins/` installs as the package `smbtests_pytest`; names are built from this
package's own name so the same modules load under either."""

pytest_plugins = [
    f"{__package__}.{name}"
    for name in (
        "options",
        "suite",
        "early",
        "items",
        "interrupted",
        "terse",  # before the plugins that import its fail_run (assertion rewriting)
        "results",
        "lean",  # before allure_report, which imports it
        "ready",
        "allure_report",
        "redact",
    )
]
