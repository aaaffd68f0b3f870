"""The double against the unmodified pywinrm client: the WS-Man flow, auth, encryption, faults."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
import requests
import winrm
import xmltodict
from winrm.exceptions import InvalidCredentialsError, WSManFaultError
from winrm.protocol import Protocol

from smbtests.lab.wsman import default_state, win_auth_broken
from smbtests.observations import HostQuery
from smbtests.probes.winrm_scripts import query_script

from .conftest import USER, Double

SHELL_NOT_FOUND = 2150858843


def protocol(double: Double, scheme: str = "http", **kwargs: Any) -> Protocol:
    port = double.http_port if scheme == "http" else double.https_port
    options: dict[str, Any] = {
        "transport": "ntlm",
        "username": USER,
        "password": double.password,
        "ca_trust_path": str(double.ca),
        "read_timeout_sec": 5,
        "operation_timeout_sec": 2,
        "proxy": None,
    }
    options.update(kwargs)
    return Protocol(f"{scheme}://127.0.0.1:{port}/wsman", **options)


def session(
    double: Double, scheme: str, transport: str, password: str | None = None
) -> winrm.Session:
    port = double.http_port if scheme == "http" else double.https_port
    return winrm.Session(
        f"{scheme}://127.0.0.1:{port}/wsman",
        auth=(USER, double.password if password is None else password),
        transport=transport,
        ca_trust_path=str(double.ca),
        proxy=None,
    )


@pytest.mark.parametrize(
    ("scheme", "transport"), [("http", "ntlm"), ("https", "ntlm"), ("https", "basic")]
)
def test_run_ps_of_the_unmodified_client(compliant: Double, scheme: str, transport: str) -> None:
    result = session(compliant, scheme, transport).run_ps(
        query_script(HostQuery.SMB_SERVER_CONFIGURATION)
    )
    assert result.status_code == 0, result.std_err
    assert b'"RequireSecuritySignature":true' in result.std_out


def test_ntlm_over_http_encrypts_every_message(compliant: Double) -> None:
    client = protocol(compliant)
    shell = client.open_shell()
    assert client.transport.encryption is not None  # pywinrm only seals after the server agreed
    client.close_shell(shell)


def test_unencrypted_body_over_http_is_refused(compliant: Double) -> None:
    client = protocol(compliant, message_encryption="never")
    with pytest.raises(WSManFaultError, match="AllowUnencrypted"):
        client.open_shell()


def test_basic_is_not_offered_over_http(compliant: Double) -> None:
    with pytest.raises(InvalidCredentialsError):
        session(compliant, "http", "basic").run_ps(query_script(HostQuery.SMB1_FEATURE))


@pytest.mark.parametrize(("scheme", "transport"), [("http", "ntlm"), ("https", "basic")])
def test_wrong_password_is_401(compliant: Double, scheme: str, transport: str) -> None:
    with pytest.raises(InvalidCredentialsError):
        session(compliant, scheme, transport, password="not-the-password").run_ps("x")


def test_auth_broken_refuses_the_right_password(compliant: Double) -> None:
    compliant.set_state(win_auth_broken(default_state()))
    with pytest.raises(InvalidCredentialsError):
        session(compliant, "http", "ntlm").run_ps(query_script(HostQuery.SMB1_FEATURE))


def test_server_header_names_the_double(compliant: Double) -> None:
    reply = requests.post(f"http://127.0.0.1:{compliant.http_port}/wsman", data=b"", timeout=5)
    assert reply.status_code == 401
    assert reply.headers["Server"] == "smbtests-wsman-double"
    assert reply.headers["WWW-Authenticate"] == "Negotiate"


def test_relates_to_answers_the_message_id(compliant: Double) -> None:
    client = protocol(compliant)
    message_id = uuid.uuid4()
    request = {
        "env:Envelope": client.build_wsman_header(
            resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
            action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
            message_id=message_id,
        )
    }
    request["env:Envelope"]["env:Body"] = {"rsp:Shell": {"rsp:InputStreams": "stdin"}}
    reply = xmltodict.parse(client.send_message(xmltodict.unparse(request)))
    header = reply["s:Envelope"]["s:Header"]
    assert header["a:RelatesTo"] == f"uuid:{message_id}"
    assert header["a:Action"].endswith("/transfer/CreateResponse")


def test_unknown_shell_is_a_fault(compliant: Double) -> None:
    client = protocol(compliant)
    with pytest.raises(WSManFaultError) as caught:
        client.run_command(str(uuid.uuid4()).upper(), "powershell", ["-EncodedCommand", "AA=="])
    assert caught.value.wsman_fault_code == SHELL_NOT_FOUND
    assert caught.value.fault_subcode == "w:InvalidSelectors"


def test_unknown_action_is_a_fault(compliant: Double) -> None:
    client = protocol(compliant)
    request = {
        "env:Envelope": client.build_wsman_header(
            resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
            action="http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
        )
    }
    request["env:Envelope"]["env:Body"] = {}
    with pytest.raises(WSManFaultError) as caught:
        client.send_message(xmltodict.unparse(request))
    assert caught.value.fault_subcode == "a:ActionNotSupported"


def run_raw(client: Protocol, command: str, args: list[str]) -> tuple[bytes, bytes, int, int]:
    """stdout, stderr, exit code and how many Receives it took (bounded)."""
    shell = client.open_shell(codepage=65001)
    command_id = client.run_command(shell, command, args)
    out, err, code, receives, done = b"", b"", -1, 0, False
    while not done and receives < 50:
        o, e, code, done = client.get_command_output_raw(shell, command_id)
        out, err, receives = out + o, err + e, receives + 1
    client.cleanup_command(shell, command_id)
    client.close_shell(shell)
    return out, err, code, receives


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def test_long_output_takes_several_receives(compliant: Double) -> None:
    state = default_state()
    state["lab_faults"]["stdout"]["smb1-feature"] = "x" * 10_000
    compliant.set_state(state)
    script = query_script(HostQuery.SMB1_FEATURE)
    out, _, code, receives = run_raw(protocol(compliant), "powershell", ["-e", encoded(script)])
    assert (out, code) == (b"x" * 10_000, 0)
    assert receives == 3


def test_unsupported_script_errors_like_powershell(compliant: Double) -> None:
    out, err, code, _ = run_raw(
        protocol(compliant),
        "powershell",
        ["-EncodedCommand", encoded("Get-Process | Stop-Process")],
    )
    assert (out, code) == (b"", 1)
    assert err.startswith(b"#< CLIXML\r\n")
    assert b"does not model the script" in err


def test_marker_without_its_cmdlets_is_unsupported(compliant: Double) -> None:
    script = "# smbtests:smb1-feature\nGet-Service | ConvertTo-Json\n"
    _, err, code, _ = run_raw(
        protocol(compliant), "powershell", ["-EncodedCommand", encoded(script)]
    )
    assert code == 1 and b"does not model the script" in err


def test_other_programs_fail_as_cmd_does(compliant: Double) -> None:
    _, err, code, _ = run_raw(protocol(compliant), "ipconfig", ["/all"])
    assert code == 1 and b"is not recognized as an internal or external command" in err


def test_command_line_longer_than_cmd_allows(compliant: Double) -> None:
    script = query_script(HostQuery.SMB1_FEATURE) + "#" * 4000
    _, err, code, _ = run_raw(
        protocol(compliant), "powershell", ["-EncodedCommand", encoded(script)]
    )
    assert (err, code) == (b"The command line is too long.\r\n", 1)


def test_one_shell_serves_many_commands(compliant: Double) -> None:
    client = protocol(compliant)
    shell = client.open_shell(codepage=65001)
    for query in HostQuery:
        command_id = client.run_command(shell, "powershell", ["-e", encoded(query_script(query))])
        out, _, code = client.get_command_output(shell, command_id)
        client.cleanup_command(shell, command_id)
        assert code == 0 and out.startswith((b"{", b"["))
    client.close_shell(shell)
    with pytest.raises(WSManFaultError):  # deleted means gone
        client.run_command(
            shell, "powershell", ["-e", encoded(query_script(HostQuery.SMB1_FEATURE))]
        )
