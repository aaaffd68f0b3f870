"""smb-path:PROBE/HOST[:PORT] — an approved path (or a live exception) works end to end from
where its users stand: from the probe, the approved account negotiates, logs in and opens every
declared share of the host, and on a DC reads a group policy file from SYSVOL, so "GPO
processing would work from here" is shown at the network level (seed step 6: validate file
share access, GPO processing and authentication).

The SMB is talked from the probe's position (an ssh probe's `direct-tcpip` channels, the local
probe's own stack) or, from a winrm probe, by the Windows host's own SMB client: after a raw
SMB2 NEGOTIATE (smb-negotiate.ps1), smb-path.ps1 maps IPC$ (the login) and each share and
reads SYSVOL, with the account carried explicitly (docs/winrm.md); `_windows_session` reads
that into the same SessionResult, so every verdict reads the same from every vantage. `reach`
shows the handshake; this shows that SMB works behind it. A path whose handshake completes but
whose SMB then stays silent or breaks (an IPS dropping payload, a tarpit) is `tcp-only`: a
failure. Planned for every open `reach` check towards an SMB host from a probe that can dial
(any port) or map (445 only: a Windows mapping names no port), where the environment names the
approved account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from smbtests.checks import reach
from smbtests.checks.base import BatchKey, BatchKind, Check, Expect, Facts, Family, Need, SmbNeed
from smbtests.checks.verdicts import Judging, Outcome, Verdict
from smbtests.config import LoadedConfig
from smbtests.errors import ProbeError, SmbSilentError
from smbtests.observations import Observation, SessionResult, SmbPathObservation

NAME = "smb-path"
FAMILY = Family.REACH
DIALING_TRANSPORTS = ("local", "ssh")  # SMB talked by smbtests over the probe's connections
MAPPING_TRANSPORTS = ("winrm",)  # SMB talked by the Windows host's own client (smb-path.ps1)


def plan(config: LoadedConfig, today: date) -> list[Check]:
    if config.environment.smb.credential is None:
        return []
    probes = config.environment.probes
    checks: dict[str, Check] = {}
    for path in reach.plan(config, today):
        if path.expect is not Expect.OPEN or path.host not in config.policy.smb_hosts:
            continue
        assert path.probe is not None and path.target is not None
        port = path.target.port
        transport = probes[path.probe].transport
        maps = transport in MAPPING_TRANSPORTS and port == 445
        if transport not in DIALING_TRANSPORTS and not maps:
            continue
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
    assert check.probe is not None
    if config.environment.probes[check.probe].transport in MAPPING_TRANSPORTS:
        return (SmbNeed.PATH_FROM_WINDOWS,)
    return (SmbNeed.PATH,)


def observe(check: Check, facts: Facts) -> Observation:
    user = facts.account or ""
    if SmbNeed.PATH_FROM_WINDOWS in facts.values:
        try:
            session = _windows_session(check, facts.get(SmbNeed.PATH_FROM_WINDOWS))
        except _Silent as silence:
            return SmbPathObservation(None, str(silence), user)
        return SmbPathObservation(session, None, user)
    try:
        session = facts.get(SmbNeed.PATH)
    except SmbSilentError as exc:  # the handshake completed, SMB did not: evidence, not an error
        return SmbPathObservation(None, str(exc), user)
    return SmbPathObservation(session, None, user)


# ------------------------------------------------------------------ from a Windows vantage

# Win32 codes of a mapping (New-SmbMapping's 'Windows System Error N') that are the server's
# "no": the share or the account does not work, a fact.
REFUSED = {
    2: "ERROR_FILE_NOT_FOUND",
    3: "ERROR_PATH_NOT_FOUND",
    5: "ERROR_ACCESS_DENIED",
    65: "ERROR_NETWORK_ACCESS_DENIED",
    67: "ERROR_BAD_NET_NAME",
    86: "ERROR_INVALID_PASSWORD",
    1326: "ERROR_LOGON_FAILURE",
    1327: "ERROR_ACCOUNT_RESTRICTION",
    1330: "ERROR_PASSWORD_EXPIRED",
    1331: "ERROR_ACCOUNT_DISABLED",
    1385: "ERROR_LOGON_TYPE_NOT_GRANTED",
    1909: "ERROR_ACCOUNT_LOCKED_OUT",
}
# ... and those that say the connection broke after SMB had answered: tcp-only evidence
BROKEN = {
    53: "ERROR_BAD_NETPATH",
    59: "ERROR_UNEXP_NET_ERR",
    64: "ERROR_NETNAME_DELETED",
    121: "ERROR_SEM_TIMEOUT",
    1236: "ERROR_CONNECTION_ABORTED",
}
CREDENTIAL_CONFLICT = 1219  # the vantage already holds a connection to the host as someone else


class _Silent(Exception):
    """SMB answered nothing, or broke, after the handshake (read from the Windows document)."""


def _windows_session(check: Check, document: Any) -> SessionResult:
    """smb-path.ps1's document as the SessionResult the other vantages produce; raises _Silent
    for tcp-only and ProbeError where the vantage proved nothing (no TCP, an unknown failure)."""
    assert check.probe is not None and check.target is not None
    host = check.target.host
    negotiate = document["Negotiate"]
    if not negotiate["Connected"]:
        raise ProbeError(check.probe, f"SMB to {host}: TCP 445: {negotiate['Detail']}")
    if not negotiate["Answered"]:
        raise _Silent(f"SMB to {host}: {negotiate['Detail']}")
    dialect = document.get("Dialect") or negotiate["Dialect"]
    login = document["Login"]
    if not login["Mapped"]:
        why = _refusal(check, host, "IPC$", login)
        return SessionResult(dialect, False, False, (), None, f"login refused: {why}")
    opened, failed = [], []
    for row in document["Shares"]:
        if row["Mapped"] and row["Readable"]:
            opened.append(row["Share"])
        elif row["Mapped"]:
            failed.append((row["Share"], "mapped, but Test-Path cannot read its root"))
        else:
            failed.append((row["Share"], _refusal(check, host, row["Share"], row)))
    sysvol = document.get("Sysvol")
    read = None
    if sysvol is not None and sysvol["File"] is not None:
        read = f"{sysvol['Share']}\\{sysvol['File']} ({sysvol['Bytes']} bytes)"
    elif sysvol is not None:
        read = f"refused: {_refusal(check, host, sysvol['Share'], sysvol)}"
    return SessionResult(
        dialect,
        True,
        False,
        (),
        None,
        "logged in by mapping IPC$",
        opened_shares=tuple(opened),
        failed_shares=tuple(failed),
        sysvol_file=read,
    )


def _refusal(check: Check, host: str, share: str, row: Any) -> str:
    """A failed mapping's words when the server refused; otherwise raise what it proves."""
    assert check.probe is not None
    code, message = row["ErrorCode"], row["Error"] or "no error text"
    where = f"SMB to {host}: mapping \\\\{host}\\{share}"
    if code in REFUSED:
        return f"{REFUSED[code]} ({code}: {message})"
    if code in BROKEN:
        raise _Silent(f"{where} broke after SMB answered: {BROKEN[code]} ({code}: {message})")
    if code == CREDENTIAL_CONFLICT:
        raise ProbeError(
            check.probe,
            f"{where}: ERROR_SESSION_CREDENTIAL_CONFLICT (1219): the probe's account already "
            "holds a connection to this host under other credentials (a mapping or an open "
            "file of its own); remove it on the probe (Remove-SmbMapping) or use an account "
            "with no connection there",
        )
    raise ProbeError(check.probe, f"{where}: Win32 error {code}: {message} (not a refusal)")


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
