"""The lab router's deny log: an NFLOG reader that writes netfilter log lines to a file.

Usage: python -m smbtests.lab.nflog GROUP FILE [pfirewall]   (run in a namespace by `lab up`)

router.nft's deny rules say `log prefix "smblab-deny ..." group 1` before their verdict. The
kernel's own `log` (printk) from a namespace other than the machine's first one is silent unless
the machine-wide `net.netfilter.nf_log_all_netns` is set, which the lab must not touch; NFLOG is
per namespace, so this reader, bound to the group inside the router namespace, sees the router's
drops alone. It writes each packet as one line in the shape ulogd2's LOGEMU output and the kernel
log use, with an RFC 3339 UTC time first, so the engine reads the lab exactly as it reads a real
firewall's log (smbtests/denylog.py). Stdlib only: a raw NETLINK_NETFILTER socket.

With `pfirewall` it writes Windows Firewall log lines instead (pfirewall.log's DROP rows): in
win1's namespace that is the WS-Management double's firewall log (lab/wsman/firewall_log.py).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from smbtests.lab.wsman import firewall_log

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NFULA_CFG_CMD = 1
NFULA_CFG_MODE = 2
NFULA_CFG_QTHRESH = 4
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2
NFULA_IFINDEX_INDEV = 4
NFULA_IFINDEX_OUTDEV = 5
NFULA_PAYLOAD = 9
NFULA_PREFIX = 10
READY = "# smbtests nflog reader listening"


def _attr(kind: int, payload: bytes) -> bytes:
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + b"\0" * (-len(payload) % 4)


def _config(group: int, attrs: bytes, seq: int) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(group)) + attrs
    kind = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
    return struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def _attrs(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        found[kind & 0x7FFF] = data[offset + 4 : offset + length]
        offset += length + (-length % 4)
    return found


def _interface(raw: bytes | None) -> str:
    if raw is None:
        return ""
    try:
        return socket.if_indextoname(struct.unpack("!I", raw)[0])
    except OSError:
        return ""


Decoded = tuple[str, str, str, tuple[int, int] | None]  # source, destination, protocol, ports
PROTOCOLS = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6"}


def _decode(payload: bytes) -> Decoded | None:
    """The addresses, protocol and (TCP/UDP) ports of an IP packet; None when it is not IP."""
    if not payload:
        return None
    version = payload[0] >> 4
    if version == 4 and len(payload) >= 20:
        header = (payload[0] & 0x0F) * 4
        proto = payload[9]
        src, dst = ipaddress.IPv4Address(payload[12:16]), ipaddress.IPv4Address(payload[16:20])
    elif version == 6 and len(payload) >= 40:
        header, proto = 40, payload[6]
        src = ipaddress.IPv6Address(payload[8:24])  # type: ignore[assignment]
        dst = ipaddress.IPv6Address(payload[24:40])  # type: ignore[assignment]
    else:
        return None
    ports = None
    if proto in (6, 17) and len(payload) >= header + 4:
        ports = struct.unpack_from("!HH", payload, header)
    return str(src), str(dst), PROTOCOLS.get(proto, str(proto)), ports


def packet_line(attrs: dict[int, bytes], now: datetime) -> str | None:
    """One netfilter log line for a logged packet, or None when it is not IP."""
    decoded = _decode(attrs.get(NFULA_PAYLOAD, b""))
    if decoded is None:
        return None
    src, dst, proto, ports = decoded
    fields = [
        f"IN={_interface(attrs.get(NFULA_IFINDEX_INDEV))}",
        f"OUT={_interface(attrs.get(NFULA_IFINDEX_OUTDEV))}",
        f"SRC={src}",
        f"DST={dst}",
        f"PROTO={proto}",
    ]
    if ports is not None:
        fields += [f"SPT={ports[0]}", f"DPT={ports[1]}"]
    prefix = attrs.get(NFULA_PREFIX, b"").rstrip(b"\0").decode("ascii", "replace").strip()
    stamp = now.isoformat(timespec="microseconds")
    return f"{stamp} smblab-router {prefix} {' '.join(fields)}"


def pfirewall_line(attrs: dict[int, bytes], now: datetime) -> str | None:
    """The same packet as a Windows Firewall log DROP line (the win1 double's log)."""
    decoded = _decode(attrs.get(NFULA_PAYLOAD, b""))
    if decoded is None:
        return None
    src, dst, proto, ports = decoded
    return firewall_log.drop_line(now, proto, src, dst, ports)


FORMATS = {"netfilter": packet_line, "pfirewall": pfirewall_line}


def _bind(sock: socket.socket, group: int) -> None:
    mode = struct.pack("!IBB", 128, NFULNL_COPY_PACKET, 0)  # 128 bytes: IP and TCP headers
    requests = (
        _attr(NFULA_CFG_CMD, struct.pack("=B", NFULNL_CFG_CMD_BIND)),
        _attr(NFULA_CFG_MODE, mode) + _attr(NFULA_CFG_QTHRESH, struct.pack("!I", 1)),
    )
    for seq, attrs in enumerate(requests, start=1):
        sock.send(_config(group, attrs, seq))
        reply = sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from("=IHHII", reply)
        code = struct.unpack_from("=i", reply, 16)[0] if kind == NLMSG_ERROR else 0
        if code != 0:
            raise OSError(-code, f"NFLOG config of group {group} refused")


def serve(
    group: int, out: Path, line_of: Callable[[dict[int, bytes], datetime], str | None]
) -> None:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    _bind(sock, group)
    if line_of is pfirewall_line:
        firewall_log.ensure(out)
    with out.open("a", buffering=1) as log:  # line-buffered: a reader sees each drop at once
        log.write(f"{READY} on group {group}\n")
        packet = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET
        while True:
            data = sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if length < 16:
                    break
                if kind == packet:
                    attrs = _attrs(data[offset + 20 : offset + length])
                    line = line_of(attrs, datetime.now(UTC))
                    if line is not None:
                        log.write(line + "\n")
                offset += length + (-length % 4)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or not argv[0].isdigit() or argv[2:3] not in ([], ["pfirewall"]):
        print(__doc__, file=sys.stderr)
        return 2
    serve(int(argv[0]), Path(argv[1]), FORMATS[(argv[2:3] or ["netfilter"])[0]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
