"""docs/monitoring.md's commands work as written: the systemd service's export line and the
Nagios command run against a results file the test writes (paths mapped into tmp_path)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.export.conftest import COMPLIANT, WriteResults, record

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"
RUNNER_BIN = "/opt/smbtests/venv/bin/"
STATE_DIR = "/var/lib/smbtests/"
TEXTFILE_DIR = "/var/lib/node_exporter/textfile_collector/"


def service_exec_starts() -> list[str]:
    """The ExecStart= values of the doc's smbtests.service block, in order."""
    blocks = re.findall(r"```ini\n(.*?)```", DOC.read_text(), flags=re.S)
    (service,) = [b for b in blocks if b.startswith("# /etc/systemd/system/smbtests.service")]
    return [
        line.removeprefix("ExecStart=")
        for line in service.splitlines()
        if line.startswith("ExecStart=")
    ]


def localised(command: str, tmp_path: Path) -> list[str]:
    """The command with the doc's install, state and collector folders mapped into the test."""
    for doc_path, here in (
        (RUNNER_BIN, f"{Path(sys.executable).parent}/"),
        (STATE_DIR, f"{tmp_path}/state/"),
        (TEXTFILE_DIR, f"{tmp_path}/textfile/"),
    ):
        command = command.replace(doc_path, here)
    return shlex.split(command)


def test_service_runs_suite_then_exports_even_after_findings(
    write_results: WriteResults, tmp_path: Path
) -> None:
    suite, *exports = service_exec_starts()
    # "-": the suite exits 1 on a finding, and the export must still run to report it
    assert suite.startswith(f"-{RUNNER_BIN}pytest --env ")
    assert "--smb-results /var/lib/smbtests/staging-results.json" in suite
    assert exports and all(e.startswith(f"{RUNNER_BIN}smbtests export ") for e in exports)

    (tmp_path / "state").mkdir()
    (tmp_path / "textfile").mkdir()
    written = write_results([*COMPLIANT, record("smb1:dc1", "failed", 4)], exit_status=1)
    written.rename(tmp_path / "state" / "staging-results.json")
    for command in exports:
        subprocess.run(localised(command, tmp_path), check=True, timeout=60)

    (prom,) = (tmp_path / "textfile").iterdir()
    assert prom.name == "smbtests-staging.prom"
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    assert families["smbtests_smb1_present"].samples[0].value == 1


def test_nagios_command_line_runs(write_results: WriteResults, tmp_path: Path) -> None:
    (command,) = re.findall(r"command_line\s+(.+)", DOC.read_text())
    (tmp_path / "state").mkdir()
    fresh = datetime.now(UTC).isoformat(timespec="seconds")
    write_results(COMPLIANT, finished=fresh).rename(tmp_path / "state" / "staging-results.json")
    result = subprocess.run(
        localised(command, tmp_path), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("SMBTESTS OK - all 4 checks passed (lab, run finished ")
