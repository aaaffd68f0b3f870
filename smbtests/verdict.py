"""Verdicts: (check, observation) -> pass / fail / error, with a one-line reason.

Pure rules. A "closed" expectation passes only when the probe proved in the same batch that it
can connect (its positive control answered); otherwise it is an error, never a pass. A probe
failure is always an error. A policy violation is a failure whose message says what was seen,
what the policy demands and which seed step it comes from.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from smbtests import smb
from smbtests.errors import ProbeError
from smbtests.execute import (
    DiscoveryObservation,
    EncryptionObservation,
    NegotiationObservation,
    Observation,
    ReachObservation,
    SessionObservation,
    Smb1Observation,
    WindowsObservation,
)
from smbtests.model import DIALECTS, Policy
from smbtests.plan import Check, Expect, Kind
from smbtests.probes.base import ConnectResult, ConnectState

EXPIRY_WARNING_DAYS = 14


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str
    observed: str  # a short, stable word for diffs: open, filtered, refused, required, ...
    warning: str | None = None


def _closed(state: ConnectState) -> bool:
    return state in (ConnectState.REFUSED, ConnectState.FILTERED, ConnectState.UNREACHABLE)


def _seen(result: ConnectResult) -> str:
    how = {
        ConnectState.OPEN: f"connected in {result.latency_ms:.1f} ms",
        ConnectState.REFUSED: f"reset in {result.latency_ms:.1f} ms",
        ConnectState.FILTERED: f"no answer in {result.latency_ms / 1000:.1f} s",
        ConnectState.UNREACHABLE: f"{result.detail} after {result.latency_ms:.1f} ms",
        ConnectState.ERROR: result.detail,
    }[result.state]
    return f"{result.state.value.upper()} ({how})"


def _blind(probe: str, control: ConnectResult) -> str:
    return (
        f"probe {probe} could not prove it can connect: its control "
        f"{control.target.host}:{control.target.port} was {_seen(control)}"
    )


def _step(check: Check) -> str:
    return f"(step {check.step})"


def judge_reach(check: Check, obs: ReachObservation) -> Verdict:
    assert obs.result is not None and obs.control is not None and obs.probe is not None
    result, control = obs.result, obs.control
    path = f"{check.probe} -> {check.host or result.target.host}:{result.target.port}"
    seen = f"{path} {_seen(result)}"
    if result.state is ConnectState.ERROR:
        return Verdict(Outcome.ERROR, f"{seen}: the probe's own stack failed", "error")
    if check.kind is Kind.CONTROL:
        if result.state is ConnectState.OPEN:
            return Verdict(Outcome.PASSED, f"{seen}; control reachable", "open")
        return Verdict(
            Outcome.ERROR,
            f"{_blind(obs.probe, control)}; no 'closed' result from it can be trusted",
            result.state.value,
        )
    policy = f"policy: {check.rule} {_step(check)}"
    if check.expect is Expect.OPEN:
        if result.state is ConnectState.OPEN:
            return Verdict(Outcome.PASSED, f"{seen}; {policy}", "open")
        if control.state is not ConnectState.OPEN:
            return Verdict(
                Outcome.ERROR, f"{seen}; {_blind(obs.probe, control)}", result.state.value
            )
        return Verdict(Outcome.FAILED, f"{seen}; {policy}", result.state.value)
    if result.state is ConnectState.OPEN:
        return Verdict(Outcome.FAILED, f"{seen}; {policy}", "open")
    if control.state is not ConnectState.OPEN:
        return Verdict(
            Outcome.ERROR, f"{seen} but {_blind(obs.probe, control)}", result.state.value
        )
    return Verdict(Outcome.PASSED, f"{seen}; {policy}", result.state.value)


def judge_discovery(check: Check, obs: DiscoveryObservation, policy: Policy) -> Verdict:
    if obs.control.state is not ConnectState.OPEN:
        return Verdict(Outcome.ERROR, _blind(check.probe or "?", obs.control), "error")
    if obs.errors:
        first = obs.errors[0]
        return Verdict(
            Outcome.ERROR,
            f"{len(obs.errors)} of {obs.scanned} connects in {obs.range} failed on the probe "
            f"itself (first: {first.target.host}: {first.detail}); the range is not proven",
            "error",
        )
    declared = {str(h.address) for h in policy.smb_hosts.values()} | {
        str(t.address) for t in policy.perimeter.outbound_targets.values()
    }
    rogue = [address for address in obs.listeners if address not in declared]
    summary = ", ".join(f"{n} {s}" for s, n in sorted(obs.states.items()))
    if rogue:
        return Verdict(
            Outcome.FAILED,
            f"undeclared 445 listener(s) in {obs.range}: {', '.join(rogue)} ({summary}); "
            f"policy: {check.rule} {_step(check)}",
            "undeclared:" + ",".join(rogue),
        )
    known = ", ".join(obs.listeners) or "none"
    return Verdict(
        Outcome.PASSED,
        f"{obs.scanned} addresses in {obs.range} scanned ({summary}); declared listeners: {known}",
        "clean",
    )


def judge_smb1(check: Check, obs: Smb1Observation) -> Verdict:
    if obs.result.accepted:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} ACCEPTED SMB1: {obs.result.detail}; policy: {check.rule} {_step(check)}",
            "accepted",
        )
    return Verdict(Outcome.PASSED, f"{check.host} refused SMB1: {obs.result.detail}", "refused")


def _accepted(obs: NegotiationObservation) -> list[smb.NegotiateResult]:
    return [n for n in obs.negotiations if n.accepted]


def judge_signing(check: Check, obs: NegotiationObservation) -> Verdict:
    accepted = _accepted(obs)
    if not accepted:
        return Verdict(Outcome.ERROR, f"{check.host} negotiated no SMB2/3 dialect at all", "error")
    optional = [n.offered for n in accepted if not n.signing_required]
    modes = ", ".join(f"{n.offered}=0x{n.security_mode or 0:x}" for n in accepted)
    if optional:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} does NOT require signing at {', '.join(optional)} (server "
            f"SecurityMode {modes}); policy: {check.rule} {_step(check)}",
            "optional",
        )
    return Verdict(
        Outcome.PASSED,
        f"{check.host} requires signing at every offered SMB2/3 dialect (SecurityMode {modes})",
        "required",
    )


def judge_dialect(check: Check, obs: NegotiationObservation, policy: Policy) -> Verdict:
    floor = policy.baseline_for(check.host or "").min_dialect or DIALECTS[0]
    accepted = _accepted(obs)
    if not accepted:
        return Verdict(Outcome.ERROR, f"{check.host} negotiated no SMB2/3 dialect at all", "error")
    below = [n.offered for n in accepted if DIALECTS.index(n.offered) < DIALECTS.index(floor)]
    offered = ", ".join(n.offered for n in accepted)
    if below:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} accepts {', '.join(below)} below the floor {floor} (accepts "
            f"{offered}); policy: {check.rule} {_step(check)}",
            "below-floor:" + ",".join(below),
        )
    return Verdict(
        Outcome.PASSED, f"{check.host} accepts {offered}; nothing below {floor}", "at-floor"
    )


def judge_session(check: Check, obs: SessionObservation) -> Verdict:
    session = obs.session
    who = f"{check.host} as {obs.as_user} over SMB {session.dialect}"
    if check.kind in (Kind.ANONYMOUS, Kind.GUEST):
        if session.listed or session.opened_shares:
            seen = []
            if session.listed:
                seen.append(f"LISTED shares: {', '.join(session.shares) or '(empty list)'}")
            if session.opened_shares:
                seen.append(f"OPENED {', '.join(session.opened_shares)}")
            return Verdict(
                Outcome.FAILED,
                f"{who} {'; '.join(seen)}; policy: {check.rule} {_step(check)}",
                "listed" if session.listed else "opened",
            )
        refused = "".join(f"; {s}: {why}" for s, why in session.failed_shares)
        return Verdict(Outcome.PASSED, f"{who}: {session.status}{refused}", "refused")
    if not session.logged_in:
        return Verdict(
            Outcome.ERROR,
            f"{who}: {session.status}; the approved account cannot log in, so "
            f"{check.kind} cannot be judged (check the credential)",
            "error",
        )
    if session.failed_shares or not session.listed:
        failures = ", ".join(f"{s}: {why}" for s, why in session.failed_shares)
        return Verdict(
            Outcome.FAILED,
            f"{who}: {failures or session.status}; policy: {check.rule} {_step(check)}",
            "broken",
        )
    return Verdict(
        Outcome.PASSED, f"{who}: opened {', '.join(session.opened_shares) or 'no shares'}", "works"
    )


def judge_encryption(check: Check, obs: EncryptionObservation) -> Verdict:
    """Encryption is required when the account opens its shares over SMB 3.x (which encrypts)
    but the server refuses the same account over SMB 2.1 (which cannot encrypt) with an
    access-denied answer: judged by what the server refuses, never by session flags (impacket
    rewrites them at 3.x)."""
    capable, plain = obs.capable, obs.plain
    who = f"{check.host} as {obs.as_user}"
    if not capable.opened_shares or capable.failed_shares or not capable.logged_in:
        why = ", ".join(f"{s}: {w}" for s, w in capable.failed_shares) or capable.status
        if capable.logged_in and not capable.opened_shares and not capable.failed_shares:
            why = "the host declares no shares to open"
        return Verdict(
            Outcome.ERROR,
            f"{who} over SMB {capable.dialect}: {why}; encryption is judged by opening the "
            "declared shares, which must work over SMB 3.x first (see the access check)",
            "error",
        )
    leaked = list(plain.opened_shares)
    if leaked:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} opened {', '.join(leaked)} to {obs.as_user} over UNENCRYPTED SMB "
            f"{plain.dialect}; policy: {check.rule} {_step(check)}",
            "optional",
        )
    denied = "STATUS_ACCESS_DENIED"
    refused_login = not plain.logged_in and denied in plain.status
    refused_shares = (
        plain.logged_in
        and all(why == denied for _, why in plain.failed_shares)
        and len(plain.failed_shares) == len(capable.opened_shares)
    )
    if not (refused_login or refused_shares):
        how = plain.status + "".join(f"; {s}: {w}" for s, w in plain.failed_shares)
        return Verdict(
            Outcome.ERROR,
            f"{who} over unencrypted SMB {plain.dialect}: {how}; not an access-denied answer, "
            "so it does not show that encryption is what the server demands",
            "error",
        )
    how = plain.status if refused_login else "tree connect STATUS_ACCESS_DENIED"
    return Verdict(
        Outcome.PASSED,
        f"{check.host} opens {', '.join(capable.opened_shares)} only encrypted (SMB "
        f"{capable.dialect}); unencrypted SMB {plain.dialect} was refused ({how})",
        "required",
    )


def judge_exception(check: Check, obs: ReachObservation, policy: Policy, today: date) -> Verdict:
    exc = next(e for e in policy.exceptions if e.id == check.exception_id)
    path = f"{exc.from_} -> {exc.to}:{exc.port}"
    problem = exc.governance_problem(today)
    if problem is not None:
        status, reason = problem
        return Verdict(Outcome.FAILED, f"{exc.id} ({path}) {reason}", status)
    review_due = exc.review_due
    if obs.result is None or obs.control is None:
        return Verdict(
            Outcome.ERROR,
            f"{exc.id}: no probe in {exc.from_} can prove the exception is used; add a probe there",
            "error",
        )
    result = obs.result
    if result.state is ConnectState.ERROR:
        return Verdict(Outcome.ERROR, f"{exc.id}: {obs.probe} -> {path} {_seen(result)}", "error")
    if not _closed(result.state) and result.state is not ConnectState.OPEN:
        return Verdict(Outcome.ERROR, f"{exc.id}: unexpected state {result.state}", "error")
    if result.state is not ConnectState.OPEN:
        if obs.control.state is not ConnectState.OPEN:
            return Verdict(
                Outcome.ERROR, f"{exc.id}: {_blind(obs.probe or '?', obs.control)}", "error"
            )
        return Verdict(
            Outcome.FAILED,
            f"{exc.id} ({path}) is UNUSED: {obs.probe} saw {_seen(result)}; retire it",
            "unused",
        )
    days_left = (exc.expires - today).days
    warning = None
    if days_left <= EXPIRY_WARNING_DAYS:
        warning = f"{exc.id} expires in {days_left} days ({exc.expires}); renew or retire it"
    return Verdict(
        Outcome.PASSED,
        f"{exc.id} ({path}) in use ({obs.probe} {_seen(result)}), owner {exc.owner}, approved "
        f"by {exc.approver}, expires {exc.expires} ({days_left} days), next review {review_due}",
        "active" if warning is None else "expiring",
        warning,
    )


def _true(value: object) -> bool:
    # PowerShell renders GpoBoolean settings as the strings "True"/"False", plain ones as bools
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _reading(obs: WindowsObservation, kind: str) -> Any:
    return obs.readings[kind]


def _windows_fail(check: Check, problems: list[str], observed: str) -> Verdict:
    return Verdict(
        Outcome.FAILED,
        f"{check.host}: {'; '.join(problems)}; policy: {check.rule} {_step(check)}",
        observed,
    )


# Remote-address values that name no particular client: a server rule with one of them is not
# an allow-list (seed step 3).
UNNAMED_REMOTES = frozenset(
    {"any", "*", "internet", "intranet", "localsubnet", "0.0.0.0/0", "0.0.0.0-255.255.255.255"}
)


def _unnamed(address: str) -> bool:
    text = address.strip().lower()
    return text in UNNAMED_REMOTES or text.endswith("/0") or text.endswith("/0.0.0.0")


def _covers_445(ports: list[str]) -> bool:
    for port in ports:
        low, _, high = port.partition("-")
        if port == "Any" or (low.isdigit() and int(low) <= 445 <= int(high or low)):
            return True
    return False


def judge_windows(check: Check, obs: WindowsObservation, policy: Policy) -> Verdict:
    """Windows host configuration, judged from the cmdlets' own output (attached as evidence)."""
    kind = check.kind
    if kind in (Kind.WIN_SMB1, Kind.WIN_SIGNING, Kind.WIN_ENCRYPTION, Kind.WIN_QUIC):
        config = _reading(obs, "smb-server-configuration")
        problems = []
        if kind is Kind.WIN_SMB1:
            state = _reading(obs, "smb1-feature")["State"]
            if _true(config["EnableSMB1Protocol"]):
                problems.append("EnableSMB1Protocol is True")
            if state not in ("Disabled", "DisabledWithPayloadRemoved"):
                problems.append(f"SMB1Protocol feature is {state}")
            # older builds report null: the audit switch only counts where it exists
            if config.get("AuditSmb1Access") is not None and not _true(config["AuditSmb1Access"]):
                problems.append("AuditSmb1Access is False (SMB1 attempts go unlogged)")
            ok_text, word = "SMB1 off and its feature disabled", "smb1"
        elif kind is Kind.WIN_SIGNING:
            for key in ("RequireSecuritySignature", "EnableSecuritySignature"):
                if not _true(config[key]):
                    problems.append(f"{key} is False")
            ok_text, word = "RequireSecuritySignature and EnableSecuritySignature True", "signing"
        elif kind is Kind.WIN_ENCRYPTION:
            for key in ("EncryptData", "RejectUnencryptedAccess"):
                if not _true(config[key]):
                    problems.append(f"{key} is False")
            ok_text, word = "EncryptData and RejectUnencryptedAccess True", "encryption"
        else:
            mappings = _reading(obs, "smb-certificate-mapping")["Mappings"]
            if not _true(config["EnableSMBQUIC"]):
                problems.append("EnableSMBQUIC is not True")
            if not mappings:
                problems.append("no SMB server certificate mapping")
            ok_text, word = f"SMB over QUIC on, {len(mappings)} certificate mapping(s)", "quic"
        if problems:
            return _windows_fail(check, problems, f"{word}-off")
        return Verdict(Outcome.PASSED, f"{check.host}: {ok_text}", f"{word}-on")
    if kind in (Kind.WIN_FIREWALL, Kind.WIN_FIREWALL_LOG):
        profiles = {p["Name"]: p for p in _reading(obs, "firewall-profiles")}
        problems = []
        for name in policy.deployment.firewall_profiles:
            profile = profiles.get(name)
            if profile is None:
                problems.append(f"profile {name} missing")
            elif kind is Kind.WIN_FIREWALL:
                if not _true(profile["Enabled"]):
                    problems.append(f"{name} profile disabled")
                if str(profile["DefaultInboundAction"]) != "Block":
                    problems.append(f"{name} inbound default {profile['DefaultInboundAction']}")
            else:
                if not _true(profile["LogBlocked"]):
                    problems.append(f"{name} LogBlocked False")
                if not profile["LogFileName"]:
                    problems.append(f"{name} has no log file")
                if int(profile["LogMaxSizeKilobytes"]) < policy.deployment.firewall_log_min_kb:
                    problems.append(f"{name} log {profile['LogMaxSizeKilobytes']} KB")
        word = "firewall" if kind is Kind.WIN_FIREWALL else "logging"
        if problems:
            return _windows_fail(check, problems, f"{word}-off")
        return Verdict(
            Outcome.PASSED,
            f"{check.host}: {word} as required in {', '.join(policy.deployment.firewall_profiles)}",
            f"{word}-on",
        )
    if kind is Kind.WIN_445_RULES:
        endpoint = check.windows_role == "endpoint"
        offending = []
        for rule in _reading(obs, "firewall-rules-445"):
            allows = (
                _true(rule["Enabled"])
                and rule["Direction"] == "Inbound"
                and rule["Action"] == "Allow"
                and _covers_445(rule["LocalPort"])
            )
            profile = str(rule["Profile"])
            exposed = (
                any(p in profile for p in ("Public", "Private", "Any"))
                if endpoint
                else any(_unnamed(address) for address in rule["RemoteAddress"])
            )
            if allows and exposed:
                offending.append(
                    f"'{rule['DisplayName']}' allows 445 from {', '.join(rule['RemoteAddress'])} "
                    f"({profile})"
                )
        if offending:
            return _windows_fail(check, offending, "exposed")
        return Verdict(Outcome.PASSED, f"{check.host}: no inbound rule exposes 445", "closed")
    return judge_drift(check, obs)


