"""What the per-host SMB kinds share: one check per SMB host, batched per host, talking SMB
to the host's port 445 from the runner, or from the probe the environment names for that host
(`smb.host_vantage`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from smbtests.checks.base import RUNNER, BatchKey, BatchKind, Check, Facts, Need, SmbNeed
from smbtests.config import Hardening, LoadedConfig, SmbHost
from smbtests.observations import NegotiateResult, Observation, Target

SMB_PORT = 445
Plan = Callable[[LoadedConfig, date], list[Check]]
Needs = Callable[[Check, LoadedConfig], Sequence[Need]]
Observe = Callable[[Check, Facts], Observation]


def per_host(
    kind: str,
    about: tuple[str, str],
    rule: Callable[[str, SmbHost, Hardening], str],
    *,
    applies: Callable[[Hardening], bool] = lambda _baseline: True,
    step: int = 4,
    marker: str = "smb_hardening",
) -> Plan:
    """The plan of a kind with one check per SMB host whose baseline it `applies` to (every
    host unless it says); `about` is the Allure (feature, severity)."""

    def plan(config: LoadedConfig, today: date) -> list[Check]:
        return _checks(config, kind, about, applies, rule, step, marker)

    return plan


def one_fact(need: SmbNeed, observation: Callable[[Any], Observation]) -> tuple[Needs, Observe]:
    """`needs` and `observe` of a kind judged from one SMB conversation."""
    return (lambda check, config: (need,)), (lambda check, facts: observation(facts.get(need)))


def _checks(
    config: LoadedConfig,
    kind: str,
    about: tuple[str, str],
    applies: Callable[[Hardening], bool],
    rule: Callable[[str, SmbHost, Hardening], str],
    step: int,
    marker: str,
) -> list[Check]:
    feature, severity = about
    checks = []
    for host_name, host in config.policy.smb_hosts.items():
        baseline = config.policy.baseline_for(host_name)
        if not applies(baseline):
            continue
        checks.append(
            Check(
                id=f"{kind}:{host_name}",
                kind=kind,
                step=step,
                rule=rule(host_name, host, baseline),
                feature=feature,
                story=host_name,
                severity=severity,
                batch=BatchKey(
                    BatchKind.SMB,
                    host_name,
                    vantage=config.environment.smb.host_vantage.get(host_name, RUNNER),
                ),
                marker=marker,
                host=host_name,
                target=Target(str(host.address), SMB_PORT),
                rings=config.environment.host_rings.get(host_name, ()),
            )
        )
    return checks


def accepted(negotiations: tuple[NegotiateResult, ...]) -> list[NegotiateResult]:
    return [n for n in negotiations if n.accepted]
