"""WS-Management envelopes for the DOUBLE: read a request, write a response or a fault.

Only the parts of MS-WSMV that the Windows Remote Shell (the `cmd` resource pywinrm uses) needs:
the WS-Addressing header (Action, MessageID, RelatesTo), the WS-Management selector ShellId,
OperationTimeout and OptionSet, and the shell bodies (Shell, CommandLine, Send, Receive, Signal).
Faults carry the codes Windows uses, so clients take the same paths they take against Windows.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

S = "http://www.w3.org/2003/05/soap-envelope"
A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

CREATE = f"{X}/Create"
DELETE = f"{X}/Delete"
COMMAND = f"{RSP}/Command"
SEND = f"{RSP}/Send"
RECEIVE = f"{RSP}/Receive"
SIGNAL = f"{RSP}/Signal"
TERMINATE = f"{RSP}/signal/terminate"
STATE_RUNNING = f"{RSP}/CommandState/Running"
STATE_DONE = f"{RSP}/CommandState/Done"

WSMAN_FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
ADDRESSING_FAULT_ACTION = f"{A}/fault"

# WSManFault codes Windows sends (wsmerror.h), so clients react as they do to Windows
CODE_INVALID_ACTION = 2150858753
CODE_INVALID_URI = 2150858754
CODE_OPERATION_TIMEOUT = 2150858793  # pywinrm retries a Receive that ends with this
CODE_SHELL_NOT_FOUND = 2150858843
CODE_MAX_SHELLS = 2150859173
CODE_INVALID_PARAMETER = 87


@dataclass
class FaultError(Exception):
    """A WS-Management fault to send instead of a response."""

    subcode: str  # prefixed with w: or a:
    reason: str
    code: int | None = None
    detail: str = ""
    sender: bool = True  # the client's fault (s:Sender) or ours (s:Receiver)


@dataclass
class Request:
    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    operation_timeout: float
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None


_DURATION = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


def parse_request(data: bytes) -> Request:
    """The parts of a WS-Management request the shell needs; a Fault if it is not one."""
    try:
        # The client has authenticated before any XML is parsed, and expat limits entity
        # expansion (billion laughs) since 2.4.1.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise FaultError("w:SchemaValidationError", f"The request is not XML: {exc}") from None
    header = root.find(f"{{{S}}}Header")
    body = root.find(f"{{{S}}}Body")
    if root.tag != f"{{{S}}}Envelope" or header is None or body is None:
        raise FaultError("w:SchemaValidationError", "The request is not a SOAP 1.2 envelope.")
    action = (header.findtext(f"{{{A}}}Action") or "").strip()
    message_id = (header.findtext(f"{{{A}}}MessageID") or "").strip()
    if not message_id:
        raise FaultError("a:InvalidMessageInformationHeader", "The request has no MessageID.")
    shell_id = None
    for selector in header.iterfind(f"{{{W}}}SelectorSet/{{{W}}}Selector"):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    options = {
        option.get("Name", ""): (option.text or "").strip()
        for option in header.iterfind(f"{{{W}}}OptionSet/{{{W}}}Option")
    }
    timeout_text = (header.findtext(f"{{{W}}}OperationTimeout") or "PT60S").strip()
    match = _DURATION.match(timeout_text)
    return Request(
        action=action,
        message_id=message_id,
        resource_uri=(header.findtext(f"{{{W}}}ResourceURI") or "").strip(),
        shell_id=shell_id,
        operation_timeout=float(match.group(1)) if match else 60.0,
        options=options,
        body=next(iter(body), None),
    )


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{S}" xmlns:a="{A}" xmlns:x="{X}" '
        f'xmlns:w="{W}" xmlns:rsp="{RSP}">'
        "<s:Header>"
        f"<a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        "</s:Header>"
        f"<s:Body>{body}</s:Body>"
        "</s:Envelope>"
    ).encode()


def response(request: Request, body: str) -> bytes:
    return _envelope(f"{request.action}Response", request.message_id, body)


def fault_envelope(fault: FaultError, relates_to: str, machine: str) -> bytes:
    action = ADDRESSING_FAULT_ACTION if fault.subcode.startswith("a:") else WSMAN_FAULT_ACTION
    code = "" if fault.code is None else f" Code={quoteattr(str(fault.code))}"
    message = escape(fault.detail or fault.reason)
    body = (
        "<s:Fault>"
        f"<s:Code><s:Value>s:{'Sender' if fault.sender else 'Receiver'}</s:Value>"
        f"<s:Subcode><s:Value>{escape(fault.subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{F}"{code} Machine={quoteattr(machine)}>'
        f"<f:Message>{message}</f:Message></f:WSManFault></s:Detail>"
        "</s:Fault>"
    )
    return _envelope(action, relates_to or f"uuid:{uuid.UUID(int=0)}", body)


def shell_created(request: Request, address: str, shell_id: str, owner: str, client: str) -> bytes:
    body = (
        "<x:ResourceCreated>"
        f"<a:Address>{escape(address)}</a:Address>"
        "<a:ReferenceParameters>"
        f"<w:ResourceURI>{SHELL_URI}</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters>"
        "</x:ResourceCreated>"
        "<rsp:Shell>"
        f"<rsp:ShellId>{shell_id}</rsp:ShellId>"
        f"<rsp:ResourceUri>{SHELL_URI}</rsp:ResourceUri>"
        f"<rsp:Owner>{escape(owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{escape(client)}</rsp:ClientIP>"
        "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
        "<rsp:InputStreams>stdin</rsp:InputStreams>"
        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
        "</rsp:Shell>"
    )
    return response(request, body)


def command_started(request: Request, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
    return response(request, body)


def received(
    request: Request,
    command_id: str,
    stdout: str,
    stderr: str,
    exit_code: int | None,
) -> bytes:
    """A ReceiveResponse; streams are base64 text, exit_code None while the command runs."""
    cid = quoteattr(command_id)
    done = exit_code is not None
    end = ' End="true"' if done else ""
    streams = ""
    if stdout or done:
        streams += f'<rsp:Stream Name="stdout" CommandId={cid}{end}>{stdout}</rsp:Stream>'
    if stderr or done:
        streams += f'<rsp:Stream Name="stderr" CommandId={cid}{end}>{stderr}</rsp:Stream>'
    if done:
        state = (
            f'<rsp:CommandState CommandId={cid} State="{STATE_DONE}">'
            f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>"
        )
    else:
        state = f'<rsp:CommandState CommandId={cid} State="{STATE_RUNNING}"/>'
    return response(request, f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>")
