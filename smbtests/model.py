"""Policy and environment files as validated, frozen models.

The policy says what must hold (seed guide steps 1-7); the environment says where it is checked
from. Every problem becomes one PolicyError naming file, line, column, key path and the fix.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smbtests.errors import PolicyError
from smbtests.source import SourceDocument, load_yaml, path_label, suggest

DIALECTS: tuple[str, ...] = ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")
Dialect = Literal["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"]
SegmentKind = Literal["mgmt", "trusted", "untrusted", "servers", "perimeter"]
HostRole = Literal["file", "dc", "print", "admin"]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=63)]
Port = Annotated[int, Field(ge=1, le=65535)]
ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
M = TypeVar("M", bound=BaseModel)


class _Model(BaseModel):
    # hide_input_in_errors: a credential must never be echoed back by a validation error.
    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, populate_by_name=True
    )


@dataclass(frozen=True, order=True)
class Target:
    """One TCP endpoint a check connects to."""

    host: str
    port: int


# ---------------------------------------------------------------- policy


class Segment(_Model):
    kind: SegmentKind
    cidrs: tuple[IPv4Network, ...] = Field(min_length=1)
    description: str = ""


class Hardening(_Model):
    """Hardening baseline (seed step 4). Every field optional so hosts/roles can override parts."""

    smb1: Literal["refused", "allowed"] | None = None
    signing: Literal["required", "optional"] | None = None
    min_dialect: Dialect | None = None
    encryption: Literal["required", "optional"] | None = None
    anonymous: Literal["refused", "allowed"] | None = None
    guest: Literal["refused", "allowed"] | None = None

    def over(self, base: Hardening) -> Hardening:
        """This override laid over `base`: fields set here win."""
        return base.model_copy(update=self.model_dump(exclude_none=True))


BASELINE_DEFAULTS = Hardening(
    smb1="refused",
    signing="required",
    min_dialect="2.0.2",
    encryption="optional",
    anonymous="refused",
    guest="refused",
)


class SmbHost(_Model):
    address: IPv4Address
    role: HostRole
    shares: tuple[str, ...] = ()
    description: str = ""
    hardening: Hardening = Hardening()


class ApprovedPath(_Model):
    from_: tuple[str, ...] = Field(alias="from", min_length=1)
    to: tuple[str, ...] = Field(min_length=1)
    ports: tuple[Port, ...] = (445,)
    reason: str = Field(min_length=3)


class OutboundTarget(_Model):
    address: IPv4Address
    port: Port = 445
    description: str = ""


class Perimeter(_Model):
    outbound_targets: dict[Name, OutboundTarget] = {}


class Discovery(_Model):
    ranges: tuple[IPv4Network, ...] = ()
    ports: tuple[Port, ...] = (445,)


class PolicyException(_Model):
    id: Annotated[str, Field(pattern=r"^EXC-\d{4}$")]
    from_: str = Field(alias="from")
    to: str
    port: Port = 445
    owner: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    reason: str = Field(min_length=3)
    ticket: str = Field(min_length=1)
    created: date
    expires: date
    review_every_days: int = Field(default=30, ge=1, le=366)
    last_reviewed: date

    @property
    def review_due(self) -> date:
        return self.last_reviewed + timedelta(days=self.review_every_days)

    def governance_problem(self, today: date) -> tuple[str, str] | None:
        """(status, reason) when the paperwork alone already fails the exception (step 7)."""
        if self.approver.strip().lower() == self.owner.strip().lower():
            return (
                "self-approved",
                f"approved by its own owner {self.owner}; an exception needs a second person",
            )
        if self.expires < today:
            return "expired", f"EXPIRED on {self.expires} (owner {self.owner}); remove or renew"
        if self.review_due < today:
            return (
                "overdue",
                f"review OVERDUE since {self.review_due} (every {self.review_every_days} days; "
                f"owner {self.owner})",
            )
        return None


class Deployment(_Model):
    """Seed step 5: what the host firewall of every Windows host must look like."""

    firewall_profiles: tuple[Literal["Domain", "Private", "Public"], ...] = (
        "Domain",
        "Private",
        "Public",
    )
    firewall_log_min_kb: int = Field(default=16384, ge=1)


class Policy(_Model):
    version: Literal[1] = 1
    name: str
    segments: dict[Name, Segment] = Field(min_length=1)
    smb_hosts: dict[Name, SmbHost] = Field(min_length=1)
    approved_paths: tuple[ApprovedPath, ...] = ()
    hardening: Hardening = BASELINE_DEFAULTS
    hardening_by_role: dict[HostRole, Hardening] = {}
    perimeter: Perimeter = Perimeter()
    discovery: Discovery = Discovery()
    deployment: Deployment = Deployment()
    exceptions: tuple[PolicyException, ...] = ()

    def baseline_for(self, host_name: str) -> Hardening:
        host = self.smb_hosts[host_name]
        baseline = self.hardening.over(BASELINE_DEFAULTS)
        role_override = self.hardening_by_role.get(host.role)
        if role_override is not None:
            baseline = role_override.over(baseline)
        return host.hardening.over(baseline)

    def segment_of(self, address: IPv4Address) -> str | None:
        for name, segment in sorted(self.segments.items()):
            if any(address in cidr for cidr in segment.cidrs):
                return name
        return None

    def networks_of(self, reference: str) -> tuple[IPv4Network, ...]:
        """A segment name or a CIDR, as networks (references are checked at load)."""
        if reference in self.segments:
            return self.segments[reference].cidrs
        return (ipaddress.IPv4Network(reference, strict=False),)


# ---------------------------------------------------------------- environment


class Control(_Model):
    """A service the probe is meant to reach across the same boundary as its 445 tests."""

    address: IPv4Address
    port: Port
    description: str = ""


class Credential(_Model):
    username: str = Field(min_length=1)
    domain: str = ""
    password_env: Annotated[str, Field(pattern=ENV_VAR_PATTERN)]


class ProbeConfig(_Model):
    segment: str
    transport: Literal["local", "ssh", "winrm"]
    address: str | None = None
    source_address: IPv4Address | None = None
    port: Port | None = None
    user: str | None = None
    key: Path | None = None
    known_hosts: Path | None = None
    python: str = "python3"
    credential: Credential | None = None
    winrm_auth: Literal["ntlm", "kerberos", "credssp", "basic"] = "ntlm"
    winrm_scheme: Literal["https", "http"] = "https"
    allow_basic: bool = False
    ca_bundle: Path | None = None
    verify_tls: bool = True
    # Test-NetConnection instead of TcpClient: slower (no timeout; ~21 s per filtered port on
    # Windows) and cannot tell refused from filtered, but it is the command auditors know
    winrm_test_netconnection: bool = False
    control: Control | None = None
    rings: tuple[Name, ...] = ()

    @property
    def own_address(self) -> IPv4Address:
        """The address this probe's connections come from (checked at load)."""
        if self.source_address is not None:
            return self.source_address
        return ipaddress.IPv4Address(self.address)


