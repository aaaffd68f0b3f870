"""A check's title in plain words, for reports that list checks by name (Allure).

The check id stays the stable handle; the title says the rule: a path check names vantage,
destination and expectation ("guest1 -> fs1:445 must be closed"), every other check names its
host or vantage before its rule ("fs1: SMB1 negotiation is refused").
"""

from __future__ import annotations

from smbtests.checks.base import Check, Expect

# kinds whose open/closed expectation is about more than the TCP connect
_PATH_WORDS: dict[str, dict[Expect, str]] = {
    "smb-path": {Expect.OPEN: "SMB must work", Expect.CLOSED: "SMB must fail"},
    "quic": {
        Expect.OPEN: "must answer SMB over QUIC",
        Expect.CLOSED: "must not answer SMB over QUIC",
    },
}
_REACH_WORDS = {Expect.OPEN: "must be open", Expect.CLOSED: "must be closed"}


def check_title(check: Check) -> str:
    target, expect, probe = check.target, check.expect, check.probe
    if target is None or expect is None or probe is None:
        subject = None if check.exception_id else check.host or check.probe
        return check.rule if subject is None else f"{subject}: {check.rule}"
    vantage = f"{probe} (from {target.source})" if target.source else probe
    address = f"[{target.host}]" if target.version == 6 else target.host
    if check.host is None:  # a positive control: an address the probe must reach
        return f"{vantage} must reach its positive control {address}:{target.port}"
    # the host's name reads better than its address; an IPv6 path keeps its address apart
    where = f"{check.host} {address}" if target.version == 6 else check.host
    words = _PATH_WORDS.get(check.kind, _REACH_WORDS)[expect]
    return f"{vantage} -> {where}:{target.port} {words}"
