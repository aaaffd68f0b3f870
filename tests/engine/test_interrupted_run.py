"""An interrupted live run says so in every output: SIGINT, SIGTERM and a lost xdist worker
each leave a results file with `interrupted` and the unrun checks, a JUnit property and error
case, Allure `unknown` results, a terminal line counting them, and `smbtests evidence`/`diff`
refusing the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Lab

ROOT = Path(__file__).resolve().parents[2]


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


@pytest.mark.lab
@pytest.mark.parametrize("fault", ["SIGINT", "SIGTERM", "lost-worker"])
def test_an_interrupted_run_is_marked_everywhere(lab: Lab, tmp_path: Path, fault: str) -> None:
    results, junit, allure = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "allure"
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "COLUMNS": "300",
        "PYTHONUNBUFFERED": "1",  # else the "workers [" line arrives with the run's end
        "SMBTESTS_LAB_SMB_PASSWORD": lab.smb_password(),
        "SMBTESTS_LAB_WIN_PASSWORD": lab.win_password(),
    }
    # a long connect timeout keeps the scans in flight while the fault strikes
    command = [sys.executable, "-m", "pytest", "--env", "lab", "-p", "no:cacheprovider"]
    command += [
        "-n",
        "2",
        "--dist",
        "load",
        "--smb-connect-timeout",
        "10",
        "--smb-results",
        str(results),
    ]
    command += [f"--junitxml={junit}", f"--alluredir={allure}"]
    run = subprocess.Popen(
        ["ip", "netns", "exec", "smblab-mgmt", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # a shell without job control starts background commands with SIGINT ignored, and
        # Python keeps it ignored: the run must get Ctrl-C as a terminal would send it
        preexec_fn=_interruptible,
    )
    assert run.stdout is not None
    seen = []
    for _ in range(200):  # the header, then xdist's "2 workers [N items]" once collected
        line = run.stdout.readline()
        seen.append(line)
        if "workers [" in line or not line:
            break
    assert "workers [" in seen[-1], "".join(seen)
    if fault == "lost-worker":
        # once the workers report items (not while one still collects: a worker lost then ends
        # the session another way), so the run goes on without it
        for _ in range(5000):
            seen.append(run.stdout.read(1))
            if seen[-1] in ("", ".", "F", "E"):
                break
        os.kill(_children(run.pid)[0], signal.SIGKILL)
    else:
        run.send_signal(getattr(signal, fault))
    output, _ = run.communicate(timeout=120)
    output = "".join(seen) + output

    document = json.loads(results.read_text())
    assert document["interrupted"] is True
    assert "RUN CUT SHORT" in output, output[-3000:]
    if fault == "lost-worker":  # xdist reruns the crashed item on a new worker
        assert "worker" in document["interrupted_by"]
    else:
        assert document["not_run"], output[-3000:]
        assert f"{len(document['not_run'])} not run" in output.splitlines()[-1]
    xml = junit.read_text()
    assert 'name="smbtests_interrupted"' in xml and "run-interrupted" in xml
    unknown = [
        json.loads(p.read_text())
        for p in allure.glob("*-result.json")
        if json.loads(p.read_text())["status"] == "unknown"
    ]
    assert {r["name"] for r in unknown} == set(document["not_run"])
    refused = subprocess.run(
        [
            str(Path(sys.executable).with_name("smbtests")),
            "evidence",
            str(results),
            "-o",
            str(tmp_path / "b"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "cut short" in refused.stderr
    compared = subprocess.run(
        [str(Path(sys.executable).with_name("smbtests")), "diff", str(results), str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert compared.returncode != 0 and "cannot be compared" in compared.stderr
