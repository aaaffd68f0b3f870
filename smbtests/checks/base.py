"""What every check kind shares: the Check (one test item), what a kind needs executed, the
verdict vocabulary it imports (`verdicts.py`), and the interface a kind implements.

A kind module (`smbtests/checks/<kind>.py`), or a `Kind` declared in the module of the resource
it reads with the other kinds that read it, holds everything about one kind of check: which
checks a policy yields (`plan`), what each needs executed (`needs`, grouped into batches by
`Check.batch`), how the fetched facts become its observation (`observe`), its verdict
(`judge`), its marker and its family for diffs. The registry maps kind names to kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from smbtests.checks.verdicts import Judging, Verdict
from smbtests.config import Hardening, LoadedConfig
from smbtests.errors import ProbeError
from smbtests.observations import (
    ConnectResult,
    ConnectState,
    HostQuery,
    Observation,
    QuicRequest,
    Target,
)

STEP_TITLES: dict[int, str] = {
    1: "1 Inventory",
    2: "2 Perimeter and untrusted zones",
    3: "3 Least privilege",
    4: "4 Hardening",
    5: "5 Deployment",
    6: "6 Verification",
    7: "7 Exceptions",
}


class Expect(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class BatchKind(StrEnum):
    """How a batch runs: one probe's connect scan, one host's SMB talk from one vantage (the
    runner or a probe), one Windows host's configuration readings over WinRM."""

    SCAN = "probe"
    SMB = "smb"
    WINDOWS = "win"


RUNNER = "runner"  # the vantage of SMB talk from the process running smbtests


@dataclass(frozen=True, order=True)
class BatchKey:
    kind: BatchKind
    name: str | None  # the probe, SMB host or Windows host; None: no probe can run it
    vantage: str = RUNNER  # SMB batches: where the SMB is talked from (a probe's name)
    port: int = 445  # SMB batches: the host's port

    def __str__(self) -> str:
        if self.kind is not BatchKind.SMB:
            return f"{self.kind}:{self.name}"
        port = "" if self.port == 445 else f":{self.port}"
        vantage = "" if self.vantage == RUNNER else f"@{self.vantage}"
        return f"{self.kind}:{self.name}{port}{vantage}"


class Family(StrEnum):
    """How a diff reads a kind's changes."""

    REACH = "reach"
    HARDENING = "hardening"
    EXCEPTION = "exception"
    OTHER = "other"


@dataclass(frozen=True, repr=False)
class Check:
    """One test item: what is checked, from where, what the policy expects, and why."""

    id: str
    kind: str
    step: int
    rule: str
    feature: str
    story: str
    severity: str
    batch: BatchKey
    marker: str
    probe: str | None = None
    host: str | None = None
    target: Target | None = None
    expect: Expect | None = None
    exception_id: str | None = None
    discovery_range: str | None = None
    windows_role: str | None = None
    rings: tuple[str, ...] = ()
    baseline: Hardening | None = None  # Windows kinds: the hardening in force for this host

    def __repr__(self) -> str:
        # Short and stable: reports derive history ids and parameter values from it.
        return f"Check({self.id!r})"


class SmbNeed(StrEnum):
    """An SMB conversation with a check's host from its batch's vantage; fetched once per batch."""

    SMB1 = "smb1 negotiate"
    NEGOTIATIONS = "one negotiate per SMB2/3 dialect"
    NEGOTIATE = "one negotiate offering every SMB2/3 dialect"
    BELOW_FLOOR = "one negotiate offering only the SMB2/3 dialects below the host's floor"
    ANONYMOUS = "anonymous session over SMB 2.1"
    GUEST = "guest session over SMB 2.1"
    ACCOUNT = "approved-account session"
    ACCOUNT_UNENCRYPTED = "approved-account session over SMB 2.1"
    PATH = "approved-account session, declared shares and for DCs a SYSVOL policy file"
    # the same from a Windows vantage, by its own SMB client (smb-path.ps1 over WinRM)
    PATH_FROM_WINDOWS = "approved-account mappings of the declared shares from a Windows host"
    SOURCE = "the vantage's own address toward the host (a route lookup; nothing is sent)"


