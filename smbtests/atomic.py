"""Every file smbtests writes is replaced in one step: a reader, a crash or a full disk sees
the old file or the new one, never half of one (temporary file in the same folder + rename)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_text_atomically(path: Path, text: str | bytes | Iterable[str]) -> None:
    """`text`: the whole text, its UTF-8 bytes (a large document is not copied again), or its
    pieces in order (written as they come, never joined)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            if isinstance(text, bytes):
                stream.write(text)
            else:
                writer = io.TextIOWrapper(stream, encoding="utf-8")
                writer.writelines([text] if isinstance(text, str) else text)
                writer.flush()
                writer.detach()  # the file stays open, for the fsync below
            stream.flush()
            os.fsync(stream.fileno())
        # keep a replaced file's mode; a new one readable like a plain write (mkstemp: 0600)
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def unwritable(path: Path) -> str | None:
    """Why `path` (a file, or a folder of files) cannot be written, or None: checked before
    any probe runs, so a read-only path is a usage error, not an OSError after the run."""
    folder = path if path.is_dir() else path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:  # a real attempt: permission bits say nothing for root or a read-only mount
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return f"folder {existing} is not writable ({exc.strerror or exc})"
    return None
