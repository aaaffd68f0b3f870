"""A paramiko channel as a real socket: impacket and our own negotiates want a socket with a
file descriptor, timeouts and `sendall`; a `socket.socketpair()` with a pump thread gives them
one whose far end is the channel (FIELD-NOTES)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from smbtests.probes._paramiko import paramiko

CHUNK = 65536


def bridge(channel: paramiko.Channel) -> socket.socket:
    """The caller's end of a socket pair pumped to and from `channel` until either side closes;
    closing the returned socket closes the channel."""
    mine, theirs = socket.socketpair()
    threading.Thread(
        target=_pump, args=(channel, theirs), daemon=True, name="smbtests-tunnel"
    ).start()
    return mine


# what a channel raises once its SSH transport is gone (the probe closed at its batch's end
# while the pump still ran): paramiko's packetizer raises EOFError, not OSError
GONE = (OSError, EOFError, paramiko.SSHException)


def _pump(channel: paramiko.Channel, end: socket.socket) -> None:
    with contextlib.ExitStack() as stack, selectors.DefaultSelector() as selector:
        stack.callback(_close, channel)
        stack.callback(end.close)
        selector.register(end, selectors.EVENT_READ)
        selector.register(channel, selectors.EVENT_READ)  # paramiko channels are selectable
        while True:
            for key, _ in selector.select():
                source, sink = (end, channel) if key.fileobj is end else (channel, end)
                try:
                    data = source.recv(CHUNK)
                    if data:
                        sink.sendall(data)
                except GONE:
                    return
                if not data:
                    return


def _close(channel: paramiko.Channel) -> None:
    with contextlib.suppress(*GONE):  # a channel of a closed transport has nothing to close
        channel.close()