@dataclass(frozen=True, order=True)
class Connect:
    """A TCP connect from the check's probe (its batch's probe) to a target."""

    target: Target


@dataclass(frozen=True, order=True)
class SmbAnswers:
    """Whether SMB itself answers at a target from the batch's probe (one negotiate), asked as
    a follow-up once a connect showed the target open."""

    target: Target


Need = Connect | SmbNeed | HostQuery | SmbAnswers | QuicRequest


@dataclass(frozen=True)
class Facts:
    """What a batch fetched, as a check's `observe` reads it. A need whose fetch failed holds
    the ProbeError; reading it raises, so the check errors."""

    values: Mapping[Need, object] = field(default_factory=dict)
    probe: str | None = None
    # the probe's control results, each keyed by the target it was reached at
    controls: Mapping[Target, ConnectResult] = field(default_factory=dict)
    account: str | None = None  # the approved account's name, for SMB batches

    def get(self, need: Need) -> Any:
        value = self.values[need]
        if isinstance(value, ProbeError):
            raise value
        return value

    # the probe's SMB-port controls (inside its own segment), keyed like `controls`
    port_controls: Mapping[Target, ConnectResult] = field(default_factory=dict)

    def control_for(self, target: Target) -> ConnectResult | None:
        """The control reached in the target's IP version from the same source address: the
        proof that the probe could have connected to the target if nothing blocked it. On a
        port the probe's SMB-port control covers, both must have answered: the one that did
        not is returned (the routed control first), so a drop in the probe's own output chain
        for that port alone leaves the target unproven."""
        same = [
            result
            for control, result in self.controls.items()
            if control.version == target.version and control.source == target.source
        ]
        if not same:
            return None
        at_port = [
            result
            for control, result in self.port_controls.items()
            if control.version == target.version
            and control.source == target.source
            and control.port == target.port
        ]
        return next((r for r in (same[0], *at_port) if r.state is not ConnectState.OPEN), same[0])

    def connect(self, target: Target) -> ConnectResult | None:
        """The connect result, or None when no probe could run this batch."""
        if self.probe is None:
            return None
        result: ConnectResult = self.get(Connect(target))
        return result


class CheckKind(Protocol):
    """The interface of a kind: a kind module satisfies it structurally, and so does a `Kind`
    declared in a module that holds several kinds of one resource. Its docstring (`__doc__`)
    says what it proves: the docs table of checks reads it."""

    # read-only, so that a frozen `Kind` satisfies them as a module's constants do
    @property
    def NAME(self) -> str: ...  # noqa: N802

    @property
    def FAMILY(self) -> Family: ...  # noqa: N802

    def plan(self, config: LoadedConfig, today: date) -> list[Check]: ...

    def needs(self, check: Check, config: LoadedConfig) -> Sequence[Need]: ...

    def observe(self, check: Check, facts: Facts) -> Observation: ...

    def judge(self, check: Check, observation: Any, judging: Judging) -> Verdict: ...


class FollowUps(Protocol):
    """An optional member of a kind module: once a check's `needs` are known, what more it needs
    given what they showed (e.g. a negotiate to a target found open). The batch fetches them
    from the same vantage before the check is settled; `()` settles it at once."""

    def __call__(self, check: Check, facts: Facts) -> Sequence[Need]: ...


Plan = Callable[[LoadedConfig, date], list[Check]]
Needs = Callable[[Check, LoadedConfig], Sequence[Need]]
Observe = Callable[[Check, Facts], Observation]
Judge = Callable[[Check, Any, Judging], Verdict]


@dataclass(frozen=True)
class Kind:
    """A check kind declared as an object, where one module declares the kinds that read one
    resource (e.g. a Windows host's SMB server configuration); `doc` is its `__doc__`, as a kind
    module's docstring is."""

    NAME: str
    FAMILY: Family
    doc: str
    plan: Plan
    needs: Needs
    observe: Observe
    judge: Judge

    def __post_init__(self) -> None:
        object.__setattr__(self, "__doc__", self.doc)