class Timing(_Model):
    connect_timeout: float = Field(default=2.0, gt=0, le=30)
    concurrency: int = Field(default=128, ge=1, le=4096)
    probe_timeout: float = Field(default=60.0, gt=0, le=900)
    smb_timeout: float = Field(default=5.0, gt=0, le=60)


class SmbVantage(_Model):
    credential: Credential | None = None


class EnvDiscovery(_Model):
    probe: str | None = None


class WinRMConnection(_Model):
    """How to reach a Windows host over WinRM when it is not also a vantage (a probe)."""

    address: str
    port: Port | None = None
    credential: Credential
    winrm_auth: Literal["ntlm", "kerberos", "credssp", "basic"] = "ntlm"
    winrm_scheme: Literal["https", "http"] = "https"
    allow_basic: bool = False
    ca_bundle: Path | None = None
    verify_tls: bool = True
    winrm_test_netconnection: bool = False


class WindowsHost(_Model):
    """A Windows host whose own configuration is read over WinRM: through a winrm probe entry
    (`probe`) or its own connection (`winrm`), exactly one of them.

    `server` hosts may allow 445 only from named addresses; `endpoint` hosts (laptops) may not
    allow inbound 445 in the Public or Private profile at all (seed step 2, remote users).
    `smb_host` names the policy host it is, so the wire and its configuration can be compared.
    """

    probe: str | None = None
    winrm: WinRMConnection | None = None
    role: Literal["server", "endpoint"]
    smb_host: str | None = None
    remote_access: bool = False


