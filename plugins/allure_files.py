"""Writes the Allure files a live run produces, in a process of its own (started by
plugins/allure_writer.py as `python -I allure_files.py DIRECTORY`; it imports nothing of the
run's but attrs and, to unpickle results, allure-commons' model).

At ten thousand checks a run writes ~30,000 small files; the system calls alone took ~4 s, and
from a thread of the run they also took the GIL from the one that runs the checks (measured:
the run was 4 s faster with the writes dropped). Here they run on another core.

It reads frames from stdin: a header (kind, name length, data length: `!cII`) and then the
name and the data. `W` writes data to DIRECTORY/name (to a temporary name first, then renamed:
a crash never leaves half a file); `R` does the same with a pickled Allure result as the JSON
allure-commons' file logger writes of it (pickling costs the run a third of making that JSON);
`F` answers on stdout once every file before it is written, with `ok` or the first failure as
`errno<TAB>strerror<TAB>filename`; at `C` or the end of its input it writes what is left,
answers the same way and exits. A failure never stops the
writing of the other files.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys
from typing import Any, BinaryIO

import attr

HEADER = struct.Struct("!cII")
WRITE, RESULT, FLUSH, CLOSE = b"W", b"R", b"F", b"C"
_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(model: Any) -> dict[str, Any]:
    """An allure model object as the dict `attr.asdict(model, filter=lambda _, v: v or v is
    False)` makes (what allure-commons' file logger writes), in a third less time: the field
    names of each model class are looked up once, not per object."""
    names = _FIELDS.get(type(model))
    if names is None:
        names = _FIELDS[type(model)] = tuple(a.name for a in attr.fields(type(model)))
    document = {}
    for name in names:
        value = getattr(model, name)
        if not value and value is not False:
            continue
        if isinstance(value, list):
            value = [plain(v) if attr.has(type(v)) else v for v in value]
        elif attr.has(type(value)):
            value = plain(value)
        document[name] = value
    return document


def result_json(pickled: bytes) -> bytes:
    return json.dumps(plain(pickle.loads(pickled)), ensure_ascii=False).encode()  # noqa: S301 (our own run's pipe)


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
        if kind in (WRITE, RESULT):
            name = frames.read(name_length).decode()
            data = frames.read(data_length)
            try:
                write_file(prefix, name, result_json(data) if kind == RESULT else data)
            except OSError as exc:
                failure = failure or f"{exc.errno}\t{exc.strerror}\t{exc.filename}".encode()
            except Exception as exc:  # a result that would not serialize: the run turns red
                failure = failure or f"0\t{type(exc).__name__}: {exc}\t{name}".encode()
            continue
        answers.write((failure or b"ok") + b"\n")
        answers.flush()
        if kind == CLOSE:
            return


if __name__ == "__main__":
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
