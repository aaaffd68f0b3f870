"""Keep the run's secrets out of terminal, JUnit, Allure, logs and the results file.

Closes the paths FIELD-NOTES measured: report longrepr and sections (trylast, so it runs
innermost, before Allure copies them), log records (a record factory, so child loggers and every
handler are covered), warnings, and finally a scan of every file the run wrote: a hit is masked
in place and turns the run red. Not closable in-process, so documented instead: `-s` and
`--debug`.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from smbtests.atomic import write_text_atomically
from smbtests.secrets import MASK, SecretRegistry

from .suite import LiveRun, live_run_key
from .terse import fail_run


class Redactor:
    def __init__(self, config: pytest.Config, run: LiveRun, registry: SecretRegistry) -> None:
        self.config = config
        self.run = run
        self.registry = registry

    def _scrub_report(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        if report.longrepr is not None:
            text = str(report.longrepr)
            if self.registry.found_in(text):
                report.longrepr = self.registry.scrub(text)
        report.sections = [(t, self.registry.scrub(body)) for t, body in report.sections]

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(self) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        self._scrub_report(report)
        return report

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_make_collect_report(
        self,
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        self._scrub_report(report)
        return report

    def pytest_warning_recorded(self, warning_message: Any) -> None:
        text = str(warning_message.message)
        if self.registry.found_in(text):
            warning_message.message = UserWarning(self.registry.scrub(text))

    def _written_files(self) -> list[Path]:
        """Every output a writer registered through pytest_smbtests_output_paths."""
        registered = self.config.hook.pytest_smbtests_output_paths(config=self.config)
        return sorted({p for paths in registered for p in paths if p.exists()})

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """After every writer: scan what the run wrote; mask a hit and say where, never what."""
        yield
        if hasattr(self.config, "workerinput"):
            return
        hits = self.registry.scan_files(self._written_files())
        for path in hits:
            text = path.read_bytes().decode("utf-8", errors="ignore")
            write_text_atomically(path, self.registry.scrub(text))
        if hits:
            names = ", ".join(str(p) for p in hits)
            fail_run(
                session,
                f"smbtests: a secret was found in {names}; it was replaced by {MASK}. "
                "This is a bug: please report which check wrote it.",
            )


def _install_log_scrubber(registry: SecretRegistry) -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a library's malformed format string is its own bug; leave it be
            return record
        if registry.found_in(message):
            record.msg, record.args = registry.scrub(message), None
        if record.exc_info and registry.found_in(
            logging.Formatter().formatException(record.exc_info)
        ):
            # the traceback text would carry the secret: keep only a scrubbed rendering
            record.exc_text = registry.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    run = config.stash.get(live_run_key, None)
    if run is None:
        return
    registry = run.registry
    _install_log_scrubber(registry)
    # spnego logs whole NTLM messages at DEBUG (crackable offline): never below INFO
    logging.getLogger("spnego").setLevel(logging.INFO)
    config.pluginmanager.register(Redactor(config, run, registry), "smbtests-redactor")
