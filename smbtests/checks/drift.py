"""drift:HOST — what the wire shows of a Windows SMB host (SMB1, signing, the SMB2/3 dialects,
encryption; impacket from the runner) matches the host's own configuration (seed step 6): a GPO
that did not apply, or a detector bug, shows up as a disagreement.

The dialects: the lowest and highest dialect the server accepted, one negotiate per dialect,
against Smb2DialectMin/Smb2DialectMax (Server 2025, 11 24H2; a build that reads null has no
setting to compare, so only the rest is). Encryption: EncryptData and RejectUnencryptedAccess
both True demand it; the wire shows it only as the approved account's declared shares refused
over SMB 2.1 (which cannot encrypt) while they open over 3.x, the `encryption` kind's own
conversation and verdict word (`required`/`optional`). The negotiate's encryption capability
says "can", never "must", so without an account (`smb.credential`) or a declared share
encryption is not compared, and the verdict says so; where they are set and the account's
sessions fail or prove nothing, the check errs (the rest of the comparison still fails it)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from smbtests.checks import encryption
from smbtests.checks._hardening import accepted
from smbtests.checks._windows import allows_445_in, per_windows_host, reading, true
from smbtests.checks.base import Check, Facts, Family, Need, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.checks.win_445_rules import allows_445
from smbtests.checks.win_445_scope import remote_interval
from smbtests.checks.win_dialect import ceiling_of, floor_of
from smbtests.checks.win_profile import PROFILE_OF
from smbtests.config import DIALECTS, LoadedConfig
from smbtests.errors import ProbeError
from smbtests.observations import (
    EncryptionObservation,
    HostQuery,
    NegotiateResult,
    Observation,
    SessionResult,
    WindowsObservation,
)

NAME = "drift"
FAMILY = Family.OTHER
READINGS = (
    HostQuery.SMB_SERVER_CONFIGURATION,
    HostQuery.SMB1_FEATURE,
    HostQuery.SMB_SERVER_LIMITS,
    HostQuery.FIREWALL_PROFILES,
    HostQuery.FIREWALL_RULES_445,
    HostQuery.NETWORK_PROFILES,
)
SESSIONS = (SmbNeed.ACCOUNT, SmbNeed.ACCOUNT_UNENCRYPTED)
NO_SESSION = "no approved-account session (smb.credential and a declared share are needed)"


plan = per_windows_host(
    NAME,
    ("Wire and configuration agree", "critical", 6, "smb_verification"),
    lambda _config, windows: (
        f"what the wire shows of {windows.smb_host} (SMB1, signing, dialects, encryption) "
        "matches the host's own configuration"
    ),
    applies=lambda windows, _baseline: windows.smb_host is not None,
)


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    windows = config.environment.windows_hosts[check.host or ""]
    host = config.policy.smb_hosts.get(windows.smb_host or "")
    sessions = SESSIONS if config.environment.smb.credential and host and host.shares else ()
    return (*READINGS, SmbNeed.SMB1, SmbNeed.NEGOTIATIONS, SmbNeed.SOURCE, *sessions)


def observe(check: Check, facts: Facts) -> Observation:
    readings = {str(query): facts.get(query) for query in READINGS}
    seen = WindowsObservation(
        readings,
        facts.get(SmbNeed.SMB1),
        facts.get(SmbNeed.NEGOTIATIONS),
        wire_note=NO_SESSION,
        wire_source=facts.get(SmbNeed.SOURCE),
    )
    sessions = [facts.values.get(need) for need in SESSIONS]
    failed = next((s for s in sessions if isinstance(s, ProbeError)), None)
    if failed is not None:  # the account's failure leaves the rest of the comparison standing
        return replace(seen, wire_note=f"the account's sessions failed: {failed}")
    capable, plain = sessions
    if isinstance(capable, SessionResult) and isinstance(plain, SessionResult):
        found = EncryptionObservation(capable, plain, facts.account or "")
        return replace(seen, wire_encryption=found, wire_note=None)
    if any(need in facts.values for need in SESSIONS):  # planned, yet no result: not a pass
        return replace(seen, wire_note="the account's sessions gave no result")
    return seen


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    config = reading(obs, HostQuery.SMB_SERVER_CONFIGURATION)
    offered = accepted(obs.wire_negotiations)
    firewall = firewall_in_force(obs)
    if obs.wire_smb1 is None or not offered:
        # the reverse of firewall drift (admitted, yet nothing answered) is unprovable from
        # one vantage: the network between may drop it
        why = ""
        if firewall is not None and not firewall[0]:
            why = f"; the configuration admits {obs.wire_source} ({firewall[1]})"
        return Verdict(
            Outcome.ERROR,
            f"{check.host}: no SMB conversation on the wire to compare{why}",
            "error",
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
    disagreements += _dialect_drift(reading(obs, HostQuery.SMB_SERVER_LIMITS), offered)
    found, encrypted, compared = _encryption_drift(check, config, obs, judging)
    disagreements += found
    if firewall is not None and firewall[0]:
        disagreements.append(f"config: {firewall[1]}, but the wire answered SMB from there")
    if disagreements:
        return violated(
            check,
            f"{check.host} DRIFT: {'; '.join(disagreements)} (a GPO that did not apply, or a "
            "detector bug)",
            "drift",
        )
    agreed = (
        f"(SMB1 {'on' if config_smb1 else 'off'}, signing "
        f"{'required' if config_signing else 'optional'}, dialects {_span(offered)}, "
        f"{encrypted}, firewall "
        f"{'not compared (no address or profile)' if firewall is None else firewall[1]})"
    )
    if not compared:  # planned, not made: a pass would vouch for what nobody saw
        return Verdict(
            Outcome.ERROR, f"{check.host}: the rest agrees, but not all of it {agreed}", "error"
        )
    return Verdict(Outcome.PASSED, f"{check.host}: wire and configuration agree {agreed}", "agree")


def firewall_in_force(obs: WindowsObservation) -> tuple[bool, str] | None:
    """Whether the firewall in force blocks 445 from the runner's address (every active
    profile filters and no enabled allow rule in force covers it), and why; None when the
    readings cannot say (no address, no active profile)."""
    if obs.wire_source is None:
        return None
    runner = ipaddress.ip_address(obs.wire_source)
    profiles = {p["Name"]: p for p in reading(obs, HostQuery.FIREWALL_PROFILES)}
    rules = reading(obs, HostQuery.FIREWALL_RULES_445)
    active = sorted(
        {
            PROFILE_OF.get(i["NetworkCategory"], "Public")
            for i in reading(obs, HostQuery.NETWORK_PROFILES)
        }
    )
    if not active:
        return None
    for name in active:
        profile = profiles.get(name, {})
        if not (true(profile.get("Enabled")) and profile.get("DefaultInboundAction") == "Block"):
            return False, f"the {name} profile in force does not filter inbound"
        for rule in rules:
            if allows_445(rule) and allows_445_in(rule, name) and _covers(rule, runner):
                return False, f"'{rule['DisplayName']}' admits {runner} in the {name} profile"
    profiles_text = ", ".join(active)
    return True, f"the {profiles_text} profile in force admits 445 from {runner} by no rule"


def _covers(rule: dict[str, Any], address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a rule's RemoteAddress may include address (a keyword may: it is not narrowed)."""
    for entry in rule["RemoteAddress"]:
        interval = remote_interval(str(entry))
        if interval is None:
            return True
        version, first, last = interval
        if version == address.version and first <= int(address) <= last:
            return True
    return False