class Environment(_Model):
    name: Name
    description: str = ""
    policy: Path
    policy_overlay: Path | None = None
    scope: tuple[IPv4Network, ...] = Field(min_length=1)
    timing: Timing = Timing()
    smb: SmbVantage = SmbVantage()
    probes: dict[Name, ProbeConfig] = Field(min_length=1)
    discovery: EnvDiscovery = EnvDiscovery()
    host_rings: dict[str, tuple[Name, ...]] = {}
    windows_hosts: dict[Name, WindowsHost] = {}

    @field_validator("scope")
    @classmethod
    def _scope_not_everything(cls, value: tuple[IPv4Network, ...]) -> tuple[IPv4Network, ...]:
        for network in value:
            if network.prefixlen < 8:
                raise ValueError(f"scope {network} is wider than a /8; name the networks you own")
        return value


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedConfig:
    """A policy and the environment it runs in, cross-checked."""

    environment: Environment
    policy: Policy
    environment_path: Path
    policy_path: Path
    policy_sha256: str
    overlay_applied: bool


def _describe(error: Mapping[str, Any], model_fields: Iterable[str]) -> str:
    kind = error["type"]
    key = error["loc"][-1] if error["loc"] else ""
    if kind == "extra_forbidden":
        return f"unknown key `{key}`{suggest(str(key), model_fields)}; remove or rename it."
    if kind == "missing":
        return f"required key `{key}` is missing; add it."
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{message}; fix the value."


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys that are valid at `loc`, for suggestions on unknown keys."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                field = next((f for f in current.model_fields.values() if f.alias == part), None)
            if field is None:
                return []
            current = _inner_model(field.annotation)
        elif current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside dict[..., M], tuple[M, ...], M | None, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _validate(model: type[M], doc: SourceDocument) -> M:
    if not isinstance(doc.data, dict):
        raise PolicyError(f"{doc.path}:1:1: expected a mapping of keys at the top level.")
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            # pydantic adds the dict-key validator's name to loc for bad keys; drop it
            loc = tuple(p for p in loc if p != "[key]")
            label = path_label(loc) or "top level"
            detail = _describe(error, _fields_at(model, loc))
            lines.append(f"{doc.where(loc)}: {label}: {detail}")
        raise PolicyError("\n".join(lines)) from None


def _fail(doc: SourceDocument, path: tuple[str | int, ...], message: str) -> PolicyError:
    return PolicyError(f"{doc.where(path)}: {path_label(path)}: {message}")


def _check_reference(
    doc: SourceDocument, path: tuple[str | int, ...], value: str, names: Iterable[str], what: str
) -> None:
    names = list(names)
    if value in names:
        return
    if what == "segment or CIDR":
        try:
            ipaddress.IPv4Network(value, strict=False)
            return
        except ValueError:
            pass
    raise _fail(doc, path, f"unknown {what} `{value}`{suggest(value, names)}")


def _resolve_policy(policy: Policy, doc: SourceDocument) -> None:
    segment_names = list(policy.segments)
    host_names = list(policy.smb_hosts)
    for name, host in policy.smb_hosts.items():
        if policy.segment_of(host.address) is None:
            raise _fail(
                doc,
                ("smb_hosts", name, "address"),
                f"{host.address} lies in no declared segment; add its subnet to a segment",
            )
    for name in policy.perimeter.outbound_targets:
        if name in policy.smb_hosts:
            raise _fail(
                doc,
                ("perimeter", "outbound_targets", name),
                f"`{name}` is also an SMB host; give the outbound target its own name",
            )
    for index, path in enumerate(policy.approved_paths):
        for j, source in enumerate(path.from_):
            _check_reference(
                doc, ("approved_paths", index, "from", j), source, segment_names, "segment or CIDR"
            )
        for j, target in enumerate(path.to):
            if target != "*":
                _check_reference(
                    doc, ("approved_paths", index, "to", j), target, host_names, "SMB host"
                )
    seen: set[str] = set()
    for index, exc in enumerate(policy.exceptions):
        where = ("exceptions", index)
        if exc.id in seen:
            raise _fail(doc, (*where, "id"), f"exception id `{exc.id}` is used twice")
        seen.add(exc.id)
        _check_reference(doc, (*where, "from"), exc.from_, segment_names, "segment or CIDR")
        _check_reference(doc, (*where, "to"), exc.to, host_names, "SMB host")
        if exc.expires < exc.created:
            raise _fail(doc, (*where, "expires"), "expires before it was created")


