"""The outside-URL scan, the rewrite, the command line and the errors: no generator needed."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import pytest

from smbtests.errors import SmbtestsError
from smbtests.reports import html as html_report
from smbtests.reports.html import (
    INSTALL_SCRIPT,
    build_report,
    external_references,
    external_urls,
    history_runs,
    sanitize_report,
)

# What Allure 2 writes into index.html when ALLURE_NO_ANALYTICS is not set (2.46.1).
ALLURE2_TRACKER = """    <script async src="https://www.googletagmanager.com/gtag/js?id=G-FVWC4GKEYS"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-FVWC4GKEYS', {'allureVersion': '2.46.1'});
    </script>
"""
INDEX = """<!DOCTYPE html>
<html dir="ltr" lang="en">
<head>
    <meta charset="utf-8">
    <title>Allure Report</title>
    <link rel="icon" href="assets/favicon.ico">
</head>
<body>
    <div id="content"></div>
    <script src="assets/index.js"></script>
{tracker}</body>
</html>
"""
# Minified-JS shapes seen in Allure's bundle that are not outside references.
HARMLESS_JS = (
    'var svg=document.createElementNS("http://www.w3.org/2000/svg","g");'
    'var ns={xlink:"http://www.w3.org/1999/xlink",xml:"http://www.w3.org/XML/1998/namespace",'
    'rdf:"http://www.w3.org/1999/02/22-rdf-syntax-ns%23",xmlns:"http://www.w3.org/2000/xmlns/"};'
    "var re=/((?:(?:https?:\\/\\/|ftp:\\/\\/|mailto:)|www\\.)\\S+?)/gi;"
    'var ok=e.startsWith("http://")||e.startsWith("https://");var u="https://"+host;'
    'var local="http://127.0.0.1:8080/x",l2="http://localhost/",l3="http://[::1]:9/";'
    "var half=a/2//comment about b.c\n;"
)
ALLURE2_OUTSIDE_JS = (
    "new URL(e,`https://allure.local`);var Cs=`https://trace.playwright.dev/`;"
    "i=r?`https://${n}`:n;console.warn(`https://github.com/highlightjs/highlight.js/wiki/security`);"
    "var logo=\"%3csvg xmlns:inkscape='http://www.inkscape.org/namespaces/inkscape'%3e\";"
    'var ga="//www.google-analytics.com/analytics.js";'
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fake_report(root: Path, *, tracker: bool = True) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "index.html").write_text(INDEX.format(tracker=ALLURE2_TRACKER if tracker else ""))
    (root / "assets" / "index.js").write_text(HARMLESS_JS + ALLURE2_OUTSIDE_JS)
    (root / "assets" / "favicon.ico").write_bytes(b"\x00\x00\x01\x00//www.example.com/ binary")
    case = {"name": "reach", "links": [{"name": "EXC-0007", "url": "https://tickets.corp/EXC-7"}]}
    (root / "data" / "case.json").write_text(json.dumps(case))
    return root


def fake_results(root: Path) -> Path:
    root.mkdir()
    (root / "0-result.json").write_text('{"name": "t", "status": "passed"}')
    return root


def test_external_urls_finds_planted_trackers(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>'
    )
    (tmp_path / "app.js").write_text('a.src="//www.google-analytics.com/analytics.js";')
    urls = external_urls(tmp_path)
    assert "https://www.googletagmanager.com/gtag/js?id=G-X" in urls
    assert "//www.google-analytics.com/analytics.js" in urls
    assert ("app.js", "//www.google-analytics.com/analytics.js") in external_references(tmp_path)


def test_external_urls_allows_only_loopback_and_w3c_namespaces(tmp_path: Path) -> None:
    (tmp_path / "ok.js").write_text(HARMLESS_JS)
    assert external_urls(tmp_path) == []
    (tmp_path / "bad.js").write_text(
        'a="http://www.w3.org/2000/evil.js";b="http://10.0.0.1/";c="https://user:pw@127.0.0.1.nip.io/";'
        "d=`https://${host}/x`;e='wss://socket.example.org';f=\"https:\\/\\/json.example.org\\/x\";"
    )
    assert external_urls(tmp_path) == [
        "http://www.w3.org/2000/evil.js",
        "http://10.0.0.1/",
        "https://user:pw@127.0.0.1.nip.io/",
        "https://${host}/x",
        "wss://socket.example.org",
        "https:\\/\\/json.example.org\\/x",
    ]


def test_external_urls_decodes_what_a_single_file_report_embeds(tmp_path: Path) -> None:
    bundle = b64('console.warn("https://github.com/x/y");')
    case = b64(json.dumps({"links": [{"url": "https://tickets.example.org/EXC-1"}]}))
    (tmp_path / "index.html").write_text(
        f'<script src="data:text/javascript; charset=utf-8;base64,{bundle}"></script>'
        f"<script defer>d('data/test-cases/1.json','{case}')</script>"
    )
    assert external_references(tmp_path) == [
        ("index.html (embedded)", "https://github.com/x/y"),
        ("index.html (embedded)", "https://tickets.example.org/EXC-1"),
    ]


def test_sanitize_removes_trackers_and_points_the_rest_at_loopback(tmp_path: Path) -> None:
    report = fake_report(tmp_path / "report")
    assert sorted(external_urls(report)) == [
        "//www.google-analytics.com/analytics.js",
        "http://www.inkscape.org/namespaces/inkscape",
        "https://${n}",
        "https://allure.local",
        "https://github.com/highlightjs/highlight.js/wiki/security",
        "https://tickets.corp/EXC-7",
        "https://trace.playwright.dev/",
        "https://www.googletagmanager.com/gtag/js?id=G-FVWC4GKEYS",
    ]
    sanitize_report(report)
    assert external_urls(report) == []
    index = (report / "index.html").read_text()
    for tracker in ("googletagmanager", "gtag(", "dataLayer", "G-FVWC4GKEYS"):
        assert tracker not in index
    assert '<script src="assets/index.js"></script>' in index
    assert "Content-Security-Policy" in index
    js = (report / "assets" / "index.js").read_text()
    assert js.startswith(HARMLESS_JS)  # namespaces, regexes and prefix checks untouched
    assert "new URL(e,`https://127.0.0.1`)" in js
    assert '"//127.0.0.1/analytics.js"' in js
    case = json.loads((report / "data" / "case.json").read_text())
    assert case["links"] == [{"name": "EXC-0007", "url": "https://127.0.0.1/EXC-7"}]
    binary = (report / "assets" / "favicon.ico").read_bytes()
    assert binary == b"\x00\x00\x01\x00//www.example.com/ binary"  # binary files left alone
    assert sanitize_report(report) == 0  # idempotent


def test_sanitize_rewrites_inside_embedded_payloads(tmp_path: Path) -> None:
    inner = json.dumps({"links": [{"url": "https://tickets.example.org/EXC-1"}]})
    (tmp_path / "index.html").write_text(
        f"<html><head></head><body><script>d('data/1.json','{b64(inner)}')</script></body></html>"
    )
    sanitize_report(tmp_path)
    assert external_urls(tmp_path) == []
    text = (tmp_path / "index.html").read_text()
    payload = text.split("d('data/1.json','")[1].split("'")[0]
    assert json.loads(base64.b64decode(payload)) == {"links": [{"url": "https://127.0.0.1/EXC-1"}]}


def test_history_runs_reads_folders_and_single_file_reports(tmp_path: Path) -> None:
    trend = json.dumps([{"data": {"total": 6}}, {"data": {"total": 6}}])
    (tmp_path / "folder" / "history").mkdir(parents=True)
    (tmp_path / "folder" / "history" / "history-trend.json").write_text(trend)
    (tmp_path / "single").mkdir()
    (tmp_path / "single" / "index.html").write_text(
        f"<script>d('history/history-trend.json','{b64(trend)}')</script>"
    )
    assert history_runs(tmp_path / "folder") == 2
    assert history_runs(tmp_path / "single") == 2
    assert history_runs(tmp_path / "single" / "index.html") == 2
    assert history_runs(tmp_path) == 0


def test_missing_generator_names_the_install_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(html_report.GENERATOR_ENV, str(tmp_path / "no-such-allure"))
    with pytest.raises(SmbtestsError, match=INSTALL_SCRIPT) as raised:
        build_report(fake_results(tmp_path / "results"), tmp_path / "report")
    assert "not installed" in str(raised.value)
    assert not (tmp_path / "report").exists()


def test_missing_java_names_the_install_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = tmp_path / "allure"
    launcher.write_text("#!/bin/sh\nexit 0\n")
    launcher.chmod(0o755)
    monkeypatch.setenv(html_report.GENERATOR_ENV, str(launcher))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(SmbtestsError, match=f"Java is not installed.*{INSTALL_SCRIPT}"):
        build_report(fake_results(tmp_path / "results"), tmp_path / "report")


def test_generator_timeout_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launcher = tmp_path / "allure"
    launcher.write_text("#!/bin/sh\nsleep 30\n")
    launcher.chmod(0o755)
    monkeypatch.setenv(html_report.GENERATOR_ENV, str(launcher))
    (tmp_path / "jdk" / "bin").mkdir(parents=True)
    (tmp_path / "jdk" / "bin" / "java").write_text("#!/bin/sh\n")
    (tmp_path / "jdk" / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(SmbtestsError, match=r"did not finish in 0\.5 s"):
        build_report(fake_results(tmp_path / "results"), tmp_path / "report", timeout=0.5)
    assert not (tmp_path / "report").exists()
    assert not list(tmp_path.glob(".smbtests-report-*"))


def test_refuses_to_replace_a_folder_that_is_not_a_report(tmp_path: Path) -> None:
    results = fake_results(tmp_path / "results")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("keep me")
    with pytest.raises(SmbtestsError, match="refusing to replace"):
        build_report(results, tmp_path / "docs")
    with pytest.raises(SmbtestsError, match="apart from the results"):
        build_report(results, results / "report")
    with pytest.raises(SmbtestsError, match="no Allure results"):
        build_report(tmp_path / "docs", tmp_path / "report")
    assert (tmp_path / "docs" / "notes.txt").read_text() == "keep me"


def test_history_from_without_history_is_an_error(tmp_path: Path) -> None:
    results = fake_results(tmp_path / "results")
    with pytest.raises(SmbtestsError, match="no such previous report"):
        build_report(results, tmp_path / "new", history_from=tmp_path / "old")
    (tmp_path / "old").mkdir()
    with pytest.raises(SmbtestsError, match="holds no Allure history"):
        build_report(results, tmp_path / "new", history_from=tmp_path / "old")


def test_report_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="smbtests")
    html_report.register(parser.add_subparsers(dest="command", required=True))
    calls = []

    def fake_build(results: Path, out: Path, **kwargs: object) -> Path:
        calls.append((results, out, kwargs))
        return out / "index.html"

    monkeypatch.setattr(html_report, "build_report", fake_build)
    args = parser.parse_args(
        ["report", "res", "-o", str(tmp_path / "out"), "--single-file", "--history-from", "old"]
    )
    assert args.func(args) == 0
    assert calls == [
        (Path("res"), tmp_path / "out", {"single_file": True, "history_from": Path("old")})
    ]
    assert capsys.readouterr().out == f"{tmp_path / 'out' / 'index.html'}\n"
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "res"])  # -o is required
