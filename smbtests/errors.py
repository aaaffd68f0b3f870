"""The project's typed errors: callers never see a backend's raw exception.

Each adapter (smb.py for impacket, probes/ssh.py for paramiko, probes/winrm.py for pywinrm)
maps its library's exceptions into these in one place, as httpx does in `_exceptions.py`.
"""

from __future__ import annotations


class SmbtestsError(Exception):
    """Base of every error smbtests raises on purpose."""


class PolicyError(SmbtestsError):
    """A policy or environment file is wrong; the message names file, place and fix."""


class ProbeError(SmbtestsError):
    """A vantage point could not run a check: unreachable, auth, garbage output, timeout.

    A ProbeError is never evidence about the network; items that depend on it error.
    """

    def __init__(self, probe: str, message: str) -> None:
        super().__init__(f"probe {probe}: {message}")
        self.probe = probe


class ProbeUnreachableError(ProbeError):
    """The vantage itself (or, for SMB talk, the host from the vantage) could not be reached."""


class ProbeAuthError(ProbeError):
    """The vantage refused our credentials or key."""


class HostKeyError(ProbeError):
    """The vantage's host key is unknown or does not match known_hosts."""


class ProbeTimeoutError(ProbeError):
    """The vantage did not answer within its deadline."""


class BadOutputError(ProbeError):
    """The vantage answered with something that breaks the probe protocol."""


class SmbSilentError(ProbeError):
    """The TCP handshake completed but SMB did not answer, or broke, after it: a middlebox
    (proxy, tarpit, IPS) or a dead service. Unprovable for hardening; for a path that must work,
    or one that must be closed, it is evidence (`tcp-only`)."""


class SmbCutError(SmbSilentError):
    """The server (or something between) broke the conversation after the handshake: a reset,
    a closed connection, not silence. A session so cut is opened once more."""


class ForwardingRefusedError(ProbeError):
    """The probe's sshd refused to open a TCP channel for us (`AllowTcpForwarding`,
    `PermitOpen`): no SMB can be talked from that vantage, which says nothing about the host."""


class LabError(SmbtestsError):
    """The lab could not be built, changed or torn down."""


class InternalError(SmbtestsError):
    """A bug in smbtests, not a fact about the network: the message says so and names the
    check it happened in."""

    def __init__(self, message: str, check_id: str | None = None) -> None:
        where = f" (check {check_id})" if check_id else ""
        super().__init__(
            f"this is a bug in smbtests{where}: {message}; please report it with this message"
        )
        self.check_id = check_id