def _resolve_environment(env: Environment, policy: Policy, doc: SourceDocument) -> None:
    def in_scope(address: IPv4Address) -> bool:
        return any(address in network for network in env.scope)

    for name, probe in env.probes.items():
        where = ("probes", name)
        _check_reference(doc, (*where, "segment"), probe.segment, policy.segments, "segment")
        if probe.transport != "local" and not probe.address:
            raise _fail(doc, (*where, "address"), f"a {probe.transport} probe needs `address`")
        if probe.source_address is None:
            try:
                ipaddress.IPv4Address(probe.address)
            except ValueError:
                raise _fail(
                    doc,
                    (*where, "source_address"),
                    "set `source_address` (the IPv4 address its connections come from)",
                ) from None
        segment_cidrs = policy.segments[probe.segment].cidrs
        if not any(probe.own_address in cidr for cidr in segment_cidrs):
            raise _fail(
                doc,
                (*where, "segment"),
                f"the probe's address {probe.own_address} is not in segment {probe.segment} "
                f"({', '.join(map(str, segment_cidrs))}); fix the segment or set "
                "`source_address` to the address its connections come from",
            )
        if probe.control is None:
            raise _fail(
                doc,
                (*where, "control"),
                "every probe needs a positive control (address, port) it is meant to reach "
                "across the same boundary; without it no `closed` verdict can be trusted",
            )
        if not in_scope(probe.control.address):
            raise _fail(doc, (*where, "control", "address"), "outside the environment's scope")
        if probe.transport == "ssh":
            for key in ("user", "key", "known_hosts"):
                if getattr(probe, key) is None:
                    raise _fail(doc, (*where, key), f"an ssh probe needs `{key}`")
        if probe.transport == "winrm":
            if probe.credential is None:
                raise _fail(doc, (*where, "credential"), "a winrm probe needs `credential`")
            if probe.winrm_auth == "basic" and not probe.allow_basic:
                raise _fail(
                    doc,
                    (*where, "winrm_auth"),
                    "basic auth sends the password in clear; set `allow_basic: true` "
                    "only for a lab",
                )
    for name, host in policy.smb_hosts.items():
        if not in_scope(host.address):
            raise _fail(
                doc,
                ("scope",),
                f"SMB host {name} ({host.address}) is outside the scope; "
                "add its network to `scope` or remove the host",
            )
    for name, target in policy.perimeter.outbound_targets.items():
        if not in_scope(target.address):
            raise _fail(doc, ("scope",), f"outbound target {name} is outside the scope")
    for network in policy.discovery.ranges:
        if not any(network.subnet_of(s) for s in env.scope):
            raise _fail(doc, ("scope",), f"discovery range {network} is outside the scope")
    if env.discovery.probe is not None:
        _check_reference(doc, ("discovery", "probe"), env.discovery.probe, env.probes, "probe")
    for host_name in env.host_rings:
        _check_reference(doc, ("host_rings", host_name), host_name, policy.smb_hosts, "SMB host")
    winrm_probes = [n for n, p in env.probes.items() if p.transport == "winrm"]
    for name, windows in env.windows_hosts.items():
        where = ("windows_hosts", name)
        if (windows.probe is None) == (windows.winrm is None):
            raise _fail(doc, where, "give exactly one of `probe` (a winrm probe) or `winrm`")
        if windows.probe is not None:
            _check_reference(doc, (*where, "probe"), windows.probe, winrm_probes, "winrm probe")
        if (
            windows.winrm is not None
            and windows.winrm.winrm_auth == "basic"
            and not (windows.winrm.allow_basic)
        ):
            raise _fail(
                doc,
                (*where, "winrm", "winrm_auth"),
                "basic auth sends the password in clear; set `allow_basic: true` only for a lab",
            )
        if windows.smb_host is not None:
            _check_reference(
                doc, (*where, "smb_host"), windows.smb_host, policy.smb_hosts, "SMB host"
            )


