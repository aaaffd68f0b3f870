"""drift:HOST — what the wire shows of a Windows SMB host (SMB1, signing; impacket from the
runner) matches the host's own configuration (seed step 6): a GPO that did not apply, or a
detector bug, shows up as a disagreement."""

from __future__ import annotations

from collections.abc import Sequence

from smbtests.checks._hardening import accepted
from smbtests.checks._windows import per_windows_host, reading, true
from smbtests.checks.base import (
    Check,
    Facts,
    Family,
    Judging,
    Need,
    Outcome,
    SmbNeed,
    Verdict,
    policy_says,
)
from smbtests.config import LoadedConfig
from smbtests.observations import HostQuery, Observation, WindowsObservation

NAME = "drift"
FAMILY = Family.OTHER
READINGS = (HostQuery.SMB_SERVER_CONFIGURATION, HostQuery.SMB1_FEATURE)


plan = per_windows_host(
    NAME,
    ("Wire and configuration agree", "critical", 6, "smb_verification"),
    lambda windows, _baseline: windows.smb_host is not None,
    lambda _config, windows: (
        f"what the wire shows of {windows.smb_host} (SMB1, signing) "
        "matches the host's own configuration"
    ),
)


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return (*READINGS, SmbNeed.SMB1, SmbNeed.NEGOTIATIONS)


def observe(check: Check, facts: Facts) -> Observation:
    readings = {str(query): facts.get(query) for query in READINGS}
    return WindowsObservation(readings, facts.get(SmbNeed.SMB1), facts.get(SmbNeed.NEGOTIATIONS))


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    offered = accepted(obs.wire_negotiations)
    if obs.wire_smb1 is None or not offered:
        return Verdict(
            Outcome.ERROR, f"{check.host}: no SMB conversation on the wire to compare", "error"
        )
    disagreements = []
    config_smb1 = true(config["EnableSMB1Protocol"])
    if config_smb1 != obs.wire_smb1.accepted:
        disagreements.append(
            f"config EnableSMB1Protocol={config_smb1} but the wire "
            f"{'accepted' if obs.wire_smb1.accepted else 'refused'} SMB1"
        )
    config_signing = true(config["RequireSecuritySignature"])
    wire_signing = all(n.signing_required for n in offered)
    if config_signing != wire_signing:
        disagreements.append(
            f"config RequireSecuritySignature={config_signing} but the wire "
            f"{'requires' if wire_signing else 'does not require'} signing"
        )
    if disagreements:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} DRIFT: {'; '.join(disagreements)} (a GPO that did not apply, or a "
            f"detector bug); {policy_says(check)}",
            "drift",
        )
    return Verdict(
        Outcome.PASSED,
        f"{check.host}: wire and configuration agree (SMB1 "
        f"{'on' if config_smb1 else 'off'}, signing "
        f"{'required' if config_signing else 'optional'})",
        "agree",
    )
