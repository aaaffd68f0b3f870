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
        f"{check.host} requires signing at every offered dialect (SecurityMode {modes})",
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
        if session.listed:
            shares = ", ".join(session.shares) or "(empty list)"
            return Verdict(
                Outcome.FAILED,
                f"{who} LISTED shares: {shares}; policy: {check.rule} {_step(check)}",
                "listed",
            )
        return Verdict(Outcome.PASSED, f"{who}: {session.status}", "refused")
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
    """Encryption is required when the server lets the account in over 3.x (encrypted) but not
    over 2.1, where no encryption exists: judged by what the server refuses, not by flags
    (impacket rewrites the session flags at 3.x)."""
    capable, plain = obs.capable, obs.plain
    wanted = capable.opened_shares + tuple(s for s, _ in capable.failed_shares)
    if not capable.logged_in or capable.failed_shares or not capable.listed:
        why = ", ".join(f"{s}: {w}" for s, w in capable.failed_shares) or capable.status
        return Verdict(
            Outcome.ERROR,
            f"{check.host} as {obs.as_user} over SMB {capable.dialect}: {why}; the account must "
            "open the declared shares before encryption can be judged (see access check)",
            "error",
        )
    leaked = [s for s in plain.opened_shares if s in wanted]
    if leaked:
        return Verdict(
            Outcome.FAILED,
            f"{check.host} opened {', '.join(leaked)} to {obs.as_user} over UNENCRYPTED SMB "
            f"{plain.dialect}; policy: {check.rule} {_step(check)}",
            "optional",
        )
    how = (
        plain.status if not plain.listed else ", ".join(f"{s}: {w}" for s, w in plain.failed_shares)
    )
    return Verdict(
        Outcome.PASSED,
        f"{check.host} opens {', '.join(wanted) or 'the session'} only encrypted (SMB "
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
