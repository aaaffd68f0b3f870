"""A WS-Management DOUBLE of a Windows host, for the lab: not Windows, and named so everywhere.

It speaks the protocol the unmodified pywinrm client speaks (Windows Remote Shell over
WS-Management: Create, Command with `powershell -EncodedCommand`, Send, Receive until Done,
Signal, Delete, SOAP faults), authenticates with NTLM (pyspnego's server side, with WinRM
message encryption over HTTP and channel binding over HTTPS) or Basic over HTTPS, and serves
HTTPS with a lab CA made at start. It answers the PowerShell smbtests sends from a state file
modelled on the cmdlets' output, and makes its TCP connects for real.

Run it with `python -m smbtests.lab.wsman`; see docs/winrm.md.
"""

from smbtests.lab.wsman.state import (
    SCENARIO_FIELDS,
    SCENARIOS,
    State,
    default_state,
    read_state,
    scenario_state,
    win_445_allow_any,
    win_auth_broken,
    win_firewall_logging_off,
    win_signing_off,
    win_smb1_enabled,
    write_state,
)

__all__ = [
    "SCENARIOS",
    "SCENARIO_FIELDS",
    "State",
    "default_state",
    "read_state",
    "scenario_state",
    "win_445_allow_any",
    "win_auth_broken",
    "win_firewall_logging_off",
    "win_signing_off",
    "win_smb1_enabled",
    "write_state",
]
