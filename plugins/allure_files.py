"""Writes the Allure files a live run produces, in a process of its own (started by
plugins/allure_writer.py as `python -I -S allure_files.py DIRECTORY`; stdlib only, so it
starts in milliseconds and imports nothing of the run's).

At ten thousand checks a run writes ~30,000 small files; the system calls alone took ~4 s, and
from a thread of the run they also took the GIL from the one that runs the checks (measured:
the run was 4 s faster with the writes dropped). Here they run on another core.

It reads frames from stdin: a header (kind, name length, data length: `!cII`) and then the
name and the data. `W` writes data to DIRECTORY/name (to a temporary name first, then renamed:
a crash never leaves half a file); `F` answers on stdout once every file before it is written,
with `ok` or the first failure as `errno<TAB>strerror<TAB>filename`; at `C` or the end of its
input it writes what is left, answers the same way and exits. A failure never stops the
writing of the other files.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import BinaryIO

HEADER = struct.Struct("!cII")
WRITE, FLUSH, CLOSE = b"W", b"F", b"C"


def write_file(prefix: str, name: str, data: bytes) -> None:
    temporary = f"{prefix}{name}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # umask applies
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)
    os.rename(temporary, f"{prefix}{name}")


def serve(directory: str, frames: BinaryIO, answers: BinaryIO) -> None:
    prefix = f"{directory}{os.sep}"
    failure = b""
    while True:
        header = frames.read(HEADER.size)
        kind, name_length, data_length = (
            HEADER.unpack(header) if len(header) == HEADER.size else (CLOSE, 0, 0)
        )
        if kind == WRITE:
            name = frames.read(name_length).decode()
            data = frames.read(data_length)
            try:
                write_file(prefix, name, data)
            except OSError as exc:
                failure = failure or f"{exc.errno}\t{exc.strerror}\t{exc.filename}".encode()
            continue
        answers.write((failure or b"ok") + b"\n")
        answers.flush()
        if kind == CLOSE:
            return


if __name__ == "__main__":
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
