"""Fixtures for the report builder's tests: real allure-results, a loopback-only network
namespace, tools, and a loopback HTTP server inside the namespace.

Everything that could touch a network runs in the namespace: the generator (its build must
work with no network at all) and Chromium (which, even with every background flag off, still
tries Google's time and update services). Tests that need a tool skip with the reason when it
is missing; with SMBTESTS_REQUIRE_REPORT_TOOLS=1 (CI, after scripts/install-report-tools.sh)
they fail instead, so a green run cannot hide a missing install.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smbtests.reports.html import INSTALL_SCRIPT, generator_available
from tests.report.helpers import SAMPLE_COUNTS, SAMPLE_SUITE, TIMEOUT

REQUIRE_ENV = "SMBTESTS_REQUIRE_REPORT_TOOLS"
SYSTEM_PYTHON = "/usr/bin/python3"


def require(available: bool, reason: str) -> None:
    """Skip (or, under SMBTESTS_REQUIRE_REPORT_TOOLS=1, fail) when a tool is missing."""
    if available:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


@pytest.fixture
def report_tools() -> None:
    require(
        generator_available(), f"Allure 2 generator or Java missing: run `bash {INSTALL_SCRIPT}`"
    )


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    require(path is not None, f"Debian chromium missing: run `bash {INSTALL_SCRIPT}`")
    assert path is not None
    return path


@pytest.fixture
def strace() -> str:
    path = shutil.which("strace")
    require(path is not None, f"strace missing: run `bash {INSTALL_SCRIPT}`")
    assert path is not None
    return path


@pytest.fixture
def allure_results(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real allure-results of SAMPLE_SUITE, written by allure-pytest in a pytest subprocess."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(test_sample=SAMPLE_SUITE)
    results = pytester.path / "allure-results"
    run = pytester.runpytest_subprocess(
        "--alluredir", str(results), "-p", "no:cacheprovider", timeout=TIMEOUT
    )
    run.assert_outcomes(passed=3, failed=3)  # pytest counts the broken one as failed
    assert len(list(results.glob("*-result.json"))) == SAMPLE_COUNTS["total"]
    return results


@pytest.fixture(scope="session")
def offline_netns() -> Iterator[str]:
    """A network namespace with only loopback (up): nothing run in it can reach a network."""
    require(
        os.geteuid() == 0 and shutil.which("ip") is not None,
        "needs root and iproute2 for a loopback-only network namespace",
    )
    name = f"smbtests-rpt-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=TIMEOUT)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=TIMEOUT)
        links = subprocess.run(
            ["ip", "-n", name, "-o", "link", "show"],
            check=True,
            timeout=TIMEOUT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        assert [line.split(":")[1].strip() for line in links] == ["lo"]
        yield name
    finally:
        # Whatever this session started in the namespace and left running, by pid.
        pids = subprocess.run(
            ["ip", "netns", "pids", name],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        ).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                continue
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=TIMEOUT)


_SERVER = """
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def serve_in_netns(offline_netns: str) -> Iterator[Callable[[Path], str]]:
    """serve(dir) -> base URL of a loopback HTTP server for dir, inside the namespace."""
    started: list[subprocess.Popen[str]] = []

    def serve(directory: Path) -> str:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", offline_netns, SYSTEM_PYTHON, "-c", _SERVER, str(directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=TIMEOUT):
                raise RuntimeError("the loopback HTTP server did not report its port")
        return f"http://127.0.0.1:{int(proc.stdout.readline())}"

    yield serve
    for proc in started:
        proc.kill()
        proc.wait(timeout=TIMEOUT)
