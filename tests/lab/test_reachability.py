"""From each client, each server's 445 answers as the lab policy says: open, refused, filtered."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

OPEN, REFUSED, FILTERED = "open", "refused", "filtered"

# client -> target -> verdict, from environments/lab-policy.yaml and DESIGN.md "The lab".
EXPECTED = {
    "mgmt": {"fs1:445": OPEN, "dc1:445": OPEN, "print1:445": OPEN, "inet-smb:445": FILTERED},
    "corp1": {"fs1:445": OPEN, "dc1:445": OPEN, "print1:445": OPEN, "inet-smb:445": FILTERED},
    # win1 is in corp: its own connects follow corp's rules (the double's are checked over WinRM
    # in test_win1.py; these are plain sockets from its namespace).
    "win1": {"fs1:445": OPEN, "dc1:445": OPEN, "print1:445": OPEN, "inet-smb:445": FILTERED},
    "guest1": {
        "fs1:445": FILTERED,
        "dc1:445": FILTERED,
        "print1:445": FILTERED,
        "inet-smb:445": FILTERED,
    },
    # print1 is the exception EXC-0001 (scan-to-share); the rest of 445 is rejected with a reset.
    "iot1": {"fs1:445": REFUSED, "dc1:445": REFUSED, "print1:445": OPEN, "inet-smb:445": FILTERED},
    "inet1": {"fs1:445": FILTERED, "dc1:445": FILTERED, "print1:445": FILTERED},
}
CASES = sorted(
    (client, target, verdict)
    for client, targets in EXPECTED.items()
    for target, verdict in targets.items()
)


@pytest.mark.parametrize(
    ("client", "target", "verdict"), CASES, ids=[f"reach:{c}/{t}" for c, t, _ in CASES]
)
def test_smb_verdict(lab_compliant: dict[str, str], client: str, target: str, verdict: str) -> None:
    assert lab_compliant[f"reach:{client}/{target}"] == verdict


@pytest.mark.parametrize("client", sorted(EXPECTED))
def test_positive_control_answers(lab_compliant: dict[str, str], client: str) -> None:
    assert lab_compliant[f"reach:{client}/control:8000"] == OPEN


@pytest.mark.parametrize("client", sorted(EXPECTED))
def test_own_gateway_never_answers_445(lab_compliant: dict[str, str], client: str) -> None:
    # A reset from the router itself would read as "refused" for every scan of a segment.
    assert lab_compliant[f"reach:{client}/gateway:445"] == FILTERED


def test_undeclared_address_has_no_smb(lab_compliant: dict[str, str]) -> None:
    # Nothing listens on iot1:445 in the compliant lab; mgmt may reach it, so it is refused.
    assert lab_compliant["reach:mgmt/iot1:445"] == REFUSED


# WinRM on the doubles is the runner's alone: the router drops it from every other segment, and
# each double's own filter drops its segment's neighbours, which the bridge switches past the
# router (corp1 for win1 here; fs1 and print1 for dc1 in test_dc1.py).
WINRM_CASES = sorted(
    (client, double, port, OPEN if client == "mgmt" else FILTERED)
    for double in ("win1", "dc1")
    for client in EXPECTED
    if client != double
    for port in (5985, 5986)
)


@pytest.mark.parametrize(
    ("client", "double", "port", "verdict"),
    WINRM_CASES,
    ids=[f"reach:{c}/{d}:{p}" for c, d, p, _ in WINRM_CASES],
)
def test_winrm_only_from_mgmt(
    lab_compliant: dict[str, str], client: str, double: str, port: int, verdict: str
) -> None:
    assert lab_compliant[f"reach:{client}/{double}:{port}"] == verdict
