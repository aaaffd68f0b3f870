"""From hosts another tool knows about to a draft policy + environment that `smbtests validate`
accepts, with every guess marked `# TODO(human): ...` for the person who owns the policy.

Each source reader (ansible, netbox, csvfile) yields SourceHosts (hosts.py): a name, an IPv4
address (with its subnet when the source knows it) and labels (groups, roles, tags). Labels
map to roles (mapping.py). Building and rendering are pure; the draft files are written last.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from typing import Any

from smbtests.config import BASELINE_DEFAULTS
from smbtests.errors import SmbtestsError
from smbtests.imports.hosts import SourceHost, SourceInventory
from smbtests.imports.mapping import SEGMENT_KINDS, SMB_ROLES, Role, classify
from smbtests.imports.render import Draft, Entry

DEFAULT_PREFIX = 24
CONTROL_PORT = 443


def safe_name(text: str) -> str:
    """A policy name (letters, digits, `_ . -`, 63 at most) made from a source's name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).lstrip("_.-")[:63].rstrip("-")
    return cleaned or "unnamed"


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{name[:59]}-{number}"
        number += 1
    taken.add(candidate)
    return candidate


def _comment(text: str) -> str:
    """One comment line: a source's text can hold anything, a YAML comment no line break."""
    return " ".join(text.split())


# ---------------------------------------------------------------- building


@dataclass
class _Segment:
    kind: str
    cidrs: list[IPv4Network]
    notes: list[str]


def _subnet_given(host: SourceHost) -> bool:
    # a /31 or /32 (NetBox's default for a bare address) names the host, not its subnet
    return host.subnet_known and host.address.network.prefixlen <= 30


def _subnets(hosts: Iterable[SourceHost], prefix: int) -> dict[SourceHost, IPv4Network]:
    """Each host's subnet: its own when the source gives one; else the narrowest given subnet
    that holds it; else a /prefix around it (a guess the draft marks)."""
    given = sorted(
        {h.address.network for h in hosts if _subnet_given(h)}, key=lambda n: -n.prefixlen
    )
    subnets: dict[SourceHost, IPv4Network] = {}
    for host in hosts:
        if _subnet_given(host):
            subnets[host] = host.address.network
        else:
            holding = [n for n in given if host.address.ip in n]
            subnets[host] = (
                holding[0] if holding else IPv4Interface(f"{host.address.ip}/{prefix}").network
            )
    return subnets


def _host_role(host: SourceHost, mapping: Mapping[str, Role]) -> tuple[Role | None, str, str]:
    """(SMB role or probe or None, the label that decided, a note on conflicting labels)."""
    roles = [(classify(label, mapping), label) for label in host.labels]
    smb = [(r, label) for r, label in roles if r in SMB_ROLES]
    if smb:
        others = sorted({f"{label} ({r})" for r, label in smb if r != smb[0][0]})
        note = f"also labelled {', '.join(others)}; one role per host" if others else ""
        return smb[0][0], smb[0][1], note
    probe = [label for r, label in roles if r == "probe"]
    if probe:
        return "probe", probe[0], ""
    return None, "", ""


def _segment_label(
    hosts: Sequence[SourceHost], mapping: Mapping[str, Role]
) -> tuple[str, Role | None] | None:
    """The label that names a subnet's segment: a stated segment, else the label with a segment
    kind most of its hosts carry, else the most common unknown label."""
    stated = Counter(h.segment for h in hosts if h.segment)
    if stated:
        label = sorted(stated.items(), key=lambda item: (-item[1], item[0]))[0][0]
        return label, classify(label, mapping)
    kinds: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for host in hosts:
        for label in host.labels:
            role = classify(label, mapping)
            if role in SEGMENT_KINDS:
                kinds[label] += 1
            elif role is None:
                unknown[label] += 1
    for votes in (kinds, unknown):
        if votes:
            label = sorted(votes.items(), key=lambda item: (-item[1], item[0]))[0][0]
            return label, classify(label, mapping)
    return None


