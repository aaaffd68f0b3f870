"""What a WinRM reply means: the JSON shape of every reading, of the SMB scripts' documents and
of the reachability rows, each checked strictly (a reply that does not fit raises OutputError):
a made-up state is never returned. How a call failed is winrm_errors.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from smbtests.observations import ConnectResult, ConnectState, HostQuery, Target
from smbtests.probes.winrm_errors import OutputError, excerpt

# ---------------------------------------------------------------------- output shapes

_BOOL = (bool,)
_OPT_BOOL = (bool, type(None))
_STR = (str,)
_OPT_STR = (str, type(None))
_INT = (int,)
_OPT_INT = (int, type(None))
_LIST = (list,)

_SHAPES: dict[HostQuery, dict[str, tuple[type, ...]]] = {
    HostQuery.SMB_SERVER_CONFIGURATION: {
        "EnableSMB1Protocol": _BOOL,
        "EnableSMB2Protocol": _BOOL,
        "RequireSecuritySignature": _BOOL,
        "EnableSecuritySignature": _BOOL,
        "EncryptData": _BOOL,
        "RejectUnencryptedAccess": _BOOL,
        # newer Windows builds only: null elsewhere
        "AuditSmb1Access": _OPT_BOOL,
        "EnableSMBQUIC": _OPT_BOOL,
    },
    HostQuery.SMB1_FEATURE: {"FeatureName": _STR, "State": _STR},
    HostQuery.FIREWALL_PROFILES: {
        "Name": _STR,
        "Enabled": _STR,
        "DefaultInboundAction": _STR,
        "LogBlocked": _STR,
        "LogFileName": _OPT_STR,
        "LogMaxSizeKilobytes": _INT,
    },
    HostQuery.FIREWALL_RULES_445: {
        "Name": _STR,
        "DisplayName": _STR,
        "DisplayGroup": _OPT_STR,
        "Direction": _STR,
        "Action": _STR,
        "Enabled": _STR,
        "Profile": _STR,
        "Protocol": _STR,
        "LocalPort": _LIST,
        "RemoteAddress": _LIST,
    },
    HostQuery.SMB_CERTIFICATE_MAPPING: {
        "Supported": _BOOL,
        "EnableSMBQUIC": _OPT_BOOL,
        "Mappings": _LIST,
    },
    HostQuery.SMB_SERVER_LIMITS: {
        "Smb2DialectMin": _OPT_STR,
        "Smb2DialectMax": _OPT_STR,
        "InvalidAuthenticationDelayTimeInMs": _OPT_INT,
    },
    HostQuery.SMB_CLIENT_CONFIGURATION: {
        "EnableInsecureGuestLogons": _BOOL,
        "RequireSecuritySignature": _BOOL,
        "BlockNTLM": _OPT_BOOL,
    },
    HostQuery.SMB_CLIENT_ACCESS: {"Supported": _BOOL, "Mappings": _LIST},
    HostQuery.NETWORK_PROFILES: {
        "InterfaceAlias": _STR,
        "InterfaceIndex": _INT,
        "Name": _STR,
        "NetworkCategory": _STR,
    },
    HostQuery.FIREWALL_OUTBOUND_445: {"Profiles": _LIST, "Rules": _LIST},
    HostQuery.FIREWALL_LOG_TAIL: {"Files": _LIST, "TailLines": _INT},
}
_LIST_QUERIES = {
    HostQuery.FIREWALL_PROFILES,
    HostQuery.FIREWALL_RULES_445,
    HostQuery.NETWORK_PROFILES,
}
_MAPPING_SHAPE = {
    "Name": _STR,
    "Subject": _OPT_STR,
    "Thumbprint": _STR,
    "StoreName": _OPT_STR,
    "Type": _STR,
    "Flags": _STR,
}
_LOG_FILE_SHAPE: dict[str, tuple[type, ...]] = {"Path": _STR, "Head": _LIST, "Lines": _LIST}
# The rows nested in an object reading: (key, shape of each row)
_NESTED: dict[HostQuery, tuple[tuple[str, dict[str, tuple[type, ...]]], ...]] = {
    HostQuery.SMB_CERTIFICATE_MAPPING: (("Mappings", _MAPPING_SHAPE),),
    HostQuery.SMB_CLIENT_ACCESS: (
        ("Mappings", {"Name": _STR, "RequireClientAuthentication": _BOOL, "Entries": _LIST}),
    ),
    HostQuery.FIREWALL_OUTBOUND_445: (
        ("Profiles", {"Name": _STR, "Enabled": _STR, "DefaultOutboundAction": _STR}),
        (
            "Rules",
            {
                "Name": _STR,
                "DisplayName": _STR,
                "Action": _STR,
                "Enabled": _STR,
                "Profile": _STR,
                "Protocol": _STR,
                "RemotePort": _LIST,
                "RemoteAddress": _LIST,
            },
        ),
    ),
    HostQuery.FIREWALL_LOG_TAIL: (("Files", _LOG_FILE_SHAPE),),
}
_ACCESS_ENTRY_SHAPE: dict[str, tuple[type, ...]] = {
    "IdentifierType": _STR,
    "Identifier": _STR,
    "Access": _STR,
}


def _check_object(what: str, data: object, shape: dict[str, tuple[type, ...]]) -> None:
    if not isinstance(data, dict):
        raise OutputError(f"{what} is {type(data).__name__}, expected an object")
    for key, types in shape.items():
        if key not in data:
            raise OutputError(f"{what} lacks {key}")
        value = data[key]
        # bool is an int in Python; JSON true must not pass as a number
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise OutputError(f"{what}.{key} is {type(value).__name__}: {excerpt(repr(value), 60)}")


def _check_strings(what: str, row: Mapping[str, object]) -> None:
    for key in ("LocalPort", "RemotePort", "RemoteAddress", "Head", "Lines"):
        values = row.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise OutputError(f"{what}.{key} holds a non-string")


def check_shape(query: HostQuery, data: object) -> object:
    shape = _SHAPES[query]
    if query in _LIST_QUERIES:
        if not isinstance(data, list):
            raise OutputError(f"{query} is {type(data).__name__}, expected a list")
        for number, row in enumerate(data):
            _check_object(f"{query}[{number}]", row, shape)
            _check_strings(f"{query}[{number}]", row)
        return data
    _check_object(str(query), data, shape)
    assert isinstance(data, dict)
    for key, row_shape in _NESTED.get(query, ()):
        for number, row in enumerate(data[key]):
            _check_object(f"{query}.{key}[{number}]", row, row_shape)
            _check_strings(f"{query}.{key}[{number}]", row)
            if query is HostQuery.SMB_CLIENT_ACCESS:
                for index, entry in enumerate(row["Entries"]):
                    _check_object(
                        f"{query}.{key}[{number}].Entries[{index}]", entry, _ACCESS_ENTRY_SHAPE
                    )
    return data


_NEGOTIATE_SHAPE: dict[str, tuple[type, ...]] = {
    "Host": _STR,
    "Connected": _BOOL,
    "Answered": _BOOL,
    "Status": _OPT_INT,
    "Dialect": _OPT_STR,
    "SecurityMode": _OPT_INT,
    "Detail": _STR,
}
_MAPPING_ROW: dict[str, tuple[type, ...]] = {
    "Share": _STR,
    "Mapped": _BOOL,
    "Readable": _BOOL,
    "ErrorCode": _OPT_INT,
    "Error": _OPT_STR,
}
_SYSVOL_SHAPE: dict[str, tuple[type, ...]] = {
    "Share": _STR,
    "File": _OPT_STR,
    "Bytes": _OPT_INT,
    "ErrorCode": _OPT_INT,
    "Error": _OPT_STR,
}


def smb_negotiate_reading(data: object, host: str) -> dict[str, object]:
    """smb-negotiate.ps1's document, checked, for the host asked."""
    _check_object("smb-negotiate", data, _NEGOTIATE_SHAPE)
    assert isinstance(data, dict)
    if data["Host"] != host:
        raise OutputError(f"smb-negotiate answered for {data['Host']!r}, asked {host!r}")
    if data["Answered"] and not data["Connected"]:
        raise OutputError("smb-negotiate: answered without a connection")
    return data


