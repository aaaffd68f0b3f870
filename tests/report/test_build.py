"""The real build: allure-pytest results -> Allure 2 -> an offline, tracker-free report that
headless Chromium renders with the run's numbers. Needs scripts/install-report-tools.sh."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from smbtests.reports.html import (
    build_report,
    external_references,
    find_generator,
    history_runs,
)
from tests.report.helpers import (
    SAMPLE_COUNTS,
    TIMEOUT,
    browser_requests,
    inet_destinations,
    page_requests,
    render,
    rendered_counts,
    widget,
)

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("report_tools")

# Allure 2's bundle keeps an in-memory `window.dataLayer` array for its events: inert without
# the tag-manager loader, which must appear nowhere.
TRACKER_LOADERS = ("googletagmanager", "google-analytics", "gtag/js", "analytics.js")
TRACKER_TAGS = ("gtag(", "dataLayer", "<script async src=")


def traced(netns: str, strace: str, log: Path) -> list[str]:
    """Prefix: run inside netns under strace, logging execs and every network send/connect."""
    return [
        *("ip", "netns", "exec", netns),
        *(strace, "-f", "--seccomp-bpf", "-qq", "-o", str(log)),
        *("-e", "trace=execve,connect,sendto,sendmsg"),
    ]


def report_text(report: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(report.rglob("*")) if p.is_file()
    )


def test_build_is_offline_and_free_of_outside_urls(
    allure_results: Path, offline_netns: str, strace: str, tmp_path: Path
) -> None:
    trace = tmp_path / "generator.strace"
    index = build_report(
        allure_results,
        tmp_path / "report",
        command_prefix=traced(offline_netns, strace, trace),
    )
    assert index == tmp_path / "report" / "index.html"
    assert index.is_file()
    assert external_references(index.parent) == []
    text = report_text(index.parent)
    for loader in TRACKER_LOADERS:
        assert loader not in text
    for tag in TRACKER_TAGS:
        assert tag not in index.read_text()
    assert "tickets.example.invalid" not in text  # the test's ticket link was rewritten
    assert "EXC-0007" in text  # ... and its name kept
    names = {
        json.loads(case.read_text(encoding="utf-8"))["name"]
        for case in (index.parent / "data" / "test-cases").glob("*.json")
    }
    assert {"SMB1 refused \u2014 fs1", "SMB1 refused \u2014 fs2"} <= names  # UTF-8 intact
    # The generator really ran under the trace, and opened no network connection at all.
    log = trace.read_text()
    assert 'execve("/' in log and "java" in log
    assert inet_destinations(log) == []
    assert not any(p.name.startswith(".smbtests-report-") for p in tmp_path.iterdir())


def test_trace_would_catch_the_analytics_ping(
    allure_results: Path, offline_netns: str, strace: str, tmp_path: Path
) -> None:
    """Control for the test above: without ALLURE_NO_ANALYTICS the same trace sees Allure 2
    try the network (its Google Analytics ping; the namespace keeps it from leaving)."""
    trace = tmp_path / "generator.strace"
    subprocess.run(
        [
            *traced(offline_netns, strace, trace),
            *(str(find_generator()), "generate", str(allure_results)),
            *("-o", str(tmp_path / "raw"), "--clean"),
        ],
        env={k: v for k, v in os.environ.items() if k != "ALLURE_NO_ANALYTICS"},
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert inet_destinations(trace.read_text()) != []
    assert "googletagmanager" in (tmp_path / "raw" / "index.html").read_text()


def test_history_carries_over_between_runs(allure_results: Path, tmp_path: Path) -> None:
    first = build_report(allure_results, tmp_path / "run1")
    assert history_runs(first.parent) == 1
    second = build_report(allure_results, tmp_path / "run2", history_from=first.parent)
    trend = json.loads((second.parent / "history" / "history-trend.json").read_text())
    assert [run["data"]["total"] for run in trend] == [6, 6]
    per_test = json.loads((second.parent / "history" / "history.json").read_text())
    assert len(per_test) == SAMPLE_COUNTS["total"]
    assert all(len(entry["items"]) == 2 for entry in per_test.values())
    # Into a single-file report, from it, and in place (out dir = previous report).
    single = build_report(
        allure_results, tmp_path / "single", single_file=True, history_from=second.parent
    )
    assert sorted(p.name for p in single.parent.iterdir()) == ["index.html"]
    assert history_runs(single.parent) == 3
    again = build_report(
        allure_results, tmp_path / "single", single_file=True, history_from=single.parent
    )
    assert history_runs(again.parent) == 4
    assert external_references(again.parent) == []


def test_report_renders_the_runs_numbers_in_chromium(
    allure_results: Path,
    offline_netns: str,
    chromium: str,
    serve_in_netns: Callable[[Path], str],
    tmp_path: Path,
) -> None:
    first = build_report(allure_results, tmp_path / "run1")
    index = build_report(allure_results, tmp_path / "report", history_from=first.parent)
    base = serve_in_netns(index.parent)
    shown = render(chromium, offline_netns, f"{base}/index.html", tmp_path / "chromium")
    assert rendered_counts(shown.dom) == SAMPLE_COUNTS
    assert "50%" in widget(shown.dom, "summary")  # 3 of 6 passed
    for status in ("passed", "failed", "broken"):
        assert f"chart__arc_status_{status}" in widget(shown.dom, "summary")
    categories = widget(shown.dom, "categories")
    assert "Product defects" in categories and "Test defects" in categories
    # The trend widget loaded the carried-over history (its chart is drawn a frame later, which
    # --dump-dom does not always wait for; the screenshot shows it).
    requested = page_requests(shown.netlog)
    assert any(url.startswith(f"{base}/widgets/history-trend.json") for url in requested)
    trend = json.loads((index.parent / "widgets" / "history-trend.json").read_text())
    assert len(trend) == 2
    # The page asked for nothing but the report's own loopback origin.
    assert f"{base}/index.html" in browser_requests(shown.netlog)
    assert requested and all(url.startswith(f"{base}/") for url in requested)
    assert shown.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shown.screenshot.stat().st_size > 20_000  # a drawn page, not a blank one


def test_single_file_report_renders_from_disk(
    allure_results: Path, offline_netns: str, chromium: str, tmp_path: Path
) -> None:
    index = build_report(allure_results, tmp_path / "report", single_file=True)
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html"]
    shown = render(chromium, offline_netns, index.as_uri(), tmp_path / "chromium")
    assert rendered_counts(shown.dom) == SAMPLE_COUNTS
    assert all(url.startswith(("file:", "data:")) for url in page_requests(shown.netlog))
    assert shown.screenshot.stat().st_size > 20_000