def _segments(
    subnet_of: Mapping[SourceHost, IPv4Network],
    smb_names: set[str],
    mapping: Mapping[str, Role],
    prefix: int,
) -> tuple[dict[str, _Segment], dict[IPv4Network, str]]:
    by_subnet: dict[IPv4Network, list[SourceHost]] = {}
    for host, subnet in subnet_of.items():
        by_subnet.setdefault(subnet, []).append(host)
    given = {h.address.network for h in subnet_of if _subnet_given(h)}
    segments: dict[str, _Segment] = {}
    owner: dict[IPv4Network, str] = {}
    for subnet in sorted(by_subnet):
        hosts = by_subnet[subnet]
        guessed_prefix = subnet not in given
        has_smb = any(h.name in smb_names for h in hosts)
        found = _segment_label(hosts, mapping)
        notes: list[str] = []
        if found is None:
            label = "servers" if has_smb else f"net-{str(subnet).replace('/', '-')}"
            role: Role | None = "servers" if has_smb else None
        else:
            label, role = found
        kind = role if role in SEGMENT_KINDS else ("servers" if has_smb else "trusted")
        if role not in SEGMENT_KINDS:
            notes.append(
                f"kind `{kind}` is a guess (from `{label}`); set mgmt, trusted, untrusted, "
                "servers or perimeter: it decides which rule a closed path is judged by"
            )
        name = safe_name(label)
        segment = segments.setdefault(name, _Segment(str(kind), [], []))
        segment.cidrs.append(subnet)
        if guessed_prefix:
            notes.append(f"{subnet}: assumed /{prefix} around the hosts; use the real subnet")
        segment.notes.extend(n for n in notes if n not in segment.notes)
        owner[subnet] = name
    return segments, owner


@dataclass(frozen=True)
class _Picked:
    """A source host the draft names: as an SMB host (role file/dc/print/admin) or a probe."""

    host: SourceHost
    name: str
    role: Role
    label: str  # the label that decided the role
    note: str = ""  # a conflict for the human to settle


class _Todos:
    """Makes `TODO(human): ...` comment text and counts them for the command's summary."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, text: str) -> str:
        self.count += 1
        return f"TODO(human): {_comment(text)}"


def _pick(
    inventory: SourceInventory, mapping: Mapping[str, Role]
) -> tuple[list[_Picked], list[_Picked]]:
    taken: set[str] = set()
    smb_hosts: list[_Picked] = []
    probes: list[_Picked] = []
    for host in sorted(inventory.hosts, key=lambda h: (h.name, int(h.address.ip))):
        role, label, note = _host_role(host, mapping)
        if role in SMB_ROLES:
            smb_hosts.append(_Picked(host, _unique(safe_name(host.name), taken), role, label, note))
        elif role == "probe":
            probes.append(_Picked(host, _unique(safe_name(host.name), taken), role, label))
    if not smb_hosts:
        raise SmbtestsError(
            f"{inventory.source}: no host maps to an SMB role (file, dc, print, admin); name "
            "the groups or roles that hold your SMB servers, e.g. --map fileservers=file"
        )
    return smb_hosts, probes


def _host_entries(smb_hosts: Sequence[_Picked], todo: _Todos) -> list[Entry]:
    entries = []
    for picked in smb_hosts:
        host = picked.host
        comments = [
            f"from {_comment(host.origin)} (`{_comment(picked.label)}` -> role {picked.role})"
        ]
        if picked.note:
            comments.append(todo(picked.note))
        value: dict[str, Any] = {"address": str(host.address.ip), "role": picked.role}
        if host.shares:
            value["shares"] = list(host.shares)
        else:
            comments.append(todo("list the shares the approved account must open (`access`)"))
        entries.append(Entry(picked.name, value, tuple(comments)))
    return entries


def _approved_paths(
    segments: Mapping[str, _Segment], smb_hosts: Sequence[_Picked], todo: _Todos
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """mgmt segments may reach every host; every other path is the human's to approve."""
    mgmt = [n for n, s in sorted(segments.items()) if s.kind == "mgmt"]
    paths: list[dict[str, Any]] = [
        {"from": [n], "to": ["*"], "reason": "administration of every SMB host"} for n in mgmt
    ]
    comments = [
        todo(
            "list who may reach which SMB host on 445; every path not listed is expected "
            "CLOSED (least privilege, seed step 3)"
            + (" - the mgmt path below was added from the segment's kind" if mgmt else "")
        )
    ]
    trusted = [n for n, s in sorted(segments.items()) if s.kind == "trusted"]
    if trusted:
        comments.append(
            "for example: - {from: [" + ", ".join(trusted) + "], to: ["
            + ", ".join(p.name for p in smb_hosts) + "], reason: file shares, GPO, printing}"
        )  # fmt: skip
    return paths, tuple(comments)