def judge_drift(check: Check, obs: WindowsObservation) -> Verdict:
    """The wire (impacket, from the runner) against the host's own configuration."""
    config = _reading(obs, "smb-server-configuration")
    accepted = [n for n in obs.wire_negotiations if n.accepted]
    if obs.wire_smb1 is None or not accepted:
        return Verdict(
            Outcome.ERROR, f"{check.host}: no SMB conversation on the wire to compare", "error"
        )
    disagreements = []
    config_smb1 = _true(config["EnableSMB1Protocol"])
    if config_smb1 != obs.wire_smb1.accepted:
        disagreements.append(
            f"config EnableSMB1Protocol={config_smb1} but the wire "
            f"{'accepted' if obs.wire_smb1.accepted else 'refused'} SMB1"
        )
    config_signing = _true(config["RequireSecuritySignature"])
    wire_signing = all(n.signing_required for n in accepted)
    if config_signing != wire_signing:
        disagreements.append(
            f"config RequireSecuritySignature={config_signing} but the wire "
            f"{'requires' if wire_signing else 'does not require'} signing"
        )
    if disagreements:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} DRIFT: {'; '.join(disagreements)} (a GPO that did not apply, or a "
            f"detector bug); policy: {check.rule} {_step(check)}",
            "drift",
        )
    return Verdict(
        Outcome.PASSED,
        f"{check.host}: wire and configuration agree (SMB1 "
        f"{'on' if config_smb1 else 'off'}, signing "
        f"{'required' if config_signing else 'optional'})",
        "agree",
    )


