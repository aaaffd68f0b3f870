"""The winrm probe without a host: the exact PowerShell it sends, and how each failure maps.

A fake pywinrm Protocol records every call, so the transcript tests decode the
-EncodedCommand that would reach a real Windows host and hold it to the packaged .ps1 file it
came from (tests/unit/test_ps1_scripts.py parses those files with a PowerShell grammar).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import spnego.exceptions
import urllib3.exceptions
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)

import smbtests.probes
from smbtests.config import Credential, ProbeConfig, Timing
from smbtests.errors import PolicyError, ProbeError
from smbtests.observations import ConnectState, Target
from smbtests.probes import winrm as winrm_probe
from smbtests.probes.base import ScanJob
from smbtests.probes.winrm import HostQuery, WinRMProbe, WinRMSettings, open_from_config
from smbtests.probes.winrm_scripts import CMD_LINE_LIMIT, command_line, query_script, reach_script

PASSWORD = "Unit-canary-4c1d!"

PS1_DIR = Path(smbtests.probes.__file__).parent / "ps1"


def packaged(kind: str) -> str:
    """The script file as it sits in the package, each `# include NAME.ps1` line replaced by the
    shared `ps1/include/NAME.ps1`: what must reach the host, byte for byte."""
    text = (PS1_DIR / f"{kind}.ps1").read_text(encoding="utf-8")
    for name in re.findall(r"^# include (\S+)$", text, flags=re.MULTILINE):
        shared = (PS1_DIR / "include" / name).read_text(encoding="utf-8")
        text = text.replace(f"# include {name}\n", shared)
    return text


# What a compliant host prints for each query: the property names, types and enum spellings of
# the real cmdlets as Microsoft documents them (learn.microsoft.com/powershell/module/smbshare,
# .../netsecurity, .../netconnection, .../dism), after the scripts' [string] casts.
ANSWERS: dict[str, Any] = {
    "smb-server-configuration": {
        "EnableSMB1Protocol": False,
        "EnableSMB2Protocol": True,
        "RequireSecuritySignature": True,
        "EnableSecuritySignature": True,
        "EncryptData": False,
        "RejectUnencryptedAccess": True,
        "AuditSmb1Access": None,
        "EnableSMBQUIC": None,
    },
    "smb1-feature": {"FeatureName": "SMB1Protocol", "State": "Disabled"},
    "firewall-profiles": [
        {
            "Name": "Domain",
            "Enabled": "True",
            "DefaultInboundAction": "Block",
            "LogBlocked": "True",
            "LogFileName": "%systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log",
            "LogMaxSizeKilobytes": 16384,
        }
    ],
    "firewall-rules-445": [
        {
            "Name": "FPS-SMB-In-TCP",
            "DisplayName": "File and Printer Sharing (SMB-In)",
            "DisplayGroup": "File and Printer Sharing",
            "Direction": "Inbound",
            "Action": "Allow",
            "Enabled": "False",
            "Profile": "Private, Public",
            "Protocol": "TCP",
            "LocalPort": ["445"],
            "RemoteAddress": ["LocalSubnet"],
        }
    ],
    "smb-certificate-mapping": {
        "Supported": True,
        "EnableSMBQUIC": True,
        "Mappings": [
            {
                "Name": "fs1.corp.example",
                "Subject": "CN=fs1.corp.example",
                "Thumbprint": "0123456789ABCDEF0123456789ABCDEF01234567",
                "StoreName": "My",
                "Type": "QUIC",
                "Flags": "None",
            }
        ],
    },
    # Set-SmbServerConfiguration -Smb2DialectMin SMB300 (Windows Server 2025); 2000 ms default
    "smb-server-limits": {
        "Smb2DialectMin": "SMB300",
        "Smb2DialectMax": "None",
        "InvalidAuthenticationDelayTimeInMs": 2000,
    },
    "smb-client-configuration": {
        "EnableInsecureGuestLogons": False,
        "RequireSecuritySignature": True,
        "BlockNTLM": True,
    },
    # Grant-SmbClientAccessToServer -Name fs1.corp.example -IdentifierType ISSUER -Identifier ...
    "smb-client-access": {
        "Supported": True,
        "Mappings": [
            {
                "Name": "fs1.corp.example",
                "RequireClientAuthentication": True,
                "Entries": [
                    {"IdentifierType": "ISSUER", "Identifier": "CN=Corp Issuing CA 1"}
                    | {"Access": "Allow"}
                ],
            }
        ],
    },
    # NetworkCategory: Public, Private, DomainAuthenticated
    "network-profiles": [
        {
            "InterfaceAlias": "Ethernet",
            "InterfaceIndex": 4,
            "Name": "corp.example",
            "NetworkCategory": "DomainAuthenticated",
        }
    ],
    "firewall-outbound-445": {
        "Profiles": [{"Name": "Domain", "Enabled": "True", "DefaultOutboundAction": "Allow"}],
        "Rules": [
            {
                "Name": "{0d6c6c1e-7b5c-4f55-9f1a-3f0c4a445b10}",
                "DisplayName": "Block SMB to the internet",
                "Action": "Block",
                "Enabled": "True",
                "Profile": "Any",
                "Protocol": "TCP",
                "RemotePort": ["445"],
                "RemoteAddress": ["Internet"],
            }
        ],
    },
    # Get-Content -TotalCount / -Tail of %systemroot%\...\pfirewall.log, as Windows writes it
    "firewall-log-tail": {
        "Files": [
            {
                "Path": "C:\\Windows\\system32\\LogFiles\\Firewall\\pfirewall.log",
                "Head": ["#Version: 1.5", "#Software: Microsoft Windows Firewall"],
                "Lines": ["2025-01-01 10:00:00 DROP TCP 10.45.30.31 10.45.20.22 50123 445 52 S"],
            }
        ],
        "TailLines": 5000,
    },
}

Reply = tuple[bytes, bytes, int]


class FakeProtocol:
    """pywinrm's Protocol, recording calls; `host` decides what each command answers."""

    def __init__(self, host: FakeHost, endpoint: str, **options: Any) -> None:
        self.host = host
        self.endpoint = endpoint
        self.options = options
        self.transport = self
        self.closed_sessions = 0

    def close_session(self) -> None:
        self.closed_sessions += 1

    def open_shell(self, codepage: int = 437, noprofile: bool = False) -> str:
        self.host.calls.append(("open_shell", codepage, noprofile))
        self.host.fail("open_shell")
        return f"SHELL-{len(self.host.protocols)}"

    def run_command(
        self, shell_id: str, command: str, arguments: tuple[str, ...], console_mode_stdin: bool
    ) -> str:
        self.host.calls.append(("run_command", shell_id, command, arguments, console_mode_stdin))
        self.host.fail("run_command")
        self.host.scripts.append(base64.b64decode(arguments[-1]).decode("utf-16-le"))
        self.host.stdin = b""
        return f"CMD-{len(self.host.scripts)}"

    def send_command_input(self, shell_id: str, command_id: str, data: bytes, end: bool) -> None:
        self.host.calls.append(("send", command_id, len(data), end))
        self.host.stdin += data

    def get_command_output_raw(
        self, shell_id: str, command_id: str
    ) -> tuple[bytes, bytes, int, bool]:
        self.host.calls.append(("receive", command_id))
        self.host.fail("receive")
        out, err, code = self.host.answer(self.host.scripts[-1], self.host.stdin)
        return out, err, code, True

    def cleanup_command(self, shell_id: str, command_id: str) -> None:
        self.host.calls.append(("cleanup", command_id))

    def close_shell(self, shell_id: str) -> None:
        self.host.calls.append(("close_shell", shell_id))