def _probe_entries(
    probes: Sequence[_Picked],
    segments: Mapping[str, _Segment],
    segment_of: Mapping[SourceHost, str],
    control_host: SourceHost,
    todo: _Todos,
) -> list[Entry]:
    """ssh probes for the hosts mapped to `probe`; without any, a local runner to place."""
    control = {"address": str(control_host.address.ip), "port": CONTROL_PORT}
    control_note = todo(
        f"`control` is a placeholder ({control_host.address.ip}:{CONTROL_PORT}): name a "
        "service this segment is meant to reach across the same router as its 445 tests; a "
        "wrong control makes every `closed` verdict of the probe meaningless"
    )
    entries: list[Entry] = []
    for picked in probes:
        host = picked.host
        value: dict[str, Any] = {
            "segment": segment_of[host],
            "transport": "ssh",
            "address": str(host.address.ip),
            "user": host.ssh_user or "smbprobe",
            "key": host.ssh_key or "~/.ssh/smbtests_probe",
            "known_hosts": "known_hosts",
        }
        if host.ssh_port is not None:
            value["port"] = host.ssh_port
        value["control"] = control
        comments = [
            f"from {_comment(host.origin)} (`{_comment(picked.label)}` -> probe)",
            control_note,
        ]
        if host.ssh_user is None or host.ssh_key is None:
            comments.append(todo("`user` and `key` are placeholders: the probe's SSH login"))
        comments.append(todo("`known_hosts` must hold this probe's host key (checked strictly)"))
        entries.append(Entry(picked.name, value, tuple(comments)))
    if entries:
        return entries
    mgmt = [n for n, s in sorted(segments.items()) if s.kind == "mgmt"]
    home = mgmt[0] if mgmt else sorted(segments)[0]
    source_address = sorted(segments[home].cidrs)[0].network_address + 1
    value = {
        "segment": home,
        "transport": "local",
        "source_address": str(source_address),
        "control": control,
    }
    placement = todo(
        "no host mapped to `probe`: this is the machine smbtests runs on; set its segment and "
        "the address its connections come from, and add a probe in every segment whose reach "
        "you want proven (--map GROUP=probe)"
    )
    return [Entry("runner", value, (placement, control_note))]


def build_draft(
    inventory: SourceInventory,
    name: str,
    mapping: Mapping[str, Role],
    prefix: int = DEFAULT_PREFIX,
) -> Draft:
    """The draft files' content (pure). Raises SmbtestsError when no host is an SMB host."""
    env_name = safe_name(name)
    smb_hosts, probes = _pick(inventory, mapping)
    subnet_of = _subnets(inventory.hosts, prefix)
    segments, owner = _segments(subnet_of, {p.host.name for p in smb_hosts}, mapping, prefix)
    segment_of = {host: owner[subnet] for host, subnet in subnet_of.items()}
    todo = _Todos()

    segment_entries = [
        Entry(
            seg_name,
            {"kind": seg.kind, "cidrs": [str(c) for c in sorted(seg.cidrs)]},
            tuple(todo(note) for note in seg.notes),
        )
        for seg_name, seg in sorted(segments.items())
    ]
    host_entries = _host_entries(smb_hosts, todo)
    paths, path_comments = _approved_paths(segments, smb_hosts, todo)
    probe_entries = _probe_entries(probes, segments, segment_of, smb_hosts[0].host, todo)
    scope = [str(n) for n in ipaddress.collapse_addresses(owner)]
    server_ranges = sorted({subnet_of[p.host] for p in smb_hosts})
    hardening = BASELINE_DEFAULTS.model_dump(exclude_none=True)
    password_env = "SMBTESTS_" + re.sub(r"[^A-Z0-9]+", "_", env_name.upper()) + "_SMB_PASSWORD"
    skipped = tuple(todo(f"left out: {line}") for line in inventory.skipped)

    policy = [
        ("version", 1, ()),
        ("name", f"{env_name} SMB exposure policy (draft from {inventory.source.name})", ()),
        ("segments", segment_entries, ("Step 1 - inventory: where hosts live, by subnet.",)),
        ("smb_hosts", host_entries, ()),
        ("approved_paths", paths, ("Step 3 - least privilege.", *path_comments)),
        ("hardening", hardening, (
            "Step 4 - hardening baseline: the seed's defaults; " + todo(
                "confirm (e.g. min_dialect \"3.0\", encryption required on file servers)"
            ),
        )),
        ("discovery", {"ranges": [str(r) for r in server_ranges]}, (
            todo("every range where no undeclared host may answer on 445 (step 1)"),
        )),
    ]  # fmt: skip
    environment = [
        ("name", env_name, ()),
        ("description", f"draft from {inventory.source.name} ({inventory.command})", ()),
        ("policy", f"{env_name}-policy.yaml", ()),
        ("scope", scope, (
            "The networks this run may touch: every subnet the source named. "
            + todo("check it covers no network you do not own"),
        )),
        ("smb", {"credential": {"username": "smbtests", "password_env": password_env}}, (
            todo(f"the account that opens the shares; export {password_env} before a run"),
        )),
        ("discovery", {"probe": probe_entries[0].name}, ()),
        ("probes", probe_entries, ()),
    ]  # fmt: skip
    header = (
        f"Draft imported from {inventory.source.name} by `{inventory.command}`.",
        "Every TODO(human) below needs a decision before this is a policy. Nothing here has",
        "touched the network; `smbtests validate` checks the files.",
        *skipped,
    )
    return Draft(env_name, policy, environment, header, todo.count)