def _merge_overlay(data: Any, overlay: Any, overlay_path: Path) -> Any:
    """Apply an overlay: mappings merge key by key; `exceptions` entries merge by `id`."""
    if not isinstance(overlay, dict) or not isinstance(data, dict):
        raise PolicyError(f"{overlay_path}:1:1: an overlay must be a mapping of policy keys.")
    merged = dict(data)
    for key, value in overlay.items():
        if key == "exceptions" and isinstance(value, list):
            current = merged.get("exceptions", [])
            if not isinstance(current, list) or not all(isinstance(e, dict) for e in current):
                continue  # the policy's own shape error is reported when it is validated
            by_id = {e.get("id"): dict(e) for e in current}
            for entry in value:
                if not isinstance(entry, dict) or entry.get("id") not in by_id:
                    raise PolicyError(
                        f"{overlay_path}: exceptions: each entry must name an existing `id`."
                    )
                by_id[entry["id"]].update(entry)
            merged["exceptions"] = list(by_id.values())
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_overlay(merged[key], value, overlay_path)
        else:
            merged[key] = value
    return merged


def resolve_environment_path(name_or_path: str, environments_dir: Path) -> Path:
    """`lab` -> environments/lab.yaml; a path is taken as it is."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return candidate
    path = environments_dir / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(
            p.stem for p in environments_dir.glob("*.yaml") if not p.stem.endswith("-policy")
        )
        raise PolicyError(
            f"--env {name_or_path}: no file {path}{suggest(name_or_path, known)} "
            f"(known: {', '.join(known) or 'none'})"
        )
    return path


def _anchored(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _anchor_paths(env: Environment, base: Path) -> Environment:
    """Every path in an environment file is relative to that file, wherever pytest starts."""
    probes = {
        name: probe.model_copy(
            update={
                key: _anchored(getattr(probe, key), base)
                for key in ("key", "known_hosts", "ca_bundle")
                if getattr(probe, key) is not None
            }
        )
        for name, probe in env.probes.items()
    }
    windows = {
        name: host.model_copy(
            update={
                "winrm": host.winrm.model_copy(
                    update={"ca_bundle": _anchored(host.winrm.ca_bundle, base)}
                )
            }
        )
        if host.winrm is not None and host.winrm.ca_bundle is not None
        else host
        for name, host in env.windows_hosts.items()
    }
    update: dict[str, Any] = {
        "policy": _anchored(env.policy, base),
        "probes": probes,
        "windows_hosts": windows,
    }
    if env.policy_overlay is not None:
        update["policy_overlay"] = _anchored(env.policy_overlay, base)
    return env.model_copy(update=update)


def load(environment_path: Path) -> LoadedConfig:
    """Load and cross-check an environment and the policy it names; raise PolicyError."""
    env_doc = load_yaml(environment_path)
    environment = _anchor_paths(_validate(Environment, env_doc), environment_path.parent)
    policy_path = environment.policy
    policy_doc = load_yaml(policy_path)
    data = policy_doc.data
    overlay_applied = False
    text = policy_doc.text
    if environment.policy_overlay is not None and environment.policy_overlay.exists():
        overlay_doc = load_yaml(environment.policy_overlay)
        data = _merge_overlay(data, overlay_doc.data, overlay_doc.path)
        overlay_applied = True
        text += b"\n---\n" + overlay_doc.text
    policy_doc = SourceDocument(policy_doc.path, data, policy_doc.positions, text)
    policy = _validate(Policy, policy_doc)
    _resolve_policy(policy, policy_doc)
    _resolve_environment(environment, policy, env_doc)
    return LoadedConfig(
        environment=environment,
        policy=policy,
        environment_path=environment_path,
        policy_path=policy_path,
        policy_sha256=hashlib.sha256(text).hexdigest(),
        overlay_applied=overlay_applied,
    )


def read_secret(credential: Credential, where: str) -> str:
    """The password named by `password_env`; a missing variable is named, its value never shown."""
    value = os.environ.get(credential.password_env)
    if not value:
        raise PolicyError(
            f"{where}: environment variable {credential.password_env} is not set; export it "
            "(the value is never written to the files or reports)"
        )
    return value
