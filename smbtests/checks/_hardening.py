"""What the per-host SMB kinds share: one check per SMB host, batched per host, talking SMB
to the host's port 445 from the runner, or from the probe the environment names for that host
(`smb.host_vantage`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from smbtests.checks.base import (
    RUNNER,
    BatchKey,
    BatchKind,
    Check,
    Family,
    Judge,
    Kind,
    Needs,
    Observe,
    Plan,
    SmbNeed,
)
from smbtests.config import Hardening, LoadedConfig, SmbHost
from smbtests.observations import NegotiateResult, Observation, Target

SMB_PORT = 445
Rule = str | Callable[[str, SmbHost, Hardening], str]
Applies = Callable[[Hardening], bool]


def per_host(
    kind: str,
    about: tuple[str, str],
    rule: Rule,
    *,
    applies: Applies = lambda _baseline: True,
    step: int = 4,
    marker: str = "smb_hardening",
) -> Plan:
    """The plan of a kind with one check per SMB host whose baseline it `applies` to (every
    host unless it says); `about` is the Allure (feature, severity); `rule` the rule text, or
    how the host and its baseline make it."""

    def plan(config: LoadedConfig, today: date) -> list[Check]:
        return _checks(config, kind, about, applies, rule, step, marker)

    return plan


def one_fact(need: SmbNeed, observation: Callable[[Any], Observation]) -> tuple[Needs, Observe]:
    """`needs` and `observe` of a kind judged from one SMB conversation."""
    return (lambda check, config: (need,)), (lambda check, facts: observation(facts.get(need)))


def host_kind(
    name: str,
    doc: str,
    about: tuple[str, str],
    rule: Rule,
    fact: tuple[SmbNeed, Callable[[Any], Observation]],
    judge: Judge,
    *,
    applies: Applies = lambda _baseline: True,
) -> Kind:
    """A hardening kind declared in a module of several (`Kind`): one check per SMB host it
    `applies` to (`per_host`), judged from one SMB conversation, `fact`: the need and how its
    result becomes the observation."""
    plan = per_host(name, about, rule, applies=applies)
    return Kind(name, Family.HARDENING, doc, plan, *one_fact(*fact), judge)


def _checks(
    config: LoadedConfig,
    kind: str,
    about: tuple[str, str],
    applies: Applies,
    rule: Rule,
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
                rule=rule if isinstance(rule, str) else rule(host_name, host, baseline),
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