class FakeHost:
    def __init__(self) -> None:
        self.protocols: list[FakeProtocol] = []
        self.calls: list[tuple[Any, ...]] = []
        self.scripts: list[str] = []
        self.stdin = b""
        self.failures: dict[str, BaseException] = {}
        self.answer: Callable[[str, bytes], Reply] = self.compliant

    def fail(self, step: str) -> None:
        failure = self.failures.pop(step, None)
        if failure is not None:
            raise failure

    @staticmethod
    def compliant(script: str, stdin: bytes) -> Reply:
        kind = script.split("\n", 1)[0].removeprefix("# smbtests:")
        if kind == "reach":
            request = json.loads(stdin)
            rows = [
                {"i": i, "host": t["host"], "port": t["port"], "state": "open", "errno": None}
                | {"latency_ms": 1.5, "detail": "connected"}
                for i, t in enumerate(request["targets"])
            ]
            return json.dumps(rows).encode() + b"\r\n", b"", 0
        return json.dumps(ANSWERS[kind]).encode() + b"\r\n", b"", 0

    def new_protocol(self, endpoint: str, **options: Any) -> FakeProtocol:
        protocol = FakeProtocol(self, endpoint, **options)
        self.protocols.append(protocol)
        return protocol


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    fake = FakeHost()
    monkeypatch.setattr(winrm_probe, "Protocol", fake.new_protocol)
    return fake


