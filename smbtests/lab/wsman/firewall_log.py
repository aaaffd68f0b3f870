"""The DOUBLE's Windows Firewall log: a pfirewall.log beside its state file, and its answer to
the `firewall-log-tail` reading.

It is not Windows Firewall's log. In the lab, `lab up` runs smbtests/lab/nflog.py in win1's
namespace in pfirewall mode: every inbound packet win1's own filter (files/win1.nft, which
stands for the Windows Firewall rules the double reports) drops is written here as a DROP
line in pfirewall.log's format, so the engine reads win1's denials over WinRM exactly as it
reads a Windows host's. Times are UTC (the lab's "local" time; lab.yaml says `timezone: UTC`).
The log records drops whatever the profiles' LogBlocked says; the double's other readings are
what scenarios change.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from smbtests.lab.wsman.state import State

KIND = "firewall-log-tail"
REQUIRED_NAMES = {KIND: ("Get-NetFirewallProfile", "Get-Content", "ConvertTo-Json")}
FILE_NAME = "pfirewall.log"
SYSTEMROOT = "C:\\Windows"
HEAD_LINES = 8  # what the script's `Get-Content -TotalCount` and `-Tail` read
TAIL_LINES = 5000

FIELDS = (
    "date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack "
    "tcpwin icmptype icmpcode info path"
)
HEADER = (
    "#Version: 1.5\n"
    "#Software: Microsoft Windows Firewall\n"
    "#Time Format: Local\n"
    f"#Fields: {FIELDS}\n"
    "\n"
)


def beside(state_path: Path) -> Path:
    """The log of the double whose state is `state_path`."""
    return state_path.with_name(FILE_NAME)


def ensure(path: Path) -> None:
    """Start the log with its header, as Windows does when it creates it; never truncates."""
    with path.open("a", encoding="utf-8") as log:
        if log.tell() == 0:
            log.write(HEADER)


def drop_line(
    moment: datetime, protocol: str, source: str, destination: str, ports: tuple[int, int] | None
) -> str:
    """One DROP line (`moment` in the log's time zone)."""
    sport, dport = (str(p) for p in ports) if ports else ("-", "-")
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} DROP {protocol} {source} {destination} {sport} {dport} 0 - - - - - - - RECEIVE"


def _windows_path(name: str) -> str:
    return re.sub(r"(?i)%systemroot%", lambda _: SYSTEMROOT, name)


def answer(state: State, path: Path) -> object:
    """What the script prints: one file per distinct LogFileName of the profiles (the double
    keeps one log, so they all name the same), its head and its tail."""
    names = sorted({_windows_path(p["LogFileName"]) for p in state["firewall_profiles"]})
    lines = path.read_text(encoding="utf-8").splitlines()
    files = [{"Path": n, "Head": lines[:HEAD_LINES], "Lines": lines[-TAIL_LINES:]} for n in names]
    return {"Files": files, "TailLines": TAIL_LINES}