def _encryption_drift(
    check: Check, config: dict[str, Any], obs: WindowsObservation, judging: Judging
) -> tuple[list[str], str, bool]:
    """Disagreements, what the verdict says of encryption, and whether the comparison was
    made where it was planned (without an account or a declared share none is)."""
    settings = ("EncryptData", "RejectUnencryptedAccess")
    demanded = all(true(config[key]) for key in settings)
    if obs.wire_encryption is None:
        note = obs.wire_note or NO_SESSION
        return [], f"encryption not compared: {note}", note == NO_SESSION
    wire = encryption.judge(check, obs.wire_encryption, judging).observed
    if wire not in ("required", "optional"):
        return [], "encryption not compared: the account's sessions showed neither answer", False
    if demanded == (wire == "required"):
        return [], f"encryption {wire}", True
    values = ", ".join(f"{key}={true(config[key])}" for key in settings)
    seen = "refused" if wire == "required" else "opened"
    return (
        [
            f"config {values} but the wire {seen} the account's shares over unencrypted SMB "
            f"{obs.wire_encryption.plain.dialect}"
        ],
        "",
        True,
    )


def _span(offered: list[NegotiateResult]) -> str:
    dialects = sorted((n.offered for n in offered), key=DIALECTS.index)
    return f"{dialects[0]} to {dialects[-1]}"


def _dialect_drift(limits: dict[str, Any], offered: list[NegotiateResult]) -> list[str]:
    """Where the accepted dialects contradict Smb2DialectMin/Max, when the host has them."""
    dialects = sorted((n.offered for n in offered), key=DIALECTS.index)
    found = []
    for setting, wire, config in (
        ("Smb2DialectMin", dialects[0], floor_of),
        ("Smb2DialectMax", dialects[-1], ceiling_of),
    ):
        value = limits[setting]
        if value is not None and config(value) != wire:
            edge = "lowest" if setting.endswith("Min") else "highest"
            found.append(
                f"config {setting}={value} ({config(value)}) but the {edge} dialect the wire "
                f"accepted is {wire}"
            )
    return found
