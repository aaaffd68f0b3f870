"""win1's Windows Firewall log, read over WinRM as a deny-log source (`win1-firewall` in
environments/lab.yaml): what win1's own filter drops (files/win1.nft: WinRM from outside mgmt)
must come back through the `firewall-log-tail` reading as pfirewall.log DROP records."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Lab
from tests.lab.conftest import CLIENTS, CONNECT_TIMEOUT, PROGRAMS, namespace

pytestmark = pytest.mark.lab

WIN1 = "10.45.20.22"
LAB_ENV = Path(__file__).resolve().parents[2] / "environments" / "lab.yaml"
SLACK = timedelta(seconds=2)
READ_LOGS = """
import json, sys
from pathlib import Path
from smbtests.config import load
from smbtests.probes.denylogs import read_all
env = load(Path(sys.argv[1])).environment
records, unreadable, read = read_all(env)
print(json.dumps({
    "read": read,
    "unreadable": unreadable,
    "records": [
        [r.log, r.time.isoformat(), r.source, r.destination, r.port, r.action]
        for r in records
    ],
}))
"""


def test_a_winrm_connect_win1_drops_is_in_its_firewall_log_read_over_winrm(lab: Lab) -> None:
    corp1 = CLIENTS["corp1"]
    before = datetime.now(UTC) - SLACK
    verdicts = json.loads(
        lab.netns_python(
            namespace("corp1"),
            (PROGRAMS / "connect.py").read_text(),
            15,
            args=[str(CONNECT_TIMEOUT), f"{WIN1}:5986"],
        )
    )
    assert verdicts == {f"{WIN1}:5986": "filtered"}  # win1.nft drops it: corp1 is not mgmt
    after = datetime.now(UTC) + SLACK
    out = lab.netns_python(
        namespace("mgmt"),
        READ_LOGS,
        60,
        args=[str(LAB_ENV)],
        env={"SMBTESTS_LAB_WIN_PASSWORD": lab.win_password()},
        python=sys.executable,
    )
    logs = json.loads(out)
    assert "win1-firewall" in logs["read"], logs["unreadable"]
    mine = [
        r
        for r in logs["records"]
        if r[0] == "win1-firewall"
        and (r[2], r[3], r[4], r[5]) == (corp1, WIN1, 5986, "DROP")
        and before <= datetime.fromisoformat(r[1]) <= after
    ]
    assert mine, logs["records"][-5:]
    # the router never saw it: corp1 and win1 share a bridge
    assert not [r for r in logs["records"] if r[0] == "router" and r[2:4] == [corp1, WIN1]]