def settings(**overrides: Any) -> WinRMSettings:
    values: dict[str, Any] = {"address": "10.45.20.22", "username": "WIN1\\smbprobe"}
    values.update(overrides)
    return WinRMSettings(**values)


@pytest.fixture
def probe(host: FakeHost) -> Iterator[WinRMProbe]:
    opened = WinRMProbe("win1", settings(ca_bundle=Path("/lab/ca.pem")), PASSWORD)
    yield opened
    opened.close()


def commands(host: FakeHost) -> list[tuple[Any, ...]]:
    return [c for c in host.calls if c[0] == "run_command"]


# ---------------------------------------------------------------------- transcripts


@pytest.mark.parametrize("query", list(HostQuery), ids=str)
def test_each_query_sends_exactly_this_powershell(
    host: FakeHost, probe: WinRMProbe, query: HostQuery
) -> None:
    assert probe.run_json(query) == ANSWERS[query.value]
    ((_, _, program, arguments, console_stdin),) = commands(host)
    assert (program, arguments[:-1]) == (
        "powershell.exe",
        ("-NoProfile", "-NonInteractive", "-EncodedCommand"),
    )
    assert host.scripts == [packaged(query.value)]
    assert console_stdin is True
    assert not [c for c in host.calls if c[0] == "send"]


def test_scan_sends_the_tcpclient_script_and_targets_on_stdin(
    host: FakeHost, probe: WinRMProbe
) -> None:
    targets = [Target("10.45.10.11", 445), Target("10.45.10.10", 8000)]
    results = probe.scan(ScanJob(targets, 1.5, 64))
    assert host.scripts == [packaged("reach")]
    assert host.stdin == (
        b'{"targets":[{"host":"10.45.10.11","port":445},{"host":"10.45.10.10","port":8000}],'
        b'"timeout_ms":1500,"concurrency":64}\r\n'
    )
    ((*_, console_stdin),) = commands(host)
    assert console_stdin is False  # stdin is a pipe the script reads, not a console
    assert [c[3] for c in host.calls if c[0] == "send"] == [True]
    assert [(r.target, r.state, r.errno, r.latency_ms) for r in results] == [
        (targets[0], ConnectState.OPEN, None, 1.5),
        (targets[1], ConnectState.OPEN, None, 1.5),
    ]


def test_test_netconnection_mode_sends_test_netconnection(host: FakeHost) -> None:
    def tnc(script: str, stdin: bytes) -> Reply:
        rows = [
            {"i": 0, "host": "10.45.10.11", "port": 445, "TcpTestSucceeded": True, "latency_ms": 9},
            {"i": 1, "host": "10.45.30.31", "port": 445, "TcpTestSucceeded": False}
            | {"latency_ms": 21003.2},
        ]
        return json.dumps(rows).encode(), b"", 0

    host.answer = tnc
    probe = WinRMProbe("win1", settings(test_netconnection=True), PASSWORD)
    targets = [Target("10.45.10.11", 445), Target("10.45.30.31", 445)]
    opened, silent = probe.scan(ScanJob(targets, 1.5, 64))
    assert host.scripts == [packaged("reach-tnc")]
    assert json.loads(host.stdin)["targets"] == [{"host": t.host, "port": t.port} for t in targets]
    assert (opened.state, silent.state) == (ConnectState.OPEN, ConnectState.FILTERED)
    assert silent.detail == (
        "Test-NetConnection: TcpTestSucceeded=False (it cannot tell refused from filtered)"
    )


def test_a_large_target_list_goes_in_chunks_with_one_end(host: FakeHost, probe: WinRMProbe) -> None:
    targets = [Target(f"10.45.{i // 250}.{i % 250}", 445) for i in range(3000)]
    assert len(probe.scan(ScanJob(targets, 1.0, 256))) == 3000
    sends = [c for c in host.calls if c[0] == "send"]
    assert len(sends) == 2 and [s[3] for s in sends] == [False, True]
    assert len(json.loads(host.stdin)["targets"]) == 3000
    assert len(commands(host)) == 1


