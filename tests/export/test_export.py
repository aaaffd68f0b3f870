"""`smbtests export`: Prometheus text that prometheus_client's own parser reads, Nagios states
and exit codes, and files replaced atomically for node_exporter's textfile collector."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from smbtests.cli import main
from smbtests.records import load_results
from smbtests.reports import export
from tests.export.conftest import COMPLIANT, WriteResults, record

NOW = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    families = text_string_to_metric_families(text)
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in families}


def test_prometheus_output_parses_with_one_series_per_check(write_results: WriteResults) -> None:
    checks = [*COMPLIANT, record("smb1:fs1", "failed", step=4), record("signing:p", "error", 4)]
    parsed = samples(export.render_prometheus(load_results(write_results(checks, exit_status=1))))

    outcome = {s["check"]: s for s, value in parsed["smbtests_check_outcome"] if value == 1}
    assert len(parsed["smbtests_check_outcome"]) == len(checks)
    assert outcome["reach:guest1/fs1:445"] == {
        "environment": "lab",
        "check": "reach:guest1/fs1:445",
        "kind": "reach",
        "step": "2",
        "outcome": "passed",
    }
    counts = {(s["step"], s["outcome"]): v for s, v in parsed["smbtests_checks"]}
    assert counts[("4", "passed")] == 1 and counts[("4", "failed")] == 1
    assert counts[("4", "error")] == 1 and counts[("2", "failed")] == 0  # zeros are series too
    assert set(counts) == {(s, o) for s in "2347" for o in export.OUTCOMES}
    assert parsed["smbtests_smb1_present"] == [({"environment": "lab"}, 1)]
    finished = datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC).timestamp()
    assert parsed["smbtests_last_run_timestamp_seconds"] == [({"environment": "lab"}, finished)]
    assert parsed["smbtests_run_exit_status"] == [({"environment": "lab"}, 1)]


def test_compliant_run_has_no_smb1_and_exports_no_message(write_results: WriteResults) -> None:
    text = export.render_prometheus(load_results(write_results(COMPLIANT)))
    assert samples(text)["smbtests_smb1_present"] == [({"environment": "lab"}, 0)]
    assert "never exported" not in text


def test_label_values_are_escaped(write_results: WriteResults) -> None:
    odd = 'reach:a"b\\c\nd'
    text = export.render_prometheus(load_results(write_results([record(odd, "passed")])))
    assert 'check="reach:a\\"b\\\\c\\nd"' in text
    labels = samples(text)["smbtests_check_outcome"][0][0]
    assert labels["check"] == odd


@pytest.mark.parametrize(
    ("checks", "exit_status", "state", "words"),
    [
        (COMPLIANT, 0, export.NagiosState.OK, "all 4 checks passed"),
        (
            [*COMPLIANT, record("reach:iot1/fs1:445", "error")],
            1,
            export.NagiosState.WARNING,
            "1 unprovable: reach:iot1/fs1:445",
        ),
        (
            [*COMPLIANT, record("exception:EXC-0002", "passed", warning="expires in 9 days")],
            0,
            export.NagiosState.WARNING,
            "1 with a warning: exception:EXC-0002",
        ),
        (
            [*COMPLIANT, record("smb1:fs1", "failed", 4), record("x:y", "error")],
            1,
            export.NagiosState.CRITICAL,
            "1 of 6 checks failed: smb1:fs1",
        ),
        (COMPLIANT, 2, export.NagiosState.UNKNOWN, "did not complete (pytest exit 2)"),
        ([], 5, export.NagiosState.UNKNOWN, "did not complete (pytest exit 5)"),
    ],
)
def test_nagios_states(
    write_results: WriteResults,
    checks: list[dict[str, object]],
    exit_status: int,
    state: export.NagiosState,
    words: str,
) -> None:
    status = export.render_nagios(load_results(write_results(checks, exit_status=exit_status)), NOW)
    assert status.state == state
    assert status.line.startswith(f"SMBTESTS {state.name} - ")
    assert words in status.line
    assert "\n" not in status.line
    if state != export.NagiosState.UNKNOWN:
        perfdata = status.line.split(" | ")[1]
        assert perfdata.startswith(f"checks={len(checks)};;;0 ")
        assert "age=295s;;;0" in perfdata


def test_nagios_stale_results_are_unknown(write_results: WriteResults) -> None:
    results = load_results(write_results(COMPLIANT))
    status = export.render_nagios(results, NOW, max_age=timedelta(minutes=2))
    assert status.state == export.NagiosState.UNKNOWN
    assert "295 s old, over --max-age 120 s" in status.line


def test_nagios_cli_exit_codes_follow_the_state(
    write_results: WriteResults, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = write_results([record("smb1:fs1", "failed", 4)], exit_status=1)
    assert main(["export", str(failing), "--format", "nagios"]) == 2
    assert capsys.readouterr().out.startswith("SMBTESTS CRITICAL - 1 of 1 checks failed")
    assert main(["export", str(tmp_path / "missing.json"), "--format", "nagios"]) == 3
    assert "SMBTESTS UNKNOWN - " in capsys.readouterr().out
    (tmp_path / "junk.json").write_text("{")
    assert main(["export", str(tmp_path / "junk.json"), "--format", "nagios"]) == 3
    assert "not a readable JSON results file" in capsys.readouterr().out


def test_prometheus_cli_writes_atomically_and_readably(
    write_results: WriteResults, tmp_path: Path
) -> None:
    textfile = tmp_path / "collector"
    textfile.mkdir()
    target = textfile / "smbtests.prom"
    target.write_text("old\n")
    path = write_results([*COMPLIANT, record("smb1:fs1", "failed", 4)], exit_status=1)
    assert main(["export", str(path), "--format", "prometheus", "-o", str(target)]) == 0
    assert "smbtests_smb1_present" in samples(target.read_text())
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # node_exporter is another user
    assert [p.name for p in textfile.iterdir()] == ["smbtests.prom"]  # no temp file left


def test_prometheus_cli_bad_input_is_one_clear_error(
    tmp_path: Path, write_results: WriteResults, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.json"
    assert main(["export", str(missing), "--format", "prometheus"]) == 2
    assert (
        capsys.readouterr().err
        == f"smbtests: {missing}: no such results file (a live run writes one)\n"
    )
    no_folder = tmp_path / "nope" / "x.prom"
    assert (
        main(
            [
                "export",
                str(write_results(COMPLIANT)),
                "--format",
                "prometheus",
                "-o",
                str(no_folder),
            ]
        )
        == 2
    )
    assert "does not exist; create it first" in capsys.readouterr().err


def test_an_edited_run_time_is_unknown_not_a_traceback(
    write_results: WriteResults, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_results(COMPLIANT, finished="yesterday")
    assert main(["export", str(path), "--format", "nagios"]) == 3
    assert "run time `yesterday` is not an ISO date-time" in capsys.readouterr().out
    assert main(["export", str(path), "--format", "prometheus"]) == 2
    assert "is not an ISO date-time" in capsys.readouterr().err