def smb_path_reading(
    data: object, host: str, shares: Sequence[str], sysvol: str | None
) -> dict[str, object]:
    """smb-path.ps1's document, checked: for the host asked, its login (the IPC$ mapping) and,
    once logged in, a row per share asked, in order, and the SYSVOL read asked (a file with its
    size, or a failure with its code): a DC's document without it proves nothing."""
    shape: dict[str, tuple[type, ...]] = {
        "Host": _STR,
        "Login": (dict,),
        "Shares": _LIST,
        "Dialect": _STR,
    }
    _check_object("smb-path", data, shape)
    assert isinstance(data, dict)
    if data["Host"] != host:
        raise OutputError(f"smb-path answered for {data['Host']!r}, asked {host!r}")
    _check_object("smb-path.Login", data["Login"], _MAPPING_ROW)
    _check_sysvol(data.get("Sysvol"), sysvol if data["Login"]["Mapped"] else None)
    rows = data["Shares"]
    for number, row in enumerate(rows):
        _check_object(f"smb-path.Shares[{number}]", row, _MAPPING_ROW)
    named = [row["Share"] for row in rows]
    if named != (list(shares) if data["Login"]["Mapped"] else []):
        raise OutputError(f"smb-path mapped {named}, asked {list(shares)}")
    return {key: data.get(key) for key in ("Login", "Shares", "Dialect", "Sysvol")}