def test_every_script_fits_cmd_exe(host: FakeHost) -> None:
    scripts = [query_script(q) for q in HostQuery] + [reach_script(False), reach_script(True)]
    for script in scripts:
        assert len(command_line(script)) <= CMD_LINE_LIMIT, script.splitlines()[0]


def test_one_shell_for_every_command_and_close_deletes_it(host: FakeHost) -> None:
    probe = WinRMProbe("win1", settings(), PASSWORD)
    for query in HostQuery:
        probe.run_json(query)
    probe.scan(ScanJob([Target("10.45.10.11", 445)], 1.0, 8))
    assert [c for c in host.calls if c[0] == "open_shell"] == [("open_shell", 65001, True)]
    assert {c[1] for c in commands(host)} == {"SHELL-1"}
    assert len([c for c in host.calls if c[0] == "cleanup"]) == len(HostQuery) + 1
    probe.close()
    assert host.calls[-1] == ("close_shell", "SHELL-1")
    assert len(host.protocols) == 1 and host.protocols[0].closed_sessions == 1
    probe.close()  # idempotent


def test_protocol_options(host: FakeHost, probe: WinRMProbe) -> None:
    probe.run_json(HostQuery.SMB1_FEATURE)
    (protocol,) = host.protocols
    assert protocol.endpoint == "https://10.45.20.22:5986/wsman"
    options = protocol.options
    assert options["transport"] == "ntlm" and options["username"] == "WIN1\\smbprobe"
    assert options["password"] == PASSWORD
    assert options["server_cert_validation"] == "validate"
    assert options["ca_trust_path"] == "/lab/ca.pem"
    assert options["proxy"] is None and options["message_encryption"] == "auto"


@pytest.mark.parametrize(
    ("overrides", "endpoint", "validation", "ca"),
    [
        ({}, "https://10.45.20.22:5986/wsman", "validate", None),
        ({"verify_tls": False}, "https://10.45.20.22:5986/wsman", "ignore", None),
        ({"scheme": "http"}, "http://10.45.20.22:5985/wsman", "ignore", None),
        (
            {"address": "fd00::22", "port": 15986},
            "https://[fd00::22]:15986/wsman",
            "validate",
            None,
        ),
    ],
)
def test_endpoint_and_verification(
    host: FakeHost, overrides: dict[str, Any], endpoint: str, validation: str, ca: str | None
) -> None:
    probe = WinRMProbe("win1", settings(**overrides), PASSWORD)
    probe.run_json(HostQuery.SMB1_FEATURE)
    (protocol,) = host.protocols
    assert protocol.endpoint == endpoint
    assert protocol.options["server_cert_validation"] == validation
    assert protocol.options["ca_trust_path"] is ca  # never REQUESTS_CA_BUNDLE from the env


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"transport": "basic"}, "set allow_basic: true"),
        ({"transport": "basic", "allow_basic": True, "scheme": "http"}, "use scheme https"),
        ({"operation_timeout": 30, "read_timeout": 30}, "below read_timeout"),
        ({"operation_timeout": 0}, "at least 1"),
        ({"command_timeout": 0}, "command_timeout must be positive"),
    ],
)
def test_settings_refuse(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        settings(**overrides)


def test_basic_with_opt_in_over_https(host: FakeHost) -> None:
    probe = WinRMProbe("win1", settings(transport="basic", allow_basic=True), PASSWORD)
    probe.run_json(HostQuery.SMB1_FEATURE)
    assert host.protocols[0].options["transport"] == "basic"


def test_open_from_config() -> None:
    config = ProbeConfig(
        segment="corp",
        transport="winrm",
        address="10.45.20.22",
        port=15986,
        credential=Credential(username="smbprobe", domain="WIN1", password_env="WIN1_PASSWORD"),
        ca_bundle=Path("/run/lab/ca.pem"),
    )
    probe = open_from_config("win1", config, PASSWORD, Timing(probe_timeout=45))
    assert probe.name == "win1"
    assert probe.settings == WinRMSettings(
        address="10.45.20.22",
        username="WIN1\\smbprobe",
        port=15986,
        ca_bundle=Path("/run/lab/ca.pem"),
        command_timeout=45,
    )


def test_repr_holds_no_password(probe: WinRMProbe) -> None:
    assert PASSWORD not in repr(probe) and PASSWORD not in str(probe)
    assert (
        repr(probe)
        == "WinRMProbe('win1', https://10.45.20.22:5986/wsman, ntlm, user='WIN1\\\\smbprobe')"
    )


# ---------------------------------------------------------------------- failures


def raised_by(host: FakeHost, probe: WinRMProbe, step: str, exc: BaseException) -> ProbeError:
    host.failures[step] = exc
    with pytest.raises(ProbeError) as caught:
        probe.run_json(HostQuery.SMB1_FEATURE)
    error = caught.value
    assert error.probe == "win1"
    assert error.__cause__ is None and error.__suppress_context__
    assert PASSWORD not in str(error)
    return error


def ssl_error() -> requests.exceptions.SSLError:
    inner = urllib3.exceptions.SSLError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    pool_error = urllib3.exceptions.MaxRetryError(None, "/wsman", inner)  # type: ignore[arg-type]
    return requests.exceptions.SSLError(pool_error)


def refused_error() -> requests.exceptions.ConnectionError:
    cause = ConnectionRefusedError(111, "Connection refused")
    inner = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    inner.__cause__ = cause
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/wsman", inner)  # type: ignore[arg-type]
    )