def judge(check: Check, observation: Observation, policy: Policy, today: date) -> Verdict:
    """The verdict for one check; any mismatch between kind and observation is a bug."""
    if check.kind is Kind.EXCEPTION and isinstance(observation, ReachObservation):
        return judge_exception(check, observation, policy, today)
    if isinstance(observation, ReachObservation):
        return judge_reach(check, observation)
    if isinstance(observation, DiscoveryObservation):
        return judge_discovery(check, observation, policy)
    if isinstance(observation, Smb1Observation):
        return judge_smb1(check, observation)
    if isinstance(observation, NegotiationObservation):
        if check.kind is Kind.SIGNING:
            return judge_signing(check, observation)
        return judge_dialect(check, observation, policy)
    if isinstance(observation, EncryptionObservation):
        return judge_encryption(check, observation)
    if isinstance(observation, WindowsObservation):
        return judge_windows(check, observation, policy)
    return judge_session(check, observation)


def error_verdict(error: ProbeError) -> Verdict:
    return Verdict(Outcome.ERROR, str(error), "error")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def evidence_json(observation: Observation | None) -> str:
    """The observation as stable, indented JSON for reports and the results file."""
    return json.dumps(_plain(observation), indent=2, sort_keys=True)


def as_plain(value: Any) -> Any:
    return _plain(value)