def _check_sysvol(document: object, asked: str | None) -> None:
    if asked is None:
        if document is not None:
            raise OutputError("smb-path read a SYSVOL it was not asked for")
        return
    if document is None:
        raise OutputError(f"smb-path: no SYSVOL read of {asked!r}, which was asked")
    _check_object("smb-path.Sysvol", document, _SYSVOL_SHAPE)
    assert isinstance(document, dict)
    if document["Share"] != asked:
        raise OutputError(f"smb-path read SYSVOL {document['Share']!r}, asked {asked!r}")
    read = document["File"] is not None
    if read != (document["Bytes"] is not None) or read == (document["ErrorCode"] is not None):
        raise OutputError("smb-path.Sysvol: a file needs its size and no error, a failure a code")


def reach_results(
    data: object, targets: Sequence[Target], test_netconnection: bool
) -> list[ConnectResult]:
    if not isinstance(data, list) or len(data) != len(targets):
        got = len(data) if isinstance(data, list) else type(data).__name__
        raise OutputError(f"reach answered {got} rows for {len(targets)} targets")
    results = []
    for index, (row, target) in enumerate(zip(data, targets, strict=True)):
        if not isinstance(row, dict) or row.get("i") != index:
            raise OutputError(f"reach row {index} is not the row for target {index}")
        if row.get("host") != target.host or row.get("port") != target.port:
            raise OutputError(
                f"reach row {index} is for {row.get('host')}:{row.get('port')}, "
                f"expected {target.host}:{target.port}"
            )
        try:
            latency = float(row["latency_ms"])
            if test_netconnection:
                succeeded = row["TcpTestSucceeded"]
                if not isinstance(succeeded, bool):
                    raise TypeError
                state = ConnectState.OPEN if succeeded else ConnectState.FILTERED
                errno = None
                detail = f"Test-NetConnection: TcpTestSucceeded={succeeded}" + (
                    "" if succeeded else " (it cannot tell refused from filtered)"
                )
            else:
                state = ConnectState(row["state"])
                errno = None if row["errno"] is None else int(row["errno"])
                detail = str(row["detail"])[:200]
        except (KeyError, TypeError, ValueError):
            malformed = excerpt(repr(row), 120)
            raise OutputError(f"reach row {index} is malformed: {malformed}") from None
        results.append(ConnectResult(target, state, errno, latency, detail))
    return results