def fault(code: int, subcode: str, reason: str) -> WSManFaultError:
    return WSManFaultError(500, "Bad HTTP response", "<xml/>", reason, "s:Sender", subcode, code)


@pytest.mark.parametrize(
    ("step", "exc", "expected"),
    [
        ("open_shell", ssl_error(), "TLS to https://10.45.20.22:5986/wsman failed"),
        ("open_shell", ssl_error(), "CERTIFICATE_VERIFY_FAILED"),
        (
            "open_shell",
            requests.exceptions.ConnectTimeout(),
            "connecting to https://10.45.20.22:5986/wsman timed out after 30 s",
        ),
        ("receive", requests.exceptions.ReadTimeout(), "did not answer within 30 s"),
        (
            "open_shell",
            refused_error(),
            "cannot connect to https://10.45.20.22:5986/wsman: [Errno 111] Connection refused",
        ),
        (
            "open_shell",
            InvalidCredentialsError("the specified credentials were rejected by the server"),
            "rejected the credentials of 'WIN1\\\\smbprobe' (ntlm, HTTP 401)",
        ),
        (
            "open_shell",
            PermissionError("Access denied: Server did not respond with NTLM challenge token"),
            "rejected the credentials",
        ),
        (
            "run_command",
            fault(2150858843, "w:InvalidSelectors", "shell gone"),
            "shell not found (code 2150858843): shell gone",
        ),
        (
            "run_command",
            fault(2150858753, "a:ActionNotSupported", "bad action"),
            "a:ActionNotSupported (code 2150858753)",
        ),
        ("receive", WinRMTransportError("http", 503, ""), "answered HTTP 503"),
        (
            "open_shell",
            WinRMError("requested auth method is kerberos, but pykerberos is not installed"),
            "pykerberos is not installed",
        ),
        ("run_command", AssertionError(), "malformed WinRM reply"),
        ("open_shell", StopIteration(), "malformed WinRM reply"),
        ("open_shell", spnego.exceptions.InvalidTokenError(), "authentication with"),
        ("open_shell", OSError("something odd"), "OSError talking to"),
    ],
)
def test_every_failure_is_a_probe_error(
    host: FakeHost, probe: WinRMProbe, step: str, exc: BaseException, expected: str
) -> None:
    assert expected in str(raised_by(host, probe, step, exc))
    # the session was dropped: the next call builds a new one and succeeds
    assert probe.run_json(HostQuery.SMB1_FEATURE) == ANSWERS["smb1-feature"]
    assert len(host.protocols) == 2


