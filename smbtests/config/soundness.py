"""Policies that validate but should not: each rule refuses with the fix, or, where a policy
may legitimately do it, returns a warning that `smbtests validate` and the pytest header show.

Refused: a CIDR with host bits set (`10.45.40.41/24` would silently widen to the /24), an
approved path from an untrusted or perimeter segment (that is an exception: owner, approver,
expiry), overlapping segments, an SMB host in an untrusted or perimeter segment, two SMB hosts
on one address, a self-approved exception, an exception created or reviewed in the future, and
any address the product would connect to that lies outside `scope`.
Warned: an exception already expired (kept on record until it is removed; its check fails).

Addresses are handled with `ipaddress.ip_address/ip_network`, IPv4 or IPv6 alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import date
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from smbtests.config.environment import Environment
from smbtests.config.policy import Policy
from smbtests.config.references import located
from smbtests.config.source import KeyPath, SourceDocument
from smbtests.config.types import within

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
UNTRUSTED_KINDS = ("untrusted", "perimeter")


def check_policy(policy: Policy, doc: SourceDocument, today: date) -> list[str]:
    """Raise PolicyError for what no policy should say; return warnings for the rest."""
    _exact_cidrs(policy, doc)
    _approved_sources(policy, doc)
    _segments_disjoint(policy, doc)
    _hosts_placed(policy, doc)
    return _exception_dates(policy, doc, today)


def _exact_cidrs(policy: Policy, doc: SourceDocument) -> None:
    references: list[tuple[KeyPath, str]] = [
        (("exceptions", i, "from"), e.from_) for i, e in enumerate(policy.exceptions)
    ]
    references += [
        (("approved_paths", i, "from", j), source)
        for i, path in enumerate(policy.approved_paths)
        for j, source in enumerate(path.from_)
    ]
    for where, value in references:
        if value in policy.segments or "/" not in value:
            continue
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError:
            address = ipaddress.ip_address(value.split("/", 1)[0])
            raise located(
                doc,
                where,
                f"{value} has host bits set and would widen to "
                f"{ipaddress.ip_network(value, strict=False)}; for the one host use "
                f"{address}/{address.max_prefixlen}, else write the network address",
            ) from None


def _approved_sources(policy: Policy, doc: SourceDocument) -> None:
    for index, path in enumerate(policy.approved_paths):
        for j, source in enumerate(path.from_):
            segment = policy.segments.get(source)
            if segment is not None and segment.kind in UNTRUSTED_KINDS:
                raise located(
                    doc,
                    ("approved_paths", index, "from", j),
                    f"segment {source} is {segment.kind}: 445 from it is never a standing "
                    "approval; make it an exception with owner, approver and expiry",
                )


def _segments_disjoint(policy: Policy, doc: SourceDocument) -> None:
    seen: list[tuple[str, Network]] = []
    for name, segment in sorted(policy.segments.items()):
        for cidr in segment.cidrs:
            for other, earlier in seen:
                if cidr.version == earlier.version and cidr.overlaps(earlier):
                    raise located(
                        doc,
                        ("segments", name, "cidrs"),
                        f"segments {other} and {name} overlap at "
                        f"{cidr if within(cidr, earlier) else earlier}; an address "
                        "must belong to one segment",
                    )
            seen.append((name, cidr))


def _hosts_placed(policy: Policy, doc: SourceDocument) -> None:
    owners: dict[Address, str] = {}
    for name, host in sorted(policy.smb_hosts.items()):
        where = ("smb_hosts", name, "address")
        if host.address in owners:
            raise located(
                doc, where, f"{owners[host.address]} and {name} share {host.address}; one host"
            )
        owners[host.address] = name
        segment = policy.segment_of(host.address)
        if segment is not None and policy.segments[segment].kind in UNTRUSTED_KINDS:
            raise located(
                doc,
                where,
                f"this SMB host stands in {policy.segments[segment].kind} segment {segment}; "
                "move it to a servers or trusted segment, or fix the address",
            )


def _exception_dates(policy: Policy, doc: SourceDocument, today: date) -> list[str]:
    warnings = []
    for index, exc in enumerate(policy.exceptions):
        where = ("exceptions", index)
        if exc.owner.strip().casefold() == exc.approver.strip().casefold():
            raise located(
                doc, (*where, "approver"), f"{exc.id} is self-approved; name a second approver"
            )
        for key, day in (("created", exc.created), ("last_reviewed", exc.last_reviewed)):
            if day > today:
                raise located(
                    doc, (*where, key), f"{exc.id} {key} {day} is in the future (UTC {today})"
                )
        if exc.expires < today:
            warnings.append(
                f"{doc.where((*where, 'expires'))}: {exc.id} expired on {exc.expires}; its "
                "check fails until it is renewed or removed"
            )
    return warnings


def check_scope(env: Environment, doc: SourceDocument) -> None:
    """Every address the product connects to lies in scope: a mistyped one is refused."""
    for where, address in _connected_addresses(env):
        if not any(address in network for network in env.scope):
            raise located(
                doc,
                where,
                f"address {address} outside the scope ({', '.join(map(str, env.scope))}); "
                "a mistyped address? fix it; add its network to `scope` only if it is yours",
            )


def _connected_addresses(env: Environment) -> Iterator[tuple[KeyPath, Address]]:
    for name, probe in env.probes.items():
        if probe.address is not None and (parsed := _literal(probe.address)) is not None:
            yield ("probes", name, "address"), parsed
    for name, host in env.windows_hosts.items():
        if host.winrm is not None and (parsed := _literal(host.winrm.address)) is not None:
            yield ("windows_hosts", name, "winrm", "address"), parsed


def _literal(text: str) -> Address | None:
    """An address written as one (a host name is resolved by its transport, not checked)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
