"""`smbtests report`: the Allure HTML report, built offline and free of outside URLs.

The generator is Allure 2 (npm `allure-commandline`, run directly by its shell launcher on Java
17; docs/report.md says why). It runs with `ALLURE_NO_ANALYTICS=true`, so it neither pings an
analytics service nor embeds a tag-manager script. Whatever outside reference its output still
holds (library links, XML namespaces of an embedded logo, a demo viewer's address, a link a test
carried) is then rewritten to loopback, and a scan of every text file of the report, including
the base64 payloads a single-file report embeds, must find none before the report is put in
place. A report that fails the scan is never left at the output path.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smbtests.errors import SmbtestsError
from smbtests.reports.offline import (
    EMBEDDED_FILE,
    external_references,
    external_urls,
    sanitize_report,
)

__all__ = [
    "ALLURE_VERSION",
    "GENERATOR_ENV",
    "INSTALL_SCRIPT",
    "build_report",
    "external_references",
    "external_urls",
    "find_generator",
    "generator_available",
    "history_runs",
    "register",
    "sanitize_report",
]

log = logging.getLogger(__name__)

ALLURE_VERSION = "2.46.1"
INSTALL_SCRIPT = "scripts/install-report-tools.sh"
# An Allure 2 launcher (`.../dist/bin/allure`) to run instead of the repository's pinned one.
GENERATOR_ENV = "SMBTESTS_ALLURE"
DEFAULT_TIMEOUT = 300.0

_REPO = Path(__file__).resolve().parents[2]
_LAUNCHER = _REPO / "node_modules" / "allure-commandline" / "dist" / "bin" / "allure"
_INSTALL_HINT = f"run `bash {INSTALL_SCRIPT}` (Java 17 and allure-commandline {ALLURE_VERSION})"


_HISTORY_FILE = re.compile(r"[\w.-]+\.json")


# --- finding the generator ---------------------------------------------------------------------


def find_generator() -> Path:
    """The Allure 2 launcher to run: $SMBTESTS_ALLURE, else the repository's node_modules copy."""
    override = os.environ.get(GENERATOR_ENV)
    launcher = Path(override) if override else _LAUNCHER
    if not launcher.is_file() or not os.access(launcher, os.X_OK):
        where = f"${GENERATOR_ENV}={override}" if override else str(launcher)
        raise SmbtestsError(
            f"the Allure 2 report generator is not installed ({where}): {_INSTALL_HINT}"
        )
    return launcher


def _find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if java.is_file() and os.access(java, os.X_OK):
            return str(java)
        raise SmbtestsError(
            f"JAVA_HOME={java_home} has no bin/java: fix JAVA_HOME or {_INSTALL_HINT}"
        )
    found = shutil.which("java")
    if found is None:
        raise SmbtestsError(f"Java is not installed (no `java` on PATH): {_INSTALL_HINT}")
    return found


def generator_available() -> bool:
    """True when build_report can run: the launcher and a Java runtime are both there."""
    try:
        find_generator()
        _find_java()
    except SmbtestsError:
        return False
    return True


# --- scanning and rewriting --------------------------------------------------------------------


# --- history -----------------------------------------------------------------------------------


def _embedded_files(index_html: Path) -> dict[str, bytes]:
    """The files an Allure 2 single-file index.html embeds, by report-relative name."""
    if not index_html.is_file():
        return {}
    text = index_html.read_text("utf-8", "surrogateescape")
    files = {}
    for match in EMBEDDED_FILE.finditer(text):
        try:
            files[match.group("name")] = base64.b64decode(match.group("b64"), validate=True)
        except binascii.Error:
            continue
    return files


def _history_files(previous: Path) -> dict[str, bytes]:
    """history/*.json of a previous report: its history/ folder, or a single-file's embeds."""
    candidates = [previous / "history", previous]
    for folder in candidates:
        if folder.is_dir() and (folder / "history-trend.json").is_file():
            return {
                path.name: path.read_bytes()
                for path in sorted(folder.iterdir())
                if path.is_file() and _HISTORY_FILE.fullmatch(path.name)
            }
    index = previous if previous.is_file() else previous / "index.html"
    return {
        name.removeprefix("history/"): data
        for name, data in _embedded_files(index).items()
        if name.startswith("history/") and _HISTORY_FILE.fullmatch(name.removeprefix("history/"))
    }


def history_runs(report_dir: Path) -> int:
    """How many runs the report's trend holds (this one included); 0 when it has no history."""
    files = _history_files(report_dir)
    if "history-trend.json" not in files:
        return 0
    trend: Any = json.loads(files["history-trend.json"])
    return len(trend) if isinstance(trend, list) else 0


# --- building ----------------------------------------------------------------------------------


