"""smb-path:PROBE/HOST[:PORT] — an approved path (or a live exception) works end to end from
where its users stand: from the probe, the approved account negotiates, logs in and opens every
declared share of the host, and on a DC reads a group policy file from SYSVOL, so "GPO
processing would work from here" is shown at the network level (seed step 6: validate file
share access, GPO processing and authentication).

The SMB is talked from the probe's position (an ssh probe's `direct-tcpip` channels, the local
probe's own stack). `reach` shows the handshake; this shows that SMB works behind it. A path
whose handshake completes but whose SMB then stays silent or breaks (an IPS dropping payload, a
tarpit) is `tcp-only`: a failure. Planned for every open `reach` check towards an SMB host from
a probe that can dial, where the environment names the approved account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from smbtests.checks import reach
from smbtests.checks.base import BatchKey, BatchKind, Check, Expect, Facts, Family, Need, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict
from smbtests.config import LoadedConfig
from smbtests.errors import SmbSilentError
from smbtests.observations import Observation, SmbPathObservation

NAME = "smb-path"
FAMILY = Family.REACH
DIALING_TRANSPORTS = ("local", "ssh")  # winrm vantages cannot carry our SMB (docs/policy.md)


def plan(config: LoadedConfig, today: date) -> list[Check]:
    if config.environment.smb.credential is None:
        return []
    probes = config.environment.probes
    checks: dict[str, Check] = {}
    for path in reach.plan(config, today):
        if path.expect is not Expect.OPEN or path.host not in config.policy.smb_hosts:
            continue
        assert path.probe is not None and path.target is not None
        if probes[path.probe].transport not in DIALING_TRANSPORTS:
            continue
        port = path.target.port
        check_id = f"{NAME}:{path.probe}/{path.host}" + ("" if port == 445 else f":{port}")
        checks.setdefault(
            check_id,
            replace(
                path,
                id=check_id,
                kind=NAME,
                step=6,
                rule=f"{path.rule}: SMB itself, not only TCP",
                feature="Approved SMB paths work end to end",
                batch=BatchKey(BatchKind.SMB, path.host, vantage=path.probe, port=port),
            ),
        )
    return list(checks.values())


def needs(check: Check, config: LoadedConfig) -> Sequence[Need]:
    return (SmbNeed.PATH,)


def observe(check: Check, facts: Facts) -> Observation:
    try:
        session = facts.get(SmbNeed.PATH)
    except SmbSilentError as exc:  # the handshake completed, SMB did not: evidence, not an error
        return SmbPathObservation(None, str(exc), facts.account or "")
    return SmbPathObservation(session, None, facts.account or "")


def judge(check: Check, obs: SmbPathObservation, judging: Judging) -> Verdict:
    where = f"{check.probe} -> {check.host}"
    assert check.target is not None
    if check.target.port != 445:
        where += f":{check.target.port}"
    lost = f"users at {check.probe} cannot use {check.host}'s shares"
    if obs.session is None:
        return Verdict(
            Outcome.FAILED,
            f"{where}: reachable but unusable: SMB silent or broken after the handshake "
            f"({obs.silence}); {lost}",
            "tcp-only",
        )
    session = obs.session
    who = f"{where} as {obs.as_user} over SMB {session.dialect}"
    if not session.logged_in:
        return Verdict(
            Outcome.FAILED,
            f"{who}: {session.status}; the shares do not work for the approved account",
            "refused",
        )
    if session.failed_shares:
        failures = ", ".join(f"{s}: {why}" for s, why in session.failed_shares)
        return Verdict(Outcome.FAILED, f"{who}: {failures}; {lost}", "broken")
    opened = f"opened {', '.join(session.opened_shares) or 'no shares'}"
    if session.sysvol_file is not None and session.sysvol_file.startswith("refused:"):
        return Verdict(
            Outcome.FAILED,
            f"{who}: {opened}, but SYSVOL is unreadable ({session.sysvol_file[9:]}); "
            "group policy processing would fail from here",
            "no-sysvol",
        )
    read = "" if session.sysvol_file is None else f", read {session.sysvol_file}"
    return Verdict(Outcome.PASSED, f"{who}: {opened}{read}", "works")
