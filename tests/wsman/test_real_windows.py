"""The same readings against a real Windows host, when one is named; skipped otherwise.

Set SMBTESTS_WINRM_HOST (address), SMBTESTS_WINRM_USER and SMBTESTS_WINRM_PASSWORD, and
optionally SMBTESTS_WINRM_CA (CA bundle path), SMBTESTS_WINRM_PORT and SMBTESTS_WINRM_TRANSPORT
(ntlm by default). The host must serve WinRM over HTTPS; the account needs local administrator
rights (Get-WindowsOptionalFeature -Online requires elevation). The smb-path test maps the
host's own IPC$ (127.0.0.1) with that account.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from smbtests.observations import ConnectState, Target
from smbtests.probes.base import ScanJob, ShareRequest
from smbtests.probes.winrm import HostQuery, WinRMProbe, WinRMSettings
from smbtests.secrets import Credentials

HOST = os.environ.get("SMBTESTS_WINRM_HOST", "")

pytestmark = pytest.mark.skipif(
    not HOST, reason="no real Windows host: set SMBTESTS_WINRM_HOST and its credential variables"
)


@pytest.fixture(scope="module")
def windows() -> Iterator[WinRMProbe]:
    ca = os.environ.get("SMBTESTS_WINRM_CA")
    settings = WinRMSettings(
        address=HOST,
        username=os.environ["SMBTESTS_WINRM_USER"],
        port=int(os.environ.get("SMBTESTS_WINRM_PORT", "5986")),
        transport=os.environ.get("SMBTESTS_WINRM_TRANSPORT", "ntlm"),  # type: ignore[arg-type]
        ca_bundle=Path(ca) if ca else None,
    )
    probe = WinRMProbe("real-windows", settings, os.environ["SMBTESTS_WINRM_PASSWORD"])
    yield probe
    probe.close()


@pytest.mark.parametrize("query", list(HostQuery), ids=str)
def test_reading(windows: WinRMProbe, query: HostQuery) -> None:
    assert windows.run_json(query) is not None  # the probe has checked its shape


def test_reach_from_windows(windows: WinRMProbe) -> None:
    port = windows.settings.port or 5986
    (result,) = windows.scan(ScanJob([Target("127.0.0.1", port)], 2.0, 4))
    assert result.state is ConnectState.OPEN, result.detail


def test_smb_path_from_windows_to_its_own_server(windows: WinRMProbe) -> None:
    """Both smb-path scripts against the host's own SMB server (127.0.0.1), mapping IPC$ with
    the WinRM account carried explicitly, as smb-path does towards another host."""
    user = windows.settings.username
    domain, _, name = user.rpartition("\\")
    account = Credentials(name, domain, os.environ["SMBTESTS_WINRM_PASSWORD"])
    document = windows.map_shares(ShareRequest("127.0.0.1", (), None, account, 5.0))
    assert isinstance(document, dict)
    assert document["Negotiate"]["Answered"], document["Negotiate"]["Detail"]
    assert document["Login"]["Mapped"], document["Login"]["Error"]
