"""Print the audit HTML to PDF (and a PNG for docs) with headless Chromium.

Chromium runs with a new empty profile, no network features and no sandbox (the runner is often
root in a container); the document loads nothing, and its Content-Security-Policy forbids it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from smbtests.errors import SmbtestsError

CHROMIUM_TIMEOUT = 120.0
INSTALL_HINT = "install it with `bash scripts/install-report-tools.sh`"
# The offline flags the report tests use too (tests/report/helpers.py): no network features.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_PRINT_FLAGS = ("--no-pdf-header-footer",)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SmbtestsError(
            f"the audit PDF needs headless Chromium, which is missing: {INSTALL_HINT}"
        )
    return found


def _run(html: Path, output_flag: str, extra: tuple[str, ...] = ()) -> None:
    with tempfile.TemporaryDirectory(prefix="smbtests-chromium-") as profile:
        argv = [
            chromium(),
            *CHROMIUM_FLAGS,
            *_PRINT_FLAGS,
            *extra,
            f"--user-data-dir={profile}",
            output_flag,
        ]
        argv.append(html.resolve().as_uri())
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise SmbtestsError(
                f"chromium did not finish printing {html} in {CHROMIUM_TIMEOUT:g} s"
            ) from None
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SmbtestsError(
            f"chromium could not print {html} (exit {done.returncode}): {tail[:200]}"
        )


def print_pdf(html: Path, pdf: Path) -> None:
    _run(html, f"--print-to-pdf={pdf.resolve()}")
    if not pdf.is_file() or not pdf.read_bytes().startswith(b"%PDF"):
        raise SmbtestsError(f"chromium wrote no PDF for {html}")


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 900) -> None:
    _run(html, f"--screenshot={png.resolve()}", (f"--window-size={width},{height}",))
