"""Secrets and every form they can take on the way into a report.

A password can leave a run raw, repr()'d, JSON- or XML-escaped, URL-quoted or base64'd inside a
Basic header (FIELD-NOTES measured ~28 paths). One registry knows all forms of every secret the
run holds; writers scrub with it and the run's output files are scanned with it afterwards.
"""

from __future__ import annotations

import base64
import html
import json
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from smbtests.config import Credential, LoadedConfig
from smbtests.errors import PolicyError

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words; refuse them at load instead


@dataclass(frozen=True)
class Credentials:
    """An account as the SMB adapter uses it; the password never shows in a repr."""

    username: str
    domain: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, domain={self.domain!r}, password=***)"


def account_name(credential: Credential) -> str:
    """DOMAIN\\user where a domain is set: the form WinRM sends in its Basic header."""
    return (
        f"{credential.domain}\\{credential.username}" if credential.domain else credential.username
    )


def read_secret(credential: Credential, where: str) -> str:
    """The password named by `password_env`; a missing variable is named, its value never shown."""
    value = os.environ.get(credential.password_env)
    if not value:
        raise PolicyError(
            f"{where}: environment variable {credential.password_env} is not set; export it "
            "(the value is never written to the files or reports)"
        )
    return value


def smb_account(loaded: LoadedConfig, needed: bool) -> Credentials | None:
    """The environment's SMB account, read only when some planned check logs in with it."""
    credential = loaded.environment.smb.credential
    if credential is None or not needed:
        return None
    password = read_secret(credential, f"{loaded.environment_path}: smb.credential")
    return Credentials(credential.username, credential.domain, password)


def all_secrets(loaded: LoadedConfig, account: Credentials | None) -> tuple[tuple[str, str], ...]:
    """(secret, username) of every credential the run uses, read up front: a missing variable
    stops the run before it starts, and a password too short to mask reliably is refused."""
    found = [] if account is None else [(account.password, account.username)]
    env = loaded.environment
    sources = [(f"probes.{n}.credential", p.credential) for n, p in env.probes.items()]
    sources += [
        (f"windows_hosts.{n}.winrm.credential", h.winrm.credential)
        for n, h in env.windows_hosts.items()
        if h.winrm is not None
    ]
    for label, credential in sorted(sources, key=lambda pair: pair[0]):
        if credential is not None:
            where = f"{loaded.environment_path}: {label}"
            found.append((read_secret(credential, where), account_name(credential)))
    for secret, _ in found:
        if len(secret) < MIN_SECRET_LENGTH:
            raise PolicyError(
                f"{loaded.environment_path}: a password is shorter than {MIN_SECRET_LENGTH} "
                "characters; it could not be masked reliably in reports"
            )
    return tuple(found)


@dataclass
class SecretRegistry:
    _forms: set[str] = field(default_factory=set, repr=False)

    def add(self, secret: str, username: str | None = None) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            return
        forms = {
            secret,
            repr(secret)[1:-1],
            json.dumps(secret)[1:-1],
            html.escape(secret),
            html.escape(secret, quote=False),  # XML text nodes (JUnit) leave quotes alone
            secret.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;"),  # XML attributes
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            base64.b64encode(secret.encode()).decode(),
        }
        if username is not None:
            for name in {username, username.split("\\")[-1]}:
                forms.add(base64.b64encode(f"{name}:{secret}".encode()).decode())
        self._forms |= {f for f in forms if len(f) >= MIN_SECRET_LENGTH}

    def __bool__(self) -> bool:
        return bool(self._forms)

    def scrub(self, text: str) -> str:
        for form in sorted(self._forms, key=len, reverse=True):
            text = text.replace(form, MASK)
        return text

    def found_in(self, text: str) -> bool:
        return any(form in text for form in self._forms)

    def scan_files(self, roots: Iterable[Path]) -> list[Path]:
        """Files under roots that contain any form of any secret (their names, never the text)."""
        hits: list[Path] = []
        if not self._forms:
            return hits  # no secret to find: reading every file would find nothing
        for root in roots:
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                data = path.read_bytes().decode("utf-8", errors="ignore")
                if self.found_in(data):
                    hits.append(path)
        return hits
