"""exception:EXC-NNNN — an exception is complete, approved by someone else, reviewed,
unexpired and in use (seed step 7).

Governance is judged from the policy alone; "in use" needs a probe standing in the
exception's source, whose scan shows the excepted path open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from smbtests.checks._connect import blind, reach_observation, seen, target_needs
from smbtests.checks.base import BatchKey, BatchKind, Check, Facts, Family, Need
from smbtests.checks.verdicts import Judging, Outcome, Verdict
from smbtests.config import LoadedConfig
from smbtests.observations import (
    CLOSED_STATES,
    ConnectState,
    Observation,
    ReachObservation,
    Target,
)

NAME = "exception"
FAMILY = Family.EXCEPTION
EXPIRY_WARNING_DAYS = 14


def plan(config: LoadedConfig, today: date) -> list[Check]:
    policy = config.policy
    checks = []
    for exc in policy.exceptions:
        host = policy.smb_hosts[exc.to]
        networks = policy.networks_of(exc.from_)
        probe = next(
            (
                name
                for name, p in sorted(config.environment.probes.items())
                if any(p.own_address in net for net in networks)
            ),
            None,
        )
        checks.append(
            Check(
                id=f"{NAME}:{exc.id}",
                kind=NAME,
                step=7,
                rule=f"exception {exc.id} is complete, approved by someone else, reviewed, "
                "unexpired and in use",
                feature="Exceptions are governed",
                story=exc.id,
                severity="normal",
                batch=BatchKey(BatchKind.SCAN, probe),
                marker="smb_exceptions",
                probe=probe,
                host=exc.to,
                target=Target(str(host.address), exc.port),
                exception_id=exc.id,
            )
        )
    return checks


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return target_needs(check)


def observe(check: Check, facts: Facts) -> Observation:
    return reach_observation(check, facts)


def judge(check: Check, obs: ReachObservation, judging: Judging) -> Verdict:
    today = judging.today
    exc = next(e for e in judging.policy.exceptions if e.id == check.exception_id)
    path = f"{exc.from_} -> {exc.to}:{exc.port}"
    problem = exc.governance_problem(today)
    if problem is not None:
        status, reason = problem
        return Verdict(Outcome.FAILED, f"{exc.id} ({path}) {reason}", status)
    if obs.result is None or obs.control is None:
        return Verdict(
            Outcome.ERROR,
            f"{exc.id}: no probe in {exc.from_} can prove the exception is used; add a probe there",
            "error",
        )
    result = obs.result
    if result.state is ConnectState.ERROR:
        return Verdict(Outcome.ERROR, f"{exc.id}: {obs.probe} -> {path} {seen(result)}", "error")
    if result.state in CLOSED_STATES:
        if obs.control.state is not ConnectState.OPEN:
            return Verdict(
                Outcome.ERROR, f"{exc.id}: {blind(obs.probe or '?', obs.control)}", "error"
            )
        return Verdict(
            Outcome.FAILED,
            f"{exc.id} ({path}) is UNUSED: {obs.probe} saw {seen(result)}; retire it",
            "unused",
        )
    days_left = (exc.expires - today).days
    warning = None
    if days_left <= EXPIRY_WARNING_DAYS:
        warning = f"{exc.id} expires in {days_left} days ({exc.expires}); renew or retire it"
    return Verdict(
        Outcome.PASSED,
        f"{exc.id} ({path}) in use ({obs.probe} {seen(result)}), owner {exc.owner}, approved "
        f"by {exc.approver}, expires {exc.expires} ({days_left} days), next review "
        f"{exc.review_due}",
        "active" if warning is None else "expiring",
        warning,
    )
