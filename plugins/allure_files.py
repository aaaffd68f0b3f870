"""Writes the Allure files a live run produces, in a process of its own (started by
plugins/allure_writer.py as `python -I allure_files.py DIRECTORY`; it imports nothing of the
run's but attrs and, to unpickle results, allure-commons' model).

At ten thousand checks a run writes ~30,000 small files; the system calls alone took ~4 s, and
from a thread of the run they also took the GIL from the one that runs the checks (measured:
the run was 4 s faster with the writes dropped). Here they run on another core.

It reads frames from stdin: a header (kind, name length, data length: `!cII`) and then the
name and the data.
- `W` writes an attachment to DIRECTORY/name (a file that could not be written whole is
  removed: the run turns red, see `F`); one identical to an attachment written before (the
  same bytes and extension: a probe's vantage, shared by all its checks) is not written again,
  and results that name it point at the first one instead;
- `S` holds evidence steps for the test whose uuid is the name: pickled `(start, [(title,
  attachment name or None, body, MIME type, extension), ...])`; each becomes a passed step with
  its attachment, what `with allure.step(title): allure.attach(body, name, type)` makes, put
  first in that test's steps (made here, not in the run: their models, hashes and pickling were
  two thirds of what Allure cost the run's thread);
- `R` writes a pickled Allure result as the JSON allure-commons' file logger writes of it
  (pickling costs the run a third of making that JSON), with its held steps;
- `F` answers on stdout once every file before it is written, with `ok` or the first failure
  as `errno<TAB>strerror<TAB>filename`; at `C` or the end of its input it writes what is left,
  answers the same way and exits. A failure never stops the writing of the other files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import struct
import sys
import uuid
from typing import Any, BinaryIO

import attr

HEADER = struct.Struct("!cII")
ATTACHMENT = "-attachment."  # allure-commons' ATTACHMENT_PATTERN
WRITE, STEPS, RESULT, FLUSH, CLOSE = b"W", b"S", b"R", b"F", b"C"
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


def write_file(prefix: str, name: str, data: bytes) -> None:
    """Straight to its final name, as allure-commons' own logger writes: every name is new (a
    uuid; an existing one is an error, never overwritten or followed), and a temporary name and
    a rename doubled the directory operations, the slowest part of a large run's writing
    (measured: 40-240 us per file here). A file that could not be written whole is removed."""
    path = f"{prefix}{name}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    handle = os.open(path, flags, 0o666)  # umask applies
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    finally:
        os.close(handle)


class Files:
    """The files of one run's Allure directory, as its frames describe them."""

    def __init__(self, directory: str) -> None:
        self.prefix = f"{directory}{os.sep}"
        self.failure = b""  # the first file that could not be written
        self._written: dict[bytes, str] = {}  # digest and extension -> the first such file
        self._alias: dict[str, str] = {}  # a file not written -> the identical one that was
        self._steps: dict[str, list[dict[str, Any]]] = {}  # test uuid -> its evidence steps

    def take(self, kind: bytes, name: str, data: bytes) -> None:
        try:
            if kind == WRITE:
                self._write_once(name, data)
            elif kind == STEPS:
                held = self._steps.setdefault(name, [])
                held.extend(self._evidence_steps(*pickle.loads(data)))  # noqa: S301 (our own run's pipe)
            else:
                write_file(self.prefix, name, self._result_json(data))
        except OSError as exc:
            self.failure = self.failure or f"{exc.errno}\t{exc.strerror}\t{exc.filename}".encode()
        except Exception as exc:  # a result that would not serialize: the run turns red
            self.failure = self.failure or f"0\t{type(exc).__name__}: {exc}\t{name}".encode()

    def _write_once(self, name: str, data: bytes) -> str:
        # the extension is part of the name Allure shows: only the same bytes AND type share
        digest = hashlib.sha256(data).digest() + name.partition(ATTACHMENT)[2].encode()
        first = self._written.get(digest)
        if first is not None:
            self._alias[name] = first
            return first
        write_file(self.prefix, name, data)
        self._written[digest] = name  # only once it is there: later copies point at it
        return name

    def _evidence_steps(
        self, start: int, steps: list[tuple[str, str | None, bytes, str, str]]
    ) -> list[dict[str, Any]]:
        made = []
        for title, name, body, mime, extension in steps:
            step: dict[str, Any] = {"name": title, "status": "passed"}
            if name is not None:
                source = self._write_once(f"{uuid.uuid4()}{ATTACHMENT}{extension}", body)
                step["attachments"] = [{"name": name, "source": source, "type": mime}]
            made.append(step | {"start": start, "stop": start})
        return made

    def _result_json(self, pickled: bytes) -> bytes:
        model = pickle.loads(pickled)  # noqa: S301 (our own run's pipe)
        _rename_attachments(model, self._alias)
        held = self._steps.pop(str(getattr(model, "uuid", "")), None)
        if held:
            model.steps[:0] = held
        return json.dumps(plain(model), ensure_ascii=False).encode()


def _rename_attachments(model: Any, alias: dict[str, str]) -> None:
    """Point the model's attachments at the identical files written before."""
    for attachment in getattr(model, "attachments", ()):
        attachment.source = alias.get(attachment.source, attachment.source)
    for step in getattr(model, "steps", ()):
        _rename_attachments(step, alias)


def serve(directory: str, frames: BinaryIO, answers: BinaryIO) -> None:
    files = Files(directory)
    while True:
        header = frames.read(HEADER.size)
        kind, name_length, data_length = (
            HEADER.unpack(header) if len(header) == HEADER.size else (CLOSE, 0, 0)
        )
        if kind in (WRITE, STEPS, RESULT):
            files.take(kind, frames.read(name_length).decode(), frames.read(data_length))
            continue
        answers.write((files.failure or b"ok") + b"\n")
        answers.flush()
        if kind == CLOSE:
            return


if __name__ == "__main__":
    serve(sys.argv[1], sys.stdin.buffer, sys.stdout.buffer)
