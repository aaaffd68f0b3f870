"""win-restrictive:HOST — no enabled rule of the "File and Printer Sharing (Restrictive)" group
admits 445 from an unnamed address (seed step 3). Windows Server 2025 enables that group when a
share is created, reported open to Any, and leaves it on after the share is gone. Read with
Get-NetFirewallRule (DisplayGroup) and its address filter, in the active store."""

from __future__ import annotations

from smbtests.checks._windows import judged_as, per_windows_host, reading, readings, true
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.checks.win_445_rules import unnamed
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-restrictive"
FAMILY = Family.OTHER
GROUP = "File and Printer Sharing (Restrictive)"

plan = per_windows_host(
    NAME,
    ("Windows hosts publish no 445", "critical", 3, "smb_deployment"),
    f'no enabled "{GROUP}" rule admits 445 from any address',
)
needs, observe = readings(HostQuery.FIREWALL_RULES_445)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    open_rules = [
        f"'{rule['DisplayName']}' admits {', '.join(rule['RemoteAddress'])} ({rule['Profile']})"
        for rule in reading(obs, HostQuery.FIREWALL_RULES_445)
        if rule.get("DisplayGroup") == GROUP
        and true(rule["Enabled"])
        and rule["Action"] == "Allow"
        and any(unnamed(address) for address in rule["RemoteAddress"])
    ]
    no_one = "the Restrictive group admits no one"
    return judged_as(check, open_rules, no_one, failed="open", passed="scoped")