@pytest.mark.parametrize(
    ("transport", "hidden", "extra"),
    [
        ("kerberos", ("kerberos", "winkerberos"), "pip install 'pywinrm[kerberos]'"),
        ("credssp", ("requests_credssp",), "pip install 'pywinrm[credssp]'"),
    ],
)
def test_a_missing_auth_library_is_named_before_any_traffic(
    host: FakeHost,
    monkeypatch: pytest.MonkeyPatch,
    transport: str,
    hidden: tuple[str, ...],
    extra: str,
) -> None:
    # what pywinrm imports, made unimportable: None in sys.modules stops an import
    monkeypatch.delitem(sys.modules, "winrm.vendor.requests_kerberos", raising=False)
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    probe = WinRMProbe("win1", settings(transport=transport), PASSWORD)
    with pytest.raises(ProbeError) as caught:
        probe.run_json(HostQuery.SMB1_FEATURE)
    message = str(caught.value)
    assert f"winrm_auth {transport} for https://10.45.20.22:5986/wsman needs a library" in message
    assert f"({hidden[0]} cannot be imported)" in message
    assert extra in message and "or use winrm_auth: ntlm" in message
    assert caught.value.__cause__ is None and PASSWORD not in message
    assert host.protocols == []  # nothing was sent


def test_kerberos_with_its_library_goes_to_pywinrm(
    host: FakeHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = types.ModuleType("winrm.vendor.requests_kerberos")
    monkeypatch.setitem(sys.modules, "winrm.vendor.requests_kerberos", fake)
    probe = WinRMProbe("win1", settings(transport="kerberos", username="smbprobe@CORP"), PASSWORD)
    probe.run_json(HostQuery.SMB1_FEATURE)
    assert host.protocols[0].options["transport"] == "kerberos"


def test_the_password_is_scrubbed_from_any_message(host: FakeHost, probe: WinRMProbe) -> None:
    error = raised_by(host, probe, "open_shell", WinRMError(f"odd: {PASSWORD} echoed"))
    assert "odd: *** echoed" in str(error)


def clixml(*lines: str) -> bytes:
    records = "".join(f'<S S="Error">{line}_x000D__x000A_</S>' for line in lines)
    return f'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="x">{records}</Objs>'.encode()


def test_a_powershell_error_keeps_the_shell(host: FakeHost, probe: WinRMProbe) -> None:
    host.answer = lambda script, stdin: (
        b"",
        clixml(
            "Get-WindowsOptionalFeature : The requested operation requires elevation.",
            "    + CategoryInfo          : NotSpecified: (:) [], COMException",
        ),
        1,
    )
    with pytest.raises(ProbeError) as caught:
        probe.run_json(HostQuery.SMB1_FEATURE)
    assert str(caught.value) == (
        "probe win1: PowerShell exited 1: Get-WindowsOptionalFeature : The requested operation "
        "requires elevation. + CategoryInfo : NotSpecified: (:) [], COMException"
    )
    host.answer = host.compliant
    probe.run_json(HostQuery.SMB1_FEATURE)
    assert len(host.protocols) == 1 and len([c for c in host.calls if c[0] == "open_shell"]) == 1


def answering(host: FakeHost, text: bytes) -> None:
    host.answer = lambda script, stdin: (text, b"", 0)


@pytest.mark.parametrize(
    ("query", "output", "expected"),
    [
        (HostQuery.SMB1_FEATURE, b"", "printed no JSON"),
        (HostQuery.SMB1_FEATURE, b"Loading profile...\r\n{}", "printed no JSON"),
        (HostQuery.SMB1_FEATURE, b"\xff\xfe{}", "not UTF-8"),
        (HostQuery.SMB1_FEATURE, b"[]", "expected an object"),
        (HostQuery.SMB1_FEATURE, b'{"FeatureName":"SMB1Protocol"}', "lacks State"),
        (HostQuery.SMB1_FEATURE, b'{"FeatureName":"SMB1Protocol","State":2}', "State is int"),
        (
            HostQuery.SMB_SERVER_CONFIGURATION,
            json.dumps(
                ANSWERS["smb-server-configuration"] | {"RequireSecuritySignature": None}
            ).encode(),
            "RequireSecuritySignature is NoneType",
        ),
        (
            HostQuery.FIREWALL_PROFILES,
            json.dumps(ANSWERS["firewall-profiles"][0]).encode(),
            "expected a list",
        ),
        (
            HostQuery.FIREWALL_PROFILES,
            json.dumps([ANSWERS["firewall-profiles"][0] | {"LogMaxSizeKilobytes": True}]).encode(),
            "LogMaxSizeKilobytes is bool",
        ),
        (
            HostQuery.FIREWALL_RULES_445,
            json.dumps([ANSWERS["firewall-rules-445"][0] | {"LocalPort": [445]}]).encode(),
            "LocalPort holds a non-string",
        ),
        (
            HostQuery.SMB_CERTIFICATE_MAPPING,
            b'{"Supported":true,"EnableSMBQUIC":true,"Mappings":[{"Name":"x"}]}',
            "Mappings[0] lacks Subject",
        ),
        (
            HostQuery.FIREWALL_OUTBOUND_445,
            json.dumps({"Profiles": [], "Rules": [{"Name": "x"}]}).encode(),
            "Rules[0] lacks DisplayName",
        ),
        (
            HostQuery.SMB_CLIENT_ACCESS,
            b'{"Supported":true,"Mappings":[{"Name":"m","RequireClientAuthentication":true,'
            b'"Entries":[{"IdentifierType":"ISSUER","Identifier":"CN=x"}]}]}',
            "Entries[0] lacks Access",
        ),
        (
            HostQuery.SMB_SERVER_LIMITS,
            b'{"Smb2DialectMin":"SMB300","Smb2DialectMax":null,'
            b'"InvalidAuthenticationDelayTimeInMs":"2000"}',
            "InvalidAuthenticationDelayTimeInMs is str",
        ),
    ],
)
def test_output_of_the_wrong_shape(
    host: FakeHost, probe: WinRMProbe, query: HostQuery, output: bytes, expected: str
) -> None:
    answering(host, output)
    with pytest.raises(ProbeError, match=expected.replace("[", r"\[")):
        probe.run_json(query)


def reach_rows(*rows: dict[str, Any]) -> bytes:
    return json.dumps(list(rows)).encode()


ROW = {"i": 0, "host": "10.45.10.11", "port": 445, "state": "refused", "errno": 10061}
ROW |= {"latency_ms": 0.8, "detail": "ConnectionRefused"}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (reach_rows(), "reach answered 0 rows for 1 targets"),
        (reach_rows(ROW, ROW | {"i": 1}), "reach answered 2 rows for 1 targets"),
        (json.dumps(ROW).encode(), "reach answered dict rows"),
        (reach_rows(ROW | {"i": 3}), "is not the row for target 0"),
        (
            reach_rows(ROW | {"host": "10.45.10.12"}),
            "is for 10.45.10.12:445, expected 10.45.10.11:445",
        ),
        (reach_rows(ROW | {"state": "closed"}), "reach row 0 is malformed"),
        (reach_rows({k: v for k, v in ROW.items() if k != "errno"}), "reach row 0 is malformed"),
    ],
)
def test_reach_output_must_answer_the_targets(
    host: FakeHost, probe: WinRMProbe, output: bytes, expected: str
) -> None:
    answering(host, output)
    with pytest.raises(ProbeError, match=expected):
        probe.scan(ScanJob([Target("10.45.10.11", 445)], 1.0, 8))


