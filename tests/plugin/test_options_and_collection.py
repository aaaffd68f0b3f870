"""The pytest glue, run through pytester: options, errors before anything runs, ids, -k, rings."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest

from smbtests.checks.registry import build_plan
from smbtests.config import load
from smbtests.dates import utc_today

ROOT = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]


@pytest.fixture
def env_file(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("lab.yaml", "lab-policy.yaml"):
        shutil.copy(ROOT / "environments" / name, pytester.path / name)
    monkeypatch.setenv("SMBTESTS_LAB_SMB_PASSWORD", "canary-pw-7731")
    monkeypatch.setenv("SMBTESTS_LAB_WIN_PASSWORD", "canary-win-8842")
    monkeypatch.chdir(ROOT)
    return pytester.path / "lab.yaml"


def test_help_lists_options_in_one_group(pytester: pytest.Pytester, env_file: Path) -> None:
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    assert "smbtests: live TCP 445 / SMB policy tests" in text
    for flag in (
        "--env",
        "--smb-timeout",
        "--smb-concurrency",
        "--smb-results",
        "--smb-as-of",
        "--ring",
        "--baseline",
    ):
        assert flag in text


def test_collect_ids_read_like_the_policy(pytester: pytest.Pytester, env_file: Path) -> None:
    result = pytester.runpytest_subprocess(
        f"--env={env_file}", "--collect-only", "-q", "--strict-markers"
    )
    ids = [line for line in result.stdout.lines if "test_policy[" in line]
    assert "plugins/live.py::test_policy[reach:guest1/fs1:445]" in "\n".join(ids)
    assert any(i.endswith("[signing:print1]") for i in ids)
    assert any(i.endswith("[exception:EXC-0001]") for i in ids)
    assert len(ids) == len(build_plan(load(env_file), utc_today()))
    assert result.ret == 0


def test_k_and_m_select_like_users_expect(pytester: pytest.Pytester, env_file: Path) -> None:
    result = pytester.runpytest_subprocess(
        f"--env={env_file}", "--collect-only", "-q", "-k", "guest1/fs1:445"
    )
    ids = [line for line in result.stdout.lines if "test_policy[" in line]
    assert [i.split("[", 1)[1] for i in ids] == ["reach:guest1/fs1:445]"]
    marked = pytester.runpytest_subprocess(
        f"--env={env_file}", "--collect-only", "-q", "-m", "smb_exceptions"
    )
    assert [i for i in marked.stdout.lines if "test_policy[" in i] == [
        "plugins/live.py::test_policy[exception:EXC-0001]"
    ]


def test_ring_keeps_only_its_checks(pytester: pytest.Pytester, env_file: Path) -> None:
    result = pytester.runpytest_subprocess(
        f"--env={env_file}", "--collect-only", "-q", "--ring", "pilot"
    )
    ids = {line.split("[")[1][:-1] for line in result.stdout.lines if "test_policy[" in line}
    assert "reach:corp1/dc1:445" in ids and "signing:fs1" in ids
    assert "reach:guest1/dc1:445" not in ids and "signing:dc1" not in ids


def test_bad_environment_stops_before_anything_runs(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    env_file.write_text(env_file.read_text().replace("segment: guest", "segment: gest"))
    results = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(f"--env={env_file}", "--smb-results", str(results))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*lab.yaml:*probes.guest1.segment: unknown segment `gest`; did you mean `guest`?*"]
    )
    assert not results.exists()


def test_missing_credential_is_named_not_shown(
    pytester: pytest.Pytester, env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMBTESTS_LAB_SMB_PASSWORD")
    result = pytester.runpytest_subprocess(f"--env={env_file}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*SMBTESTS_LAB_SMB_PASSWORD is not set*"])


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester, env_file: Path) -> None:
    for args in (
        ["--smb-timeout", "soon"],
        ["--smb-as-of", "26/11/2026"],
        ["--smb-concurrency", "0"],
    ):
        result = pytester.runpytest_subprocess(f"--env={env_file}", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, args


def test_unknown_environment_name_suggests(pytester: pytest.Pytester, env_file: Path) -> None:
    result = pytester.runpytest_subprocess("--env", "lba")
    result.stderr.fnmatch_lines(["*no file*lba.yaml; did you mean `lab`?*"])


def test_header_names_environment_policy_hash_and_probes(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    result = pytester.runpytest_subprocess(f"--env={env_file}", "--collect-only")
    result.stdout.fnmatch_lines(
        [
            "smbtests: environment lab (*lab.yaml), policy lab-policy.yaml sha256 *",
            "smbtests: 6 probes, * planned checks, connect timeout 1.5 s, as of *",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "canary-pw-7731" not in output and "canary-win-8842" not in output


def test_an_unwritable_output_stops_the_run_before_any_probe(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    blocker = pytester.path / "not-a-folder"
    blocker.write_text("")
    result = pytester.runpytest_subprocess(f"--env={env_file}", f"--smb-results={blocker}/r.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot write output*not-a-folder/r.json*is not a folder*"])
    assert "passed" not in result.stdout.str() and "error" not in result.stdout.str().lower()


def test_a_policy_warning_shows_in_the_header(pytester: pytest.Pytester, env_file: Path) -> None:
    policy = pytester.path / "lab-policy.yaml"
    text = policy.read_text().replace("created: 2026-09-01", "created: 2020-01-01")
    policy.write_text(text.replace("expires: 2027-08-31", "expires: 2020-02-01"))
    result = pytester.runpytest_subprocess(f"--env={env_file}", "--collect-only")
    result.stdout.fnmatch_lines(["smbtests: WARNING: *EXC-0001 expired on 2020-02-01*"])


def test_unknown_ring_or_marker_is_a_usage_error_with_a_suggestion(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    ring = pytester.runpytest_subprocess(f"--env={env_file}", "--collect-only", "--ring", "pilto")
    assert ring.ret == pytest.ExitCode.USAGE_ERROR
    ring.stderr.fnmatch_lines(["*--ring `pilto`*known rings: pilot; did you mean `pilot`?*"])
    for expression, name in (("smb_hardenin", "smb_hardening"), ("not smb_bogus", None)):
        marker = pytester.runpytest_subprocess(
            f"--env={env_file}", "--collect-only", "-m", expression
        )
        assert marker.ret == pytest.ExitCode.USAGE_ERROR, expression
        suggestion = f"; did you mean `{name}`?" if name else ""
        marker.stderr.fnmatch_lines(
            [f"*unknown marker `{expression.split()[-1]}`{suggestion} (smbtests markers: *)"]
        )
    fine = pytester.runpytest_subprocess(
        f"--env={env_file}", "--collect-only", "-q", "-m", "smb_hardening and not lab"
    )
    assert fine.ret == 0, fine.stderr.str()


def test_n_is_dropped_where_it_cannot_pay_unless_dist_is_chosen(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    # the lab has a few SMB/WinRM batches: xdist would only add its cost (plugins/order.py)
    args = [f"--env={env_file}", "-n", "2", "-k", "no-such-check", "-p", "no:cacheprovider"]
    dropped = pytester.runpytest_subprocess(*args)
    dropped.stdout.fnmatch_lines(["smbtests: -n 2 not used: *"])
    assert "created: 2/2 workers" not in dropped.stdout.str()
    kept = pytester.runpytest_subprocess(*args, "--dist", "load")
    kept.stdout.fnmatch_lines(["created: 2/2 workers"])
    assert "not used" not in kept.stdout.str()


def test_notices_show_under_q_and_a_bad_m_with_n_is_a_usage_error(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    # -q hides pytest's header: the note that -n was dropped must still be said
    args = [f"--env={env_file}", "-n", "2", "-k", "no-such-check", "-p", "no:cacheprovider"]
    quiet = pytester.runpytest_subprocess(*args, "-q")
    quiet.stdout.fnmatch_lines(["smbtests: -n 2 not used: *"])
    bad = pytester.runpytest_subprocess(*args, "-m", "smb_hardening and (")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*Wrong expression passed to '-m'*"])
    assert "INTERNALERROR" not in bad.stdout.str() + bad.stderr.str()


def test_a_run_of_connect_checks_keeps_its_items_frozen_and_imports_no_smb_library(
    pytester: pytest.Pytester, env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collected items are out of the cyclic GC's way until the process exits, and
    impacket and aioquic load only when a batch first talks SMB or QUIC (plugins/lean.py,
    smbtests/execute.py)."""
    pytester.makepyfile(
        watch="""
        import atexit, gc, sys

        def pytest_collection_finish(session):
            libraries = sorted(m for m in ("impacket", "aioquic") if m in sys.modules)
            print(f"FROZEN {gc.get_freeze_count() > 0} LIBRARIES {libraries}")

        atexit.register(lambda: print(f"AT EXIT FROZEN {gc.get_freeze_count() > 0}"))
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    result = pytester.runpytest_subprocess(
        f"--env={env_file}", "-p", "watch", "--collect-only", "-q", "-m", "smb_perimeter", "-s"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["FROZEN True LIBRARIES []", "AT EXIT FROZEN True"])


def test_a_second_run_in_the_same_process_hands_the_first_runs_items_back_to_the_gc(
    pytester: pytest.Pytester, env_file: Path
) -> None:
    """pytester runs pytest again in this process: the first run's frozen items are handed
    back to the collector when the next run configures."""
    frozen_at_start: list[int] = []

    class Watch:
        def pytest_sessionstart(self) -> None:
            frozen_at_start.append(gc.get_freeze_count())

    args = (f"--env={env_file}", "--collect-only", "-q", "-m", "smb_perimeter")
    first = pytester.runpytest_inprocess(*args, plugins=[Watch()])
    assert first.ret == 0 and gc.get_freeze_count() > 0
    second = pytester.runpytest_inprocess(*args, plugins=[Watch()])
    gc.unfreeze()  # this test process's own collections go on as before
    assert second.ret == 0
    assert frozen_at_start[1] == 0
