"""Policies that validate but should not: each is refused with its fix, or warned about where
a policy may legitimately say it (an exception kept on record after it expired)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from smbtests.cli import main
from smbtests.config import load
from smbtests.errors import PolicyError
from tests.unit.conftest import Editor

Change = Callable[[dict], None]


def _exception(**fields: object) -> Change:
    return lambda d: d["exceptions"][0].update(fields)


def _approved_from_guest(d: dict) -> None:
    d["approved_paths"][0]["from"] = ["guest"]


def _overlap(d: dict) -> None:
    d["segments"]["iot"]["cidrs"].append("10.45.30.128/25")


def _host_in_guest(d: dict) -> None:
    d["smb_hosts"]["fs1"]["address"] = "10.45.30.50"


def _shared_address(d: dict) -> None:
    d["smb_hosts"]["dc1"]["address"] = d["smb_hosts"]["fs1"]["address"]


POLICY_REFUSALS: dict[str, tuple[Change, str]] = {
    "host bits set": (_exception(**{"from": "10.45.40.41/24"}), r"use 10\.45\.40\.41/32"),
    "approved from untrusted": (_approved_from_guest, "make it an exception with owner"),
    "overlapping segments": (_overlap, "segments guest and iot overlap at 10.45.30.128/25"),
    "host in untrusted segment": (_host_in_guest, "stands in untrusted segment guest"),
    "two hosts one address": (_shared_address, "dc1 and fs1 share 10.45.10.11"),
    "self-approved": (_exception(approver="Facilities-IT"), "self-approved"),
    "created in the future": (
        _exception(created="2999-01-01", expires="2999-06-01"),
        "created 2999-01-01 is in the",
    ),
    "reviewed in the future": (_exception(last_reviewed="2999-01-01"), "last_reviewed 2999"),
}


@pytest.mark.parametrize("case", sorted(POLICY_REFUSALS))
def test_a_policy_that_should_not_validate_is_refused(edit: Editor, case: str) -> None:
    change, message = POLICY_REFUSALS[case]
    with pytest.raises(PolicyError, match=message):
        load(edit("lab-policy.yaml", change))


def test_an_expired_exception_validates_with_a_warning(edit: Editor) -> None:
    config = load(edit("lab-policy.yaml", _exception(created="2020-01-01", expires="2020-02-01")))
    (warning,) = config.warnings
    assert "EXC-0001 expired on 2020-02-01" in warning and "lab-policy.yaml:" in warning


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["probes"]["guest1"].update(address="8.8.8.8"), r"probes\.guest1\.address"),
        (
            lambda d: d["windows_hosts"]["dc1"]["winrm"].update(address="10.54.10.12"),
            r"windows_hosts\.dc1\.winrm\.address",
        ),
    ],
    ids=["probe address", "winrm endpoint"],
)
def test_a_connected_address_outside_scope_is_refused(
    edit: Editor, change: Change, where: str
) -> None:
    with pytest.raises(PolicyError, match=rf"{where}: address \S+ outside the scope"):
        load(edit("lab.yaml", change))


def test_the_warning_shows_in_validate_output(
    edit: Editor, capsys: pytest.CaptureFixture[str]
) -> None:
    env = edit("lab-policy.yaml", _exception(created="2020-01-01", expires="2020-02-01"))
    assert main(["validate", str(env)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok ") and "WARNING " in out and "EXC-0001 expired on 2020-02-01" in out
