"""win-dialect:HOST — the Windows SMB server's own dialect floor is at least the policy's
`min_dialect` and its ceiling leaves SMB 3.1.1 on (seed step 4), read with
Get-SmbServerConfiguration (Smb2DialectMin, Smb2DialectMax: Windows Server 2025 and
Windows 11 24H2). A build without the settings has no floor of its own: it passes only where
the policy asks for nothing above 2.0.2, the lowest SMB2 dialect."""

from __future__ import annotations

from smbtests.checks._windows import baseline_of, judged, per_windows_host, reading, readings
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.config import LoadedConfig, WindowsHost
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-dialect"
FAMILY = Family.HARDENING
# Set-SmbServerConfiguration's dialect names -> the policy's; "None" sets no limit
DIALECTS = {
    "SMB202": "2.0.2",
    "SMB210": "2.1",
    "SMB300": "3.0",
    "SMB302": "3.0.2",
    "SMB311": "3.1.1",
}
ORDER = tuple(DIALECTS.values())
LOWEST, HIGHEST = ORDER[0], ORDER[-1]


def floor_of(value: str | None) -> str:
    """The lowest dialect the setting admits."""
    return DIALECTS.get(value or "None", LOWEST)


def ceiling_of(value: str | None) -> str:
    return DIALECTS.get(value or "None", HIGHEST)


def _rule(config: LoadedConfig, windows: WindowsHost) -> str:
    wanted = baseline_of(config, windows).min_dialect or LOWEST
    return f"the SMB server's dialect floor is at least {wanted} and SMB 3.1.1 stays on"


plan = per_windows_host(
    NAME,
    ("SMB dialect floor", "normal", 4, "smb_hardening"),
    _rule,
    applies=lambda _windows, baseline: baseline.min_dialect is not None,
)
needs, observe = readings(HostQuery.SMB_SERVER_LIMITS)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    limits = reading(obs, HostQuery.SMB_SERVER_LIMITS)
    assert check.baseline is not None
    wanted = check.baseline.min_dialect or LOWEST
    floor, ceiling = floor_of(limits["Smb2DialectMin"]), ceiling_of(limits["Smb2DialectMax"])
    problems = []
    if ORDER.index(floor) < ORDER.index(wanted):
        shown = limits["Smb2DialectMin"] or "absent (this build has no floor)"
        problems.append(f"Smb2DialectMin is {shown}: {floor} is admitted, below {wanted}")
    if ceiling != HIGHEST:
        problems.append(f"Smb2DialectMax is {limits['Smb2DialectMax']}: SMB 3.1.1 is off")
    return judged(check, problems, "dialect-floor", f"dialects {floor} to {ceiling}")
