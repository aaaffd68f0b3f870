"""What the Windows kinds share: one check per Windows host, batched per host over WinRM, and
the way cmdlet output is read (GpoBoolean settings arrive as the strings "True"/"False")."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from smbtests.checks.base import (
    BatchKey,
    BatchKind,
    Check,
    Facts,
    Family,
    Kind,
    Needs,
    Observe,
    Plan,
)
from smbtests.checks.verdicts import Judging, Outcome, Verdict, violated
from smbtests.config import BASELINE_DEFAULTS, Hardening, LoadedConfig, WindowsHost
from smbtests.observations import HostQuery, Target, WindowsObservation

SMB_PORT = 445
Judge = Callable[[Check, WindowsObservation, Judging], Verdict]
Rule = str | Callable[[LoadedConfig, WindowsHost], str]
Applies = Callable[[WindowsHost, Hardening], bool]


def baseline_of(config: LoadedConfig, windows: WindowsHost) -> Hardening:
    policy = config.policy
    if windows.smb_host is not None:
        return windows.hardening.over(policy.baseline_for(windows.smb_host))
    return windows.hardening.over(policy.hardening.over(BASELINE_DEFAULTS))


def per_windows_host(
    kind: str,
    about: tuple[str, str, int, str],
    rule: Rule,
    *,
    applies: Applies = lambda _windows, _baseline: True,
) -> Plan:
    """The plan of a kind with one check per Windows host it `applies` to (every one unless it
    says); `about` is the Allure feature and severity, the seed step and the pytest marker;
    `rule` the rule text, or how the host and the policy make it."""

    def plan(config: LoadedConfig, today: date) -> list[Check]:
        return _checks(config, kind, about, applies, rule)

    return plan


def readings(*queries: HostQuery) -> tuple[Needs, Observe]:
    """`needs` and `observe` of a kind judged from these readings of the host's configuration."""
    return (lambda check, config: queries), (lambda check, facts: observe_readings(facts))


def windows_kind(
    name: str,
    doc: str,
    about: tuple[str, str, int, str],
    rule: Rule,
    reads: tuple[HostQuery, ...],
    judge: Judge,
    *,
    applies: Applies = lambda _windows, _baseline: True,
    family: Family = Family.HARDENING,
) -> Kind:
    """A kind declared in a module of several (`Kind`): one check per Windows host it `applies`
    to (`per_windows_host`), judged from the readings `reads` of the host's configuration."""
    plan = per_windows_host(name, about, rule, applies=applies)
    return Kind(name, family, doc, plan, *readings(*reads), judge)


def _checks(
    config: LoadedConfig,
    kind: str,
    about: tuple[str, str, int, str],
    applies: Applies,
    rule: Rule,
) -> list[Check]:
    feature, severity, step, marker = about
    env, policy = config.environment, config.policy
    checks = []
    for name, windows in env.windows_hosts.items():
        if not applies(windows, baseline_of(config, windows)):
            continue
        target = None
        if windows.smb_host is not None:
            target = Target(str(policy.smb_hosts[windows.smb_host].address), SMB_PORT)
        rings = (
            env.probes[windows.probe].rings
            if windows.probe is not None
            else env.host_rings.get(windows.smb_host or "", ())
        )
        checks.append(
            Check(
                id=f"{kind}:{name}",
                kind=kind,
                step=step,
                rule=rule if isinstance(rule, str) else rule(config, windows),
                feature=feature,
                story=name,
                severity=severity,
                batch=BatchKey(BatchKind.WINDOWS, name),
                marker=marker,
                probe=windows.probe,
                host=name,
                target=target,
                windows_role=windows.role,
                baseline=baseline_of(config, windows),
                rings=rings,
            )
        )
    return checks


def true(value: object) -> bool:
    # PowerShell renders GpoBoolean settings as the strings "True"/"False", plain ones as bools
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def reading(obs: WindowsObservation, query: HostQuery) -> Any:
    return obs.readings[str(query)]


def settings_problems(
    settings: Mapping[str, Any], keys: Sequence[str], *, on: bool = True
) -> list[str]:
    """`KEY is True` (or `False`) for each of the switches `keys` that is not `on`."""
    return [f"{key} is {not on}" for key in keys if true(settings[key]) is not on]


def switches(query: HostQuery, keys: Sequence[str], word: str, *, on: bool = True) -> Judge:
    """`judge` of a kind that passes when each of the switches `keys` of the `query` reading is
    `on` (observed `WORD-on`), or off, as `on` says."""

    def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
        problems = settings_problems(reading(obs, query), keys, on=on)
        wanted = "on" if on else "off"
        return judged(check, problems, word, f"{' and '.join(keys)} {on}", wanted=wanted)

    return judge


def inbound_allow(rule: dict[str, Any]) -> bool:
    """An enabled inbound allow rule (a row of the firewall-rules-445 reading)."""
    return true(rule["Enabled"]) and rule["Direction"] == "Inbound" and rule["Action"] == "Allow"


def allows_445_in(rule: dict[str, Any], profile: str) -> bool:
    """An enabled inbound allow rule (from the firewall-rules-445 reading) in force in `profile`."""
    profiles = str(rule["Profile"])
    return inbound_allow(rule) and (profile in profiles or profiles == "Any")


def fail(check: Check, problems: list[str], observed: str) -> Verdict:
    return violated(check, f"{check.host}: {'; '.join(problems)}", observed)


def judged(
    check: Check, problems: list[str], word: str, ok_text: str, *, wanted: str = "on"
) -> Verdict:
    """Failed with every problem found, or passed with what was confirmed. The observed word
    is `WORD-WANTED` when it passes (`smb1-off`, `signing-on`) and the opposite when it fails."""
    unwanted = "off" if wanted == "on" else "on"
    return judged_as(
        check, problems, ok_text, failed=f"{word}-{unwanted}", passed=f"{word}-{wanted}"
    )


def judged_as(
    check: Check, problems: list[str], ok_text: str, *, failed: str, passed: str
) -> Verdict:
    """Failed with every problem found, or passed with what was confirmed; `failed` and
    `passed` are the observed words."""
    if problems:
        return fail(check, problems, failed)
    return Verdict(Outcome.PASSED, f"{check.host}: {ok_text}", passed)


def observe_readings(facts: Facts) -> WindowsObservation:
    return WindowsObservation(
        {str(need): facts.get(need) for need in facts.values if isinstance(need, HostQuery)}
    )