def _check_paths(results_dir: Path, out_dir: Path) -> None:
    if not results_dir.is_dir():
        raise SmbtestsError(f"{results_dir}: no such results directory")
    if not any(results_dir.glob("*-result.json")):
        raise SmbtestsError(
            f"{results_dir} holds no Allure results (*-result.json): run pytest with --alluredir"
        )
    results, out = results_dir.resolve(), out_dir.resolve()
    if out == results or out in results.parents or results in out.parents:
        raise SmbtestsError(
            f"the report directory {out_dir} must be apart from the results {results_dir}"
        )
    if out.exists():
        if not out.is_dir():
            raise SmbtestsError(f"{out_dir} exists and is not a directory")
        if any(out.iterdir()) and not (out / "index.html").is_file():
            raise SmbtestsError(
                f"refusing to replace {out_dir}: it is not empty and holds no report (index.html)"
            )


def _run_generator(command: list[str], timeout: float) -> None:
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    shown = " ".join(command)
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise SmbtestsError(
                f"the Allure generator did not finish in {timeout:g} s: {shown}"
            ) from None
    if proc.returncode != 0:
        detail = (stderr.strip() or stdout.strip())[-1500:]
        hint = ""
        if "UnsupportedClassVersionError" in detail:
            hint = f" (Java too old: Allure {ALLURE_VERSION} needs Java 17; {_INSTALL_HINT})"
        raise SmbtestsError(f"the Allure generator failed (exit {proc.returncode}){hint}: {detail}")


def build_report(
    results_dir: Path,
    out_dir: Path,
    *,
    single_file: bool = False,
    history_from: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    command_prefix: Sequence[str] = (),
) -> Path:
    """Build the HTML report of results_dir into out_dir; return its index.html.

    history_from: a previous report (folder, or a single-file report) whose history/trends carry
    over. command_prefix runs the generator under a wrapper, e.g. `ip netns exec NS` for a build
    that provably has no network. out_dir is replaced only by a report that passed the scan.
    """
    _check_paths(results_dir, out_dir)
    if history_from is not None and not history_from.exists():
        raise SmbtestsError(f"{history_from}: no such previous report (--history-from)")
    history = _history_files(history_from) if history_from is not None else {}
    if history_from is not None and "history-trend.json" not in history:
        raise SmbtestsError(
            f"{history_from} holds no Allure history: give a previous report's folder "
            "(with history/) or its single-file index.html"
        )
    launcher = find_generator()
    _find_java()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".smbtests-report-", dir=out_dir.parent))
    try:
        staged = work / "report"
        command = [*command_prefix, str(launcher), "generate", str(results_dir)]
        if history:
            # A second results directory holding only history/: the results stay untouched.
            (work / "previous" / "history").mkdir(parents=True)
            for name, data in history.items():
                (work / "previous" / "history" / name).write_bytes(data)
            command.append(str(work / "previous"))
        command += ["-o", str(staged), "--clean"]
        if single_file:
            command.append("--single-file")
        _run_generator(command, timeout)
        if not (staged / "index.html").is_file():
            raise SmbtestsError(f"the Allure generator wrote no index.html into {staged}")
        sanitize_report(staged)
        left = external_references(staged)
        if left:
            listed = "; ".join(f"{name}: {url}" for name, url in left[:10])
            raise SmbtestsError(f"the report still references {len(left)} outside URL(s): {listed}")
        if out_dir.exists():
            out_dir.rename(work / "replaced")
        staged.rename(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir / "index.html"


# --- command line ------------------------------------------------------------------------------


def _handler(args: argparse.Namespace) -> int:
    index = build_report(
        args.results,
        args.output,
        single_file=args.single_file,
        history_from=args.history_from,
    )
    print(index)
    return 0


def register(subparsers: Any) -> None:
    """Add `smbtests report RESULTS -o DIR [--single-file] [--history-from DIR]`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="build the Allure HTML report offline, free of outside URLs",
        description=(
            "Build the Allure HTML report of an --alluredir folder with the pinned Allure 2 "
            f"generator (install it with `bash {INSTALL_SCRIPT}`). The build uses no network, "
            "and the report references nothing outside itself. Prints the path of index.html."
        ),
    )
    parser.add_argument("results", type=Path, metavar="RESULTS", help="the allure-results folder")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="DIR", help="report folder (replaced)"
    )
    parser.add_argument(
        "--single-file",
        action="store_true",
        help="one self-contained index.html that opens from disk (file://)",
    )
    parser.add_argument(
        "--history-from",
        type=Path,
        metavar="DIR",
        help="a previous report (folder or single-file index.html) whose trends carry over",
    )
    parser.set_defaults(func=_handler)
