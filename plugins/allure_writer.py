"""A lean writer of Allure's result format for the live suite, in place of allure-commons'
file logger (which writes every result, every fixture container and every attachment at once,
from the thread running the tests: at thousands of checks that was the largest per-item cost).

The results are the same files allure-pytest writes (`<uuid>-result.json`, attachments named
by their uuid), serialized by allure's own model; what changes:
- no per-fixture containers: they only list the suite's fixtures (smb_check, smb_verdict,
  smb_executor) as set-up steps, the same for every item; allure-pytest's listener is kept
  for everything else but its fixture bookkeeping;
- an attachment identical to one written before (a probe's vantage, shared by all its checks)
  is written once, and every result refers to that one file (the writer process sees to it);
- files are written by a process of their own (plugins/allure_files.py; one that could not
  be written whole is removed); `flush` waits until all are on disk (an xdist worker flushes
  after every item: a lost worker cannot take reported results with it; results go pickled,
  the process writes their JSON); a file that cannot be written is kept as `error` and fails
  the run at its end;
- the suite's evidence steps go to the writer process as plain tuples (`LeanAllureWriter.steps`),
  which makes the steps and attachments that allure's step and attach context managers would
  (their models, hooks, hashes and pickling were two thirds of Allure's cost to the run), and
  uuids come from one os.urandom call per 256 (`Uuids`): same files.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import IO, Any

import allure_commons
from allure_commons.logger import AllureFileLogger
from allure_commons.types import AttachmentType
from allure_commons.utils import now

from . import allure_files

BATCH = 1 << 16  # bytes of frames sent to the writer process at once
PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size


class Uuids:
    """Random (version 4) uuids as strings, like allure's `uuid4`, drawn from one os.urandom
    call per 256 instead of one getrandom system call per uuid."""

    def __init__(self) -> None:
        self._pool: list[str] = []

    def __call__(self) -> str:
        try:
            return self._pool.pop()  # atomic under the GIL: safe from any thread
        except IndexError:
            raw = os.urandom(4096)
            fresh = [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 4096, 16)]
            self._pool.extend(fresh[1:])
            return fresh[0]


uuids = Uuids()


class LeanAllureWriter:
    """Hands every file to the writer process (plugins/allure_files.py) in batches of frames;
    the pipe's own buffer bounds what waits in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.error: OSError | None = None  # the first file that could not be written
        self._frames = bytearray()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _writer(self) -> subprocess.Popen[bytes]:
        """The writer process, started with the first file (an xdist controller, which writes
        none, starts none); in a session of its own, so a Ctrl-C in the terminal reaches only
        the run, which still hands it what is left."""
        if self._process is None:
            script = Path(__file__).with_name("allure_files.py")
            self._process = subprocess.Popen(
                [sys.executable, "-I", str(script), str(self.directory)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
            assert self._process.stdin is not None
            _roomy(self._process.stdin)
        return self._process

    def _put(self, name: str, data: bytes, kind: bytes = allure_files.WRITE) -> None:
        encoded = name.encode()
        with self._lock:
            self._frames += allure_files.HEADER.pack(kind, len(encoded), len(data))
            self._frames += encoded
            self._frames += data
            if len(self._frames) >= BATCH:
                self._send()

    def _send(self) -> None:
        stream = self._writer().stdin
        assert stream is not None
        try:
            stream.write(self._frames)
            stream.flush()
        except OSError as exc:  # the writer process is gone: kept, and the run turned red
            self.error = self.error or exc
        self._frames.clear()

    def _ask(self, kind: bytes) -> None:
        """Wait until the writer process wrote everything before this, and take its answer."""
        with self._lock:
            if self._process is None and not self._frames:
                return  # nothing was written: no process to ask
            self._frames += allure_files.HEADER.pack(kind, 0, 0)
            self._send()
            assert self._process is not None and self._process.stdout is not None
            answer = self._process.stdout.readline().rstrip(b"\n")
        if answer == b"ok":
            return
        parts = answer.decode(errors="replace").split("\t")
        if len(parts) == 3 and parts[0].isdigit():
            failure = OSError(int(parts[0]), parts[1], parts[2])
        else:  # no answer: the writer process ended (killed, or it could not start)
            failure = OSError(f"the Allure file writer ended early: {answer[:200]!r}")
        self.error = self.error or failure

    def flush(self) -> None:
        """Wait until every file reported so far is written (or its failure recorded)."""
        self._ask(allure_files.FLUSH)

    def close(self) -> None:
        self._ask(allure_files.CLOSE)
        if self._process is None:
            return
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # a writer process that is gone: already the error
            self._process.stdin.close()
        self._process.wait()

    def steps(self, test: Any, steps: list[tuple[str, str | None, str, AttachmentType]]) -> None:
        """(title, attachment name or None, body, type) as passed steps of the test, first in
        its steps, each with its attachment: what `with allure.step(title): allure.attach(body,
        name, type)` makes, made by the writer process when it writes the test."""
        compact = [(t, n, b.encode(), k.mime_type, k.extension) for t, n, b, k in steps]
        data = pickle.dumps((now(), compact), pickle.HIGHEST_PROTOCOL)
        self._put(test.uuid, data, allure_files.STEPS)

    def _item(self, item: Any) -> None:
        name = item.file_pattern.format(prefix=uuids())
        # pickled here, turned into JSON by the writer process: a third of the time
        self._put(name, pickle.dumps(item, pickle.HIGHEST_PROTOCOL), allure_files.RESULT)

    @allure_commons.hookimpl
    def report_result(self, result: Any) -> None:
        self._item(result)

    @allure_commons.hookimpl
    def report_container(self, container: Any) -> None:
        """Dropped: see the module's docstring."""

    @allure_commons.hookimpl
    def report_attached_file(self, source: str, file_name: str) -> None:
        self._put(file_name, Path(source).read_bytes())

    @allure_commons.hookimpl
    def report_attached_data(self, body: str | bytes, file_name: str) -> None:
        self._put(file_name, body.encode() if isinstance(body, str) else body)

    @allure_commons.hookimpl
    def report_globals(self, globals_item: Any) -> None:
        self._item(globals_item)


def _roomy(pipe: IO[bytes]) -> None:
    """Room in the pipe for a burst of results while the writer process waits for a core
    (the 64 KiB default held a few items); Linux only, within the system's limit."""
    try:
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # elsewhere, or above the limit: the default pipe, only slower


def _without_fixture_bookkeeping(plugins: Any) -> None:
    """allure-pytest's listener without what only feeds the containers: its fixture hooks and
    the per-item update of every fixture's container, whose children list grows with the run
    (a membership test per item: quadratic in the number of checks)."""
    listener = plugins.get_plugin("allure_listener")
    if listener is None or not hasattr(listener, "_update_fixtures_children"):
        return
    plugins.unregister(listener)
    for hook in ("pytest_fixture_setup", "pytest_fixture_post_finalizer"):
        setattr(listener, hook, None)  # not a routine any more: pytest registers no hook
    listener._update_fixtures_children = lambda item: None
    plugins.register(listener, "allure_listener")


class Installed:
    """The lean writer in place of allure-pytest's file logger, for one session."""

    def __init__(self, logger: AllureFileLogger) -> None:
        manager = allure_commons.plugin_manager
        self.logger, self.name = logger, manager.get_name(logger)
        manager.unregister(logger)
        # the directory allure-pytest made (and cleaned, with --clean-alluredir)
        self.writer = LeanAllureWriter(logger._report_dir)
        manager.register(self.writer)

    def close(self) -> None:
        """Flush, and put allure-pytest's logger back, which its own clean-up unregisters."""
        self.writer.close()
        manager = allure_commons.plugin_manager
        manager.unregister(self.writer)
        manager.register(self.logger, self.name)


def install(config: Any) -> Installed | None:
    """None when allure-pytest registered no file logger (no --alluredir)."""
    _without_fixture_bookkeeping(config.pluginmanager)
    from allure_pytest import listener

    listener.uuid4 = uuids  # its test uuids: the same kind, without a system call each
    manager = allure_commons.plugin_manager
    logger = next((p for p in manager.get_plugins() if isinstance(p, AllureFileLogger)), None)
    return None if logger is None else Installed(logger)
