"""Helpers for the report tests: the sample suite, headless Chromium, reading what it rendered."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from smbtests.reports.audit_pdf import CHROMIUM_FLAGS as OFFLINE_FLAGS

TIMEOUT = 60.0

# The tiny suite whose results the report is built from: 3 passed, 2 failed, 1 broken.
# One test carries a ticket link with an outside URL: the built report must not keep it.
SAMPLE_SUITE = """
import allure
import pytest


@allure.epic("2 Perimeter and untrusted zones")
@allure.feature("445 closed from untrusted segments")
@allure.story("guest1")
@allure.severity(allure.severity_level.CRITICAL)
@allure.link("https://tickets.example.invalid/browse/EXC-0007", name="EXC-0007")
@pytest.mark.parametrize("target", ["fs1:445", "fs2:445", "dc1:445"])
def test_reach_closed(target):
    assert target


@allure.epic("4 Hardening")
@allure.feature("SMB1 refused")
@allure.story("fs1")
@allure.severity(allure.severity_level.NORMAL)
@allure.title("SMB1 refused \\u2014 {host}")
@pytest.mark.parametrize("host", ["fs1", "fs2"])
def test_smb1_refused(host):
    assert host == "refused", "the server accepted an SMB1 negotiate"


@allure.epic("4 Hardening")
@allure.feature("Signing required")
@allure.story("fs3")
@allure.severity(allure.severity_level.MINOR)
def test_signing_required():
    raise ConnectionResetError("probe: connection reset by fs3")
"""
SAMPLE_COUNTS = {"total": 6, "passed": 3, "failed": 2, "broken": 1}

CHROMIUM_FLAGS = (
    *OFFLINE_FLAGS,
    "--hide-scrollbars",
    "--window-size=1400,1000",
    "--virtual-time-budget=10000",
)


@dataclass(frozen=True)
class Rendered:
    dom: str
    screenshot: Path
    netlog: Path


def render(chromium: str, netns: str, url: str, workdir: Path) -> Rendered:
    """Open url in headless Chromium inside netns: its DOM, a screenshot and a net log."""
    workdir.mkdir(parents=True, exist_ok=True)
    base = ["ip", "netns", "exec", netns, "timeout", str(int(TIMEOUT)), chromium, *CHROMIUM_FLAGS]
    netlog = workdir / "netlog.json"
    dump = subprocess.run(
        [
            *base,
            f"--user-data-dir={workdir / 'profile-dom'}",
            f"--log-net-log={netlog}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 10,
        check=False,
    )
    if dump.returncode != 0 or not dump.stdout.strip():
        raise RuntimeError(f"chromium --dump-dom failed ({dump.returncode}): {dump.stderr[-2000:]}")
    screenshot = workdir / "report.png"
    shot = subprocess.run(
        [*base, f"--user-data-dir={workdir / 'profile-shot'}", f"--screenshot={screenshot}", url],
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 10,
        check=False,
    )
    if shot.returncode != 0 or not screenshot.is_file():
        raise RuntimeError(
            f"chromium --screenshot failed ({shot.returncode}): {shot.stderr[-2000:]}"
        )
    return Rendered(dom=dump.stdout, screenshot=screenshot, netlog=netlog)


def widget(dom: str, name: str) -> str:
    """The markup of one overview widget (data-id=name) of an Allure 2 report's DOM."""
    start = dom.find(f'data-id="{name}"')
    assert start >= 0, f"the rendered report has no {name} widget"
    end = dom.find('data-id="', start + 1)
    return dom[start : end if end > 0 else len(dom)]


def rendered_counts(dom: str) -> dict[str, int]:
    """Total and per-status counts as the overview renders them (summary and suites widgets)."""
    total = re.search(
        r'splash__title">(\d+)</div><div class="splash__subtitle">test cases<',
        widget(dom, "summary"),
    )
    assert total, "the summary widget shows no test-case count"
    counts = {"total": int(total.group(1))}
    for status, number in re.findall(r'bar__fill_status_(\w+)"[^>]*>(\d+)<', widget(dom, "suites")):
        counts[status] = counts.get(status, 0) + int(number)
    return counts


def _start_jobs(netlog: Path) -> list[dict[str, str]]:
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    jobs = [e.get("params") or {} for e in log["events"] if e["type"] == start_job]
    return [params for params in jobs if "url" in params]  # end events carry only the result


def page_requests(netlog: Path) -> list[str]:
    """URLs the page itself requested; Chromium's own background requests (no initiator)
    are left out: they are the browser's, and the namespace keeps them from going anywhere."""
    return [
        params["url"]
        for params in _start_jobs(netlog)
        if params.get("initiator", "not an origin") != "not an origin"
    ]


def browser_requests(netlog: Path) -> list[str]:
    """Every URL Chromium started to fetch, its own background requests included."""
    return [params["url"] for params in _start_jobs(netlog)]


_INET_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def inet_destinations(strace_log: str) -> list[str]:
    """Non-loopback IPv4/IPv6 addresses that traced connect/sendto/sendmsg calls aimed at."""
    found = []
    for line in strace_log.splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        for v4, v6 in _INET_ADDRESS.findall(line):
            address = v4 or v6
            if not ipaddress.ip_address(address).is_loopback:
                found.append(line.strip())
    return found
