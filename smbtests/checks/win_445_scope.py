"""win-445-scope:HOST — a Windows SMB server's inbound 445 allow rules admit no address beyond
the sources the policy approves for it (seed step 3): the `from` networks of every approved path
to the host on 445, plus each unexpired exception's. A rule written for corp that a range or a
mask widened into the guest segment fails here, though `win-445-rules` (which looks only for
Any-like addresses) passes it.

Windows prints a rule's RemoteAddress as an address, `10.45.20.0/255.255.255.0` (a mask, never a
prefix length for IPv4), `fd45:0:0:20::/64` or a range `10.45.20.1-10.45.20.99`; a keyword
(`Any`, `LocalSubnet`, `Intranet`, `DefaultGateway`, ...) names no address the policy can hold
it to, so it counts as broader. Coverage is by the union of the approved networks, so a /23
rule that two approved /24s cover passes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import date

from smbtests.checks._windows import judged_as, per_windows_host, reading, readings
from smbtests.checks.base import Check, Family
from smbtests.checks.verdicts import Judging, Verdict
from smbtests.checks.win_445_rules import SMB_PORT, allows_445
from smbtests.config import LoadedConfig, Policy, WindowsHost
from smbtests.observations import HostQuery, WindowsObservation

NAME = "win-445-scope"
FAMILY = Family.OTHER
SHOWN = 3  # excess ranges named in a failure; the rest are counted

Interval = tuple[int, int, int]  # IP version, first address, last address


def approved_sources(policy: Policy, smb_host: str, today: date | None) -> list[str]:
    """The references (segment names or CIDRs) the policy lets reach `smb_host` on 445: its
    approved paths', and with `today` each exception's that has not expired by then."""
    found = [
        ref
        for path in policy.approved_paths
        if SMB_PORT in path.ports and ("*" in path.to or smb_host in path.to)
        for ref in path.from_
    ]
    found += [
        exc.from_
        for exc in policy.exceptions
        if exc.to == smb_host and exc.port == SMB_PORT and today and exc.expires >= today
    ]
    return list(dict.fromkeys(found))


def remote_interval(address: str) -> Interval | None:
    """A RemoteAddress entry as an address interval; None for a keyword or anything unparsable."""
    text = address.strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
            if first.version != last.version or int(first) > int(last):
                return None
            return first.version, int(first), int(last)
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return network.version, int(network.network_address), int(network.broadcast_address)


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of `intervals` as sorted, disjoint, non-adjacent intervals."""
    union: list[Interval] = []
    for version, first, last in sorted(intervals):
        if union and union[-1][0] == version and first <= union[-1][2] + 1:
            union[-1] = (version, union[-1][1], max(union[-1][2], last))
        else:
            union.append((version, first, last))
    return union


def beyond(interval: Interval, approved: list[Interval]) -> list[Interval]:
    """The parts of `interval` that no approved interval covers (`approved` merged)."""
    version, first, last = interval
    left: list[Interval] = []
    cursor = first
    for a_version, a_first, a_last in approved:
        if a_version != version or a_last < cursor or a_first > last:
            continue
        if a_first > cursor:
            left.append((version, cursor, a_first - 1))
        cursor = a_last + 1
        if cursor > last:
            return left
    left.append((version, cursor, last))
    return left


def _shown(intervals: list[Interval]) -> str:
    def text(interval: Interval) -> str:
        version, first, last = interval
        factory = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        nets = list(ipaddress.summarize_address_range(factory(first), factory(last)))
        return str(nets[0]) if len(nets) == 1 else f"{factory(first)}-{factory(last)}"

    named = ", ".join(text(i) for i in intervals[:SHOWN])
    more = len(intervals) - SHOWN
    return named + (f" and {more} more" if more > 0 else "")


def _smb_host(check: Check, policy: Policy) -> str:
    assert check.target is not None  # planned only for hosts with smb_host
    return next(n for n, h in policy.smb_hosts.items() if str(h.address) == check.target.host)


def _rule(config: LoadedConfig, windows: WindowsHost) -> str:
    assert windows.smb_host is not None
    sources = approved_sources(config.policy, windows.smb_host, None)
    return (
        f"inbound 445 allow rules admit only the approved sources of {windows.smb_host} "
        f"({', '.join(sources) or 'none'}) and its unexpired exceptions'"
    )


plan = per_windows_host(
    NAME,
    ("Windows servers admit 445 from approved paths only", "critical", 3, "smb_segmentation"),
    _rule,
    applies=lambda windows, _baseline: windows.role == "server" and windows.smb_host is not None,
)
needs, observe = readings(HostQuery.FIREWALL_RULES_445)


def judge(check: Check, obs: WindowsObservation, judging: Judging) -> Verdict:
    policy = judging.policy
    smb_host = _smb_host(check, policy)
    sources = approved_sources(policy, smb_host, judging.today)
    approved = merged(
        interval
        for ref in sources
        for net in policy.networks_of(ref)
        if (interval := remote_interval(str(net))) is not None
    )
    problems = []
    for rule in reading(obs, HostQuery.FIREWALL_RULES_445):
        if not allows_445(rule):
            continue
        excess: list[Interval] = []
        keywords = []
        for address in rule["RemoteAddress"]:
            interval = remote_interval(str(address))
            if interval is None:
                keywords.append(str(address))
            else:
                excess += beyond(interval, approved)
        if keywords or excess:
            what = [f"{', '.join(keywords)} (a keyword, not an address)"] if keywords else []
            what += [_shown(excess)] if excess else []
            problems.append(
                f"'{rule['DisplayName']}' allows 445 from {', '.join(rule['RemoteAddress'])}: "
                f"{'; '.join(what)} beyond the approved sources "
                f"({', '.join(sources) or 'none'})"
            )
    within = f"every inbound 445 allow stays within {', '.join(sources) or 'nothing'}"
    return judged_as(check, problems, within, failed="beyond-approved", passed="within-approved")