def test_reach_states_and_errnos(host: FakeHost, probe: WinRMProbe) -> None:
    rows = [
        ROW,
        ROW | {"i": 1, "state": "filtered", "errno": None, "detail": "no answer within 1000 ms"},
        ROW | {"i": 2, "state": "unreachable", "errno": 10065, "detail": "HostUnreachable"},
        ROW | {"i": 3, "state": "error", "errno": 10049, "detail": "AddressNotAvailable"},
    ]
    answering(host, reach_rows(*rows))
    results = probe.scan(ScanJob([Target("10.45.10.11", 445)] * 4, 1.0, 8))
    assert [(r.state, r.errno) for r in results] == [
        (ConnectState.REFUSED, 10061),
        (ConnectState.FILTERED, None),
        (ConnectState.UNREACHABLE, 10065),
        (ConnectState.ERROR, 10049),
    ]


def test_no_targets_runs_nothing(host: FakeHost, probe: WinRMProbe) -> None:
    assert probe.scan(ScanJob([], 1.0, 8)) == []
    assert host.calls == []


def test_a_command_that_never_finishes_is_bounded(host: FakeHost) -> None:
    probe = WinRMProbe("win1", settings(command_timeout=0.3), PASSWORD)

    def still_running(script: str, stdin: bytes) -> Reply:
        raise WinRMOperationTimeoutError()

    host.answer = still_running
    started = time.monotonic()
    with pytest.raises(ProbeError, match=r"did not finish within 0\.3 s"):
        probe.run_json(HostQuery.SMB1_FEATURE)
    assert time.monotonic() - started < 2
    assert host.calls[-1][0] == "cleanup"  # the command was told to stop
    assert host.protocols[0].closed_sessions == 1  # and the session dropped
